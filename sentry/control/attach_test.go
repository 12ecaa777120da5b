package control

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
	"runsc-lite/sentry/sandbox"
	"runsc-lite/sentry/syscalls/linux"
)

// fakeMemory is a task's memory for the tests: b at address 0x1000.
type fakeMemory struct{ b []byte }

func (m *fakeMemory) CopyIn(addr uintptr, dst []byte) error {
	if addr < 0x1000 || addr-0x1000+uintptr(len(dst)) > uintptr(len(m.b)) {
		return unix.EFAULT
	}
	copy(dst, m.b[addr-0x1000:])
	return nil
}

func (m *fakeMemory) CopyOut(addr uintptr, src []byte) error {
	if addr < 0x1000 || addr-0x1000+uintptr(len(src)) > uintptr(len(m.b)) {
		return unix.EFAULT
	}
	copy(m.b[addr-0x1000:], src)
	return nil
}

// attachSession starts the server's side of an attach with spec on a
// test kernel and returns the kernel, the client's end of the connection
// and the server's first answer; ended is closed when the session ends.
func attachSession(t *testing.T, spec *AttachSpec, hooks bool) (k *kernel.Kernel, client fdConn, resp Response, ended chan struct{}) {
	t.Helper()
	table, err := linux.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	k = kerneltest.NewKernel(t, table)
	if hooks {
		k.Hooks = &interpose.Hooks{}
	}
	srv := &Server{S: &sandbox.Sandbox{K: k}, Log: slog.New(slog.DiscardHandler)}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ended = make(chan struct{})
	go func() {
		srv.attach(fds[0], Request{Method: MethodAttach, Attach: spec})
		unix.Close(fds[0])
		close(ended)
	}()
	client = fdConn(fds[1])
	t.Cleanup(func() { client.Close() })
	if _, err := readFrame(client, &resp); err != nil {
		t.Fatalf("the attach's answer: %v", err)
	}
	return k, client, resp, ended
}

// call runs one getppid through k's hooks, as a task would, in the
// background; the kernel's own handling returns 1.
func call(k *kernel.Kernel, mem interpose.Memory) <-chan interpose.Result {
	ch := make(chan interpose.Result, 1)
	go func() {
		c := &interpose.Call{Nr: unix.SYS_GETPPID, Name: "getppid", Args: [6]uintptr{0x1000}, Mem: mem}
		ch <- k.Hooks.Invoke(c, func([6]uintptr) (uintptr, unix.Errno) { return 1, 0 })
	}()
	return ch
}

func result(t *testing.T, ch <-chan interpose.Result) interpose.Result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the call never ended")
	}
	return interpose.Result{}
}

// TestAttachProtocol: a client's memory requests are served from the
// task's memory (EFAULT outside it) and its verdict answers the call; a
// bad verdict detaches it, the call then runs unhooked and the hooks are
// gone.
func TestAttachProtocol(t *testing.T) {
	k, client, resp, ended := attachSession(t, &AttachSpec{Registered: interpose.Registered{Before: []uintptr{unix.SYS_GETPPID}}, Timeout: 10 * time.Second}, true)
	if resp.Error != "" || !k.Hooks.Watches(unix.SYS_GETPPID) {
		t.Fatalf("attach: %q, watched %v", resp.Error, k.Hooks.Watches(unix.SYS_GETPPID))
	}
	mem := &fakeMemory{b: []byte("hello")}
	ch := call(k, mem)
	var ev HookEvent
	if _, err := readFrame(client, &ev); err != nil || ev.Name != "getppid" || ev.After || ev.Args[0] != 0x1000 {
		t.Fatalf("the event: %+v %v", ev, err)
	}
	writeFrame(client, HookReply{ID: ev.ID, Read: &MemRequest{Addr: 0x1000, Len: 5}}, nil)
	var ans HookEvent
	if _, err := readFrame(client, &ans); err != nil || ans.Mem == nil || string(ans.Mem.Data) != "hello" {
		t.Fatalf("the memory answer: %+v %v", ans, err)
	}
	writeFrame(client, HookReply{ID: ev.ID, Write: &MemRequest{Addr: 0x1003, Data: []byte("p!")}}, nil)
	if _, err := readFrame(client, &ans); err != nil || ans.Mem == nil || ans.Mem.Errno != 0 {
		t.Fatalf("the memory write: %+v %v", ans, err)
	}
	writeFrame(client, HookReply{ID: ev.ID, Read: &MemRequest{Addr: 0x2000, Len: 1}}, nil)
	if _, err := readFrame(client, &ans); err != nil || ans.Mem == nil || ans.Mem.Errno != int(unix.EFAULT) {
		t.Fatalf("a read outside the task's memory: %+v %v, want EFAULT", ans, err)
	}
	writeFrame(client, HookReply{ID: ev.ID, Action: "bogus"}, nil)
	if r := result(t, ch); r.Answered || r.Value != 1 {
		t.Errorf("a call whose client broke the protocol: %+v, want it run unhooked (1)", r)
	}
	if string(mem.b) != "help!" {
		t.Errorf("the task's memory after the client's write: %q, want help!", mem.b)
	}
	<-ended
	if k.Hooks.Watches(unix.SYS_GETPPID) {
		t.Errorf("the hooks are left after the client was detached")
	}

	k, client, _, ended = attachSession(t, &AttachSpec{Registered: interpose.Registered{Before: []uintptr{unix.SYS_GETPPID}}}, true)
	ch = call(k, mem)
	readFrame(client, &ev)
	writeFrame(client, HookReply{ID: ev.ID, Action: "deny", Errno: int(unix.EPERM)}, nil)
	if r := result(t, ch); !r.Answered || r.Errno != unix.EPERM {
		t.Errorf("a denied call: %+v, want EPERM", r)
	}
	ch = call(k, mem)
	readFrame(client, &ev)
	writeFrame(client, HookReply{ID: ev.ID, Action: "deny", Errno: 0}, nil)
	if r := result(t, ch); r.Answered || r.Value != 1 {
		t.Errorf("a call denied with errno 0: %+v, want it run unhooked", r)
	}
	var last HookEvent
	if _, err := readFrame(client, &last); err != nil || !strings.Contains(last.Detached, "bad verdict") {
		t.Errorf("the last frame: %+v %v, want Detached for a bad verdict", last, err)
	}
	<-ended
}

