package kernel

import (
	"context"
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// The controlling terminal, as runsc gives a container one: when the
// sandbox's stdio is a host terminal, that terminal is the controlling
// terminal of init's session, with a foreground process group of sandbox
// pgids (initially init's). The host terminal itself is never told of
// sandbox process groups: the host sees runsc-lite as its foreground job,
// its line discipline turns Ctrl-C, Ctrl-\ and Ctrl-Z into signals to
// runsc-lite, and the sandbox forwards them to the foreground group here
// (sandbox.forwardSignals). Termios and window size stay the host's.
//
// The state lives here, guarded by the kernel's mu like the rest of the
// process tree: the session the terminal controls and its foreground
// group, and for each process the terminal it has (ThreadGroup.ctty,
// inherited by children, lost on setsid and TIOCNOTTY). Job control
// follows Linux (drivers/tty/tty_jobctrl.c): a process of the session
// outside the foreground group that reads gets SIGTTIN for its group,
// one that writes with TOSTOP or changes the terminal gets SIGTTOU,
// unless it ignores or blocks the signal (EIO for reads) or its group is
// orphaned (EIO). The same TTY serves the pseudo-terminals inside the
// sandbox (fs/devpts): their line discipline asks it who may read and
// write and which group gets the signals of ^C, ^\, ^Z and SIGWINCH, and
// it hangs up the session when the master closes.

// TTY is the sandbox's terminal.
type TTY struct {
	k *Kernel
	// rdev is the host terminal's device number (/proc/PID/stat's tty_nr).
	rdev uint64
	// reopen opens the host terminal again, for /dev/tty.
	reopen func(flags int) (vfs.FileImpl, error)

	// The session the terminal controls (0: none) and its foreground
	// process group; guarded by k.mu.
	session int // guarded by k.mu
	pgrp    int // guarded by k.mu
}

// NewTerminal returns the sandbox's terminal, host device rdev, which
// reopen opens again; no session has it yet (SetControlling).
func (k *Kernel) NewTerminal(rdev uint64, reopen func(flags int) (vfs.FileImpl, error)) *TTY {
	return &TTY{k: k, rdev: rdev, reopen: reopen}
}

// SetControlling makes tty the controlling terminal of init's session,
// with init's group in the foreground.
func (tty *TTY) SetControlling(init *ThreadGroup) {
	tty.k.mu.Lock()
	defer tty.k.mu.Unlock()
	tty.setControllingLocked(init)
}

// setControllingLocked makes tty the controlling terminal of tg's session
// (__proc_set_tty); k.mu is held.
func (tty *TTY) setControllingLocked(tg *ThreadGroup) {
	tty.session, tty.pgrp = tg.sid, tg.pgid
	tg.ctty = tty
}

// NewTerminalControl implements vfs.TerminalMaker: the job control of a
// pseudo-terminal the task creates.
func (t *Task) NewTerminalControl(rdev uint64, reopen func(flags int) (vfs.FileImpl, error)) vfs.Terminal {
	return t.K.NewTerminal(rdev, reopen)
}

// ForegroundGroup implements vfs.Terminal.
func (tty *TTY) ForegroundGroup() int {
	tty.k.mu.Lock()
	defer tty.k.mu.Unlock()
	return tty.pgrp
}

// Acquire implements vfs.Terminal (tty_open_proc_set_tty): a session
// leader without a controlling terminal that opens a terminal no session
// has, without O_NOCTTY, gets it.
func (tty *TTY) Acquire(ctx context.Context) {
	t := callerTask(ctx)
	if t == nil {
		return
	}
	k := tty.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.TG
	if tg.PID == tg.sid && tg.ctty == nil && tty.session == 0 {
		tty.setControllingLocked(tg)
	}
}

// HangUp implements vfs.Terminal (tty_signal_session_leader): the leader
// of the session the terminal controls gets SIGHUP and SIGCONT, and no
// process has the terminal any longer.
func (tty *TTY) HangUp() {
	k := tty.k
	k.mu.Lock()
	leader := k.groups[tty.session]
	if tty.session == 0 || leader == nil || leader.zombie {
		leader = nil
	}
	tty.clearLocked()
	k.mu.Unlock()
	if leader != nil {
		leader.SendSignal(NewSigInfo(int32(unix.SIGHUP), linux.SI_KERNEL, 0, 0))
		leader.SendSignal(NewSigInfo(int32(unix.SIGCONT), linux.SI_KERNEL, 0, 0))
	}
}

// SignalForeground sends sig to the foreground process group, as the
// line discipline does for Ctrl-C, Ctrl-\ and Ctrl-Z and a resize does
// with SIGWINCH; false if the terminal has no foreground group left.
func (tty *TTY) SignalForeground(sig int) bool {
	k := tty.k
	k.mu.Lock()
	pgrp := tty.pgrp
	k.mu.Unlock()
	if pgrp == 0 {
		return false
	}
	return k.signalGroup(pgrp, NewSigInfo(int32(sig), linux.SI_KERNEL, 0, 0)) == nil
}

// signalGroup sends si to every process of group pgrp; ESRCH if none.
func (k *Kernel) signalGroup(pgrp int, si SigInfo) error {
	k.mu.Lock()
	targets := k.pgrpLocked(pgrp)
	k.mu.Unlock()
	if len(targets) == 0 {
		return unix.ESRCH
	}
	for _, tg := range targets {
		tg.SendSignal(si)
	}
	return nil
}

// pgrpLocked returns the live processes of group pgrp; k.mu is held.
func (k *Kernel) pgrpLocked(pgrp int) []*ThreadGroup {
	var members []*ThreadGroup
	for _, tg := range k.groups {
		if tg.pgid == pgrp && !tg.zombie {
			members = append(members, tg)
		}
	}
	return members
}

// callerTask returns the task doing a file operation; nil outside a
// syscall (then no job control applies).
func callerTask(ctx context.Context) *Task {
	t, _ := vfs.TaskOf(ctx).(*Task)
	return t
}

// CheckAccess decides whether the caller may use the terminal now, or
// whether its group must stop first (__tty_check_change): sig is SIGTTIN
// for a read, SIGTTOU for a write with TOSTOP or a change of the
// terminal. It returns nil, EIO, or ERESTARTSYS after sending sig to the
// caller's group, so that the call runs again once the group continues.
func (tty *TTY) CheckAccess(ctx context.Context, sig unix.Signal) error {
	t := callerTask(ctx)
	if t == nil {
		return nil
	}
	k := tty.k
	k.mu.Lock()
	tg := t.TG
	if tg.ctty != tty || tty.pgrp == 0 || tg.pgid == tty.pgrp {
		k.mu.Unlock()
		return nil
	}
	pgrp, orphaned := tg.pgid, k.orphanedLocked(tg.pgid)
	k.mu.Unlock()
	if t.ignoresOrBlocks(int(sig)) {
		if sig == unix.SIGTTIN {
			return unix.EIO
		}
		return nil
	}
	if orphaned {
		return unix.EIO
	}
	k.signalGroup(pgrp, NewSigInfo(int32(sig), linux.SI_KERNEL, 0, 0))
	return ErrRestartSys
}

// ignoresOrBlocks reports whether sig is blocked by t or ignored by its
// process (is_ignored in tty_jobctrl.c: SIG_IGN only, not a default
// action).
func (t *Task) ignoresOrBlocks(sig int) bool {
	return t.SigMask()&(1<<(sig-1)) != 0 || t.TG.SigAction(sig).Handler == linux.SIG_IGN
}

// orphanedLocked reports whether process group pgrp is orphaned: no
// member has a parent in another group of the same session (POSIX); k.mu
// is held. The sandbox's init has no parent, so its group is orphaned, as
// a container's init's group is in Linux.
func (k *Kernel) orphanedLocked(pgrp int) bool {
	for _, tg := range k.groups {
		if tg.pgid != pgrp || tg.zombie {
			continue
		}
		if p := tg.parent; p != nil && p.pgid != pgrp && p.sid == tg.sid {
			return false
		}
	}
	return true
}

// Ioctl answers the job control ioctls on the terminal (tty_jobctrl_ioctl,
// tiocsctty, tiocnotty); handled is false for every other command.
// readable says whether the file was opened for reading (TIOCSCTTY needs
// it).
func (tty *TTY) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr, readable bool) (ret uintptr, handled bool, err error) {
	t := callerTask(ctx)
	if t == nil {
		return 0, false, nil
	}
	switch cmd {
	case unix.TIOCGPGRP:
		pgrp, err := tty.query(t, func() int { return t.IDOf(tty.pgrp) })
		if err != nil {
			return 0, true, err
		}
		return 0, true, mem.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(pgrp)))
	case unix.TIOCGSID:
		sid, err := tty.query(t, func() int { return t.IDOf(tty.session) })
		if err == nil && sid == 0 {
			err = unix.ENOTTY
		}
		if err != nil {
			return 0, true, err
		}
		return 0, true, mem.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(sid)))
	case unix.TIOCSPGRP:
		return 0, true, tty.setForeground(ctx, t, mem, arg)
	case unix.TIOCSCTTY:
		return 0, true, tty.makeControlling(t, arg == 1, readable)
	case unix.TIOCNOTTY:
		return 0, true, tty.detach(t)
	}
	return 0, false, nil
}

