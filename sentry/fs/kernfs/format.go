package kernfs

import (
	"fmt"
	"strings"
)

// Formats that several generated filesystems share.

// CPUList is the CPU list format (bitmap_print_list, "%*pbl") of CPUs
// first to first+n-1: "0", "0-3"; "" for none.
func CPUList(first, n int) string {
	switch {
	case n <= 0:
		return ""
	case n == 1:
		return fmt.Sprint(first)
	}
	return fmt.Sprintf("%d-%d", first, first+n-1)
}

// CPUMask is the CPU mask format (bitmap_string, "%*pb") of CPUs first to
// first+n-1 in a mask of bits bits: hexadecimal words of 32 bits,
// most significant first, separated by commas, the first one only as wide
// as its bits need.
func CPUMask(first, n, bits int) string {
	if bits <= 0 {
		return ""
	}
	words := make([]uint32, (bits+31)/32)
	for cpu := first; cpu < first+n && cpu < bits; cpu++ {
		if cpu >= 0 {
			words[cpu/32] |= 1 << (cpu % 32)
		}
	}
	var b strings.Builder
	for i := len(words) - 1; i >= 0; i-- {
		width := 8
		if i == len(words)-1 {
			if rest := bits % 32; rest != 0 {
				width = (rest + 3) / 4
			}
		} else {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%0*x", width, words[i])
	}
	return b.String()
}

// KBLine is one line of a meminfo file: a name and kibibytes.
type KBLine struct {
	Name string
	KB   uint64
}

// KBLines formats lines as /proc/meminfo and a node's meminfo do, each
// after prefix: the name and its colon in 16 columns, the value in 8.
func KBLines(prefix string, lines []KBLine) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s%-16s%8d kB\n", prefix, l.Name+":", l.KB)
	}
	return b.String()
}
