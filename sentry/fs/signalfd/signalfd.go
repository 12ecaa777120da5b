// Package signalfd implements signalfd(2) files: reading one takes pending
// signals of a chosen set, as struct signalfd_siginfo records, instead of
// having them delivered.
//
// As in Linux, a read takes signals of the reading thread: from its own
// pending set first, then from its process's. Readiness (poll, epoll) has
// no caller to ask, so it looks at the thread that created the file and
// its process; the process's signal queue (kernel.ThreadGroup.SignalQueue)
// wakes waiters whenever a signal is queued.
//
// Read never blocks: it fails with EAGAIN and the VFS waits on the queue
// (vfs/wait.go).
package signalfd

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// Flags of signalfd4.
const (
	NonBlock  = unix.SFD_NONBLOCK
	CloseExec = unix.SFD_CLOEXEC
)

// RecordSize is sizeof(struct signalfd_siginfo).
const RecordSize = 128

var (
	// dev and ino are the st_dev and st_ino of signalfds (Linux's single
	// anonymous inode).
	dev     = vfs.NewDeviceID()
	lastIno atomic.Uint64
)

// SignalFD is a signalfd's mask; it is both the inode and the
// implementation of its file.
type SignalFD struct {
	owner *kernel.Task
	ino   uint64

	mu   sync.Mutex
	mask uint64 // guarded by mu
}

// New implements signalfd4(2) with fd -1: a file with one reference that
// reads the signals in mask. flags are SFD_NONBLOCK and SFD_CLOEXEC (the
// latter for the caller's descriptor); others are EINVAL.
func New(t *kernel.Task, mask uint64, flags int) (*vfs.File, error) {
	if flags&^(NonBlock|CloseExec) != 0 {
		return nil, unix.EINVAL
	}
	s := &SignalFD{owner: t, ino: lastIno.Add(1), mask: mask &^ kernel.UnblockableSignals}
	return vfs.NewFile(nil, nil, s, s, unix.O_RDWR|flags&unix.O_NONBLOCK), nil
}

// FromFile returns the signalfd of a file.
func FromFile(f *vfs.File) (*SignalFD, bool) {
	s, ok := f.Impl().(*SignalFD)
	return s, ok
}

// SetMask replaces the set of signals the file reads (signalfd4 on an
// existing descriptor) and wakes its waiters, which may now have
// something to read.
func (s *SignalFD) SetMask(mask uint64) {
	s.mu.Lock()
	s.mask = mask &^ kernel.UnblockableSignals
	s.mu.Unlock()
	s.EventQueue().Notify(unix.POLLIN | linux.POLLRDNORM)
}

// Mask returns the set of signals the file reads.
func (s *SignalFD) Mask() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mask
}

// Read implements vfs.Stream: as many records as fit in p, of pending
// signals in the mask; EAGAIN if none is pending, EINVAL if p cannot hold
// one record.
func (s *SignalFD) Read(ctx context.Context, p []byte) (int, error) {
	if len(p) < RecordSize {
		return 0, unix.EINVAL
	}
	t, ok := vfs.TaskOf(ctx).(*kernel.Task)
	if !ok {
		t = s.owner
	}
	mask := s.Mask()
	n := 0
	for n+RecordSize <= len(p) {
		si, ok := t.Dequeue(mask)
		if !ok {
			break
		}
		r := record(&si)
		copy(p[n:n+RecordSize], abi.AsBytes(&r))
		n += RecordSize
	}
	if n == 0 {
		return 0, unix.EAGAIN
	}
	return n, nil
}

// siginfo layouts (kernel/signal.c siginfo_layout).
const (
	silKill = iota
	silTimer
	silPoll
	silFault
	silChld
	silRT
	silSys
)

func layout(sig, code int32) int {
	if code > linux.SI_USER && code < linux.SI_KERNEL {
		switch unix.Signal(sig) {
		case unix.SIGCHLD:
			return silChld
		case unix.SIGILL, unix.SIGFPE, unix.SIGSEGV, unix.SIGBUS, unix.SIGTRAP:
			return silFault
		case unix.SIGIO:
			return silPoll
		case unix.SIGSYS:
			return silSys
		}
		return silKill
	}
	switch {
	case code == linux.SI_TIMER:
		return silTimer
	case code == linux.SI_SIGIO:
		return silPoll
	case code < 0:
		return silRT
	}
	return silKill
}

// record is si as a struct signalfd_siginfo, with the fields its layout
// has, as signalfd_copyinfo copies them.
func record(si *kernel.SigInfo) abi.SignalfdSiginfo {
	r := abi.SignalfdSiginfo{Signo: uint32(si.Signo), Errno: si.Errno, Code: si.Code}
	chld := abi.View[abi.SigChld](si.Fields[:])
	switch layout(si.Signo, si.Code) {
	case silKill:
		r.PID, r.UID = uint32(si.PID()), uint32(si.UID())
	case silTimer:
		r.TID, r.Overrun = uint32(si.TimerID()), uint32(si.Overrun())
		r.Ptr, r.Int = si.Sigval(), int32(si.Sigval())
	case silPoll:
		r.Band, r.FD = uint32(si.Band()), int32(si.FD())
	case silFault:
		r.Addr = si.Addr()
	case silChld:
		r.PID, r.UID, r.Status = uint32(chld.PID), chld.UID, chld.Status
		r.UTime, r.STime = uint64(chld.UTime), uint64(chld.STime)
	case silRT:
		r.PID, r.UID = uint32(si.PID()), uint32(si.UID())
		r.Ptr, r.Int = si.Sigval(), int32(si.Sigval())
	case silSys:
		r.CallAddr, r.Syscall, r.Arch = si.CallAddr(), si.Syscall(), si.Arch()
	}
	return r
}

// Write implements vfs.Stream: signalfds are read-only (Linux has no write
// for them).
func (s *SignalFD) Write(ctx context.Context, p []byte) (int, error) {
	return 0, unix.EINVAL
}

// Seek implements vfs.Seeker: lseek succeeds and stays at 0, as Linux's
// noop_llseek does for signalfds.
func (s *SignalFD) Seek(ctx context.Context, off int64, whence int) (int64, error) {
	return 0, nil
}

// ReadAt implements vfs.FileImpl: signalfds have no offsets.
func (s *SignalFD) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// WriteAt implements vfs.FileImpl: signalfds have no offsets.
func (s *SignalFD) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// Readiness implements vfs.Readiness: readable while a signal in the mask
// is pending for the creating thread or its process.
func (s *SignalFD) Readiness(mask int16) int16 {
	if s.owner.PendingSignals()&s.Mask() != 0 {
		return unix.POLLIN | linux.POLLRDNORM
	}
	return 0
}

// EventQueue implements vfs.Waitable: the process's signal queue.
func (s *SignalFD) EventQueue() *vfs.Queue { return s.owner.TG.SignalQueue() }

// Stat implements vfs.Inode: an anonymous inode, mode 0600 without a
// file type, as Linux shows it.
func (s *SignalFD) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{Dev: dev, Ino: s.ino, Nlink: 1, Mode: 0o600, Blksize: 4096}, nil
}

// Open implements vfs.Inode: a signalfd cannot be reopened by name.
func (s *SignalFD) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, unix.ENXIO
}

// LinkName implements vfs.LinkNamer.
func (s *SignalFD) LinkName() string { return "anon_inode:[signalfd]" }

// Release implements vfs.FileImpl.
func (s *SignalFD) Release() {}