// TestAttachTimeout: a client that does not answer holds the call one
// timeout, then is detached.
func TestAttachTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	k, client, _, ended := attachSession(t, &AttachSpec{Registered: interpose.Registered{BeforeAll: true}, Timeout: timeout}, true)
	start := time.Now()
	ch := call(k, &fakeMemory{})
	var ev HookEvent
	readFrame(client, &ev)
	if r := result(t, ch); r.Answered || r.Value != 1 {
		t.Errorf("a call the client did not answer: %+v, want it run unhooked", r)
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("the call ended after %v, before the timeout %v", d, timeout)
	}
	var last HookEvent
	if _, err := readFrame(client, &last); err != nil || !strings.Contains(last.Detached, "no answer about getppid") {
		t.Errorf("the last frame: %+v %v", last, err)
	}
	<-ended
	if k.Hooks.Watches(unix.SYS_READ) {
		t.Error("the hooks are left")
	}
}

// TestAttachKilled: a task killed while it waits for the client's verdict
// stops waiting at once (not after the timeout); the session goes on, and
// the client's late answer about it is dropped.
func TestAttachKilled(t *testing.T) {
	k, client, _, _ := attachSession(t, &AttachSpec{Registered: interpose.Registered{Before: []uintptr{unix.SYS_GETPPID}}, Timeout: time.Minute}, true)
	killed := make(chan struct{})
	ch := make(chan interpose.Result, 1)
	go func() {
		c := &interpose.Call{Nr: unix.SYS_GETPPID, Name: "getppid", Mem: &fakeMemory{}, Killed: killed}
		ch <- k.Hooks.Invoke(c, func([6]uintptr) (uintptr, unix.Errno) { return 1, 0 })
	}()
	var ev HookEvent
	if _, err := readFrame(client, &ev); err != nil {
		t.Fatalf("the event: %v", err)
	}
	close(killed)
	if r := result(t, ch); r.Answered {
		t.Errorf("a killed task's call: %+v, want it given up", r)
	}
	if err := writeFrame(client, HookReply{ID: ev.ID, Action: "deny", Errno: int(unix.EPERM)}, nil); err != nil {
		t.Fatal(err)
	}
	if !k.Hooks.Watches(unix.SYS_GETPPID) {
		t.Error("the session ended when a task was killed")
	}
}

// TestAttachClientGone: the client closing its end ends the session.
func TestAttachClientGone(t *testing.T) {
	k, client, _, ended := attachSession(t, &AttachSpec{Registered: interpose.Registered{After: []uintptr{unix.SYS_GETPPID}}}, true)
	client.Close()
	select {
	case <-ended:
	case <-time.After(20 * time.Second):
		t.Fatal("the session did not end when the client went away")
	}
	if r := result(t, call(k, &fakeMemory{})); r.Value != 1 || k.Hooks.Watches(unix.SYS_GETPPID) {
		t.Errorf("after the client went: %+v, watched %v", r, k.Hooks.Watches(unix.SYS_GETPPID))
	}
}

// TestAttachRefused: bad requests get one line and no hooks.
func TestAttachRefused(t *testing.T) {
	for _, tc := range []struct {
		spec  *AttachSpec
		hooks bool
		want  string
	}{
		{&AttachSpec{Timeout: 2 * time.Minute}, true, "timeout"},
		{&AttachSpec{Registered: interpose.Registered{Before: []uintptr{99999}}}, true, "no syscall 99999"},
		{nil, true, "no syscalls named"},
		{&AttachSpec{}, false, "without a hook set"},
	} {
		k, _, resp, ended := attachSession(t, tc.spec, tc.hooks)
		<-ended
		if !strings.Contains(resp.Error, tc.want) || (k.Hooks != nil && k.Hooks.Watches(unix.SYS_READ)) {
			t.Errorf("%+v: %q, want an error about %q and no hooks", tc.spec, resp.Error, tc.want)
		}
	}
}
