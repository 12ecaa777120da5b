package kernel

import (
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// The signal queue, as Linux keeps it (kernel/signal.c): a pending set is
// a mask of the signals pending and a queue of their siginfos. Each siginfo
// queued is charged to the real user of the task it is queued for
// (__sigqueue_alloc's inc_rlimit_get_ucounts), for as long as it waits, and
// RLIMIT_SIGPENDING of that task bounds the count. Beyond it:
//
//   - a standard signal sent with si_code >= 0 (kill, the kernel) is queued
//     anyway (override_rlimit);
//   - any other standard signal, and a real-time one sent by kill (SI_USER),
//     is still made pending but its siginfo is lost: it arrives as from
//     kill, with no sender;
//   - a real-time signal sent any other way (sigqueue, tgkill, a timer) is
//     refused: EAGAIN to the sender.
//
// The same counts bound the sentry's memory that an application can pin
// with queued signals: root in the sandbox may raise RLIMIT_SIGPENDING to
// infinity, so the sandbox as a whole never holds more than
// sigQueueCeiling charged siginfos (Linux's bound there is kernel memory:
// an allocation that fails is the same EAGAIN). Only overriding standard
// signals go past it, and there are at most 31 of those per pending set.

// sigQueueCeiling is the most signals the sandbox keeps queued with their
// siginfo, over every user: about 40 MB of siginfos.
const sigQueueCeiling = 1 << 18

// sigQueueCounts are the signals queued in the sandbox, by real user.
type sigQueueCounts struct {
	mu     sync.Mutex
	byUser map[uint32]*userSigCount // guarded by mu; entries are never removed
	total  atomic.Int64             // every user's, against sigQueueCeiling
}

// userSigCount is one real user's count of queued signals (Linux's
// UCOUNT_RLIMIT_SIGPENDING).
type userSigCount struct {
	n   atomic.Int64
	all *sigQueueCounts
}

// user returns uid's count.
func (c *sigQueueCounts) user(uid uint32) *userSigCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byUser == nil {
		c.byUser = make(map[uint32]*userSigCount)
	}
	u := c.byUser[uid]
	if u == nil {
		u = &userSigCount{all: c}
		c.byUser[uid] = u
	}
	return u
}

// sigQuota is what a signal queued for a task is charged to: the count of
// the task's real user and the task's RLIMIT_SIGPENDING. The zero value
// charges nothing and refuses nothing.
type sigQuota struct {
	count *userSigCount
	limit uint64
}

// sigQuota returns the quota of signals queued for the process's tasks.
// It takes tg.mu: call it before any signal lock.
func (tg *ThreadGroup) sigQuota() sigQuota {
	lim, _ := tg.Rlimit(unix.RLIMIT_SIGPENDING, nil, false)
	return sigQuota{count: tg.k.sigQueued.user(tg.realUID()), limit: lim.Cur}
}

// SigQueued returns what /proc/PID/status's SigQ line shows: the signals
// queued for the process's real user, and its RLIMIT_SIGPENDING.
func (tg *ThreadGroup) SigQueued() (int64, uint64) {
	q := tg.sigQuota()
	return q.count.n.Load(), q.limit
}

// charge counts one more queued signal, unless that passes the limit (or
// the sandbox's ceiling) and override is false; it returns the count to
// uncharge when the signal leaves the queue, nil if refused.
func (q sigQuota) charge(override bool) (*userSigCount, bool) {
	if q.count == nil {
		return nil, true
	}
	n, total := q.count.n.Add(1), q.count.all.total.Add(1)
	if !override && (uint64(n) > q.limit || total > sigQueueCeiling) {
		q.count.uncharge()
		return nil, false
	}
	return q.count, true
}

func (u *userSigCount) uncharge() {
	if u != nil {
		u.n.Add(-1)
		u.all.total.Add(-1)
	}
}

// pendingSet is the signals waiting for delivery, with the siginfo of each
// (standard signals do not queue: a second one while pending is lost).
type pendingSet struct {
	mask uint64
	// maskSeen mirrors mask (setMask) for dequeue's check without the
	// set's lock, made on every return to the application: a signal
	// added after it interrupts the task, which comes back to dequeue.
	maskSeen atomic.Uint64
	queue    map[int][]queuedSignal
	// next numbers each siginfo in the order it came: PTRACE_PEEKSIGINFO
	// lists the queue in that order.
	next uint64
	// closed is set when the task or process has exited: what is sent
	// afterwards goes nowhere (Linux finds no sighand to lock).
	closed bool
}

// queuedSignal is one siginfo in a pendingSet.
type queuedSignal struct {
	si     SigInfo
	seq    uint64
	charge *userSigCount // nil: charged to nobody
	// timer is the POSIX timer whose signal this is (its siginfo was
	// charged at timer_create), nil for any other.
	timer *IntervalTimer
}

