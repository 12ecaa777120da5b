package control

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
)

// A hook client's session (attach): the client's hooks become a group of
// the kernel's hooks whose functions send each call to the client and wait,
// on the task's goroutine, for its frames about it. The session ends,
// removing the group (the sandbox runs on unhooked), when the client closes
// the connection, sends a frame that breaks the protocol, or leaves a call
// waiting for a frame longer than its timeout; the call then proceeds as if
// unhooked. Writes never block longer than the timeout either (the socket is
// polled), so neither a dead nor a stalled client holds a task for more than
// one timeout; a task killed while it waits stops waiting at once
// (Call.Killed), and the client's late answer about it is dropped.

// hookSession is one attached client.
type hookSession struct {
	srv     *Server
	conn    pollConn
	group   *interpose.Group
	timeout time.Duration

	wmu    sync.Mutex // serializes frames written to conn, guards closed
	closed bool       // conn is about to be closed: nothing more is written

	mu      sync.Mutex                // guards next, pending
	next    uint64                    // the last event's ID
	pending map[uint64]chan HookReply // the client's frames for each waiting event, by ID

	done     chan struct{} // closed when the session ends
	doneOnce sync.Once
	why      string // why it ended, set before done is closed
}

// attach serves a MethodAttach connection until the session ends.
func (srv *Server) attach(fd int, req Request) {
	spec := req.Attach
	fail := func(msg string) { writeFrame(fdConn(fd), Response{Error: msg}, nil) }
	switch {
	case srv.S.K.Hooks == nil:
		fail("attach: this sandbox was built without a hook set")
		return
	case spec == nil:
		fail("attach: no syscalls named")
		return
	case spec.Timeout < 0 || spec.Timeout > MaxHookTimeout:
		fail(fmt.Sprintf("attach: the timeout %v is not between 0 and %v", spec.Timeout, MaxHookTimeout))
		return
	}
	s := &hookSession{srv: srv, timeout: spec.Timeout, pending: map[uint64]chan HookReply{}, done: make(chan struct{})}
	if s.timeout == 0 {
		s.timeout = DefaultHookTimeout
	}
	s.conn = pollConn{fd: fd, done: s.done, timeout: s.timeout}
	for _, nr := range append(append([]uintptr(nil), spec.Before...), spec.After...) {
		if _, ok := srv.S.K.Syscalls.Entries[nr]; !ok {
			fail(fmt.Sprintf("attach: no syscall %d", nr))
			return
		}
	}
	// The hooks are in place before the client hears they are (it may make
	// the sandbox call at once), and their first event cannot come before
	// that answer: events are written under wmu too.
	s.wmu.Lock()
	s.group = srv.S.K.Hooks.Group()
	for _, nr := range spec.Before {
		s.group.Before(nr, s.before)
	}
	for _, nr := range spec.After {
		s.group.After(nr, s.after)
	}
	if spec.BeforeAll {
		s.group.Before(interpose.All, s.before)
	}
	if spec.AfterAll {
		s.group.After(interpose.All, s.after)
	}
	err := writeFrame(s.conn, Response{}, nil)
	s.wmu.Unlock()
	if err != nil {
		s.end(fmt.Sprintf("answering the attach: %v", err))
		return
	}
	srv.Log.Info("control: hooks attached", "before", spec.Before, "after", spec.After,
		"beforeAll", spec.BeforeAll, "afterAll", spec.AfterAll, "timeout", s.timeout)
	s.read()
	s.write(HookEvent{Detached: s.why})
	s.wmu.Lock() // a write in progress ends (in at most a timeout) before the descriptor is closed
	s.closed = true
	s.wmu.Unlock()
}

// read routes the client's frames to the events they are about until the
// session ends.
func (s *hookSession) read() {
	for {
		var r HookReply
		if _, err := readFrame(s.conn, &r); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				s.end("the client went away")
			} else {
				s.end(err.Error())
			}
			return
		}
		s.mu.Lock()
		ch := s.pending[r.ID]
		s.mu.Unlock()
		if ch == nil {
			continue // a call given up on (timed out, or the session ended)
		}
		select {
		case ch <- r:
		default:
			s.end(fmt.Sprintf("a second frame about event %d before its answer", r.ID))
			return
		}
	}
}

// end ends the session: the hooks go, waiting calls proceed unhooked.
func (s *hookSession) end(why string) {
	s.doneOnce.Do(func() {
		if s.group != nil {
			s.group.Remove()
		}
		s.why = why
		close(s.done)
		s.srv.Log.Info("control: hooks detached", "why", why)
	})
}

// write sends one frame.
func (s *hookSession) write(v any) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return errEnded
	}
	return writeFrame(s.conn, v, nil)
}

