package kernel_test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
)

// Futex queues (futex(2)): wait and wake, bitsets, requeue, timeouts and
// interruptions, each waiter a thread of one process sharing a word.

const all = ^uint32(0)

// futexProcess returns n threads of one process and the address of two
// futex words, both 0.
func futexProcess(t *testing.T, n int) ([]*kernel.Task, uintptr, uintptr) {
	t.Helper()
	ts := threads(t, n)
	addr := kerneltest.Map(t, ts[0], 4096)
	return ts, addr, addr + 64
}

// waiter is a thread blocked in FUTEX_WAIT; done gets its result.
type waiter struct {
	task *kernel.Task
	done chan error
}

func wait(task *kernel.Task, addr uintptr, bitset uint32, timeout time.Duration) waiter {
	w := waiter{task, make(chan error, 1)}
	go func() { w.done <- task.K.Futexes.Wait(task, addr, true, 0, bitset, timeout) }()
	return w
}

// result returns the waiter's result, failing if it takes long.
func (w waiter) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-w.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter was not woken")
		return nil
	}
}

// blocked reports whether the waiter is still waiting a moment later.
func (w waiter) blocked() bool {
	select {
	case err := <-w.done:
		w.done <- err
		return false
	case <-time.After(20 * time.Millisecond):
		return true
	}
}

// eventually fails t unless cond holds within a while: waiters queue on
// goroutines of their own.
func eventually(t *testing.T, cond func() bool, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(what, args...)
		}
		time.Sleep(time.Millisecond)
	}
}

// wake wakes up to n waiters of bitset on addr as waker, until want are
// woken.
func wake(t *testing.T, waker *kernel.Task, addr uintptr, n int, bitset uint32, want int) {
	t.Helper()
	got := 0
	eventually(t, func() bool {
		k, err := waker.K.Futexes.Wake(waker, addr, true, n-got, bitset)
		if err != nil {
			t.Fatal(err)
		}
		got += k
		return got >= want
	}, "fewer than %d waiters were woken", want)
}

func TestFutexWaitWake(t *testing.T) {
	ts, addr, _ := futexProcess(t, 3)
	f := &ts[0].K.Futexes
	if err := f.Wait(ts[0], addr, true, 1, all, 0); err != unix.EAGAIN {
		t.Errorf("waiting for a value the word does not hold: %v, want EAGAIN", err)
	}
	w1 := wait(ts[1], addr, all, 0)
	wake(t, ts[0], addr, 1, all, 1)
	if err := w1.result(t); err != nil {
		t.Errorf("woken waiter: %v", err)
	}
	if n, err := f.Wake(ts[0], addr, true, 1, all); n != 0 || err != nil {
		t.Errorf("a wake with nobody waiting: %d, %v", n, err)
	}
	w1, w2 := wait(ts[1], addr, all, 0), wait(ts[2], addr, all, 0)
	wake(t, ts[0], addr, 2, all, 2)
	if w1.result(t) != nil || w2.result(t) != nil {
		t.Error("a wake of two did not wake both")
	}
}

func TestFutexBitsets(t *testing.T) {
	ts, addr, _ := futexProcess(t, 3)
	f := &ts[0].K.Futexes
	low, high := wait(ts[1], addr, 0b01, 0), wait(ts[2], addr, 0b10, 0)
	queued(t, ts[0], addr, 2)
	wake(t, ts[0], addr, 10, 0b10, 1)
	if high.result(t) != nil {
		t.Error("the waiter of bit 1")
	}
	if !low.blocked() {
		t.Error("a wake of bit 1 woke the waiter of bit 0")
	}
	wake(t, ts[0], addr, 10, 0b01, 1)
	if low.result(t) != nil {
		t.Error("the waiter of bit 0")
	}
	if err := f.Wait(ts[0], addr, true, 0, 0, 0); err != unix.EINVAL {
		t.Errorf("an empty bitset: %v, want EINVAL", err)
	}
	if _, err := f.Wake(ts[0], addr, true, 1, 0); err != unix.EINVAL {
		t.Errorf("a wake of an empty bitset: %v, want EINVAL", err)
	}
}

