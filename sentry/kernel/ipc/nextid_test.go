package ipc

import (
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usage"
)

// TestNextID checks {msg,sem,shm}_next_id as ipc_idr_alloc uses them:
// the next object takes the identifier (or the first free index after
// its own), the value goes back to -1, and a negative one is refused.
func TestNextID(t *testing.T) {
	ns := NewNamespace(&Sandbox{Attached: func(dev, ino uint64) int { return 0 }})
	c := &Caller{PID: 1, Privileged: true, Memory: usage.NewMemory(64 << 20)}
	if got := ns.NextID(KindMsg); got != -1 {
		t.Fatalf("msg_next_id starts at %d, want -1", got)
	}
	if err := ns.SetNextID(KindMsg, -1); err != unix.EINVAL {
		t.Errorf("SetNextID(-1): %v, want EINVAL", err)
	}
	const want = 5<<seqShift | 1234
	if err := ns.SetNextID(KindMsg, want); err != nil {
		t.Fatal(err)
	}
	id, err := ns.MsgGet(c, Private, 0o600)
	if err != nil || id != want {
		t.Fatalf("MsgGet after next_id %d: %d, %v", want, id, err)
	}
	if got := ns.NextID(KindMsg); got != -1 {
		t.Errorf("msg_next_id after use: %d, want -1", got)
	}
	// The identifier is taken: the next object gets the following index.
	ns.SetNextID(KindMsg, want)
	id2, err := ns.MsgGet(c, Private, 0o600)
	if err != nil || id2 != want+1 {
		t.Errorf("MsgGet with next_id taken: %d, %v; want %d", id2, err, want+1)
	}
	// The usual numbering goes on from where it was.
	id3, err := ns.MsgGet(c, Private, 0o600)
	if err != nil || id3&(1<<seqShift-1) != 0 {
		t.Errorf("MsgGet without next_id: %d, %v; want index 0", id3, err)
	}
	ns.SetNextID(KindShm, 777)
	if id, err := ns.ShmGet(c, Private, 4096, 0o600); err != nil || id != 777 {
		t.Errorf("ShmGet after shm_next_id 777: %d, %v", id, err)
	}
	ns.SetNextID(KindSem, 778)
	if id, err := ns.SemGet(c, Private, 1, 0o600); err != nil || id != 778 {
		t.Errorf("SemGet after sem_next_id 778: %d, %v", id, err)
	}
}
