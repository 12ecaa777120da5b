package kernel

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
)

// Time namespaces (CLONE_NEWTIME), as Linux's kernel/time/namespace.c:
// offsets added to CLOCK_MONOTONIC (and its _RAW and _COARSE forms) and
// CLOCK_BOOTTIME (and _ALARM) for the processes in the namespace, on top
// of the sandbox's own clocks (package clocks). unshare(CLONE_NEWTIME)
// makes the namespace of the caller's future children, not its own
// (time_ns_for_children); its offsets are written to
// /proc/PID/timens_offsets until a process enters it, then they are
// frozen. A process in a namespace reads its clocks with the offsets
// (Task.Now) and has its absolute timeouts moved back onto the sandbox's
// clocks (TimeNamespace.ToHost: clock_nanosleep, timer_settime,
// timerfd_settime, futex), as timens_ktime_to_host.
//
// The vDSO: the host's vDSO, mapped in every stub, reads the host's
// clocks (through the stubs' own host time namespace, the sandbox's
// offsets) without a trap, so it knows nothing of a namespace made
// inside. A process that enters a namespace whose offsets are not zero
// has the vDSO's clock_gettime, gettimeofday and time replaced, in its
// own copy-on-write copy of the vDSO's pages, by the system call itself
// (mm.TrapVDSOClocks): libc's calls then trap and the sentry answers with
// the offsets. Its other vDSO functions (getcpu, getrandom, clock_getres)
// stay, as they do not depend on the namespace.

// InitTimeNSInode is the initial time namespace's inode number
// (PROC_TIME_INIT_INO).
const InitTimeNSInode = 0xEFFFFFFA

// TimeNamespace is a time namespace. The initial one (Kernel.initTime)
// has zero offsets and owner nil.
type TimeNamespace struct {
	userNS *UserNamespace // owner; immutable
	ino    uint64         // immutable; 0 for the initial namespace

	// mu guards offsets and frozen.
	mu      sync.Mutex
	offsets clocks.Offsets // guarded by mu
	// frozen is set when the first process enters the namespace: its
	// offsets no longer change (frozen_offsets).
	frozen bool // guarded by mu
}

// Inode is the namespace's inode number (/proc/PID/ns/time).
func (ns *TimeNamespace) Inode() uint64 {
	if ns.ino == 0 {
		return InitTimeNSInode
	}
	return ns.ino
}

// UserNS is the user namespace that owns ns (nil for the initial one).
func (ns *TimeNamespace) UserNS() *UserNamespace { return ns.userNS }

// Offsets returns the namespace's offsets.
func (ns *TimeNamespace) Offsets() clocks.Offsets {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.offsets
}

// Of returns the offset clock reads with in the namespace.
func (ns *TimeNamespace) Of(clock int32) time.Duration { return ns.Offsets().Of(clock) }

// ToHost moves an absolute time d on clock, as the namespace reads it,
// onto the sandbox's clock (timens_ktime_to_host): only CLOCK_MONOTONIC,
// CLOCK_BOOTTIME and CLOCK_BOOTTIME_ALARM carry an offset for timers; a
// time before the offset is already past (the sandbox's 0, returned as
// 1 ns so that it still arms a timer that expires at once).
func (ns *TimeNamespace) ToHost(clock int32, d time.Duration) time.Duration {
	var off time.Duration
	switch o := ns.Offsets(); clock {
	case unix.CLOCK_MONOTONIC:
		off = o.Monotonic
	case unix.CLOCK_BOOTTIME, unix.CLOCK_BOOTTIME_ALARM:
		off = o.Boottime
	default:
		return d
	}
	if d < off {
		return time.Nanosecond
	}
	return max(d-off, time.Nanosecond)
}

// zero reports whether the namespace moves no clock.
func (ns *TimeNamespace) zero() bool { return ns.Offsets() == clocks.Offsets{} }

// freeze marks the namespace entered: its offsets are fixed from now on.
func (ns *TimeNamespace) freeze() {
	ns.mu.Lock()
	ns.frozen = true
	ns.mu.Unlock()
}

// TimeOffset is one line of /proc/PID/timens_offsets: a clock
// (CLOCK_MONOTONIC or CLOCK_BOOTTIME) and its offset.
type TimeOffset struct {
	Clock  int32
	Offset time.Duration
}

// ktimeSecMax is KTIME_SEC_MAX, the seconds a ktime_t holds.
const ktimeSecMax = (1<<63 - 1) / int64(time.Second)

