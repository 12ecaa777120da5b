package pipe

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// FIFOs is the table of the pipes of open FIFO nodes; it implements
// vfs.FIFOOpener.
type FIFOs struct {
	mu    sync.Mutex
	pipes map[fifoKey]*Pipe // guarded by mu
}

type fifoKey struct{ dev, ino uint64 }

// NewFIFOs returns an empty table.
func NewFIFOs() *FIFOs { return &FIFOs{pipes: make(map[fifoKey]*Pipe)} }

// Creator is a caller that makes pipes: a *kernel.Task, which says who
// it is to the accounts (accounts.go).
type Creator interface {
	PipeCaller() Caller
}

// OpenFIFO implements vfs.FIFOOpener. The first open of an idle FIFO
// makes its pipe, charged to the opener's user; ENOMEM when that user is
// over pipe-user-pages-hard (fifo_open's answer when alloc_pipe_info
// fails). Only a task opens a FIFO: without one in ctx, EPERM.
func (t *FIFOs) OpenFIFO(ctx context.Context, dev, ino uint64, flags int) (vfs.FileImpl, error) {
	k := fifoKey{dev, ino}
	t.mu.Lock()
	p := t.pipes[k]
	if p == nil {
		c, ok := vfs.TaskOf(ctx).(Creator)
		if !ok {
			t.mu.Unlock()
			return nil, unix.EPERM
		}
		if p, ok = newPipe(c.PipeCaller()); !ok {
			t.mu.Unlock()
			return nil, unix.ENOMEM
		}
		p.fifos, p.key = t, k
		t.pipes[k] = p
	}
	e, err := p.openNonblocking(flags)
	if err != nil && p.idle() {
		delete(t.pipes, k)
		p.mu.Lock()
		p.unaccount()
		p.mu.Unlock()
	}
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := p.waitPartner(ctx, e, flags); err != nil {
		return nil, err
	}
	return e, nil
}

// idle reports whether no end is open.
func (p *Pipe) idle() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readers == 0 && p.writers == 0
}

// open opens an end as fifo(7) says (opening /proc/PID/fd/N of a pipe).
func (p *Pipe) open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	e, err := p.openNonblocking(flags)
	if err != nil {
		return nil, err
	}
	if err := p.waitPartner(ctx, e, flags); err != nil {
		return nil, err
	}
	return e, nil
}

// openNonblocking counts a new end; a non-blocking open for writing fails
// with ENXIO when there is no reader.
func (p *Pipe) openNonblocking(flags int) (*End, error) {
	if flags&unix.O_ACCMODE == unix.O_WRONLY && flags&unix.O_NONBLOCK != 0 {
		p.mu.Lock()
		readers := p.readers
		p.mu.Unlock()
		if readers == 0 {
			return nil, unix.ENXIO
		}
	}
	return p.openEnd(flags), nil
}

// waitPartner blocks a new read-only end until a writer opens, and a new
// write-only end until a reader opens, unless the pipe already has one or
// the open is non-blocking. An interrupted wait closes the end (EINTR).
func (p *Pipe) waitPartner(ctx context.Context, e *End, flags int) error {
	if flags&unix.O_NONBLOCK != 0 || e.read == e.write {
		return nil
	}
	stop := vfs.Interrupt(ctx)
	p.mu.Lock()
	for !p.hasPartner(e) {
		opened := p.opened
		p.mu.Unlock()
		select {
		case <-opened:
		case <-stop:
			e.Release()
			return unix.EINTR
		}
		p.mu.Lock()
	}
	p.mu.Unlock()
	return nil
}

// hasPartner reports whether the other side of e is or was open since e
// opened; p.mu is held.
func (p *Pipe) hasPartner(e *End) bool {
	if e.read {
		return p.writers > 0 || p.wOpens != e.since
	}
	return p.readers > 0 || p.rOpens != e.rSince
}
