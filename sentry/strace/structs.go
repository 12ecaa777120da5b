package strace

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/interpose"
)

// The structures strace shows, each read with its pkg/abi/linux type. A
// pointer that cannot be read shows as the address.

func statStruct(mem interpose.Memory, addr uintptr) string {
	st, err := interpose.Read[linux.Stat](mem, addr)
	if err != nil {
		return pointer(addr)
	}
	mode := st.Mode
	s := "{st_mode=" + fileMode(mode)
	if t := mode & linux.S_IFMT; t == linux.S_IFCHR || t == linux.S_IFBLK {
		s += fmt.Sprintf(", st_rdev=makedev(%#x, %#x)", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	} else {
		s += ", st_size=" + strconv.FormatInt(st.Size, 10)
	}
	return s + ", ...}"
}

var fileTypes = map[uint64]string{
	linux.S_IFSOCK: "S_IFSOCK", linux.S_IFLNK: "S_IFLNK", linux.S_IFREG: "S_IFREG", linux.S_IFBLK: "S_IFBLK",
	linux.S_IFDIR: "S_IFDIR", linux.S_IFCHR: "S_IFCHR", linux.S_IFIFO: "S_IFIFO",
}

// fileMode is S_IFREG|0644, with S_ISUID, S_ISGID, S_ISVTX named.
func fileMode(mode uint32) string {
	s := value(fileTypes, uint64(mode&linux.S_IFMT), "")
	for _, f := range []flag{{linux.S_ISUID, "S_ISUID"}, {linux.S_ISGID, "S_ISGID"}, {linux.S_ISVTX, "S_ISVTX"}} {
		if uint64(mode)&f.v != 0 {
			s += "|" + f.name
		}
	}
	return s + "|" + fmt.Sprintf("%04o", mode&0o777)
}

// structAt shows the T at addr with show: NULL for a null pointer, the
// address when it cannot be read.
func structAt[T any](mem interpose.Memory, addr uintptr, show func(T) string) string {
	if addr == 0 {
		return "NULL"
	}
	v, err := interpose.Read[T](mem, addr)
	if err != nil {
		return pointer(addr)
	}
	return show(v)
}

func timespec(mem interpose.Memory, addr uintptr) string {
	return structAt(mem, addr, func(ts linux.Timespec) string { return fmt.Sprintf("{tv_sec=%d, tv_nsec=%d}", ts.Sec, ts.Nsec) })
}

func sigsetAt(mem interpose.Memory, addr uintptr) string { return structAt(mem, addr, sigset) }

func sigaction(mem interpose.Memory, addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	sa, err := interpose.Read[linux.SigAction](mem, addr)
	if err != nil {
		return pointer(addr)
	}
	var h string
	switch sa.Handler {
	case linux.SIG_DFL:
		h = "SIG_DFL"
	case linux.SIG_IGN:
		h = "SIG_IGN"
	default:
		h = hex(sa.Handler)
	}
	s := fmt.Sprintf("{sa_handler=%s, sa_mask=%s, sa_flags=%s", h, sigset(uint64(sa.Mask)), flags(saFlags, sa.Flags, ""))
	if sa.Flags&linux.SA_RESTORER != 0 {
		s += ", sa_restorer=" + hex(sa.Restorer)
	}
	return s + "}"
}

// iovecs shows an iovec array: each buffer's bytes (at most total, for a
// read that returned total), as [{iov_base="...", iov_len=5}, ...].
func iovecs(mem interpose.Memory, addr uintptr, n uint64, total uint64, contents bool) string {
	if n > linux.UIO_MAXIOV {
		return pointer(addr)
	}
	var parts []string
	for i := uint64(0); i < n; i++ {
		if i == maxString {
			parts = append(parts, "...")
			break
		}
		iov, err := interpose.Read[abi.Iovec](mem, addr+uintptr(i)*16)
		if err != nil {
			return pointer(addr)
		}
		base := pointer(uintptr(iov.Base))
		if contents {
			show := min(iov.Len, total)
			total -= show
			base = buffer(mem, uintptr(iov.Base), show)
		}
		parts = append(parts, fmt.Sprintf("{iov_base=%s, iov_len=%d}", base, iov.Len))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pollfds shows a pollfd array: the events asked, or (revents) the ones
// that happened, for descriptors with any.
func pollfds(mem interpose.Memory, addr uintptr, n uint64, revents bool) string {
	var parts []string
	for i := uint64(0); i < n; i++ {
		if len(parts) == maxString {
			parts = append(parts, "...")
			break
		}
		p, err := interpose.Read[linux.PollFD](mem, addr+uintptr(i)*8)
		if err != nil {
			return pointer(addr)
		}
		if !revents {
			parts = append(parts, fmt.Sprintf("{fd=%d, events=%s}", p.FD, flags(pollEvents, uint64(uint16(p.Events)), "0")))
		} else if p.REvents != 0 {
			parts = append(parts, fmt.Sprintf("{fd=%d, revents=%s}", p.FD, flags(pollEvents, uint64(uint16(p.REvents)), "0")))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// epollEvents shows n epoll_events.
func epollEventsAt(mem interpose.Memory, addr uintptr, n uint64, array bool) string {
	if addr == 0 {
		return "NULL"
	}
	var parts []string
	for i := uint64(0); i < n; i++ {
		if i == maxString {
			parts = append(parts, "...")
			break
		}
		e, err := interpose.Read[linux.EpollEvent](mem, addr+uintptr(i)*12)
		if err != nil {
			return pointer(addr)
		}
		u64 := uint64(uint32(e.Data[0])) | uint64(uint32(e.Data[1]))<<32
		parts = append(parts, fmt.Sprintf("{events=%s, data={u32=%d, u64=%d}}", flags(epollEvents, uint64(e.Events), "0"), uint32(e.Data[0]), u64))
	}
	if !array && len(parts) == 1 {
		return parts[0]
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// sockaddr shows a socket address of length n.
func sockaddr(mem interpose.Memory, addr uintptr, n uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if n < 2 || n > 128 {
		return pointer(addr)
	}
	b := make([]byte, n)
	if err := mem.CopyIn(addr, b); err != nil {
		return pointer(addr)
	}
	family := uint64(b[0]) | uint64(b[1])<<8
	s := "{sa_family=" + value(families, family, "AF")
	switch {
	case family == linux.AF_UNIX && n > 2:
		path := b[2:]
		if path[0] == 0 {
			// An abstract name: @name, as strace shows it.
			end := len(path)
			return s + ", sun_path=@" + quoted(path[1:end], false) + "}"
		}
		if i := strings.IndexByte(string(path), 0); i >= 0 {
			path = path[:i]
		}
		return s + ", sun_path=" + quoted(path, false) + "}"
	case family == linux.AF_UNIX:
		return s + "}"
	case family == linux.AF_INET && n >= 8:
		ip := netip.AddrFrom4([4]byte(b[4:8]))
		return s + fmt.Sprintf(", sin_port=htons(%d), sin_addr=inet_addr(%q)}", uint16(b[2])<<8|uint16(b[3]), ip.String())
	case family == linux.AF_INET6 && n >= 28:
		ip := netip.AddrFrom16([16]byte(b[8:24]))
		flow := uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
		scope := uint32(b[24]) | uint32(b[25])<<8 | uint32(b[26])<<16 | uint32(b[27])<<24
		return s + fmt.Sprintf(", sin6_port=htons(%d), sin6_flowinfo=htonl(%d), inet_pton(AF_INET6, %q, &sin6_addr), sin6_scope_id=%d}",
			uint16(b[2])<<8|uint16(b[3]), flow, ip.String(), scope)
	}
	return s + ", sa_data=" + quoted(b[2:], false) + "}"
}

// stringArray shows a NULL-terminated array of strings (execve's argv).
func stringArray(mem interpose.Memory, addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	var parts []string
	for i := uintptr(0); ; i++ {
		p, err := interpose.Read[uint64](mem, addr+i*8)
		if err != nil {
			return pointer(addr)
		}
		if p == 0 {
			break
		}
		if i == maxString {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, cString(mem, uintptr(p), maxString))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// envCount shows an environment as strace does without -v: its address
// and how many variables it holds.
func envCount(mem interpose.Memory, addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	n := 0
	for ; n < 1<<16; n++ {
		p, err := interpose.Read[uint64](mem, addr+uintptr(n)*8)
		if err != nil {
			return pointer(addr)
		}
		if p == 0 {
			break
		}
	}
	if n == 1 {
		return pointer(addr) + " /* 1 var */"
	}
	return fmt.Sprintf("%s /* %d vars */", pointer(addr), n)
}

// intPair shows two ints, as pipe's [3, 4].
func intPair(mem interpose.Memory, addr uintptr) string {
	v, err := interpose.Read[[2]int32](mem, addr)
	if err != nil {
		return pointer(addr)
	}
	return fmt.Sprintf("[%d, %d]", v[0], v[1])
}

// waitStatus shows a wait status as strace does: [{WIFEXITED(s) && WEXITSTATUS(s) == 0}].
func waitStatus(mem interpose.Memory, addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	st, err := interpose.Read[uint32](mem, addr)
	if err != nil {
		return pointer(addr)
	}
	return "[" + waitStatusValue(unix.WaitStatus(st)) + "]"
}

func waitStatusValue(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("{WIFEXITED(s) && WEXITSTATUS(s) == %d}", ws.ExitStatus())
	case ws.Signaled():
		s := "{WIFSIGNALED(s) && WTERMSIG(s) == " + signalName(int(ws.Signal()))
		if ws.CoreDump() {
			s += " && WCOREDUMP(s)"
		}
		return s + "}"
	case ws.Stopped():
		return "{WIFSTOPPED(s) && WSTOPSIG(s) == " + signalName(int(ws.StopSignal())) + "}"
	case ws.Continued():
		return "{WIFCONTINUED(s)}"
	}
	return hex(uint64(ws))
}

func rlimit(mem interpose.Memory, addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	rl, err := interpose.Read[[2]uint64](mem, addr)
	if err != nil {
		return pointer(addr)
	}
	return "{rlim_cur=" + rlimValue(rl[0]) + ", rlim_max=" + rlimValue(rl[1]) + "}"
}

// rlimValue shows a limit as strace does: RLIM64_INFINITY, 8192*1024.
func rlimValue(v uint64) string {
	switch {
	case v == ^uint64(0):
		return "RLIM64_INFINITY"
	case v > 0 && v%1024 == 0:
		return strconv.FormatUint(v/1024, 10) + "*1024"
	}
	return strconv.FormatUint(v, 10)
}

// siginfo shows a delivered signal's siginfo as strace's --- line does.
func siginfo(si *linux.SignalInfo) string {
	s := "{si_signo=" + signalName(int(si.Signo)) + ", si_code=" + sigCode(si)
	switch {
	case si.Code == linux.SI_USER || si.Code == linux.SI_TKILL || si.Code == linux.SI_QUEUE:
		s += fmt.Sprintf(", si_pid=%d, si_uid=%d", si.PID(), si.UID())
		if si.Code == linux.SI_QUEUE {
			s += fmt.Sprintf(", si_int=%d, si_ptr=%s", int32(si.Sigval()), hex(si.Sigval()))
		}
	case si.Signo == int32(unix.SIGCHLD) && si.Code > 0:
		status := "si_status=" + strconv.Itoa(int(si.Status()))
		if si.Code != linux.CLD_EXITED {
			status = "si_status=" + signalName(int(si.Status()))
		}
		var times abi.SigChld
		binary.Decode(si.Fields[:], binary.LittleEndian, &times)
		s += fmt.Sprintf(", si_pid=%d, si_uid=%d, %s, si_utime=%d, si_stime=%d", si.PID(), si.UID(), status, times.UTime, times.STime)
	case si.Code > 0 && (si.Signo == int32(unix.SIGSEGV) || si.Signo == int32(unix.SIGBUS) ||
		si.Signo == int32(unix.SIGILL) || si.Signo == int32(unix.SIGFPE) || si.Signo == int32(unix.SIGTRAP)):
		s += ", si_addr=" + pointer(uintptr(si.Addr()))
	case si.Code == linux.SI_TIMER:
		s += fmt.Sprintf(", si_timerid=%#x, si_overrun=%d, si_int=%d, si_ptr=%s", uint32(si.TimerID()), si.Overrun(), int32(si.Sigval()), hex(si.Sigval()))
	}
	return s + "}"
}

// sigCode names si_code as strace does.
func sigCode(si *linux.SignalInfo) string {
	generic := map[int32]string{linux.SI_USER: "SI_USER", linux.SI_KERNEL: "SI_KERNEL", linux.SI_QUEUE: "SI_QUEUE",
		linux.SI_TIMER: "SI_TIMER", linux.SI_MESGQ: "SI_MESGQ", linux.SI_ASYNCIO: "SI_ASYNCIO",
		linux.SI_SIGIO: "SI_SIGIO", linux.SI_TKILL: "SI_TKILL"}
	if n, ok := generic[si.Code]; ok {
		return n
	}
	var names map[int32]string
	switch unix.Signal(si.Signo) {
	case unix.SIGCHLD:
		names = map[int32]string{linux.CLD_EXITED: "CLD_EXITED", linux.CLD_KILLED: "CLD_KILLED", linux.CLD_DUMPED: "CLD_DUMPED",
			linux.CLD_TRAPPED: "CLD_TRAPPED", linux.CLD_STOPPED: "CLD_STOPPED", linux.CLD_CONTINUED: "CLD_CONTINUED"}
	case unix.SIGSEGV:
		names = map[int32]string{1: "SEGV_MAPERR", 2: "SEGV_ACCERR", 3: "SEGV_BNDERR", 4: "SEGV_PKUERR"}
	case unix.SIGBUS:
		names = map[int32]string{1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR"}
	case unix.SIGFPE:
		names = map[int32]string{1: "FPE_INTDIV", 2: "FPE_INTOVF", 3: "FPE_FLTDIV", 4: "FPE_FLTOVF", 5: "FPE_FLTUND", 6: "FPE_FLTRES", 7: "FPE_FLTINV", 8: "FPE_FLTSUB"}
	case unix.SIGILL:
		names = map[int32]string{1: "ILL_ILLOPC", 2: "ILL_ILLOPN", 3: "ILL_ILLADR", 4: "ILL_ILLTRP", 5: "ILL_PRVOPC", 6: "ILL_PRVREG", 7: "ILL_COPROC", 8: "ILL_BADSTK"}
	case unix.SIGTRAP:
		names = map[int32]string{1: "TRAP_BRKPT", 2: "TRAP_TRACE"}
	}
	if n, ok := names[si.Code]; ok {
		return n
	}
	return strconv.Itoa(int(si.Code))
}

// utsname shows uname's structure, strace's short form.
func utsname(mem interpose.Memory, addr uintptr) string {
	u, err := interpose.Read[linux.UtsName](mem, addr)
	if err != nil {
		return pointer(addr)
	}
	field := func(b []byte) string {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return quoted(b, false)
	}
	return "{sysname=" + field(u.Sysname[:]) + ", nodename=" + field(u.Nodename[:]) + ", ...}"
}
