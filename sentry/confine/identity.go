package confine

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
)

// Identity is who the sentry becomes for good, in its user namespace.
type Identity struct {
	UID, GID int
	// Setgroups says whether the user namespace allows setgroups, which
	// then empties the supplementary groups (root mode; without root the
	// namespace denies it and the sentry has none beyond its own).
	Setgroups bool
}

// kept are the capabilities a sentry that stays uid 0 of its namespace
// keeps until Seal: CAP_SETFCAP, without which the kernel refuses to map the
// root of a child namespace (its stubs') onto uid 0, and CAP_SETPCAP, to
// drop it from the bounding set then.
const kept = 1<<unix.CAP_SETFCAP | 1<<unix.CAP_SETPCAP

// Enter is the sentry's first stage: root of its new namespaces, with every
// capability there, and threads that Go started. It makes the empty root
// (EmptyRoot), empties the bounding set (but for kept, if id.UID is 0) and
// the ambient set, becomes id, and executes /proc/self/exe again with argv
// and the same environment and descriptors: on success it does not return.
//
// All of it is done on the calling thread (which must be locked to it),
// and execve leaves that thread alone: the second stage starts with one
// thread in that state, and every thread Go starts later inherits it. The
// bounding set is per thread, and changing it on every thread of a Go
// process takes a stop-the-world round per capability; executing again is
// cheaper, and does not depend on how fast the other threads get a CPU.
// The execve must be allowed to the sentry's binary: after the identity
// change it keeps CAP_DAC_OVERRIDE in its effective set for that
// (SECBIT_KEEP_CAPS), which the execve of a file without capabilities by
// a uid other than 0 takes away with every other.
//
// A dynamically linked binary (cgo: the race detector) cannot execute in
// the empty root, which has no dynamic loader. Enter then changes the
// identity of every thread in place (the syscall package does, through
// libc), but the bounding set and capabilities of the calling thread only,
// and returns the second stage itself (Entered.AllThreads false). The
// identity change clears every other thread's permitted and effective
// capabilities, but for a uid 0.
func Enter(id Identity, argv []string) (*Entered, error) {
	if err := EmptyRoot(); err != nil {
		return nil, err
	}
	e := &Entered{AllThreads: true}
	if id.UID == 0 {
		e.kept = kept
	}
	if err := dropBounding(e.kept); err != nil {
		return nil, err
	}
	if err := rawPrctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL); err != nil {
		return nil, fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	if dynamic() {
		e.AllThreads = false
		if id.Setgroups {
			if err := syscall.Setgroups([]int{}); err != nil {
				return nil, fmt.Errorf("dropping supplementary groups: %w", err)
			}
		}
		if err := syscall.Setresgid(id.GID, id.GID, id.GID); err != nil {
			return nil, fmt.Errorf("becoming gid %d: %w", id.GID, err)
		}
		if err := syscall.Setresuid(id.UID, id.UID, id.UID); err != nil {
			return nil, fmt.Errorf("becoming uid %d: %w", id.UID, err)
		}
		if err := setThreadCapabilities(e.kept); err != nil {
			return nil, fmt.Errorf("clearing capabilities: %w", err)
		}
		return e, nil
	}
	if id.UID != 0 {
		if err := rawPrctl(unix.PR_SET_SECUREBITS, linux.SECBIT_KEEP_CAPS); err != nil {
			return nil, fmt.Errorf("keeping capabilities across the identity change: %w", err)
		}
	}
	if id.Setgroups {
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
			return nil, fmt.Errorf("dropping supplementary groups: %w", e)
		}
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(id.GID), uintptr(id.GID), uintptr(id.GID)); e != 0 {
		return nil, fmt.Errorf("becoming gid %d: %w", id.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(id.UID), uintptr(id.UID), uintptr(id.UID)); e != 0 {
		return nil, fmt.Errorf("becoming uid %d: %w", id.UID, e)
	}
	if id.UID != 0 {
		if err := setThreadCapabilities(1 << unix.CAP_DAC_OVERRIDE); err != nil {
			return nil, fmt.Errorf("keeping only the right to execute the sentry: %w", err)
		}
	}
	if err := syscall.Exec("/proc/self/exe", argv, os.Environ()); err != nil {
		return nil, fmt.Errorf("executing the sentry's second stage: %w", err)
	}
	return nil, nil // not reached
}

