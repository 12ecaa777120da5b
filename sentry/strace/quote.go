package strace

import (
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
)

// maxString is strace's default -s: how many bytes of a string or buffer
// are shown before "...". Paths are shown whole.
const maxString = 32

// quote writes b as strace quotes a string: C escapes for \t \n \v \f \r,
// \" and \\, other unprintable bytes in octal, as short as the next byte
// allows.
func quote(sb *strings.Builder, b []byte) {
	sb.WriteByte('"')
	for i, c := range b {
		switch c {
		case '"', '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case '\t':
			sb.WriteString(`\t`)
		case '\n':
			sb.WriteString(`\n`)
		case '\v':
			sb.WriteString(`\v`)
		case '\f':
			sb.WriteString(`\f`)
		case '\r':
			sb.WriteString(`\r`)
		default:
			if c >= ' ' && c < 0x7f {
				sb.WriteByte(c)
				continue
			}
			sb.WriteByte('\\')
			nextDigit := i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'
			if nextDigit || c >= 0100 {
				sb.WriteByte('0' + c>>6)
			}
			if nextDigit || c >= 010 {
				sb.WriteByte('0' + c>>3&7)
			}
			sb.WriteByte('0' + c&7)
		}
	}
	sb.WriteByte('"')
}

// quoted returns b quoted, with "..." after it when more is true.
func quoted(b []byte, more bool) string {
	var sb strings.Builder
	quote(&sb, b)
	if more {
		sb.WriteString("...")
	}
	return sb.String()
}

// buffer shows n bytes at addr, as strace shows a read or write buffer:
// the first maxString bytes, quoted.
func buffer(mem interpose.Memory, addr uintptr, n uint64) string {
	if addr == 0 && n > 0 {
		return "NULL"
	}
	show := min(n, maxString)
	b := make([]byte, show)
	if err := mem.CopyIn(addr, b); err != nil {
		return pointer(addr)
	}
	return quoted(b, n > show)
}

// cString shows the NUL-terminated string at addr, of at most limit bytes
// (paths: PATH_MAX; other strings: maxString).
func cString(mem interpose.Memory, addr uintptr, limit int) string {
	if addr == 0 {
		return "NULL"
	}
	s, err := interpose.ReadString(mem, addr, limit)
	if err == unix.ENAMETOOLONG {
		b := make([]byte, limit)
		if mem.CopyIn(addr, b) == nil {
			return quoted(b, true)
		}
	}
	if err != nil {
		return pointer(addr)
	}
	return quoted([]byte(s), false)
}

// pointer shows an address as strace does: NULL or hex.
func pointer(addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	return hex(uint64(addr))
}

func hex(v uint64) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0"
	}
	var b [18]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = digits[v&15]
		v >>= 4
	}
	i -= 2
	b[i], b[i+1] = '0', 'x'
	return string(b[i:])
}

// hexBuffer shows n bytes at addr every one in hex, as strace shows
// random bytes: "\xef\xf8".
func hexBuffer(mem interpose.Memory, addr uintptr, n uint64) string {
	show := min(n, maxString)
	b := make([]byte, show)
	if err := mem.CopyIn(addr, b); err != nil {
		return pointer(addr)
	}
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range b {
		sb.WriteString(`\x`)
		sb.WriteByte("0123456789abcdef"[c>>4])
		sb.WriteByte("0123456789abcdef"[c&15])
	}
	sb.WriteByte('"')
	if n > show {
		sb.WriteString("...")
	}
	return sb.String()
}