// SetOffsets writes the namespace's offsets (proc_timens_set_offset) as
// a writer with credentials c: EPERM without CAP_SYS_TIME in the owning
// user namespace, EINVAL for another clock, ERANGE if a clock would read
// below 0 or past KTIME_SEC_MAX/2 seconds now, EACCES once a process
// has entered the namespace. now reads the sandbox's clock.
func (ns *TimeNamespace) SetOffsets(c Credentials, offs []TimeOffset, now func(clock int32) (time.Duration, error)) error {
	if !c.HasCapIn(ns.userNS, linux.CAP_SYS_TIME) {
		return unix.EPERM
	}
	for _, o := range offs {
		if o.Clock != unix.CLOCK_MONOTONIC && o.Clock != unix.CLOCK_BOOTTIME {
			return unix.EINVAL
		}
		sec := int64(o.Offset / time.Second)
		if sec > ktimeSecMax || sec < -ktimeSecMax {
			return unix.ERANGE
		}
		cur, err := now(o.Clock)
		if err != nil {
			return err
		}
		if t := cur + o.Offset; t < 0 || int64(t/time.Second) > ktimeSecMax/2 {
			return unix.ERANGE
		}
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.frozen || ns.ino == 0 { // the initial namespace is entered from the start
		return unix.EACCES
	}
	for _, o := range offs {
		if o.Clock == unix.CLOCK_MONOTONIC {
			ns.offsets.Monotonic = o.Offset
		} else {
			ns.offsets.Boottime = o.Offset
		}
	}
	return nil
}

// TimeNS returns t's time namespace.
func (t *Task) TimeNS() *TimeNamespace {
	if ns := t.timens.Load(); ns != nil {
		return ns
	}
	return &t.K.initTime
}

// TimeNSForChildren returns the time namespace t's future children get
// (time_ns_for_children), which unshare(CLONE_NEWTIME) replaced.
func (t *Task) TimeNSForChildren() *TimeNamespace {
	if ns := t.timensChildren.Load(); ns != nil {
		return ns
	}
	return t.TimeNS()
}

// Now is clock as t reads it: the sandbox's, moved by t's time namespace.
func (t *Task) Now(clock int32) (time.Duration, error) {
	d, err := t.K.Clocks.Now(clock)
	if err != nil {
		return 0, err
	}
	return d + t.TimeNS().Of(clock), nil
}

// Uptime is the sandbox's uptime as t sees it: its CLOCK_BOOTTIME,
// moved by its time namespace (sysinfo, /proc/uptime).
func (t *Task) Uptime() time.Duration {
	return t.K.Uptime() + t.TimeNS().Of(unix.CLOCK_BOOTTIME)
}

// newTimeNSFor makes a time namespace owned by credentials c's user
// namespace with the offsets of t's children's namespace (clone_time_ns):
// EPERM without CAP_SYS_ADMIN there.
func (t *Task) newTimeNSFor(c Credentials) (*TimeNamespace, error) {
	if !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return nil, unix.EPERM
	}
	return &TimeNamespace{userNS: c.UserNS, ino: NewNSInode(), offsets: t.TimeNSForChildren().Offsets()}, nil
}

// inheritTimeNS gives child c of t its time namespaces (copy_namespaces
// and timens_on_fork): the children's namespace is t's, or made, made by
// the clone; a new process (no CLONE_VM) enters it, a thread or a child
// sharing the memory stays in t's (which Linux 6.18 allows even when
// the two differ) until it execs (execTimeNS).
func (c *Task) inheritTimeNS(t *Task, made *TimeNamespace, sharesVM bool) {
	children := t.TimeNSForChildren()
	if made != nil {
		children = made
	}
	own := t.TimeNS()
	if !sharesVM {
		own = children
	}
	c.timens.Store(own)
	c.timensChildren.Store(children)
}

// enteredTimeNS is timens_commit for t, which has just entered its time
// namespace: the offsets freeze and, if they move a clock, t's vDSO
// stops answering from the sandbox's shared parameters page.
func (t *Task) enteredTimeNS() {
	ns := t.TimeNS()
	if ns == &t.K.initTime {
		return
	}
	ns.freeze()
	if !ns.zero() {
		if err := t.MM().TrapVDSOClocks(); err != nil {
			t.Log().Warn("time namespace: making the vDSO's clocks trap failed", "err", err)
		}
	}
}

// execTimeNS is exec_task_namespaces: execve takes t into its children's
// time namespace, and its new vDSO traps where the offsets say so.
func (t *Task) execTimeNS() {
	if ch := t.TimeNSForChildren(); ch != t.TimeNS() {
		t.timens.Store(ch)
	}
	t.enteredTimeNS()
}

// setNSTime enters time namespace ns (timens_install): a single-threaded
// process whose memory no other process shares only (EUSERS,
// current_is_single_threaded), with CAP_SYS_ADMIN in its owner and in the
// caller's own user namespace (EPERM); both the task's namespace and its
// children's become ns.
func (t *Task) setNSTime(ns *TimeNamespace) error {
	if t.TG.NumThreads() > 1 || t.MM().Shared() {
		return unix.EUSERS
	}
	c := t.Creds()
	if !c.HasCapIn(ns.userNS, linux.CAP_SYS_ADMIN) || !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	t.timens.Store(ns)
	t.timensChildren.Store(ns)
	t.enteredTimeNS()
	return nil
}

// TimeNSInode returns t's time namespace as a file.
func (t *Task) TimeNSInode() *NSInode { return &NSInode{Time: t.TimeNS()} }

// TimeNSForChildrenInode returns t's children's time namespace as a file.
func (t *Task) TimeNSForChildrenInode() *NSInode { return &NSInode{Time: t.TimeNSForChildren()} }