// ask sends ev about c to the client and serves its memory requests until
// its verdict, which it returns; ok is false when the session ended first
// (the call then proceeds unhooked).
func (s *hookSession) ask(ev HookEvent, c *interpose.Call) (verdict HookReply, ok bool) {
	ch := make(chan HookReply, 1)
	s.mu.Lock()
	s.next++
	ev.ID = s.next
	s.pending[ev.ID] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, ev.ID)
		s.mu.Unlock()
	}()
	select {
	case <-s.done:
		return HookReply{}, false
	default:
	}
	if err := s.write(ev); err != nil {
		s.end(fmt.Sprintf("sending event %d: %v", ev.ID, err))
		return HookReply{}, false
	}
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	for {
		select {
		case <-s.done:
			return HookReply{}, false
		case <-c.Killed:
			return HookReply{}, false // the task dies now; a late answer is dropped
		case <-timer.C:
			s.end(fmt.Sprintf("no answer about %s (event %d) in %v", c.Name, ev.ID, s.timeout))
			return HookReply{}, false
		case r := <-ch:
			if r.Read == nil && r.Write == nil {
				return r, true
			}
			ans := s.memory(c.Mem, r)
			if err := s.write(HookEvent{ID: ev.ID, Mem: &ans}); err != nil {
				s.end(fmt.Sprintf("answering a memory request of event %d: %v", ev.ID, err))
				return HookReply{}, false
			}
			timer.Reset(s.timeout)
		}
	}
}

// memory does a client's memory request on the calling task's memory.
func (s *hookSession) memory(m interpose.Memory, r HookReply) MemAnswer {
	errnoOf := func(err error) int {
		var e unix.Errno
		if errors.As(err, &e) {
			return int(e)
		}
		return int(unix.EFAULT)
	}
	if r.Read != nil {
		if r.Read.Len < 0 || r.Read.Len > MaxHookMemory {
			return MemAnswer{Errno: int(unix.EINVAL)}
		}
		b := make([]byte, r.Read.Len)
		if err := m.CopyIn(r.Read.Addr, b); err != nil {
			return MemAnswer{Errno: errnoOf(err)}
		}
		return MemAnswer{Data: b}
	}
	if len(r.Write.Data) > MaxHookMemory {
		return MemAnswer{Errno: int(unix.EINVAL)}
	}
	if err := m.CopyOut(r.Write.Addr, r.Write.Data); err != nil {
		return MemAnswer{Errno: errnoOf(err)}
	}
	return MemAnswer{}
}

// validErrno is an errno a verdict may give a call.
func validErrno(e int) bool { return e > 0 && e < 4096 }

// before is the group's before-hook: the client's verdict.
func (s *hookSession) before(c *interpose.Call) interpose.Action {
	v, ok := s.ask(HookEvent{Task: &c.Task, Nr: c.Nr, Name: c.Name, Args: c.Args}, c)
	if !ok {
		return interpose.Continue()
	}
	switch v.Action {
	case "deny":
		if validErrno(v.Errno) {
			return interpose.Deny(unix.Errno(v.Errno))
		}
	case "return":
		return interpose.Return(v.Value)
	case "continue", "":
		c.Args = v.Args
		return interpose.Continue()
	}
	s.end(fmt.Sprintf("a bad verdict %q (errno %d) about %s", v.Action, v.Errno, c.Name))
	return interpose.Continue()
}

// after is the group's after-hook: the result the client leaves.
func (s *hookSession) after(c *interpose.Call, r *interpose.Result) {
	res := &HookResult{Value: r.Value, Errno: int(r.Errno), Duration: r.Duration, Answered: r.Answered}
	v, ok := s.ask(HookEvent{After: true, Task: &c.Task, Nr: c.Nr, Name: c.Name, Args: c.Args, Result: res}, c)
	if !ok || v.Result == nil {
		return
	}
	if v.Result.Errno != 0 && !validErrno(v.Result.Errno) {
		s.end(fmt.Sprintf("a bad errno %d for %s", v.Result.Errno, c.Name))
		return
	}
	r.Value, r.Errno = v.Result.Value, unix.Errno(v.Result.Errno)
}

// pollConn is a socket descriptor read and written without blocking past
// done (reads) or timeout (each wait of a write), with ppoll, which the
// sentry's allow-list has.
type pollConn struct {
	fd      int
	done    <-chan struct{}
	timeout time.Duration
}

// errEnded is a read of a session that ended.
var errEnded = errors.New("the session ended")

// pollEvery is how often a waiting read looks at done.
const pollEvery = 100 * time.Millisecond

// wait waits until fd has events, for at most d.
func (c pollConn) wait(events int16, d time.Duration) (bool, error) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	fds := []unix.PollFd{{Fd: int32(c.fd), Events: events}}
	n, err := unix.Ppoll(fds, &ts, nil)
	if err == unix.EINTR {
		return false, nil
	}
	return n > 0, err
}

func (c pollConn) readMsg(p, oob []byte) (int, int, error) {
	for {
		select {
		case <-c.done:
			return 0, 0, errEnded
		default:
		}
		if ready, err := c.wait(unix.POLLIN, pollEvery); err != nil {
			return 0, 0, err
		} else if !ready {
			continue
		}
		n, oobn, _, _, err := unix.Recvmsg(c.fd, p, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		return n, oobn, err
	}
}

func (c pollConn) writeMsg(p, oob []byte) error {
	deadline := time.Now().Add(c.timeout)
	for len(p) > 0 {
		n, err := unix.SendmsgN(c.fd, p, oob, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		switch {
		case err == unix.EAGAIN:
			left := time.Until(deadline)
			if left <= 0 {
				return fmt.Errorf("the client did not read a frame in %v", c.timeout)
			}
			if _, err := c.wait(unix.POLLOUT, left); err != nil {
				return err
			}
			continue
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		}
		p, oob = p[n:], nil
	}
	return nil
}
