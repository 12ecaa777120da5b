package confine

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
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

// Enter sets the sentry up, root of its new namespaces with every
// capability there and threads that Go started: it makes the empty root
// (EmptyRoot), empties the bounding set (but for kept, if id.UID is 0) and
// the ambient set, and becomes id, with no capability but kept, on every
// thread of the process. Threads Go starts later are clones of these and
// inherit their state.
//
// Sets that are per thread change on every thread by a stop-the-world
// round each (syscall.AllThreadsSyscall): why not by executing again on
// one thread, as the sentry once did, is in the package doc.
//
// Where Go cannot make a syscall on every thread (a binary with cgo: the
// race detector), the identity changes on every thread all the same (the
// syscall package does it through libc), but the bounding, ambient and
// capability sets on the calling thread only (Entered.AllThreads false):
// the identity change clears every other thread's permitted and effective
// capabilities, but for a uid 0.
func Enter(id Identity) (*Entered, error) {
	if err := EmptyRoot(); err != nil {
		return nil, err
	}
	e := &Entered{id: id, AllThreads: true}
	if id.UID == 0 {
		e.kept = kept
	}
	all, err := dropBounding(e.kept)
	e.AllThreads = e.AllThreads && all
	if err != nil {
		return nil, err
	}
	all, err = onAllThreads(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0)
	e.AllThreads = e.AllThreads && all
	if err != nil {
		return nil, fmt.Errorf("clearing ambient capabilities: %w", err)
	}
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
	// The identity change from uid 0 cleared the permitted and effective
	// sets already; this clears the inheritable set too, and keeps kept
	// for a sentry that stays uid 0.
	all, err = setCapabilities(e.kept)
	e.AllThreads = e.AllThreads && all
	if err != nil {
		return nil, fmt.Errorf("clearing capabilities: %w", err)
	}
	return e, nil
}

// dropBounding removes every capability but keep from the bounding set
// of every thread (of the calling one only where Go cannot reach all;
// allThreads says which).
func dropBounding(keep uint64) (allThreads bool, err error) {
	allThreads = true
	for c := uintptr(0); c < 64; c++ {
		if keep&(1<<c) != 0 {
			continue
		}
		all, err := onAllThreads(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0)
		allThreads = allThreads && all
		if errors.Is(err, unix.EINVAL) {
			return allThreads, nil // past the kernel's last capability
		}
		if err != nil {
			return allThreads, fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	return allThreads, nil
}

func rawPrctl(option int, arg uintptr) error {
	if _, _, e := unix.RawSyscall6(unix.SYS_PRCTL, uintptr(option), arg, 0, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// Entered is the sentry as Enter left it: its identity, an empty bounding
// set and no capabilities, but kept for a uid 0.
type Entered struct {
	id   Identity
	kept uint64
	// AllThreads is false where Go cannot make a syscall on every thread
	// (a binary with cgo): the bounding set and capabilities were then
	// changed on one thread only (see Enter).
	AllThreads bool
}

// Resume goes on from Enter, on the main goroutine locked to the main
// thread (which the caller may unlock afterwards: the thread group's
// leader lives as long as the process). It sets the parent-death signal
// again (the identity change cleared it) on that thread, which carries it
// for the process, and makes the sentry dumpable until Seal: the platform
// starts now, and the kernel lets a process write the id maps of a child
// (its forkserver, a copy of it until it executes) only while that child
// is dumpable. The stubs' user namespace is then owned by the identity,
// which gives the sentry, as its owner and nothing else, what it needs
// over them: ptrace, process_vm_readv, and writing their id maps, which
// map that identity alone.
func (e *Entered) Resume() error {
	if os.Getuid() != e.id.UID || os.Getgid() != e.id.GID {
		return fmt.Errorf("the sentry is %d:%d, not %d:%d", os.Getuid(), os.Getgid(), e.id.UID, e.id.GID)
	}
	if err := rawPrctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL)); err != nil {
		return fmt.Errorf("setting the parent-death signal again: %w", err)
	}
	if err := rawPrctl(unix.PR_SET_DUMPABLE, 1); err != nil {
		return fmt.Errorf("making the sentry dumpable while it starts its stubs: %w", err)
	}
	return nil
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
