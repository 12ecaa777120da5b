package linux

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"runtime"
	gosync "sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/usermem"
)

func registerSystem(st *kernel.SyscallTable) {
	reg(st, unix.SYS_UNAME, "uname", uname, kernel.ArgHex)
	reg(st, unix.SYS_SETHOSTNAME, "sethostname", sethostname, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_SETDOMAINNAME, "setdomainname", setdomainname, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_SYSINFO, "sysinfo", sysinfo, kernel.ArgHex)
	reg(st, unix.SYS_GETRANDOM, "getrandom", getrandom, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_PRLIMIT64, "prlimit64", prlimit64, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_GETRLIMIT, "getrlimit", getrlimit, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_SETRLIMIT, "setrlimit", setrlimit, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_GETRUSAGE, "getrusage", getrusage, "CPU times and ru_maxrss; the other figures zero", kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_TIMES, "times", times, "times are the sentry's", kernel.ArgHex)
	reg(st, unix.SYS_SCHED_GETAFFINITY, "sched_getaffinity", schedGetaffinity, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_SCHED_SETAFFINITY, "sched_setaffinity", schedSetaffinity, "the mask is kept (sched_getaffinity, getcpu); threads run where the host schedules them", kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_MEMBARRIER, "membarrier", membarrier, "no SYNC_CORE or RSEQ commands", kernel.ArgInt, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_SCHED_YIELD, "sched_yield", schedYield)
	reg(st, unix.SYS_GETCPU, "getcpu", getcpu, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
}

// uname names the Linux ABI the sentry emulates, never the host's
// (kernel.Release).
func uname(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var u unix.Utsname
	host, domain := t.UTS().Names()
	for _, f := range []struct {
		field *[65]byte
		s     string
	}{
		{&u.Sysname, kernel.OSType}, {&u.Nodename, host}, {&u.Release, kernel.Release},
		{&u.Version, kernel.Version}, {&u.Machine, kernel.Machine}, {&u.Domainname, domain},
	} {
		copy(f.field[:len(f.field)-1], f.s) // NUL-terminated
	}
	return 0, kernel.CopyOut(t, a.Pointer(0), &u)
}

// sysinfo reports the sandbox: its uptime, load, memory limit and what is
// left of it, and its tasks; it has no swap.
func sysinfo(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	k := t.K
	load := k.LoadAvg()
	total, used := k.Memory.Limit(), k.Memory.Used()
	si := abi.Sysinfo{
		// Whole seconds, a started one counting, as do_sysinfo rounds.
		// The boot time is the caller's time namespace's.
		Uptime:   int64((t.Uptime() + time.Second - 1) / time.Second),
		TotalRAM: total,
		FreeRAM:  total - min(used, total),
		Procs:    uint16(k.NumTasks()),
		Unit:     1,
	}
	for i, l := range load {
		si.Loads[i] = l << (unix.SI_LOAD_SHIFT - kernel.FShift)
	}
	return 0, kernel.CopyOut(t, a.Pointer(0), &si)
}

func getrandom(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Uint(2)&^(unix.GRND_NONBLOCK|unix.GRND_RANDOM|unix.GRND_INSECURE) != 0 {
		return 0, unix.EINVAL
	}
	dst, err := t.SingleIOSequence(a.Pointer(0), uint64(min(a.Uint(1), 1<<25)))
	if err != nil {
		return 0, err
	}
	// As much as the application can take: the rest of the buffer is
	// not touched (EFAULT if none of it can be).
	if dst, err = dst.WritablePrefix(); err != nil {
		return 0, err
	}
	return ioResult(dst.CopyOutFrom(usermem.ReaderFunc(func(p []byte) (int, error) {
		rand.Read(p)
		return len(p), nil
	})))
}

// prlimit64 reads and sets a process's resource limits: the caller's, or
// another's, even a zombie's until it is reaped (do_prlimit finds it by
// its PID), with check_prlimit_permission's rule (Task.MayPrlimit).
func prlimit64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	res := int(a.Int(1))
	var next *unix.Rlimit
	if a.Pointer(2) != 0 {
		next = new(unix.Rlimit)
		if err := kernel.CopyIn(t, a.Pointer(2), next); err != nil {
			return 0, err
		}
	}
	target := t
	if pid := int(a.Int(0)); pid != 0 {
		if target = t.LookupTaskOrZombie(pid); target == nil {
			return 0, unix.ESRCH
		}
	}
	if !t.MayPrlimit(target) {
		return 0, unix.EPERM
	}
	old, err := target.TG.Rlimit(res, next, t.HasCapability(linux.CAP_SYS_RESOURCE))
	if err != nil {
		return 0, err
	}
	if !target.IsZombie() {
		applyLimit(target, res, next)
	}
	if a.Pointer(3) != 0 {
		return 0, kernel.CopyOut(t, a.Pointer(3), &old)
	}
	return 0, nil
}

