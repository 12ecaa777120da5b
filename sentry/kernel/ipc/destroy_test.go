package ipc

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usage"
)

// TestDestroy checks the end of a namespace (free_ipc_ns): its sets and
// queues go at once, with what they cost; a mapped segment stays until
// nothing maps it (Reap), then its memory is given back too; a blocked
// receiver sees EIDRM.
func TestDestroy(t *testing.T) {
	mapped := 1
	ns := NewNamespace(func(dev, ino uint64) int { return mapped })
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
}