// dynamic reports whether this binary needs a dynamic loader (PT_INTERP).
func dynamic() bool {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}

// dropBounding removes every capability but keep from the calling thread's
// bounding set.
func dropBounding(keep uint64) error {
	for c := 0; c < 64; c++ {
		if keep&(1<<c) != 0 {
			continue
		}
		err := rawPrctl(unix.PR_CAPBSET_DROP, uintptr(c))
		if errors.Is(err, unix.EINVAL) {
			return nil // past the kernel's last capability
		}
		if err != nil {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

func rawPrctl(option int, arg uintptr) error {
	if _, _, e := unix.RawSyscall6(unix.SYS_PRCTL, uintptr(option), arg, 0, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// Entered is the sentry's second stage, as Enter left it: its identity,
// an empty bounding set and no capabilities, but kept for a uid 0.
type Entered struct {
	kept uint64
	// AllThreads is false where Go cannot make a syscall on every thread
	// (a binary with cgo): the bounding set and capabilities were then
	// changed on one thread only (see Enter).
	AllThreads bool
}

// Resume starts the second stage, on the main goroutine locked to the main
// thread (which the caller may unlock afterwards: the thread group's leader
// lives as long as the process), as Enter left it: e from Enter if it returned one, else nil (the
// second stage of an execution). It sets the parent-death signal again
// (the identity change cleared it) on that thread, which carries it for
// the process, and makes the sentry dumpable until Seal: the platform
// starts now, and the kernel lets a process write the id maps of a child
// (its forkserver, a copy of it until it executes) only while that child
// is dumpable. The stubs' user namespace is then owned by id, which gives
// the sentry, as its owner and nothing else, what it needs over them:
// ptrace, process_vm_readv, and writing their id maps, which map id alone.
func Resume(id Identity, e *Entered) (*Entered, error) {
	if e == nil {
		e = &Entered{AllThreads: true}
		if id.UID == 0 {
			e.kept = kept
		}
	}
	if os.Getuid() != id.UID || os.Getgid() != id.GID {
		return nil, fmt.Errorf("the sentry is %d:%d, not %d:%d", os.Getuid(), os.Getgid(), id.UID, id.GID)
	}
	if err := rawPrctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL)); err != nil {
		return nil, fmt.Errorf("setting the parent-death signal again: %w", err)
	}
	if err := rawPrctl(unix.PR_SET_DUMPABLE, 1); err != nil {
		return nil, fmt.Errorf("making the sentry dumpable while it starts its stubs: %w", err)
	}
	return e, nil
}

// Seal finishes what Enter began, once the platform has started: the
// sentry has no capability left on any thread, can no longer be dumped or
// traced by processes of its uid (its stubs, or other sandboxes'), and
// from now on makes only the host syscalls its seccomp program, insns
// (Filter), allows, with no_new_privs.
//
// Where Go cannot make a syscall on every thread (builds with cgo, the race
// detector), what a sentry of uid 0 kept is dropped on the calling thread
// only; AllThreads is then false.
func (e *Entered) Seal(insns []bpf.Instruction) error {
	if e.kept != 0 {
		// CAP_SETPCAP last: dropping from the bounding set needs it.
		for _, c := range []uintptr{unix.CAP_SETFCAP, unix.CAP_SETPCAP} {
			all, err := onAllThreads(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0)
			e.AllThreads = e.AllThreads && all
			if err != nil {
				return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
			}
		}
		all, err := setCapabilities(0)
		e.AllThreads = e.AllThreads && all
		if err != nil {
			return fmt.Errorf("clearing capabilities: %w", err)
		}
	}
	if err := rawPrctl(unix.PR_SET_DUMPABLE, 0); err != nil {
		return fmt.Errorf("making the sentry undumpable: %w", err)
	}
	return Install(insns)
}

// onAllThreads runs a syscall on every thread of the process, or, where Go
// cannot (cgo), on the calling one only, and reports which.
func onAllThreads(nr, a1, a2, a3 uintptr) (allThreads bool, err error) {
	_, _, e := syscall.AllThreadsSyscall(nr, a1, a2, a3)
	if e != unix.ENOTSUP {
		return true, errnoErr(e)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_, _, e = unix.RawSyscall(nr, a1, a2, a3)
	return false, errnoErr(e)
}

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
