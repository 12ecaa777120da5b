package kernel

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
)

// FUTEX_WAKE_OP, priority-inheritance futexes and robust lists, after
// kernel/futex/{waitwake,pi,core}.c.
//
// The sentry changes a futex word by reading and writing application
// memory under the futex table's lock: atomic with respect to every other
// futex operation, not with respect to the application's own atomic
// instructions racing on the same word, which well-behaved lock
// implementations do not do while they are in the kernel. PI futexes
// hand the lock over in FIFO order without boosting priorities (the
// sandbox has no priorities to boost).

func (t *Task) readWord(addr uintptr) (uint32, error) {
	var b [4]byte
	if err := t.CopyIn(addr, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func (t *Task) writeWord(addr uintptr, v uint32) error {
	return t.CopyOut(addr, binary.LittleEndian.AppendUint32(nil, v))
}

// wakeOpResult applies FUTEX_WAKE_OP's encoded operation to old and
// compares old with its argument (futex_atomic_op_inuser): the new value,
// whether the comparison holds, and ENOSYS for an unknown operation
// (before the write) or comparison (after it).
func wakeOpResult(op, old uint32) (nv uint32, write bool, cmpOK bool, err error) {
	kind := op >> 28 & 7
	cmp := op >> 24 & 15
	oparg := int32(op<<8) >> 20
	cmparg := int32(op<<20) >> 20
	if op&(8<<28) != 0 {
		// FUTEX_OP_OPARG_SHIFT; Linux masks a shift out of range.
		oparg = 1 << (oparg & 31)
	}
	arg := uint32(oparg)
	switch kind {
	case 0: // FUTEX_OP_SET
		nv = arg
	case 1: // FUTEX_OP_ADD
		nv = old + arg
	case 2: // FUTEX_OP_OR
		nv = old | arg
	case 3: // FUTEX_OP_ANDN
		nv = old &^ arg
	case 4: // FUTEX_OP_XOR
		nv = old ^ arg
	default:
		return 0, false, false, unix.ENOSYS
	}
	o := int32(old)
	switch cmp {
	case 0:
		cmpOK = o == cmparg
	case 1:
		cmpOK = o != cmparg
	case 2:
		cmpOK = o < cmparg
	case 3:
		cmpOK = o <= cmparg
	case 4:
		cmpOK = o > cmparg
	case 5:
		cmpOK = o >= cmparg
	default:
		return nv, true, false, unix.ENOSYS
	}
	return nv, true, cmpOK, nil
}

// WakeOp implements FUTEX_WAKE_OP: it applies op to the word at addr2,
// wakes up to n waiters on addr, and up to n2 on addr2 if op's comparison
// of the old value holds. It returns how many it woke.
func (f *Futexes) WakeOp(t *Task, addr, addr2 uintptr, private bool, n, n2 int, op uint32) (int, error) {
	if addr%4 != 0 || addr2%4 != 0 {
		return 0, unix.EINVAL
	}
	k1, err := f.key(t, addr, private)
	if err != nil {
		return 0, err
	}
	k2, err := f.key(t, addr2, private)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old, err := t.readWord(addr2)
	if err != nil {
		return 0, err
	}
	nv, write, cmpOK, opErr := wakeOpResult(op, old)
	if write {
		if err := t.writeWord(addr2, nv); err != nil {
			return 0, err
		}
	}
	if opErr != nil {
		return 0, opErr
	}
	woken := f.wakeLocked(k1, n, ^uint32(0))
	if cmpOK {
		woken += f.wakeLocked(k2, n2, ^uint32(0))
	}
	return woken, nil
}

// LockPI implements FUTEX_LOCK_PI (FUTEX_TRYLOCK_PI with try): the word
// takes the caller's TID if it holds none (keeping FUTEX_OWNER_DIED);
// otherwise, once its owner is known to exist, the caller marks it
// FUTEX_WAITERS and waits until UNLOCK_PI hands it the lock, or until
// deadline (zero: none). Errors: EDEADLK if the caller owns it, EAGAIN
// for a trylock of a held lock, ESRCH if the owner does not exist,
// ETIMEDOUT; an interrupted wait restarts (ERESTARTNOINTR, as Linux).
func (f *Futexes) LockPI(t *Task, addr uintptr, private, try bool, deadline time.Time) error {
	if addr%4 != 0 {
		return unix.EINVAL
	}
	key, err := f.key(t, addr, private)
	if err != nil {
		return err
	}
	tid := uint32(t.vtid)
	var expired <-chan time.Time
	if !deadline.IsZero() {
		timer := time.NewTimer(clocks.HostWait(time.Until(deadline)))
		defer timer.Stop()
		expired = timer.C
	}
	for {
		w, err := f.tryLockPI(t, key, addr, tid, try)
		if w == nil {
			return err
		}
		var interrupted error
		select {
		case <-w.woken:
		case <-t.Interrupted():
			interrupted = ErrRestartNoIntr
		case <-expired:
			interrupted = unix.ETIMEDOUT
		}
		f.mu.Lock()
		select {
		case <-w.woken:
			interrupted = nil
		default:
			f.remove(w)
		}
		f.mu.Unlock()
		if w.acquired {
			return nil
		}
		if interrupted != nil {
			return interrupted
		}
	}
}

// tryLockPI takes the lock or queues the caller as a waiter, which it
// returns; a nil waiter comes with the call's result.
func (f *Futexes) tryLockPI(t *Task, key futexKey, addr uintptr, tid uint32, try bool) (*futexWaiter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	val, err := t.readWord(addr)
	if err != nil {
		return nil, err
	}
	switch owner := val & linux.FUTEX_TID_MASK; {
	case owner == 0:
		nv := tid | val&linux.FUTEX_OWNER_DIED
		if f.hasPIWaiterLocked(key) {
			nv |= linux.FUTEX_WAITERS
		}
		return nil, t.writeWord(addr, nv)
	case owner == tid:
		return nil, unix.EDEADLK
	case try:
		return nil, unix.EAGAIN
	case t.LookupTask(int(owner)) == nil:
		return nil, unix.ESRCH
	}
	if val&linux.FUTEX_WAITERS == 0 {
		if err := t.writeWord(addr, val|linux.FUTEX_WAITERS); err != nil {
			return nil, err
		}
	}
	w := &futexWaiter{key: key, bitset: ^uint32(0), woken: make(chan struct{}), pi: true, tid: tid}
	if f.waiters == nil {
		f.waiters = make(map[futexKey][]*futexWaiter)
	}
	f.waiters[key] = append(f.waiters[key], w)
	return w, nil
}

func (f *Futexes) hasPIWaiterLocked(key futexKey) bool {
	for _, w := range f.waiters[key] {
		if w.pi {
			return true
		}
	}
	return false
}

// handOverLocked gives the lock at addr to its first PI waiter, with
// extra bits (FUTEX_OWNER_DIED) in the word, and reports whether there
// was one. Like Linux, the new owner's word has FUTEX_WAITERS set, so
// that its unlock comes to the kernel.
func (f *Futexes) handOverLocked(t *Task, key futexKey, addr uintptr, extra uint32) (bool, error) {
	for _, w := range f.waiters[key] {
		if !w.pi {
			continue
		}
		if err := t.writeWord(addr, w.tid|linux.FUTEX_WAITERS|extra); err != nil {
			return false, err
		}
		f.remove(w)
		w.acquired = true
		close(w.woken)
		return true, nil
	}
	return false, nil
}

// UnlockPI implements FUTEX_UNLOCK_PI: the caller must own the word
// (EPERM otherwise); the lock goes to the first waiter, or the word
// becomes 0.
func (f *Futexes) UnlockPI(t *Task, addr uintptr, private bool) error {
	if addr%4 != 0 {
		return unix.EINVAL
	}
	key, err := f.key(t, addr, private)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	val, err := t.readWord(addr)
	if err != nil {
		return err
	}
	if val&linux.FUTEX_TID_MASK != uint32(t.vtid) {
		return unix.EPERM
	}
	if ok, err := f.handOverLocked(t, key, addr, 0); ok || err != nil {
		return err
	}
	return t.writeWord(addr, 0)
}

// exitRobustList releases the robust futexes a dying thread holds, as
// exit_robust_list does: every lock word on the list (and the one being
// taken or released, list_op_pending) that holds the thread's TID gets
// FUTEX_OWNER_DIED instead, and one waiter is woken. The list is the
// application's: any fault ends the walk, and at most linux.ROBUST_LIST_LIMIT
// entries are visited.
func (t *Task) exitRobustList() {
	head := t.robustList.Swap(0)
	if head == 0 {
		return
	}
	var h linux.RobustListHead
	if CopyIn(t, head, &h) != nil {
		return
	}
	entry := uintptr(h.List)
	offset := uintptr(h.FutexOffset)
	pending := uintptr(h.ListOpPending)
	pendingPI := pending&1 != 0
	pending &^= 1
	pi := entry&1 != 0
	entry &^= 1
	for limit := linux.ROBUST_LIST_LIMIT; entry != head && limit > 0; limit-- {
		var next uint64 // struct robust_list's next
		nextErr := CopyIn(t, entry, &next)
		if entry != pending && !t.K.Futexes.ownerDied(t, entry+offset, pi, false) {
			return
		}
		if nextErr != nil {
			return
		}
		raw := uintptr(next)
		entry, pi = raw&^1, raw&1 != 0
	}
	if pending != 0 {
		t.K.Futexes.ownerDied(t, pending+offset, pendingPI, true)
	}
}

// ownerDied is handle_futex_death for the word at addr; false means the
// walk must stop (a bad address).
func (f *Futexes) ownerDied(t *Task, addr uintptr, pi, pendingOp bool) bool {
	if addr%4 != 0 {
		return false
	}
	// Linux wakes with a shared key: waiters of process-shared locks
	// meet there, and private mappings give the private key anyway.
	key, err := f.key(t, addr, false)
	if err != nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	val, err := t.readWord(addr)
	if err != nil {
		return false
	}
	if pendingOp && !pi && val == 0 {
		// The thread died between releasing the lock and waking a
		// waiter: wake one now.
		f.wakeLocked(key, 1, ^uint32(0))
		return true
	}
	if val&linux.FUTEX_TID_MASK != uint32(t.vtid) {
		return true
	}
	if pi {
		if ok, err := f.handOverLocked(t, key, addr, linux.FUTEX_OWNER_DIED); ok || err != nil {
			return err == nil
		}
	}
	if t.writeWord(addr, val&linux.FUTEX_WAITERS|linux.FUTEX_OWNER_DIED) != nil {
		return false
	}
	if !pi && val&linux.FUTEX_WAITERS != 0 {
		f.wakeLocked(key, 1, ^uint32(0))
	}
	return true
}
