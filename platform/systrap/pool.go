package systrap

import (
	"sync/atomic"

	"runsc-lite/sysmsg"
)

// The thread pool. Starting a stub thread is a request to the syscall
// thread (clone, then the new thread's set-up: sigaltstack, sigprocmask,
// seccomp), learning its host id from its pidfd, and its first stop: tens of
// microseconds when the machine is idle, and as many hand-offs between
// host threads, each a wait for a CPU, when it is not. A program that
// creates threads does it again and again (a thread pool, a fork-join
// loop), so an address space that has had a second thread keeps stub
// threads ready:
//
//   - A thread whose context is released (the application thread exited)
//     while it is stopped in its handler is kept, up to poolMax, instead
//     of being told to exit; the next context bound to the address space
//     takes it, and no host thread is created or destroyed.
//   - A task about to wait in the sentry lends its stopped thread to the
//     pool (Idle), and binds again when it runs. Its thread spins in its
//     handler for a while before it sleeps (c/handler.c), so the next
//     context to bind takes an awake thread while there is one: the
//     thread a joined thread exited on, or the one a futex waiter just
//     left, runs the task woken next without a wake-up, as gVisor's stub
//     threads take whichever context is ready.
//   - poolTarget threads are started in the background, each exactly as a
//     thread for a context is: its own slot, the slot's seccomp program and
//     signal stack from the read-only set-up block, its host id from the
//     kernel.
//
// A pooled thread is as confined as a bound one, because it is one: the
// same filter, the same slot, nothing in it the sentry gave it. What it
// holds is its signal frame, in the application's own memory (a recycled
// thread's has the registers the last application thread using it had,
// which the application could read anyway). Application code can write a
// pooled thread's state word and frame as it can any other thread's: it
// can make the thread return into application code, unsupervised, as one
// more thread of its own process under the same filter, every syscall of
// which traps into a handler nobody answers. Taking a thread from the pool
// therefore checks it as a new thread's first stop is checked: it must be
// stopped in its handler with a frame inside its slot within unresponsive,
// or the stub process is killed. A pool dies with its stub process, and a
// forked child starts with none (a fork copies the syscall thread only).
const (
	poolTarget = 1
	poolMax    = 4
)

// pooledThread is a stub thread no context is bound to.
type pooledThread struct {
	slot, tid int
	// fsBase and gsBase are the bases the thread has (without FSGSBASE
	// the sentry's copy is the truth, and a new thread's are 0).
	fsBase, gsBase uint64
}

// thread returns a stub thread for a context: a pooled one, else a new
// one. From an address space's second thread on, a fresh context (not one
// whose task lent its thread while it waited) also refills the pool.
func (as *addressSpace) thread(fresh bool) (pooledThread, error) {
	if as.starting != nil {
		<-as.starting
	}
	as.poolMu.Lock()
	if fresh {
		as.binds++
	}
	fill := fresh && as.binds > 1
	var t pooledThread
	n := len(as.pool)
	if n > 0 {
		i := as.awake()
		t = as.pool[i]
		as.pool = append(as.pool[:i], as.pool[i+1:]...)
	}
	as.poolMu.Unlock()
	if fill {
		// After our own start: both are requests to the syscall thread.
		defer as.fillPool()
	}
	if n > 0 {
		return t, nil
	}
	slot, tid, err := as.startThread()
	return pooledThread{slot: slot, tid: tid}, err
}

// threaded reports whether a second context has bound to the address
// space.
func (as *addressSpace) threaded() bool {
	as.poolMu.Lock()
	defer as.poolMu.Unlock()
	return as.binds > 1
}

// awake is the index of the pooled thread to take: the newest one still
// awake (spinning in its handler), else the newest. Whether a thread
// sleeps is read from its sysmsg page, which the application can write: a
// lie only makes the sentry wake a thread it need not have. poolMu is
// held; the pool is not empty.
func (as *addressSpace) awake() int {
	for i := len(as.pool) - 1; i >= 0; i-- {
		if atomic.LoadUint32(&as.sh.Msg(as.pool[i].slot).StubWaiting) == 0 {
			return i
		}
	}
	return len(as.pool) - 1
}

// recycle keeps a stopped thread whose context let it go, if the pool has
// room.
func (as *addressSpace) recycle(t pooledThread) bool { return as.keep(t, poolMax) }

// keep adds t to the pool unless the pool has limit threads or the address
// space was released.
func (as *addressSpace) keep(t pooledThread, limit int) bool {
	as.poolMu.Lock()
	defer as.poolMu.Unlock()
	if len(as.pool) >= limit || as.released.Load() {
		return false
	}
	as.pool = append(as.pool, t)
	return true
}

