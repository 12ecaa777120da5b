package linux

import (
	"crypto/rand"
	"encoding/binary"
	"runtime"
	gosync "sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/usermem"
)

func registerSystem(st *kernel.SyscallTable) {
	reg(st, unix.SYS_UNAME, "uname", uname, kernel.ArgHex)
	reg(st, unix.SYS_SYSINFO, "sysinfo", sysinfo, kernel.ArgHex)
	reg(st, unix.SYS_GETRANDOM, "getrandom", getrandom, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_PRLIMIT64, "prlimit64", prlimit64, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_GETRLIMIT, "getrlimit", getrlimit, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_SETRLIMIT, "setrlimit", setrlimit, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_GETRUSAGE, "getrusage", getrusage, "times are the sentry's, memory figures zero", kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_TIMES, "times", times, "times are the sentry's", kernel.ArgHex)
	reg(st, unix.SYS_SCHED_GETAFFINITY, "sched_getaffinity", schedGetaffinity, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_SCHED_SETAFFINITY, "sched_setaffinity", schedSetaffinity, "checked and accepted; threads run where the host schedules them", kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_MEMBARRIER, "membarrier", membarrier, "no SYNC_CORE or RSEQ commands", kernel.ArgInt, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_SCHED_YIELD, "sched_yield", schedYield)
	reg(st, unix.SYS_GETCPU, "getcpu", getcpu, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
}

// utsField is one 65-byte field of struct utsname.
func utsField(s string) []byte {
	b := make([]byte, 65)
	copy(b[:64], s)
	return b
}

// uname names the Linux ABI the sentry emulates, never the host's
// (kernel.Release).
func uname(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var out []byte
	for _, f := range []string{kernel.OSType, t.K.Hostname, kernel.Release, kernel.Version, kernel.Machine, kernel.DomainName} {
		out = append(out, utsField(f)...)
	}
	return 0, t.CopyOut(a.Pointer(0), out)
}

// sysinfo reports the sandbox: its uptime, load, memory limit and what is
// left of it, and its tasks; it has no swap.
func sysinfo(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	k := t.K
	load := k.LoadAvg()
	total, used := k.Memory.Limit(), k.Memory.Used()
	si := linux.Sysinfo{
		// Whole seconds, a started one counting, as do_sysinfo rounds.
		Uptime:   int64((k.Uptime() + time.Second - 1) / time.Second),
		TotalRAM: total,
		FreeRAM:  total - min(used, total),
		Procs:    uint16(k.NumTasks()),
		Unit:     1,
	}
	for i, l := range load {
		si.Loads[i] = l << (unix.SI_LOAD_SHIFT - kernel.FShift)
	}
	// sizeof(struct sysinfo): the structure and its tail padding.
	b := make([]byte, (si.SizeBytes()+7)&^7)
	si.MarshalBytes(b)
	return 0, t.CopyOut(a.Pointer(0), b)
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

func rlimitBytes(l unix.Rlimit) []byte {
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, l.Cur), l.Max)
}

func prlimit64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if pid := int(a.Int(0)); pid != 0 && pid != t.PID() {
		if t.K.Task(pid) == nil {
			return 0, unix.ESRCH
		}
		return 0, unix.EPERM
	}
	res := int(a.Int(1))
	var next *unix.Rlimit
	if a.Pointer(2) != 0 {
		var b [16]byte
		if err := t.CopyIn(a.Pointer(2), b[:]); err != nil {
			return 0, err
		}
		next = &unix.Rlimit{Cur: binary.LittleEndian.Uint64(b[:]), Max: binary.LittleEndian.Uint64(b[8:])}
	}
	old, err := t.TG.Rlimit(res, next, t.HasCapability(linux.CAP_SYS_RESOURCE))
	if err != nil {
		return 0, err
	}
	applyLimit(t, res, next)
	if a.Pointer(3) != 0 {
		return 0, t.CopyOut(a.Pointer(3), rlimitBytes(old))
	}
	return 0, nil
}

func getrlimit(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	old, err := t.TG.Rlimit(int(a.Int(0)), nil, false)
	if err != nil {
		return 0, err
	}
	return 0, t.CopyOut(a.Pointer(1), rlimitBytes(old))
}

func setrlimit(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var b [16]byte
	if err := t.CopyIn(a.Pointer(1), b[:]); err != nil {
		return 0, err
	}
	next := unix.Rlimit{Cur: binary.LittleEndian.Uint64(b[:]), Max: binary.LittleEndian.Uint64(b[8:])}
	_, err := t.TG.Rlimit(int(a.Int(0)), &next, t.HasCapability(linux.CAP_SYS_RESOURCE))
	if err == nil {
		applyLimit(t, int(a.Int(0)), &next)
	}
	return 0, err
}

// applyLimit makes a new limit take effect where something enforces it.
func applyLimit(t *kernel.Task, res int, l *unix.Rlimit) {
	if l != nil && res == unix.RLIMIT_NOFILE {
		t.FDs().SetLimit(int(min(l.Cur, 1<<20)))
	}
}

