package kernel

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// Pidfds: descriptors that refer to a process (pidfd_open, clone's
// CLONE_PIDFD), as in Linux. A pidfd holds its thread group, never a pid
// number, so a reused pid cannot redirect it. It is readable (poll,
// epoll) once the process has exited, and also hung up once it has been
// reaped; the group's exit queue wakes its waiters. Differences from
// Linux: pidfds refer to processes only (no PIDFD_THREAD, and
// CLONE_PIDFD with CLONE_THREAD is EINVAL, as before Linux 6.9), and
// pidfd_getfd needs no ptrace permission: the sandbox's user owns every
// process in it.

var (
	// pidfdDev and pidfdIno are the st_dev and st_ino of pidfds.
	pidfdDev     = vfs.NewDeviceID()
	lastPidfdIno atomic.Uint64
)

// PidFD is a pidfd: both its inode and its file.
type PidFD struct {
	tg  *ThreadGroup
	ino uint64
}

// newPidFD returns a file with one reference for tg.
func newPidFD(tg *ThreadGroup, nonblock bool) *vfs.File {
	p := &PidFD{tg: tg, ino: lastPidfdIno.Add(1)}
	flags := unix.O_RDWR
	if nonblock {
		flags |= unix.O_NONBLOCK
	}
	return vfs.NewFile(nil, nil, p, p, flags)
}

// PidFDOf returns the pidfd of a file; EBADF if it is not one, as Linux
// says for every pidfd syscall.
func PidFDOf(f *vfs.File) (*PidFD, error) {
	if p, ok := f.Impl().(*PidFD); ok {
		return p, nil
	}
	return nil, unix.EBADF
}

// ProcessDir is implemented by /proc/PID directories, which
// pidfd_send_signal takes in place of a pidfd (tgid_pidfd_to_pid).
type ProcessDir interface {
	// Process is the process the directory was made for.
	Process() *ThreadGroup
}

// SignalTargetOf returns the pidfd of a file for pidfd_send_signal: a
// pidfd, or a /proc/PID directory; EBADF if it is neither.
func SignalTargetOf(f *vfs.File) (*PidFD, error) {
	if d, ok := f.Inode().(ProcessDir); ok {
		return &PidFD{tg: d.Process()}, nil
	}
	return PidFDOf(f)
}

// PidFDOpen implements pidfd_open(2): a pidfd for process pid, installed
// close-on-exec in t's table. flags are 0 or PIDFD_NONBLOCK.
func (t *Task) PidFDOpen(pid, flags int) (int32, error) {
	if flags&^unix.PIDFD_NONBLOCK != 0 || pid <= 0 {
		return 0, unix.EINVAL
	}
	if pid = t.KernelIDOf(pid); pid == 0 {
		return 0, unix.ESRCH // none in t's namespace
	}
	k := t.K
	k.mu.Lock()
	tg, task := k.groups[pid], k.tasks[pid]
	k.mu.Unlock()
	switch {
	case tg == nil && task == nil:
		return 0, unix.ESRCH
	case tg == nil:
		return 0, unix.EINVAL // a thread, not a process
	}
	return t.installPidFD(tg, flags&unix.PIDFD_NONBLOCK != 0)
}

// installPidFD installs a new pidfd for tg in t's table.
func (t *Task) installPidFD(tg *ThreadGroup, nonblock bool) (int32, error) {
	f := newPidFD(tg, nonblock)
	defer f.DecRef()
	return t.FDs().Install(f, 0, true)
}

// state reports whether the process has exited and whether it has been
// reaped.
func (p *PidFD) state() (exited, reaped bool) {
	k := p.tg.k
	k.mu.Lock()
	defer k.mu.Unlock()
	return p.tg.zombie, p.tg.zombie && k.groups[p.tg.PID] != p.tg
}

// FDInfo is what /proc/PID/fdinfo adds for a pidfd (pidfd_show_fdinfo):
// the process's ID in /proc's namespace ns (0 outside it, -1 once it is
// reaped) and in each namespace below ns down to its own.
func (p *PidFD) FDInfo(ns *PIDNamespace) string {
	k := p.tg.k
	k.mu.Lock()
	reaped := p.tg.zombie && k.groups[p.tg.PID] != p.tg
	var leader *Task
	if len(p.tg.tasks) > 0 {
		leader = p.tg.tasks[0]
	} else {
		leader = p.tg.last
	}
	k.mu.Unlock()
	nr := ns.IDOf(p.tg.PID)
	if reaped || leader == nil {
		nr = -1
	}
	s := fmt.Sprintf("Pid:\t%d\nNSpid:\t%d", nr, nr)
	if nr > 0 {
		ids := leader.NSIDsFrom(ns).TGID
		for _, id := range ids[min(1, len(ids)):] {
			s += fmt.Sprintf("\t%d", id)
		}
	}
	return s + "\n"
}

