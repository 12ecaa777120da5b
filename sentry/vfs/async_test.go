package vfs

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// queueImpl is a file with a readiness queue that is not SignalDriven;
// signalImpl is one that is.
type queueImpl struct {
	nopImpl
	q Queue
}

func (i *queueImpl) Readiness(mask int16) int16 { return 0 }
func (i *queueImpl) EventQueue() *Queue         { return &i.q }

type signalImpl struct{ queueImpl }

func (*signalImpl) SignalDriven() {}

// recordOwner is an Owner that records what it was sent.
type recordOwner struct {
	mu   sync.Mutex
	sent []linux.SignalInfo
}

func (o *recordOwner) ID() (int32, int32) { return linux.F_OWNER_PID, 1 }
func (o *recordOwner) Signal(si linux.SignalInfo) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, si)
}

func (o *recordOwner) take() []linux.SignalInfo {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.sent
	o.sent = nil
	return s
}

// TestAsyncSignals checks the generic hook: an owned, armed file turns
// its queue's notifications for the directions it was opened for into
// signals, and stops on disarm and on release; a file that is not
// SignalDriven never signals and keeps O_ASYNC off.
func TestAsyncSignals(t *testing.T) {
	ctx := context.Background()
	impl := &signalImpl{}
	f := NewFile(nil, nil, &fakeInode{}, impl, unix.O_RDONLY)
	o := &recordOwner{}
	f.SetOwner(o)
	impl.q.Notify(unix.POLLIN)
	if got := o.take(); len(got) != 0 {
		t.Errorf("owned, not armed: sent %v", got)
	}
	if err := f.SetStatusFlagsFD(ctx, KernelCreds(), unix.O_ASYNC, 7); err != nil || f.Flags()&unix.O_ASYNC == 0 {
		t.Fatalf("arming: %v, flags %#x", err, f.Flags())
	}
	if err := f.SetSig(int32(unix.SIGUSR1)); err != nil {
		t.Fatal(err)
	}
	impl.q.Notify(unix.POLLIN | linux.POLLRDNORM)
	impl.q.Notify(unix.POLLOUT) // not opened for writing: no signal
	got := o.take()
	if len(got) != 1 || got[0].Signo != int32(unix.SIGUSR1) || got[0].Code != linux.POLL_IN&0xffff || got[0].FD() != 7 {
		t.Errorf("armed, one POLLIN and one POLLOUT: sent %+v", got)
	}
	impl.q.Notify(EventUrgent)
	if got := o.take(); len(got) != 2 || got[0].Signo != int32(unix.SIGURG) || got[1].Code != linux.POLL_PRI&0xffff {
		t.Errorf("urgent data: sent %+v", got)
	}
	if err := f.SetStatusFlagsFD(ctx, KernelCreds(), 0, 7); err != nil || f.Flags()&unix.O_ASYNC != 0 {
		t.Fatalf("disarming: %v, flags %#x", err, f.Flags())
	}
	impl.q.Notify(unix.POLLIN)
	if got := o.take(); len(got) != 0 {
		t.Errorf("disarmed: sent %v", got)
	}
	f.SetStatusFlagsFD(ctx, KernelCreds(), unix.O_ASYNC, 7)
	f.DecRef()
	impl.q.Notify(unix.POLLIN)
	if got := o.take(); len(got) != 0 {
		t.Errorf("released: sent %v", got)
	}

	plain := &queueImpl{}
	g := NewFile(nil, nil, &fakeInode{}, plain, unix.O_RDONLY)
	g.SetOwner(o)
	if err := g.SetStatusFlagsFD(ctx, KernelCreds(), unix.O_ASYNC, 3); err != nil || g.Flags()&unix.O_ASYNC != 0 {
		t.Errorf("F_SETFL(O_ASYNC) on a file that cannot signal: %v, flags %#x", err, g.Flags())
	}
	if err := g.SetAsync(true, 3); err != unix.ENOTTY {
		t.Errorf("FIOASYNC on a file that cannot signal: %v, want ENOTTY", err)
	}
	plain.q.Notify(unix.POLLIN)
	if got := o.take(); len(got) != 0 {
		t.Errorf("not SignalDriven: sent %v", got)
	}
}
