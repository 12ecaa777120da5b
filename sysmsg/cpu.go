package sysmsg

import "sync/atomic"

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
