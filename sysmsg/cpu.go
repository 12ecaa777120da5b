package sysmsg

import (
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Spinning pays only while the thread waited for runs on another CPU.
// On a busy machine the sentry's thread and the stub's can end up on one
// CPU, and then a spin holds the very CPU the other side needs: it
// polls until its time runs out or the host preempts it, and a round
// trip takes a spin limit or a time slice instead of a few microseconds
// (getppid beside two busy loops: 5-8us in some runs, 45-63us in others,
// the difference being where the host put the two threads). So each side
// says where it is: the stub thread writes the CPU it published its event
// on (Msg.StubCPU) and clears Msg.SentryCPU; the sentry writes the CPU it
// took the event on (Msg.SentryCPU). The stub stops spinning once the
// sentry has taken its event on the stub's own CPU (the sentry was then
// preempted there, by the stub: sleeping gives the CPU back), and the
// sentry does not spin after a resume when the thread it resumed last ran
// on the sentry's CPU and did not sleep (it waits for this CPU). This is
// not only a matter of load: a futex or TCP ping-pong keeps four threads
// busy (two tasks' goroutines, two stub threads) on the 2-core VM. In
// alternating runs (3-4 rounds each, idle) the futex ping-pong went from
// 43-59us to 39-40us, thread creation from 174-190us to 124-162us, the
// TCP round trip from 168us to 127us, signal to self from 23-27us to
// 21-23us, the rest the same; beside two busy loops (6 rounds) signal to
// self from 125us to 83us, getppid and the bash loop the same within
// their spread.
//
// Not spinning there is not enough under load: the host leaves the two
// threads where they are, and once both are on one CPU every hand-off is
// two context switches (22us a getppid round trip beside two busy loops,
// against 2.3us with one thread on each CPU, both spinning), and the spin
// policy's trials of spinning fail for the same reason, so a run settled
// in one mode or the other (getppid under --load=2: 7-53us in runs of the
// same binary). So the sentry moves its thread to another CPU instead
// (MoveOff) and spins there. Alternating bench runs under --load=2, 4
// rounds: getppid 15-21us -> 6.0-6.3us in every run, signal to self 91-97
// -> 43-45us, open+close 63 -> 41us, read 4 KiB 33 -> 21us, find|wc 8.2
// -> 3.0s, tar 374 -> 312ms, thread create 275-434 -> 210-309us, the bash
// loop 1.69-1.73 -> 1.62-1.68s; pipe ping-pong got slower, 144-164 ->
// 244-271us (its two stub threads and the sentry's hand-offs go faster on
// one CPU than across two busy ones); idle, no row moved beyond its
// spread.
//
// A CPU number is what Linux's vDSO getcpu reads: the segment limit of a
// per-CPU entry of the GDT (lsl, 3ns here; cpu_amd64.s). The numbers are
// hints: either thread may have moved since it wrote one, and a forged one
// only changes how the forging process's own threads wait.

// CPUNone is Msg.SentryCPU before the sentry has taken the event, and
// what the sentry writes when it cannot tell its CPU.
const CPUNone = 0xffffffff

// cpuUnknown is what a stub writes into Msg.StubCPU when it cannot tell
// its CPU: it never matches a SentryCPU.
const cpuUnknown = 0xfffffffe

// cpunodeSeg is the selector whose segment limit is the CPU's number
// (GDT_ENTRY_CPUNODE * 8 + 3).
const cpunodeSeg = 0x7b

// cpu returns the CPU the calling thread runs on (bits 0-11 of the
// CPUNODE segment's limit), or CPUNone (cpu_amd64.s).
func cpu() uint32

// took records that the sentry took the thread's event on this CPU.
func (m *Msg) took() { atomic.StoreUint32(&m.SentryCPU, cpu()) }

// WaitsHere reports whether the thread, about to be resumed, last ran on
// this CPU and is still spinning there: it needs this CPU, so the sentry
// should not spin on it.
func (m *Msg) WaitsHere() bool {
	return atomic.LoadUint32(&m.StubWaiting) == 0 && atomic.LoadUint32(&m.StubCPU) == cpu()
}

// lastMove is when MoveOff last moved a thread (monotonic ns); moveGap is
// the least time between two moves of the sentry's threads, which bounds
// what forged CPU words can make the sentry do to 1,000 moves a second.
var lastMove atomic.Int64

const moveGap = int64(time.Millisecond)

// moveDue reports whether a move at now may follow one at last.
func moveDue(now, last int64) bool { return now-last >= moveGap }

// MoveOff moves the calling thread off the CPU it runs on to another it
// may run on, and reports whether it did: its affinity without this CPU,
// which makes the host migrate it at once, then its affinity as it was,
// which leaves it where it went. Not more than once in moveGap.
func MoveOff() bool {
	now, last := monotonic(), lastMove.Load()
	if !moveDue(now, last) || !lastMove.CompareAndSwap(last, now) {
		return false
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return moveOff(cpu())
}

// moveOff moves the calling thread off CPU c, the one it runs on. Its
// goroutine must be locked to the thread (runtime.LockOSThread): moved to
// another thread between the two calls, it would leave the first with the
// smaller mask for good.
func moveOff(c uint32) bool {
	var mask unix.CPUSet
	if c == CPUNone || unix.SchedGetaffinity(0, &mask) != nil || !mask.IsSet(int(c)) || mask.Count() < 2 {
		return false
	}
	others := mask
	others.Clear(int(c))
	if unix.SchedSetaffinity(0, &others) != nil {
		return false
	}
	// The mask it had: should this fail, the thread keeps the smaller
	// one and still runs, on the other CPUs.
	_ = unix.SchedSetaffinity(0, &mask)
	return true
}
