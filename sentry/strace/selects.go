package strace

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/interpose"
)

// select and pselect6 show their descriptor sets as asked, and at exit
// those ready and the time left; ppoll and epoll_pwait are poll and
// epoll_wait with a signal mask.
func init() {
	fdSet := func(c *call, v uintptr) string { return fdSetAt(c.mem, v, int(int32(c.args[0]))) }
	formats[unix.SYS_SELECT] = format{args: []arg{aInt, in(fdSet), in(fdSet), in(fdSet),
		in(func(c *call, v uintptr) string { return timeval(c.mem, v) })}, ret: selectResult(timeval)}
	formats[unix.SYS_PSELECT6] = format{args: []arg{aInt, in(fdSet), in(fdSet), in(fdSet), aTS,
		in(func(c *call, v uintptr) string { return sigsetArgpack(c.mem, v) })}, ret: selectResult(timespec)}
	formats[unix.SYS_PPOLL] = format{args: []arg{
		in(func(c *call, v uintptr) string { return pollfds(c.mem, v, uint64(c.args[1]), false) }),
		aULong, aTS, aSigsetIn, aULong}, ret: func(c *call) string {
		if c.ret == 0 {
			return "0 (Timeout)"
		}
		s := strconv.Itoa(int(c.ret)) + " (" + pollfds(c.mem, c.args[0], uint64(c.args[1]), true)
		if c.args[2] != 0 {
			s += ", left " + timespec(c.mem, c.args[2])
		}
		return s + ")"
	}}
	epollWait := formats[unix.SYS_EPOLL_WAIT]
	formats[unix.SYS_EPOLL_PWAIT] = format{args: append(epollWait.args[:4:4], aSigsetIn, aULong)}
}

// selectResult shows select's result: the descriptors ready in each set,
// and the time left, shown by showTime.
func selectResult(showTime func(interpose.Memory, uintptr) string) func(c *call) string {
	return func(c *call) string {
		if c.ret == 0 {
			return "0 (Timeout)"
		}
		var parts []string
		for i, name := range []string{"in", "out", "except"} {
			if c.args[1+i] == 0 {
				continue
			}
			if set := fdSetAt(c.mem, c.args[1+i], int(int32(c.args[0]))); set != "[]" {
				parts = append(parts, name+" "+set)
			}
		}
		if c.args[4] != 0 {
			parts = append(parts, "left "+showTime(c.mem, c.args[4]))
		}
		return strconv.Itoa(int(c.ret)) + " (" + strings.Join(parts, ", ") + ")"
	}
}

// fdSetAt shows the descriptors below nfds in the fd_set at addr: [0 3].
func fdSetAt(mem interpose.Memory, addr uintptr, nfds int) string {
	if addr == 0 {
		return "NULL"
	}
	if nfds < 0 || nfds > unix.FD_SETSIZE {
		return pointer(addr)
	}
	words := make([]uint64, (nfds+63)/64)
	for i := range words {
		w, err := interpose.Read[uint64](mem, addr+uintptr(i*8))
		if err != nil {
			return pointer(addr)
		}
		words[i] = w
	}
	var fds []string
	for fd := 0; fd < nfds; fd++ {
		if words[fd/64]&(1<<(fd%64)) != 0 {
			fds = append(fds, strconv.Itoa(fd))
		}
	}
	return "[" + strings.Join(fds, " ") + "]"
}

func timeval(mem interpose.Memory, addr uintptr) string {
	return structAt(mem, addr, func(tv linux.Timeval) string { return fmt.Sprintf("{tv_sec=%d, tv_usec=%d}", tv.Sec, tv.Usec) })
}

// sigsetArgpack shows pselect6's sixth argument.
func sigsetArgpack(mem interpose.Memory, addr uintptr) string {
	return structAt(mem, addr, func(p abi.SigsetArgpack) string {
		return fmt.Sprintf("{sigmask=%s, sigsetsize=%d}", sigsetAt(mem, uintptr(p.Mask)), p.Size)
	})
}