// timevalBytes encodes d as a struct timeval.
func timevalBytes(d time.Duration) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(d/time.Second))
	return binary.LittleEndian.AppendUint64(b, uint64(d%time.Second/time.Microsecond))
}

func getrusage(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	switch a.Int(0) {
	case unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN, unix.RUSAGE_THREAD:
	default:
		return 0, unix.EINVAL
	}
	user, sys := t.TG.CPUTime()
	if a.Int(0) == unix.RUSAGE_CHILDREN {
		user, sys = 0, 0
	}
	b := append(timevalBytes(user), timevalBytes(sys)...)
	b = append(b, make([]byte, 144-len(b))...)
	return 0, t.CopyOut(a.Pointer(1), b)
}

func times(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	const tick = time.Second / 100
	user, sys := t.TG.CPUTime()
	if a.Pointer(0) != 0 {
		var b []byte
		for _, v := range []time.Duration{user, sys, 0, 0} {
			b = binary.LittleEndian.AppendUint64(b, uint64(v/tick))
		}
		if err := t.CopyOut(a.Pointer(0), b); err != nil {
			return 0, err
		}
	}
	// Ticks since the sandbox's boot, as the kernel counts them.
	now, _ := t.K.Clocks.Now(unix.CLOCK_MONOTONIC)
	return uintptr(now / tick), nil
}

func schedGetaffinity(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if pid := int(a.Int(0)); pid != 0 && t.K.Task(pid) == nil {
		return 0, unix.ESRCH
	}
	size := int(a.Uint(1))
	n := t.K.CPUs()
	need := (n + 63) / 64 * 8
	if size < need || size%8 != 0 {
		return 0, unix.EINVAL
	}
	mask := make([]byte, need)
	for i := 0; i < n; i++ {
		mask[i/8] |= 1 << (i % 8)
	}
	return uintptr(need), t.CopyOut(a.Pointer(2), mask)
}

func schedYield(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	runtime.Gosched()
	return 0, nil
}

func getcpu(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	for _, p := range []uintptr{a.Pointer(0), a.Pointer(1)} {
		if p != 0 {
			if err := t.CopyOut(p, make([]byte, 4)); err != nil {
				return 0, err
			}
		}
	}
	return 0, nil
}

func schedSetaffinity(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if pid := int(a.Int(0)); pid != 0 && t.K.Task(pid) == nil {
		return 0, unix.ESRCH
	}
	size := int(min(a.Uint(1), 1024))
	mask := make([]byte, size)
	if err := t.CopyIn(a.Pointer(2), mask); err != nil {
		return 0, err
	}
	n := t.K.CPUs()
	for i := 0; i < n && i/8 < len(mask); i++ {
		if mask[i/8]&(1<<(i%8)) != 0 {
			return 0, nil
		}
	}
	return 0, unix.EINVAL
}

// membarrier commands (linux/membarrier.h).
const (
	membarrierQuery                    = 0
	membarrierGlobal                   = 1 << 0
	membarrierGlobalExpedited          = 1 << 1
	membarrierRegisterGlobalExpedited  = 1 << 2
	membarrierPrivateExpedited         = 1 << 3
	membarrierRegisterPrivateExpedited = 1 << 4
	membarrierGetRegistrations         = 1 << 9
	membarrierSupported                = membarrierGlobal | membarrierGlobalExpedited |
		membarrierRegisterGlobalExpedited | membarrierPrivateExpedited | membarrierRegisterPrivateExpedited
)

// hostMembarrier reports whether the host has MEMBARRIER_CMD_GLOBAL_EXPEDITED,
// which every stub process registers for: one host call then makes every
// CPU that runs a sandbox thread execute a barrier, which is what the
// application's barriers need (it reaches other sandboxes' threads too,
// which costs them an interrupt and nothing else).
var hostMembarrier = gosync.OnceValue(func() bool {
	mask, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, membarrierQuery, 0, 0)
	return errno == 0 && mask&membarrierGlobalExpedited != 0
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
		if cmd == membarrierQuery {
			return 0, nil
		}
		return 0, unix.EINVAL
	}
	switch cmd {
	case membarrierQuery:
		return membarrierSupported, nil
	case membarrierGetRegistrations:
		return uintptr(t.TG.MembarrierRegistered()), nil
	case membarrierRegisterGlobalExpedited, membarrierRegisterPrivateExpedited:
		t.TG.MembarrierRegister(cmd)
		return 0, nil
	case membarrierPrivateExpedited:
		if t.TG.MembarrierRegistered()&membarrierRegisterPrivateExpedited == 0 {
			return 0, unix.EPERM
		}
	case membarrierGlobal, membarrierGlobalExpedited:
	default:
		return 0, unix.EINVAL
	}
	if _, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, membarrierGlobalExpedited, 0, 0); errno != 0 {
		return 0, errno
	}
	return 0, nil
}
