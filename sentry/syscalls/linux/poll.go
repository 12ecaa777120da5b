package linux

import (
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// Handlers that wait for descriptors: poll, ppoll, select, pselect6.
// They ask each file's Readiness and, to wait, register one vfs.Waiter on
// the queues of the files whose readiness can change (vfs/wait.go), so a
// blocked task sleeps until a file tells it something changed.

func registerPoll(st *kernel.SyscallTable) {
	hex, i := kernel.ArgHex, kernel.ArgInt
	reg(st, unix.SYS_POLL, "poll", poll, hex, i, i)
	reg(st, unix.SYS_PPOLL, "ppoll", ppoll, hex, i, hex, hex, i)
	reg(st, unix.SYS_SELECT, "select", selectFDs, i, hex, hex, hex, hex)
	reg(st, unix.SYS_PSELECT6, "pselect6", pselect6, i, hex, hex, hex, hex, hex)
}

// Events select(2) maps to its three sets, as Linux's fs/select.c.
const (
	selectIn  = unix.POLLIN | linux.POLLRDNORM | linux.POLLRDBAND | unix.POLLHUP | unix.POLLERR
	selectOut = unix.POLLOUT | linux.POLLWRNORM | linux.POLLWRBAND | unix.POLLERR
	selectEx  = unix.POLLPRI
)

// forever is the timeout of a wait without one.
const forever time.Duration = -1

// watched is a file a poll waits on, and what for.
type watched struct {
	f    *vfs.File
	mask int16
}

// waitReady calls check until it finds something ready (n > 0) or fails,
// waiting between calls for a watched file to change, at most timeout
// (forever: no limit; 0: check once). It returns 0 when the time runs
// out, EINTR when the task is interrupted.
func waitReady(t *kernel.Task, files []watched, timeout time.Duration, check func() (int, error)) (int, error) {
	if n, err := check(); n > 0 || err != nil || timeout == 0 {
		return n, err
	}
	w := vfs.NewWaiter()
	for _, x := range files {
		if q := x.f.EventQueue(); q != nil {
			e := w.Entry(x.mask)
			q.Add(e)
			defer q.Remove(e)
		}
	}
	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(clocks.HostWait(timeout))
		defer timer.Stop()
		expired = timer.C
	}
	for {
		// Check again now that the waiter is registered: nothing that
		// happened since the first check is lost.
		if n, err := check(); n > 0 || err != nil {
			return n, err
		}
		select {
		case <-w.C():
		case <-expired:
			return check()
		case <-t.Interrupted():
			return 0, unix.EINTR
		}
	}
}

// deadline tracks a timeout so the time left can be written back.
type deadline struct {
	timeout time.Duration
	end     time.Time
}

func newDeadline(d time.Duration) deadline { return deadline{timeout: d, end: time.Now().Add(d)} }

// left returns the time remaining, never negative.
func (d deadline) left() time.Duration { return max(time.Until(d.end), 0) }

// fdLimit returns RLIMIT_NOFILE, the most descriptors a poll may name.
func fdLimit(t *kernel.Task) uint64 {
	lim, err := t.TG.Rlimit(unix.RLIMIT_NOFILE, nil, false)
	if err != nil {
		return vfs.DefaultFDLimit
	}
	return lim.Cur
}

func poll(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	timeout := forever
	if ms := a.Int(2); ms >= 0 {
		timeout = time.Duration(ms) * time.Millisecond
	}
	return doPoll(t, a.Pointer(0), uint64(a.Uint(1)), timeout)
}

func ppoll(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(3) != 0 && a[4] != linux.SignalSetSize {
		return 0, unix.EINVAL
	}
	if err := swapSigmask(t, a.Pointer(3)); err != nil {
		return 0, err
	}
	tsp := a.Pointer(2)
	timeout := forever
	if tsp != 0 {
		d, err := copyInTimespec(t, tsp)
		if err != nil {
			return 0, err
		}
		timeout = d
	}
	dl := newDeadline(timeout)
	n, err := doPoll(t, a.Pointer(0), uint64(a.Uint(1)), timeout)
	if tsp == 0 {
		return n, err
	}
	return n, finishTimeout(t, err, timeout == 0, func() error { return copyOutTimespec(t, tsp, dl.left()) })
}

// doPoll implements poll(2) on the nfds pollfds at addr.
func doPoll(t *kernel.Task, addr uintptr, nfds uint64, timeout time.Duration) (uintptr, error) {
	if nfds > fdLimit(t) {
		return 0, unix.EINVAL
	}
	pfds, err := copyInPollFDs(t, addr, int(nfds))
	if err != nil {
		return 0, err
	}
	files := make([]*vfs.File, len(pfds))
	var watch []watched
	for i, p := range pfds {
		if p.FD < 0 {
			continue
		}
		if f, err := getFile(t, p.FD); err == nil {
			files[i] = f
			defer f.DecRef()
			watch = append(watch, watched{f, p.Events})
		}
	}
	n, err := waitReady(t, watch, timeout, func() (int, error) { return pollOnce(pfds, files), nil })
	if err != nil {
		return 0, err
	}
	return uintptr(n), kernel.CopyOutSlice(t, addr, pfds)
}

// pollOnce sets every revents and returns how many are not zero.
func pollOnce(pfds []linux.PollFD, files []*vfs.File) int {
	n := 0
	for i := range pfds {
		p := &pfds[i]
		switch {
		case p.FD < 0:
			p.REvents = 0
		case files[i] == nil:
			p.REvents = unix.POLLNVAL
		default:
			p.REvents = files[i].Readiness(p.Events)
		}
		if p.REvents != 0 {
			n++
		}
	}
	return n
}

func copyInPollFDs(t *kernel.Task, addr uintptr, n int) ([]linux.PollFD, error) {
	pfds := make([]linux.PollFD, n)
	if err := kernel.CopyInSlice(t, addr, pfds); err != nil {
		return nil, err
	}
	return pfds, nil
}

// swapSigmask installs the mask at addr (if any) for the duration of a
// ppoll or pselect6, as sigsuspend does: a signal it lets through runs its
// handler with that mask, and the old mask comes back afterwards.
func swapSigmask(t *kernel.Task, addr uintptr) error {
	if addr == 0 {
		return nil
	}
	var set linux.SignalSet
	if err := kernel.CopyIn(t, addr, &set); err != nil {
		return err
	}
	old := t.SigMask()
	t.SetSigMask(uint64(set) &^ kernel.UnblockableSignals)
	t.RestoreMaskAfterSignal(old)
	return nil
}
