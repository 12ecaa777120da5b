package confine

import (
	"errors"
	"fmt"
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

// Dropped reports how Drop left the sentry.
type Dropped struct {
	// AllThreads is false in builds with cgo (the race detector), where Go
	// cannot run a syscall on every thread: the capability bounding set,
	// and for a sentry that stays root of its namespace its capabilities,
	// are then dropped on the calling thread only. Permitted and effective
	// capabilities are gone everywhere anyway when the identity changes
	// from root.
	AllThreads bool
}

// Drop makes the sentry id for good and takes every capability away: the
// bounding set, ambient, inheritable, permitted and effective
// capabilities, on every thread. Its parent-death signal, which the kernel
// clears on a change of identity, is SIGKILL again.
//
// It comes before the platform starts: the user namespace of the stub
// processes is then owned by id, which gives the sentry, as its owner and
// nothing else, what it needs over them (ptrace, process_vm_readv,
// writing their id maps, which map id alone). The sentry stays dumpable
// until Seal, because the kernel lets a process write the id maps of a
// child only while that child, a copy of it until it executes, is.
//
// It must be called on the main goroutine locked to the main thread, which
// carries the parent-death signal for the process where Go cannot reach
// every thread.
func Drop(id Identity) (Dropped, error) {
	d := Dropped{AllThreads: true}
	// Bounding set first: dropping from it needs CAP_SETPCAP, which the
	// identity change below takes away.
	for c := 0; c < 64; c++ {
		err := allThreads(&d, unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0)
		if errors.Is(err, unix.EINVAL) {
			break // past the kernel's last capability
		}
		if err != nil {
			return d, fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	if err := allThreads(&d, unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil {
		return d, fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	// The syscall package changes ids on every thread, with cgo too.
	if id.Setgroups {
		if err := syscall.Setgroups([]int{}); err != nil {
			return d, fmt.Errorf("dropping supplementary groups: %w", err)
		}
	}
	if err := syscall.Setresgid(id.GID, id.GID, id.GID); err != nil {
		return d, fmt.Errorf("becoming gid %d: %w", id.GID, err)
	}
	if err := syscall.Setresuid(id.UID, id.UID, id.UID); err != nil {
		return d, fmt.Errorf("becoming uid %d: %w", id.UID, err)
	}
	// A sentry that stays root of its namespace keeps CAP_SETFCAP until
	// Seal: the kernel lets only a process with it map the root of a child
	// namespace (its stubs') onto uid 0.
	var keep uint64
	if id.UID == 0 {
		keep = 1 << unix.CAP_SETFCAP
	}
	if err := setCapabilities(&d, keep); err != nil {
		return d, fmt.Errorf("clearing capabilities: %w", err)
	}
	// The identity change made the sentry undumpable (fs.suid_dumpable);
	// see above for why it stays dumpable until Seal.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
		return d, fmt.Errorf("making the sentry dumpable while it starts its stubs: %w", err)
	}
	if err := allThreads(&d, unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0); err != nil {
		return d, fmt.Errorf("setting the parent-death signal again: %w", err)
	}
	return d, nil
}

// Seal finishes what Drop began, once the platform has started: the
// sentry has no capability left on any thread, can no longer be dumped or
// traced by processes of its uid (its stubs, or other sandboxes'), and
// from now on makes only the host syscalls its seccomp program, insns
// (Filter), allows, with no_new_privs.
func (d *Dropped) Seal(insns []bpf.Instruction) error {
	if err := setCapabilities(d, 0); err != nil {
		return fmt.Errorf("clearing capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("making the sentry undumpable: %w", err)
	}
	return Install(insns)
}

// allThreads runs a syscall on every thread of the process, or, where Go
// cannot (cgo), on the calling one and records that in d.
func allThreads(d *Dropped, nr, a1, a2, a3 uintptr) error {
	if d.AllThreads {
		_, _, e := syscall.AllThreadsSyscall(nr, a1, a2, a3)
		if e != unix.ENOTSUP {
			return errnoErr(e)
		}
		d.AllThreads = false
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_, _, e := unix.RawSyscall(nr, a1, a2, a3)
	return errnoErr(e)
}

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