// PIDFor is the process's ID as t sees it, 0 if outside t's namespace.
func (p *PidFD) PIDFor(t *Task) int { return t.PIDOf(p.tg) }

// SendSignal implements pidfd_send_signal(2) from t: sig with the
// siginfo info (nil: one as kill(2) makes), to the process, or with
// flags to its thread-group leader or its process group. A process that
// has exited takes nothing; one that has been reaped is ESRCH.
func (p *PidFD) SendSignal(t *Task, sig int, info *SigInfo, flags int) error {
	if flags&^(linux.PIDFD_SIGNAL_THREAD|linux.PIDFD_SIGNAL_THREAD_GROUP|linux.PIDFD_SIGNAL_PROCESS_GROUP) != 0 || flags&(flags-1) != 0 {
		return unix.EINVAL
	}
	if info != nil {
		code := info.Code
		if int(info.Signo) != sig {
			return unix.EINVAL
		}
		// Only a process signalling itself may forge a kernel-looking
		// siginfo (copy_siginfo_from_user_any's rule).
		if (p.tg != t.TG || flags&linux.PIDFD_SIGNAL_PROCESS_GROUP != 0 || flags&linux.PIDFD_SIGNAL_THREAD != 0) && (code >= 0 || code == linux.SI_TKILL) {
			return unix.EPERM
		}
	}
	if sig < 0 || sig > 64 {
		return unix.EINVAL
	}
	exited, reaped := p.state()
	switch {
	case reaped:
		return unix.ESRCH
	case flags&linux.PIDFD_SIGNAL_PROCESS_GROUP != 0:
	case t.MaySignal(p.tg, sig) != nil:
		return unix.EPERM
	case exited:
		return nil
	}
	si := NewSigInfo(int32(sig), linux.SI_USER, t.PID(), t.Creds().UID.Real)
	if info != nil {
		si = *info
	}
	if sig == 0 || flags&linux.PIDFD_SIGNAL_PROCESS_GROUP == 0 && t.SignalDropped(p.tg, &si) {
		return nil
	}
	switch {
	case flags&linux.PIDFD_SIGNAL_PROCESS_GROUP != 0:
		k := p.tg.k
		k.mu.Lock()
		pgrp := p.tg.pgid
		k.mu.Unlock()
		return k.KillGroup(t, pgrp, si)
	case flags&linux.PIDFD_SIGNAL_THREAD != 0:
		if leader := p.tg.k.Task(p.tg.PID); leader != nil {
			return leader.SendSignal(si)
		}
		return nil
	}
	return p.tg.SendSignal(si)
}

// GetFD implements pidfd_getfd(2) for t: a duplicate of descriptor fd of
// the process, installed close-on-exec in t's table. ESRCH once the
// process has exited, EBADF if fd is not open there.
func (p *PidFD) GetFD(t *Task, fd int32) (int32, error) {
	k := p.tg.k
	k.mu.Lock()
	var target *Task
	if !p.tg.zombie && !p.tg.exiting && len(p.tg.tasks) > 0 {
		target = p.tg.tasks[0]
	}
	k.mu.Unlock()
	if target == nil {
		return 0, unix.ESRCH
	}
	// PTRACE_MODE_ATTACH_REALCREDS, as __pidfd_fd_getfile checks it.
	if !t.MayAccessMemory(target) {
		return 0, unix.EPERM
	}
	f, err := target.FDs().Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return t.FDs().Install(f, 0, true)
}

// Readiness implements vfs.Readiness: readable once the process has
// exited, hung up too once it has been reaped (pidfd_poll).
func (p *PidFD) Readiness(mask int16) int16 {
	var r int16
	exited, reaped := p.state()
	if exited {
		r |= unix.POLLIN | linux.POLLRDNORM
	}
	if reaped {
		r |= unix.POLLHUP
	}
	return r & (mask | unix.POLLHUP)
}

// EventQueue implements vfs.Waitable: the process's exit queue.
func (p *PidFD) EventQueue() *vfs.Queue { return &p.tg.exitQueue }

// ReadAt implements vfs.FileImpl: pidfds cannot be read (EINVAL, as
// Linux).
func (p *PidFD) ReadAt(ctx context.Context, b []byte, off int64) (int, error) {
	return 0, unix.EINVAL
}

// WriteAt implements vfs.FileImpl: pidfds cannot be written.
func (p *PidFD) WriteAt(ctx context.Context, b []byte, off int64) (int, error) {
	return 0, unix.EINVAL
}

// Stat implements vfs.Inode: an anonymous inode.
func (p *PidFD) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{Dev: pidfdDev, Ino: p.ino, Nlink: 1, Mode: 0o600, Blksize: 4096}, nil
}

// Open implements vfs.Inode: a pidfd cannot be reopened by name.
func (p *PidFD) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, unix.ENXIO
}

// LinkName implements vfs.LinkNamer.
func (p *PidFD) LinkName() string { return "anon_inode:[pidfd]" }

// Release implements vfs.FileImpl.
func (p *PidFD) Release() {}