// query reads a field of the terminal for a process that has it as its
// controlling terminal; ENOTTY for others.
func (tty *TTY) query(t *Task, field func() int) (int, error) {
	k := tty.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if t.TG.ctty != tty {
		return 0, unix.ENOTTY
	}
	return field(), nil
}

// setForeground is TIOCSPGRP (tiocspgrp): a background caller gets
// SIGTTOU first; the group must exist (ESRCH) in the caller's session
// (EPERM).
func (tty *TTY) setForeground(ctx context.Context, t *Task, mem vfs.Memory, arg uintptr) error {
	if err := tty.CheckAccess(ctx, unix.SIGTTOU); err == unix.EIO {
		return unix.ENOTTY
	} else if err != nil {
		return err
	}
	var b [4]byte
	k := tty.k
	k.mu.Lock()
	ok := t.TG.ctty == tty && tty.session == t.TG.sid
	k.mu.Unlock()
	if !ok {
		return unix.ENOTTY
	}
	if err := mem.CopyIn(arg, b[:]); err != nil {
		return err
	}
	pgrp := int(int32(binary.LittleEndian.Uint32(b[:])))
	if pgrp < 0 {
		return unix.EINVAL
	}
	if pgrp = t.KernelIDOf(pgrp); pgrp == 0 {
		return unix.ESRCH // no such group in t's namespace
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// session_of_pgrp: a member of the group, else the process with that
	// pid.
	sid := -1
	for _, g := range k.groups {
		if g.pgid == pgrp && !g.zombie {
			sid = g.sid
			break
		}
	}
	if g := k.groups[pgrp]; sid < 0 && g != nil {
		sid = g.sid
	}
	switch {
	case sid < 0:
		return unix.ESRCH
	case sid != t.TG.sid:
		return unix.EPERM
	}
	tty.pgrp = pgrp
	return nil
}

// makeControlling is TIOCSCTTY (tiocsctty): a session leader without a
// controlling terminal takes the terminal, if no other session has it
// or, with steal, if the caller holds CAP_SYS_ADMIN.
func (tty *TTY) makeControlling(t *Task, steal, readable bool) error {
	root := t.HasCapability(linux.CAP_SYS_ADMIN)
	k := tty.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.TG
	leader := tg.PID == tg.sid
	switch {
	case leader && tty.session == tg.sid:
		return nil
	case !leader || tg.ctty != nil:
		return unix.EPERM
	case tty.session != 0 && !(steal && root):
		return unix.EPERM
	case !readable && !root:
		return unix.EPERM
	}
	tty.clearLocked()
	tty.setControllingLocked(tg)
	return nil
}

// detach is TIOCNOTTY: the caller gives up its controlling terminal; a
// session leader takes it from its whole session, and the foreground
// group gets SIGHUP and SIGCONT (disassociate_ctty).
func (tty *TTY) detach(t *Task) error {
	k := tty.k
	k.mu.Lock()
	tg := t.TG
	if tg.ctty != tty {
		k.mu.Unlock()
		return unix.ENOTTY
	}
	if tg.PID != tg.sid {
		tg.ctty = nil
		k.mu.Unlock()
		return nil
	}
	k.mu.Unlock()
	tg.hangUp()
	return nil
}

// hangUp takes the terminal of session leader tg from its session, when
// it gives it up (TIOCNOTTY) or exits, and sends its foreground group
// SIGHUP and SIGCONT, so that stopped jobs see the hangup
// (disassociate_ctty, tty_vhangup_session).
func (tg *ThreadGroup) hangUp() {
	k := tg.k
	k.mu.Lock()
	tty := tg.ctty
	if tty == nil || tg.PID != tg.sid || tty.session != tg.sid {
		k.mu.Unlock()
		return
	}
	pgrp := tty.pgrp
	tty.clearLocked()
	tg.ctty = nil
	k.mu.Unlock()
	if pgrp != 0 {
		k.signalGroup(pgrp, NewSigInfo(int32(unix.SIGHUP), linux.SI_KERNEL, 0, 0))
		k.signalGroup(pgrp, NewSigInfo(int32(unix.SIGCONT), linux.SI_KERNEL, 0, 0))
	}
}

// clearLocked takes the terminal from the session that has it
// (session_clear_tty): no process has it any longer; k.mu is held.
func (tty *TTY) clearLocked() {
	tty.session, tty.pgrp = 0, 0
	for _, g := range tty.k.groups {
		if g.ctty == tty {
			g.ctty = nil
		}
	}
}

// JobInfo returns what /proc/PID/stat says of t's process: its group, its
// session, its controlling terminal's device number (0: none) and that
// terminal's foreground group (-1: no terminal), the IDs as namespace ns
// has them.
func (t *Task) JobInfo(ns *PIDNamespace) (pgrp, sid int, ttyDev uint64, tpgid int) {
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.TG
	if tg.ctty == nil {
		return ns.IDOf(tg.pgid), ns.IDOf(tg.sid), 0, -1
	}
	return ns.IDOf(tg.pgid), ns.IDOf(tg.sid), tg.ctty.rdev, ns.IDOf(tg.ctty.pgrp)
}

// OpenControllingTerminal opens the caller's controlling terminal
// (/dev/tty); ENXIO if it has none.
func (t *Task) OpenControllingTerminal(flags int) (vfs.FileImpl, error) {
	k := t.K
	k.mu.Lock()
	tty := t.TG.ctty
	k.mu.Unlock()
	if tty == nil {
		return nil, unix.ENXIO
	}
	return tty.reopen(flags)
}