// queued waits until n waiters are queued on addr, counting them with a
// requeue onto the same futex, which moves nobody.
func queued(t *testing.T, task *kernel.Task, addr uintptr, n int) {
	t.Helper()
	eventually(t, func() bool {
		got, err := task.K.Futexes.Requeue(task, addr, addr, true, 0, 1<<20, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		return got == n
	}, "%d waiters did not queue", n)
}

func TestFutexRequeue(t *testing.T) {
	ts, a, b := futexProcess(t, 4)
	f := &ts[0].K.Futexes
	var ws []waiter
	for i := 1; i <= 3; i++ {
		ws = append(ws, wait(ts[i], a, all, 0))
		queued(t, ts[0], a, i)
	}
	if _, err := f.Requeue(ts[0], a, b, true, 1, 1, true, 7); err != unix.EAGAIN {
		t.Errorf("FUTEX_CMP_REQUEUE with another value: %v, want EAGAIN", err)
	}
	if n, err := f.Requeue(ts[0], a, b, true, 1, 1, true, 0); n != 2 || err != nil {
		t.Fatalf("requeue (wake 1, move 1): %d, %v; want 2", n, err)
	}
	// In order: the first waiter is woken, the second moved, the third
	// stays.
	if ws[0].result(t) != nil {
		t.Error("the first waiter")
	}
	if !ws[1].blocked() || !ws[2].blocked() {
		t.Fatal("a requeued or remaining waiter was woken")
	}
	wake(t, ts[0], b, 5, all, 1)
	if ws[1].result(t) != nil || !ws[2].blocked() {
		t.Error("the wake of b did not take exactly the requeued waiter")
	}
	wake(t, ts[0], a, 5, all, 1)
	if ws[2].result(t) != nil {
		t.Error("the waiter left on a")
	}
	if _, err := f.Requeue(ts[0], a, b, true, -1, 0, false, 0); err != unix.EINVAL {
		t.Errorf("a negative count: %v, want EINVAL", err)
	}
}

// TestFutexRequeueOntoItself: requeueing a futex onto itself keeps its
// waiters (Linux counts them as requeued); the sentry used to drop them
// from the queue, so that no wake found them again.
func TestFutexRequeueOntoItself(t *testing.T) {
	ts, a, _ := futexProcess(t, 2)
	w := wait(ts[1], a, all, 0)
	queued(t, ts[0], a, 1)
	if n, err := ts[0].K.Futexes.Requeue(ts[0], a, a, true, 0, 1, false, 0); n != 1 || err != nil {
		t.Fatalf("requeue onto itself: %d, %v; want 1", n, err)
	}
	wake(t, ts[0], a, 1, all, 1)
	if w.result(t) != nil {
		t.Error("the waiter")
	}
}

func TestFutexTimeoutAndSignal(t *testing.T) {
	ts, addr, _ := futexProcess(t, 2)
	f := &ts[0].K.Futexes
	start := time.Now()
	if err := f.Wait(ts[0], addr, true, 0, all, 10*time.Millisecond); err != unix.ETIMEDOUT {
		t.Errorf("a wait with a timeout: %v, want ETIMEDOUT", err)
	}
	if time.Since(start) < 10*time.Millisecond {
		t.Error("the timeout came early")
	}
	w := wait(ts[1], addr, all, 0)
	queued(t, ts[0], addr, 1)
	ts[1].SendSignal(userSignal(unix.SIGUSR1, 0))
	if err := w.result(t); err != unix.EINTR {
		t.Errorf("a waiter signalled: %v, want EINTR", err)
	}
	// It left the queue: a wake finds nobody.
	if n, _ := f.Wake(ts[0], addr, true, 1, all); n != 0 {
		t.Errorf("the interrupted waiter was still queued (%d woken)", n)
	}
}

func TestFutexAddresses(t *testing.T) {
	ts, addr, _ := futexProcess(t, 1)
	f := &ts[0].K.Futexes
	if err := f.Wait(ts[0], addr+1, true, 0, all, 0); err != unix.EINVAL {
		t.Errorf("an unaligned word: %v, want EINVAL", err)
	}
	if err := f.Wait(ts[0], 0x10000, true, 0, all, 0); err != unix.EFAULT {
		t.Errorf("an unmapped word: %v, want EFAULT", err)
	}
	// Another process's private futex at the same address is another
	// futex.
	other, err := kernel.NewChild(ts[0])
	if err != nil {
		t.Fatal(err)
	}
	w := wait(other, addr, all, 0)
	queued(t, other, addr, 1)
	if n, _ := f.Wake(ts[0], addr, true, 1, all); n != 0 {
		t.Error("a private wake reached another process")
	}
	wake(t, other, addr, 1, all, 1)
	if w.result(t) != nil {
		t.Error("the other process's waiter")
	}
}
