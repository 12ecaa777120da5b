package kernel

import (
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/clocks"
)

// futexKey names a futex word (mm.MemoryManager.FutexKey): by address
// space and address for private futexes, by the shared object and offset
// for shared ones, so that processes sharing memory meet on it.
type futexKey any

// futexWaiter is a task blocked on a futex word. Its key (which requeue
// changes) and acquired are guarded by Futexes.mu; woken is closed under
// it, once.
type futexWaiter struct {
	key    futexKey
	bitset uint32
	woken  chan struct{}
	// pi marks a FUTEX_LOCK_PI waiter, which only UNLOCK_PI (or its
	// owner's death) wakes: tid is the waiter's, and acquired says the
	// lock was handed to it rather than freed for it to retry.
	pi       bool
	tid      uint32
	acquired bool
	// signal, if set, is told (without blocking) when the waiter is
	// woken: futex_waitv's waiters share one (WaitV).
	signal chan struct{}
}

// Futexes is a kernel's table of futex waiters. mu also orders a
// waiter's check of the futex word with the wakers' changes of it: the
// word is read (and, for PI futexes and FUTEX_WAKE_OP, written) under it.
type Futexes struct {
	mu      sync.Mutex
	waiters map[futexKey][]*futexWaiter // FIFO per key; guarded by mu
}

// key is the futex at addr's key. A shared futex's comes from its page
// (get_futex_key's get_user_pages): a word the process cannot read
// (unmapped, PROT_NONE, past the end of a mapped file) is EFAULT before
// anything else, even for a wake; a private futex's is only its address.
func (f *Futexes) key(t *Task, addr uintptr, private bool) (futexKey, error) {
	if !private {
		var b [4]byte
		if err := t.CopyIn(addr, b[:]); err != nil {
			return nil, unix.EFAULT
		}
	}
	return t.MM().FutexKey(addr, private)
}

// Wait blocks while the word at addr holds val, until a Wake whose bitset
// meets bitset, or until timeout (zero: none). It returns EAGAIN if the word
// differs, ETIMEDOUT on timeout.
func (f *Futexes) Wait(t *Task, addr uintptr, private bool, val, bitset uint32, timeout time.Duration) error {
	if addr%4 != 0 {
		return unix.EINVAL
	}
	if bitset == 0 {
		return unix.EINVAL
	}
	key, err := f.key(t, addr, private)
	if err != nil {
		return err
	}
	w := &futexWaiter{key: key, bitset: bitset, woken: make(chan struct{})}
	f.mu.Lock()
	var b [4]byte
	if err := t.CopyIn(addr, b[:]); err != nil {
		f.mu.Unlock()
		return err
	}
	if binary.LittleEndian.Uint32(b[:]) != val {
		f.mu.Unlock()
		return unix.EAGAIN
	}
	if f.waiters == nil {
		f.waiters = make(map[futexKey][]*futexWaiter)
	}
	f.waiters[w.key] = append(f.waiters[w.key], w)
	f.mu.Unlock()

	interrupted := sleepOn(t, w.woken, timeout)
	if interrupted == nil {
		return nil
	}
	{
		f.mu.Lock()
		defer f.mu.Unlock()
		select {
		case <-w.woken:
			return nil
		default:
		}
		f.remove(w)
		return interrupted
	}
}

// sleepOn blocks until woken delivers (nil), the task is killed or
// signalled (EINTR) or timeout passes (ETIMEDOUT; zero: never).
func sleepOn(t *Task, woken <-chan struct{}, timeout time.Duration) error {
	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(clocks.HostWait(timeout))
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case <-woken:
		return nil
	case <-t.Killed():
		return unix.EINTR
	case <-t.SignalNotify():
		return unix.EINTR
	case <-expired:
		return unix.ETIMEDOUT
	}
}

