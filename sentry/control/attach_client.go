package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
)

// Attach attaches h's hooks to the running sandbox until ctx is done or
// the sandbox ends (nil), or the sentry detaches them (an error saying
// why). The syscalls watched are those h has hooks for when Attach is
// called. Hooks run in this process, each call on its own goroutine, with
// the call's memory read and written through the connection; the sandbox's
// task waits for them, at most timeout (0: DefaultHookTimeout) for each
// frame about a call: past it, the sentry detaches the hooks, the call
// proceeds unhooked and the sandbox runs on unhooked.
func (c Client) Attach(ctx context.Context, h *interpose.Hooks, timeout time.Duration) error {
	conn, err := c.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	spec := &AttachSpec{Registered: h.Registered(), Timeout: timeout}
	if err := writeFrame(conn, Request{Method: MethodAttach, Attach: spec}, nil); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	var resp Response
	if _, err := readFrame(conn, &resp); err != nil {
		return fmt.Errorf("attach: the sandbox did not answer: %w", err)
	}
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	a := &attached{conn: conn, hooks: h, mem: map[uint64]chan MemAnswer{}}
	stop := context.AfterFunc(ctx, func() { unix.Shutdown(int(conn), unix.SHUT_RDWR) })
	defer stop()
	err = a.serve()
	a.calls.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// attached is the client's side of an attach.
type attached struct {
	conn  fdConn
	hooks *interpose.Hooks
	calls sync.WaitGroup // hooks running

	wmu sync.Mutex // serializes frames written

	mu    sync.Mutex                // guards mem, ended
	mem   map[uint64]chan MemAnswer // calls waiting for a memory answer, by event
	ended bool                      // the connection ended: no more answers
}

// serve reads the sentry's frames until the connection ends.
func (a *attached) serve() error {
	defer func() { // hooks waiting for memory get EFAULT
		a.mu.Lock()
		a.ended = true
		for id, ch := range a.mem {
			close(ch)
			delete(a.mem, id)
		}
		a.mu.Unlock()
	}()
	for {
		var ev HookEvent
		if _, err := readFrame(a.conn, &ev); err != nil {
			return nil // the sandbox ended, or ctx did
		}
		if ev.Detached != "" {
			return fmt.Errorf("attach: the sandbox detached the hooks: %s", ev.Detached)
		}
		if ev.Mem != nil {
			a.mu.Lock()
			ch := a.mem[ev.ID]
			delete(a.mem, ev.ID)
			a.mu.Unlock()
			if ch != nil {
				ch <- *ev.Mem
			}
			continue
		}
		a.calls.Add(1)
		go func() {
			defer a.calls.Done()
			a.call(ev)
		}()
	}
}

// call runs the hooks on one event and sends the verdict.
func (a *attached) call(ev HookEvent) {
	c := &interpose.Call{Nr: ev.Nr, Name: ev.Name, Args: ev.Args, Mem: remoteMemory{a, ev.ID}}
	if ev.Task != nil {
		c.Task = *ev.Task
	}
	v := HookReply{ID: ev.ID}
	if !ev.After {
		act := a.hooks.RunBefore(c)
		v.Action, v.Args = "continue", c.Args
		if val, errno, ok := act.Answered(); ok {
			v.Action, v.Value, v.Errno = "return", val, int(errno)
			if errno != 0 {
				v.Action = "deny"
			}
		}
	} else if ev.Result != nil {
		r := interpose.Result{Value: ev.Result.Value, Errno: unix.Errno(ev.Result.Errno),
			Duration: ev.Result.Duration, Answered: ev.Result.Answered}
		a.hooks.RunAfter(c, &r)
		v.Result = &HookResult{Value: r.Value, Errno: int(r.Errno)}
	}
	a.write(v)
}

func (a *attached) write(v HookReply) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	return writeFrame(a.conn, v, nil)
}

// remoteMemory is a stopped call's memory, through the connection.
type remoteMemory struct {
	a  *attached
	id uint64
}

// do sends one memory request and waits for its answer.
func (m remoteMemory) do(req HookReply) (MemAnswer, error) {
	ch := make(chan MemAnswer, 1)
	m.a.mu.Lock()
	if m.a.ended {
		m.a.mu.Unlock()
		return MemAnswer{}, unix.EFAULT
	}
	m.a.mem[m.id] = ch
	m.a.mu.Unlock()
	req.ID = m.id
	if err := m.a.write(req); err != nil {
		return MemAnswer{}, unix.EFAULT
	}
	ans, ok := <-ch
	if !ok {
		return MemAnswer{}, unix.EFAULT // the connection ended
	}
	if ans.Errno != 0 {
		return ans, unix.Errno(ans.Errno)
	}
	return ans, nil
}

func (m remoteMemory) CopyIn(addr uintptr, dst []byte) error {
	for len(dst) > 0 {
		n := min(len(dst), MaxHookMemory)
		ans, err := m.do(HookReply{Read: &MemRequest{Addr: addr, Len: n}})
		if err != nil {
			return err
		}
		if len(ans.Data) != n {
			return unix.EFAULT
		}
		copy(dst, ans.Data)
		dst, addr = dst[n:], addr+uintptr(n)
	}
	return nil
}

func (m remoteMemory) CopyOut(addr uintptr, src []byte) error {
	for len(src) > 0 {
		n := min(len(src), MaxHookMemory)
		if _, err := m.do(HookReply{Write: &MemRequest{Addr: addr, Data: src[:n]}}); err != nil {
			return err
		}
		src, addr = src[n:], addr+uintptr(n)
	}
	return nil
}
