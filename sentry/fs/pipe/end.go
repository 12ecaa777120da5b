package pipe

import (
	"context"
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// End is one open end of a pipe: the read end, the write end, or both
// (a FIFO opened O_RDWR). It is a vfs.FileImpl and a vfs.Stream.
type End struct {
	p           *Pipe
	read, write bool
	since       uint64 // p.wOpens when the end opened
	rSince      uint64 // p.rOpens when the end opened
}

// openEnd counts a new end opened with flags' access mode.
func (p *Pipe) openEnd(flags int) *End {
	acc := flags & unix.O_ACCMODE
	p.mu.Lock()
	e := &End{p: p, read: acc != unix.O_WRONLY, write: acc != unix.O_RDONLY, since: p.wOpens, rSince: p.rOpens}
	if e.read {
		p.readers++
		p.rOpens++
	}
	if e.write {
		p.writers++
		p.wOpens++
	}
	close(p.opened)
	p.opened = make(chan struct{})
	p.mu.Unlock()
	p.queue.Notify(readEvents | writeEvents)
	return e
}

// Pipe returns the end's pipe.
func (e *End) Pipe() *Pipe { return e.p }

// Read implements vfs.Stream.
func (e *End) Read(ctx context.Context, p []byte) (int, error) { return e.p.read(p) }

// Write implements vfs.Stream.
func (e *End) Write(ctx context.Context, p []byte) (int, error) {
	var mem *usage.Memory
	if a, ok := vfs.TaskOf(ctx).(accounted); ok {
		mem = a.MemoryAccount()
	}
	return e.p.write(p, mem)
}

// accounted is a caller that charges memory (a *kernel.Task).
type accounted interface {
	MemoryAccount() *usage.Memory
}

// ReadAt implements vfs.FileImpl: pipes have no offsets.
func (e *End) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// WriteAt implements vfs.FileImpl: pipes have no offsets.
func (e *End) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// Readiness implements vfs.Readiness.
func (e *End) Readiness(mask int16) int16 { return e.p.readiness(e.read, e.write, e.since) }

// EventQueue implements vfs.Waitable.
func (e *End) EventQueue() *vfs.Queue { return &e.p.queue }

// SignalDriven implements vfs.SignalDriven: a pipe end may send SIGIO
// (pipe_fasync).
func (e *End) SignalDriven() {}

// Ioctl implements vfs.Ioctler: FIONREAD.
func (e *End) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	if cmd != unix.TIOCINQ {
		return 0, unix.ENOTTY
	}
	return 0, mem.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(e.p.Queued())))
}

// Release implements vfs.FileImpl: the end closes; readers see end of
// file when the last writer goes, writers EPIPE when the last reader
// goes.
func (e *End) Release() { e.p.release(e) }

// release uncounts e, and forgets a FIFO's pipe when no end is left.
func (p *Pipe) release(e *End) {
	if p.fifos != nil {
		p.fifos.mu.Lock()
		defer p.fifos.mu.Unlock()
	}
	p.mu.Lock()
	if e.read {
		p.readers--
	}
	if e.write {
		p.writers--
	}
	idle := p.readers == 0 && p.writers == 0
	if idle {
		p.mem.Uncharge(usage.Pipes, uint64(len(p.data)))
		p.data, p.base = nil, nil
		p.unaccount()
	}
	p.mu.Unlock()
	if idle && p.fifos != nil {
		delete(p.fifos.pipes, p.key)
	}
	p.queue.Notify(readEvents | writeEvents | unix.POLLHUP | unix.POLLERR)
}

// inode is the inode of an anonymous pipe, for fstat and /proc/PID/fd.
type inode struct {
	p        *Pipe
	uid, gid uint32
	ctime    unix.Timespec
}

// Stat implements vfs.Inode.
func (i *inode) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{
		Dev: dev, Ino: i.p.ino, Nlink: 1, Mode: unix.S_IFIFO | 0o600,
		Uid: i.uid, Gid: i.gid, Blksize: PageSize,
		Atim: i.ctime, Mtim: i.ctime, Ctim: i.ctime,
	}, nil
}

// Open implements vfs.Inode: opening /proc/PID/fd/N of a pipe (bash's
// process substitution, /dev/stdin) opens another end of it. Unlike a
// FIFO's open (fifo_open's is_pipe), it never waits for the other side,
// never fails for want of a reader, and a new read end sees POLLHUP at
// once when no writer is left (pipe_poll's f_version 0, the write end
// having opened with the pipe).
func (i *inode) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	e := i.p.openEnd(flags)
	e.since = 0
	return e, nil
}

// LinkName implements vfs.LinkNamer.
func (i *inode) LinkName() string { return fmt.Sprintf("pipe:[%d]", i.p.ino) }

// NewPair implements pipe2(2): it returns the read end and the write end
// of a new pipe made by c, whose inode owner is (its filesystem IDs),
// each with one reference; ENFILE when c's user is over
// pipe-user-pages-hard (create_pipe_files' answer when alloc_pipe_info
// fails). flags may hold O_NONBLOCK (and O_DIRECT, ignored); O_CLOEXEC
// is for the caller's descriptors.
func NewPair(c Caller, owner vfs.Creds, flags int) (r, w *vfs.File, err error) {
	p, ok := newPipe(c)
	if !ok {
		return nil, nil, unix.ENFILE
	}
	in := &inode{p: p, uid: owner.UID(), gid: owner.GID(), ctime: unix.NsecToTimespec(clocks.Realtime().UnixNano())}
	status := flags & unix.O_NONBLOCK
	// The read end opens first, so it sees POLLHUP when the writer goes.
	re := p.openEnd(unix.O_RDONLY)
	we := p.openEnd(unix.O_WRONLY)
	r = vfs.NewFile(nil, nil, in, re, unix.O_RDONLY|status)
	w = vfs.NewFile(nil, nil, in, we, unix.O_WRONLY|status)
	return r, w, nil
}

// FromFile returns the pipe of a file that is a pipe end (anonymous or a
// FIFO), for fcntl's F_GETPIPE_SZ and F_SETPIPE_SZ.
func FromFile(f *vfs.File) (*Pipe, bool) {
	e, ok := f.Impl().(*End)
	if !ok {
		return nil, false
	}
	return e.p, true
}