// add makes si pending, as __send_signal_locked does: a standard signal
// already pending is dropped, and quota decides whether its siginfo is
// queued (see the top of this file). It returns EAGAIN for a real-time
// signal refused.
func (p *pendingSet) add(si SigInfo, quota sigQuota) error {
	sig := int(si.Signo)
	bit := uint64(1) << (sig - 1)
	if p.closed || p.mask&bit != 0 && sig < sigRTMin {
		return nil
	}
	override := sig < sigRTMin && si.Code >= 0
	if charge, ok := quota.charge(override); ok {
		if p.queue == nil {
			p.queue = make(map[int][]queuedSignal)
		}
		p.queue[sig] = append(p.queue[sig], queuedSignal{si: si, seq: p.next, charge: charge})
		p.next++
	} else if sig >= sigRTMin && si.Code != linux.SI_USER {
		return unix.EAGAIN
	}
	// Otherwise pending without its siginfo: take makes one up.
	p.setMask(p.mask | bit)
	return nil
}

// addTimer makes the signal of POSIX timer it pending, as send_sigqueue
// does with the timer's preallocated sigqueue: never refused (it was
// charged when the timer was created), queued even after a standard
// signal of the same number already pending, and, if the timer's signal
// is queued already, not queued again: that one counts an overrun more.
func (p *pendingSet) addTimer(si SigInfo, it *IntervalTimer) {
	ps := it.posix
	if p.closed || ps.gone.Load() {
		return
	}
	if ps.queued {
		ps.siOverrun++
		return
	}
	ps.queued, ps.siOverrun = true, 0
	sig := int(si.Signo)
	if p.queue == nil {
		p.queue = make(map[int][]queuedSignal)
	}
	p.queue[sig] = append(p.queue[sig], queuedSignal{si: si, seq: p.next, timer: it})
	p.next++
	p.setMask(p.mask | 1<<(sig-1))
}

// queued lists the queued siginfos in the order they came.
func (p *pendingSet) queued() []SigInfo {
	var all []queuedSignal
	for _, q := range p.queue {
		all = append(all, q...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	out := make([]SigInfo, len(all))
	for i, e := range all {
		out[i] = e.si
	}
	return out
}

// take removes and returns the lowest pending signal not in blocked, as
// collect_signal does: the first siginfo queued for it (the signal stays
// pending if another one is queued), or, for a signal whose siginfo was
// lost, one as kill's with no sender. timer is the POSIX timer the signal
// is of, to re-arm (IntervalTimer.delivered) once the signal locks are
// released.
func (p *pendingSet) take(blocked uint64) (si SigInfo, timer *IntervalTimer, ok bool) {
	ready := p.mask &^ blocked
	if ready == 0 {
		return SigInfo{}, nil, false
	}
	sig := 1
	for ready&1 == 0 {
		ready >>= 1
		sig++
	}
	q := p.queue[sig]
	if len(q) == 0 {
		p.setMask(p.mask &^ (1 << (sig - 1)))
		return NewSigInfo(int32(sig), linux.SI_USER, 0, 0), nil, true
	}
	first := q[0]
	first.charge.uncharge()
	if first.timer != nil {
		ps := first.timer.posix
		first.si.SetOverrun(overrunToInt(ps.siOverrun))
		ps.queued, ps.siOverrun = false, 0
	}
	if len(q) == 1 {
		// The emptied queue keeps its array for the next signal of this
		// number: a process signalling itself in a loop allocates nothing.
		q[0] = queuedSignal{}
		p.queue[sig] = q[:0]
		p.setMask(p.mask &^ (1 << (sig - 1)))
	} else {
		q[0] = queuedSignal{}
		p.queue[sig] = q[1:]
	}
	return first.si, first.timer, true
}

// remove drops the signals in mask.
func (p *pendingSet) remove(mask uint64) {
	for sig := 1; sig <= 64; sig++ {
		if bit := uint64(1) << (sig - 1); p.mask&mask&bit != 0 {
			p.setMask(p.mask &^ bit)
			for _, e := range p.queue[sig] {
				e.charge.uncharge()
				if e.timer != nil {
					// Flushed: the timer stays waiting, as Linux's
					// (nothing re-arms it but timer_settime).
					e.timer.posix.queued = false
				}
			}
			delete(p.queue, sig)
		}
	}
}

// flushTimerSignals drops the siginfos with si_code SI_TIMER (a POSIX
// timer's, or one an application sent itself with that code), as
// flush_itimer_signals does at execve: a signal stays pending if a
// siginfo of another kind is queued for it, or if none was (it was
// pending without its siginfo), not if only timer siginfos were.
func (p *pendingSet) flushTimerSignals() {
	for sig, q := range p.queue {
		kept, dropped := q[:0], false
		for _, e := range q {
			if e.si.Code != linux.SI_TIMER {
				kept = append(kept, e)
				continue
			}
			dropped = true
			e.charge.uncharge()
			if e.timer != nil {
				e.timer.posix.queued = false
			}
		}
		clear(q[len(kept):])
		p.queue[sig] = kept
		if dropped && len(kept) == 0 {
			p.setMask(p.mask &^ (1 << (sig - 1)))
		}
	}
}

// setMask changes mask and its mirror.
func (p *pendingSet) setMask(m uint64) {
	p.mask = m
	p.maskSeen.Store(m)
}

// close drops every pending signal and refuses those that come later:
// the task or process has exited.
func (p *pendingSet) close() {
	p.remove(^uint64(0))
	p.closed = true
}