func getrlimit(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	old, err := t.TG.Rlimit(int(a.Int(0)), nil, false)
	if err != nil {
		return 0, err
	}
	return 0, kernel.CopyOut(t, a.Pointer(1), &old)
}

func setrlimit(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var next unix.Rlimit
	if err := kernel.CopyIn(t, a.Pointer(1), &next); err != nil {
		return 0, err
	}
	_, err := t.TG.Rlimit(int(a.Int(0)), &next, t.HasCapability(linux.CAP_SYS_RESOURCE))
	if err == nil {
		applyLimit(t, int(a.Int(0)), &next)
	}
	return 0, err
}

// applyLimit makes a new limit take effect where something enforces it.
func applyLimit(t *kernel.Task, res int, l *unix.Rlimit) {
	if l != nil && res == unix.RLIMIT_NOFILE {
		t.FDs().SetLimit(l.Cur)
	}
}

func getrusage(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	switch a.Int(0) {
	case unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN, unix.RUSAGE_THREAD:
	default:
		return 0, unix.EINVAL
	}
	var ru linux.Rusage
	if a.Int(0) == unix.RUSAGE_CHILDREN {
		user, sys := t.TG.ChildrenCPUTime()
		ru.UTime, ru.STime, ru.MaxRSS = timeval(user), timeval(sys), int64(t.TG.ChildrenMaxRSS()/1024)
	} else {
		times := t.TG.CPUTime
		if a.Int(0) == unix.RUSAGE_THREAD {
			times = t.ThreadCPUTime
		}
		user, sys := times()
		ru.UTime, ru.STime, ru.MaxRSS = timeval(user), timeval(sys), int64(t.MaxRSS()/1024)
	}
	return 0, kernel.CopyOut(t, a.Pointer(1), &ru)
}

func times(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	user, sys := t.TG.CPUTime()
	if a.Pointer(0) != 0 {
		cuser, csys := t.TG.ChildrenCPUTime()
		tms := linux.Tms{UTime: linux.ClockTFromDuration(user), STime: linux.ClockTFromDuration(sys),
			CUTime: linux.ClockTFromDuration(cuser), CSTime: linux.ClockTFromDuration(csys)}
		if err := kernel.CopyOut(t, a.Pointer(0), &tms); err != nil {
			return 0, err
		}
	}
	// Ticks since the sandbox's boot, as the kernel counts them.
	now, _ := t.K.Clocks.Now(unix.CLOCK_MONOTONIC)
	return uintptr(linux.ClockTFromDuration(now)), nil
}

func schedGetaffinity(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	target := t
	if pid := int(a.Int(0)); pid != 0 {
		if target = t.LookupTaskOrZombie(pid); target == nil {
			return 0, unix.ESRCH
		}
	}
	size := int(a.Uint(1))
	n := t.K.CPUs()
	need := (n + 63) / 64 * 8
	if size < need || size%8 != 0 {
		return 0, unix.EINVAL
	}
	var mask bytes.Buffer
	binary.Write(&mask, binary.LittleEndian, target.Affinity())
	return uintptr(need), t.CopyOut(a.Pointer(2), mask.Bytes())
}

func schedYield(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	runtime.Gosched()
	return 0, nil
}

// getcpu reports the task's CPU (Task.CPU) and NUMA node 0.
func getcpu(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	for _, v := range []struct {
		p   uintptr
		val uint32
	}{{a.Pointer(0), uint32(t.CPU())}, {a.Pointer(1), 0}} {
		if v.p != 0 {
			if err := kernel.CopyOut(t, v.p, &v.val); err != nil {
				return 0, err
			}
		}
	}
	return 0, nil
}