func (f *Futexes) remove(w *futexWaiter) {
	ws := f.waiters[w.key]
	for i, x := range ws {
		if x == w {
			f.waiters[w.key] = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(f.waiters[w.key]) == 0 {
		delete(f.waiters, w.key)
	}
}

// Wake wakes up to n waiters on addr whose bitset meets bitset and returns
// how many it woke.
func (f *Futexes) Wake(t *Task, addr uintptr, private bool, n int, bitset uint32) (int, error) {
	if addr%4 != 0 || bitset == 0 {
		return 0, unix.EINVAL
	}
	key, err := f.key(t, addr, private)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wakeLocked(key, n, bitset), nil
}

func (f *Futexes) wakeLocked(k futexKey, n int, bitset uint32) int {
	woken := 0
	var kept []*futexWaiter
	for _, w := range f.waiters[k] {
		if woken < n && w.bitset&bitset != 0 && !w.pi {
			close(w.woken)
			if w.signal != nil {
				select {
				case w.signal <- struct{}{}:
				default:
				}
			}
			woken++
			continue
		}
		kept = append(kept, w)
	}
	if len(kept) == 0 {
		delete(f.waiters, k)
	} else {
		f.waiters[k] = kept
	}
	return woken
}

// Requeue wakes up to n waiters on addr and moves up to requeue of the rest
// to addr2. With check, the word at addr must hold val (FUTEX_CMP_REQUEUE).
func (f *Futexes) Requeue(t *Task, addr, addr2 uintptr, private bool, n, requeue int, check bool, val uint32) (int, error) {
	if addr%4 != 0 || addr2%4 != 0 || n < 0 || requeue < 0 {
		return 0, unix.EINVAL
	}
	from, err := f.key(t, addr, private)
	if err != nil {
		return 0, err
	}
	to, err := f.key(t, addr2, private)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if check {
		var b [4]byte
		if err := t.CopyIn(addr, b[:]); err != nil {
			return 0, err
		}
		if binary.LittleEndian.Uint32(b[:]) != val {
			return 0, unix.EAGAIN
		}
	}
	woken := f.wakeLocked(from, n, ^uint32(0))
	moved := 0
	if from == to {
		// Requeued onto the word they wait on, waiters stay where they
		// are; Linux counts them as moved (a way to count waiters
		// without waking them).
		for _, w := range f.waiters[from] {
			if moved < requeue && !w.pi {
				moved++
			}
		}
		return woken + moved, nil
	}
	var kept []*futexWaiter
	for _, w := range f.waiters[from] {
		// Requeued onto the same futex, a waiter stays where it is, and
		// counts as requeued, as in Linux.
		if moved < requeue && !w.pi {
			moved++
			if to != from {
				w.key = to
				f.waiters[to] = append(f.waiters[to], w)
				continue
			}
		}
		kept = append(kept, w)
	}
	if len(kept) == 0 {
		delete(f.waiters, from)
	} else {
		f.waiters[from] = kept
	}
	return woken + moved, nil
}

// FutexWord is one word futex_waitv waits on.
type FutexWord struct {
	Addr    uintptr
	Val     uint64 // a 32-bit word never holds a value past 32 bits
	Private bool
}

// WaitV implements futex_waitv(2): it blocks while every word holds its
// value, until a wake of any of them (its index is returned), timeout
// (zero: none; ETIMEDOUT), a signal (EINTR) or the task's death. A word
// that differs at the start is EAGAIN; an unaligned one EINVAL.
func (f *Futexes) WaitV(t *Task, words []FutexWord, timeout time.Duration) (int, error) {
	signal := make(chan struct{}, 1)
	ws := make([]*futexWaiter, len(words))
	for i, fw := range words {
		if fw.Addr%4 != 0 {
			return 0, unix.EINVAL
		}
		key, err := f.key(t, fw.Addr, fw.Private)
		if err != nil {
			return 0, err
		}
		ws[i] = &futexWaiter{key: key, bitset: ^uint32(0), woken: make(chan struct{}), signal: signal}
	}
	f.mu.Lock()
	for _, fw := range words {
		var b [4]byte
		if err := t.CopyIn(fw.Addr, b[:]); err != nil {
			f.mu.Unlock()
			return 0, err
		}
		if uint64(binary.LittleEndian.Uint32(b[:])) != fw.Val {
			f.mu.Unlock()
			return 0, unix.EAGAIN
		}
	}
	if f.waiters == nil {
		f.waiters = make(map[futexKey][]*futexWaiter)
	}
	for _, w := range ws {
		f.waiters[w.key] = append(f.waiters[w.key], w)
	}
	f.mu.Unlock()

	interrupted := sleepOn(t, signal, timeout)
	f.mu.Lock()
	defer f.mu.Unlock()
	woken := -1
	for i, w := range ws {
		select {
		case <-w.woken:
			if woken < 0 {
				woken = i
			}
		default:
			f.remove(w)
		}
	}
	if woken >= 0 {
		return woken, nil
	}
	return 0, interrupted
}
