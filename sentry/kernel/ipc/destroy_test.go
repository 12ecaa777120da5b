package ipc

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/usage"
)

// TestDestroy checks the end of a namespace (free_ipc_ns): its sets and
// queues go at once, with what they cost; a mapped segment stays until
// nothing maps it (Reap), then its memory is given back too; a blocked
// receiver sees EIDRM.
func TestDestroy(t *testing.T) {
	mapped := 1
	ns := NewNamespace(&Sandbox{Attached: func(dev, ino uint64) int { return mapped }})
	mem := usage.NewMemory(64 << 20)
	c := &Caller{PID: 1, Privileged: true, Memory: mem}
	shm, err := ns.ShmGet(c, 1, 8192, Creat|0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ns.SemGet(c, 2, 3, Creat|0o600); err != nil {
		t.Fatal(err)
	}
	msg, err := ns.MsgGet(c, 3, Creat|0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.MsgSnd(c, msg, 1, []byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	if err := ns.SemOp(c, "proc", 0, []SemBuf{{Num: 0, Op: 1, Flags: 0x1000}}, -1); err != nil { // SEM_UNDO
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() {
		_, _, err := ns.MsgRcv(c, msg, 16, 2, 0) // no message of type 2: waits
		blocked <- err
	}()
	time.Sleep(100 * time.Millisecond) // for the receiver to block (EINVAL before it looks the queue up)
	ns.Destroy()
	if err := <-blocked; err != unix.EIDRM {
		t.Errorf("a receiver blocked at the end: %v, want EIDRM", err)
	}
	if ns.semCount != 0 || ns.msgBytes != 0 || len(ns.undo) != 0 {
		t.Errorf("after Destroy: %d semaphores, %d message bytes, %d undo lists", ns.semCount, ns.msgBytes, len(ns.undo))
	}
	if _, err := ns.MsgGet(c, 3, 0); err != unix.ENOENT {
		t.Errorf("msgget of a destroyed queue's key: %v, want ENOENT", err)
	}
	if _, err := ns.ShmGet(c, 1, 8192, 0); err != unix.ENOENT {
		t.Errorf("shmget of a destroyed segment's key: %v, want ENOENT", err)
	}
	if ns.Reap() {
		t.Error("Reap: empty while the segment is mapped")
	}
	if _, ok := ns.ShmSize(ns.shmDev, 1); !ok {
		t.Errorf("segment %d: gone while mapped", shm)
	}
	mapped = 0
	if !ns.Reap() {
		t.Error("Reap: not empty once nothing maps the segment")
	}
	if ns.shmPages != 0 || mem.Used() != 0 {
		t.Errorf("after the last detach: %d pages, %d bytes charged", ns.shmPages, mem.Used())
	}
	sb := ns.sandbox
	if sb.segments.Load() != 0 || sb.sems.Load() != 0 || sb.msgBytes.Load() != 0 {
		t.Errorf("sandbox totals after the end: %d segments, %d semaphores, %d message bytes",
			sb.segments.Load(), sb.sems.Load(), sb.msgBytes.Load())
	}
}

// TestLimits checks the namespace's sysctls: ranges as Linux's (shmmni
// and msgmni up to IPCMNI, msgmax and msgmnb up to INT_MAX), and each
// limit enforced: shmmax by shmget's EINVAL, shmall and msgmni by
// ENOSPC, msgmax by MsgSizeOK, msgmnb as a new queue's msg_qbytes; and
// the sandbox-wide segment count across namespaces.
func TestLimits(t *testing.T) {
	sb := &Sandbox{Attached: func(dev, ino uint64) int { return 0 }}
	ns, other := NewNamespace(sb), NewNamespace(sb)
	c := &Caller{PID: 1, Privileged: true, Memory: usage.NewMemory(64 << 20)}
	for _, bad := range []func(*Limits){
		func(l *Limits) { l.ShmMni = ipcMNI + 1 },
		func(l *Limits) { l.MsgMni = ipcMNI + 1 },
		func(l *Limits) { l.MsgMax = 1 << 31 },
		func(l *Limits) { l.MsgMnb = 1 << 31 },
	} {
		if err := ns.SetLimits(bad); err != unix.EINVAL {
			t.Errorf("an out of range limit: %v, want EINVAL", err)
		}
	}
	if err := ns.SetLimits(func(l *Limits) { l.ShmMax, l.ShmAll, l.MsgMni, l.MsgMax, l.MsgMnb = 4096, 2, 1, 10, 100 }); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.ShmGet(c, Private, 4097, 0o600); err != unix.EINVAL {
		t.Errorf("shmget past shmmax: %v, want EINVAL", err)
	}
	for i, want := range []error{nil, nil, unix.ENOSPC} {
		if _, err := ns.ShmGet(c, Private, 4096, 0o600); err != want {
			t.Errorf("segment %d with shmall 2 pages: %v, want %v", i, err, want)
		}
	}
	id, err := ns.MsgGet(c, Private, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ns.MsgGet(c, Private, 0o600); err != unix.ENOSPC {
		t.Errorf("a second queue with msgmni 1: %v, want ENOSPC", err)
	}
	if ns.MsgSizeOK(11) || !ns.MsgSizeOK(10) || !other.MsgSizeOK(8192) {
		t.Error("msgmax 10: MsgSizeOK disagrees, or reaches another namespace")
	}
	var ds linux.MsqidDS
	if err := ns.MsgCtl(c, id, STAT, &ds); err != nil || ds.MsgQbytes != 100 {
		t.Errorf("a new queue's msg_qbytes with msgmnb 100: %d, %v", ds.MsgQbytes, err)
	}
	if got := other.Limits(); got.ShmMax != linux.SHMMAX || got.MsgMni != linux.MSGMNI {
		t.Errorf("another namespace's limits changed: %+v", got)
	}
	// The sandbox's segments: SHMMNI across every namespace.
	sb.segments.Store(linux.SHMMNI)
	if _, err := other.ShmGet(c, Private, 4096, 0o600); err != unix.ENOSPC {
		t.Errorf("a segment past the sandbox's SHMMNI: %v, want ENOSPC", err)
	}
}