// schedSetaffinity checks as Linux does, in its order (the mask is read
// first, then the target, its owner, the mask's CPUs), and keeps the mask
// for sched_getaffinity and getcpu; the host still runs the task
// anywhere the sandbox may run.
func schedSetaffinity(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	size := int(min(a.Uint(1), 1024))
	mask := make([]byte, size)
	if err := t.CopyIn(a.Pointer(2), mask); err != nil {
		return 0, err
	}
	target := t
	if pid := int(a.Int(0)); pid != 0 {
		if target = t.LookupTaskOrZombie(pid); target == nil {
			return 0, unix.ESRCH
		}
	}
	if err := t.MaySetAffinity(target); err != nil {
		return 0, err
	}
	m := make(kernel.CPUMask, (len(mask)+7)/8)
	for i, b := range mask {
		m[i/8] |= uint64(b) << (8 * (i % 8))
	}
	return 0, target.SetAffinity(m)
}

// membarrier commands (linux/membarrier.h): pkg/abi/linux's, and
// MEMBARRIER_CMD_GET_REGISTRATIONS, which it does not have yet.
const (
	membarrierGetRegistrations = 1 << 9
	membarrierSupported        = linux.MEMBARRIER_CMD_GLOBAL | linux.MEMBARRIER_CMD_GLOBAL_EXPEDITED |
		linux.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | linux.MEMBARRIER_CMD_PRIVATE_EXPEDITED |
		linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
)

// hostMembarrier reports whether the host has MEMBARRIER_CMD_GLOBAL_EXPEDITED,
// which every stub process registers for: one host call then makes every
// CPU that runs a sandbox thread execute a barrier, which is what the
// application's barriers need (it reaches other sandboxes' threads too,
// which costs them an interrupt and nothing else).
var hostMembarrier = gosync.OnceValue(func() bool {
	mask, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, linux.MEMBARRIER_CMD_QUERY, 0, 0)
	return errno == 0 && mask&linux.MEMBARRIER_CMD_GLOBAL_EXPEDITED != 0
})

// membarrier implements the memory-ordering commands with the host's
// MEMBARRIER_CMD_GLOBAL_EXPEDITED. Without it on the host, QUERY answers an
// empty set, which sends programs to their fallbacks. The SYNC_CORE and RSEQ
// commands are not offered.
func membarrier(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	cmd, flags := a.Uint(0), a.Uint(1)
	if flags != 0 {
		return 0, unix.EINVAL
	}
	if !hostMembarrier() {
		if cmd == linux.MEMBARRIER_CMD_QUERY {
			return 0, nil
		}
		return 0, unix.EINVAL
	}
	switch cmd {
	case linux.MEMBARRIER_CMD_QUERY:
		return membarrierSupported, nil
	case membarrierGetRegistrations:
		return uintptr(t.TG.MembarrierRegistered()), nil
	case linux.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
		t.TG.MembarrierRegister(cmd)
		return 0, nil
	case linux.MEMBARRIER_CMD_PRIVATE_EXPEDITED:
		if t.TG.MembarrierRegistered()&linux.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED == 0 {
			return 0, unix.EPERM
		}
	case linux.MEMBARRIER_CMD_GLOBAL, linux.MEMBARRIER_CMD_GLOBAL_EXPEDITED:
	default:
		return 0, unix.EINVAL
	}
	if _, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, linux.MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0); errno != 0 {
		return 0, errno
	}
	return 0, nil
}

// sethostname and setdomainname set the names of the caller's UTS
// namespace (UTSNamespace.SetName): EPERM without CAP_SYS_ADMIN in the
// namespace's owner, then EINVAL for a negative or too long length, before
// anything is read, as Linux checks.
func sethostname(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, setUTSName(t, a, false)
}

func setdomainname(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, setUTSName(t, a, true)
}

func setUTSName(t *kernel.Task, a kernel.SyscallArguments, domain bool) error {
	uts := t.UTS()
	if !t.Creds().HasCapIn(uts.UserNS(), linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	n := a.Int(1)
	if n < 0 || n > 64 {
		return unix.EINVAL
	}
	b := make([]byte, n)
	if err := t.CopyIn(a.Pointer(0), b); err != nil {
		return err
	}
	return uts.SetName(t.Creds(), string(b), domain)
}
