// Package strace prints one line per syscall, as strace(1) does: the name,
// the arguments decoded as the syscall table describes them, and the result
// or the errno's name.
package strace

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
)

// maxString is how much of a string argument is shown.
const maxString = 64

// Tracer writes to w.
type Tracer struct {
	mu sync.Mutex // guards w: one line at a time
	w  io.Writer
}

// New returns a tracer that writes to w.
func New(w io.Writer) *Tracer { return &Tracer{w: w} }

// Syscall implements kernel.Tracer.
func (tr *Tracer) Syscall(t *kernel.Task, nr uintptr, args kernel.SyscallArguments, ret uintptr, err error) {
	s, ok := t.K.Syscalls.Entries[nr]
	name := t.K.Syscalls.Name(nr)
	var b strings.Builder
	fmt.Fprintf(&b, "[%5d] %s(", t.TID, name)
	n := 6
	if ok && s.Args != nil {
		n = len(s.Args)
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		kind := kernel.ArgHex
		if ok && i < len(s.Args) {
			kind = s.Args[i]
		}
		b.WriteString(formatArg(t, kind, args[i]))
	}
	b.WriteString(") = ")
	var errno unix.Errno
	switch {
	case nr == unix.SYS_EXIT_GROUP || nr == unix.SYS_EXIT:
		b.WriteString("?")
	case errors.As(err, &errno) && errno != 0:
		fmt.Fprintf(&b, "-1 %s (%s)", unix.ErrnoName(errno), errno.Error())
	case ret > 0xffff:
		fmt.Fprintf(&b, "%#x", ret)
	default:
		b.WriteString(strconv.FormatInt(int64(ret), 10))
	}
	b.WriteByte('\n')
	tr.mu.Lock()
	defer tr.mu.Unlock()
	io.WriteString(tr.w, b.String())
}

func formatArg(t *kernel.Task, kind kernel.ArgKind, v uintptr) string {
	switch kind {
	case kernel.ArgInt:
		return strconv.FormatInt(int64(int32(v)), 10)
	case kernel.ArgFD:
		if int32(v) == unix.AT_FDCWD {
			return "AT_FDCWD"
		}
		return strconv.FormatInt(int64(int32(v)), 10)
	case kernel.ArgOct:
		return "0" + strconv.FormatUint(uint64(v), 8)
	case kernel.ArgPath, kernel.ArgString:
		if v == 0 {
			return "NULL"
		}
		s, err := t.CopyInString(v, maxString)
		if errors.Is(err, unix.ENAMETOOLONG) {
			b := make([]byte, maxString)
			t.CopyIn(v, b)
			return strconv.Quote(string(b)) + "..."
		}
		if err != nil {
			return fmt.Sprintf("%#x", v)
		}
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%#x", v)
}