// fillPool starts threads in the background until the pool has
// poolTarget, unless a fill is under way.
func (as *addressSpace) fillPool() {
	as.poolMu.Lock()
	if as.filling || len(as.pool) >= poolTarget {
		as.poolMu.Unlock()
		return
	}
	as.filling = true
	as.poolMu.Unlock()
	// Not once the platform closes: the caller may hold use, and starting
	// a thread here would take it again.
	started := as.p.startBackground(func() {
		defer func() {
			as.poolMu.Lock()
			as.filling = false
			as.poolMu.Unlock()
		}()
		for {
			as.poolMu.Lock()
			full := len(as.pool) >= poolTarget
			as.poolMu.Unlock()
			if full || !as.Enter() {
				return
			}
			slot, tid, err := as.startThread()
			as.Leave()
			// Only this fill adds new threads, so the pool has room for
			// this one unless the address space was released; then the
			// thread dies with its process.
			if err != nil || !as.keep(pooledThread{slot: slot, tid: tid}, poolMax+poolTarget) {
				return
			}
		}
	})
	if !started {
		as.poolMu.Lock()
		as.filling = false
		as.poolMu.Unlock()
	}
}

// prestart starts the thread the address space's first context will take,
// for a spare stub process: an execve then binds without a request to the
// syscall thread and a wait for the new thread's first stop.
func (as *addressSpace) prestart() {
	if !as.Enter() {
		return
	}
	defer as.Leave()
	// A thread the pool cannot keep (the address space was released)
	// dies with its process.
	if slot, tid, err := as.startThread(); err == nil {
		as.keep(pooledThread{slot: slot, tid: tid}, poolMax)
	}
}

// firstSlot is the slot of a forked child's first application thread.
const firstSlot = 0

// postFirstThread writes into sh, the region of a stub process about to be
// forked, the request for its first application thread (in firstSlot):
// the child's syscall thread finds it when it starts serving, with no
// wake-up and no wait for the sentry (awaitFirstThread). sh is a kit's,
// whose firstSlot newKit set up already (primeFirstSlot).
func postFirstThread(sh *sysmsg.Shared) {
	sh.PostAhead(sysmsg.NextSeq(0), sysmsg.ReqNewThread, 0, [6]uint64{firstSlot})
}

// awaitFirstThread takes, on its own goroutine, the answer to the request
// postFirstThread wrote for a forked child: the thread goes to the pool,
// and the child's first context waits for it (starting) instead of
// asking for one of its own.
func (as *addressSpace) awaitFirstThread() {
	as.slotMu.Lock()
	as.slots[firstSlot] = true
	as.slotMu.Unlock()
	done := make(chan struct{})
	as.starting = done
	// Request 1 is in the region already: no other request (the memory
	// manager's fix-ups of the fork, a context's) may take its seq, so
	// use and then mu (their order) are taken now, before anyone else
	// can ask, and given back once the answer is read.
	if !as.Enter() {
		close(done)
		return
	}
	as.mu.Lock()
	start := func() {
		defer close(done)
		defer as.Leave()
		nsTID, pidfd, err := as.awaitPosted(true)
		if tid, err := as.started(firstSlot, nsTID, pidfd, err); err == nil {
			as.keep(pooledThread{slot: firstSlot, tid: tid}, poolMax)
		}
	}
	if !as.p.startBackground(start) {
		start() // the platform is closing: the answer must still be read
	}
}

// startThread starts a stub thread in a free slot, with the slot's
// seccomp program and signal stack, and returns the slot and the thread's
// host id. The caller holds use (Enter).
func (as *addressSpace) startThread() (slot, tid int, err error) {
	slot, err = as.allocSlot()
	if err != nil {
		return 0, 0, err
	}
	if err := as.p.setUpSlot(as.sh, slot); err != nil {
		as.freeSlot(slot, 0)
		return 0, 0, err
	}
	nsTID, pidfd, err := as.callFD(sysmsg.ReqNewThread, 0, [6]uint64{uint64(slot)}, true)
	if tid, err = as.started(slot, nsTID, pidfd, err); err != nil {
		return 0, 0, err
	}
	return slot, tid, nil
}

// setUpSlot writes into sh what a new thread of slot reads before it runs
// (its seccomp program and signal stack) and a fresh message.
func (p *Platform) setUpSlot(sh *sysmsg.Shared, slot int) error {
	prog, err := p.threadFilter(slot)
	if err == nil {
		err = sh.SetThreadSetup(slot, prog)
	}
	sh.ResetMsg(slot)
	return err
}

// started takes the answer (nsTID, pidfd, err) to the request for a new
// thread in slot: the thread's host id, learnt from the kernel
// (threadID); on failure the slot is freed, and a thread that cannot be
// named kills the stub process, since it could not be supervised.
func (as *addressSpace) started(slot int, nsTID uintptr, pidfd int, err error) (int, error) {
	var tid int
	if err == nil {
		if tid, err = as.threadID(int(nsTID), pidfd); err != nil {
			as.kill()
		}
	}
	if err != nil {
		as.freeSlot(slot, 0)
		return 0, err
	}
	return tid, nil
}
