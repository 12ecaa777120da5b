package linux

import (
	"math/bits"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// select(2) and pselect6(2), over the same waiting as poll (poll.go).

// fdSets are select's three descriptor sets, one bit per descriptor in
// 64-bit words; a nil set was not given.
type fdSets struct {
	in, out, ex []uint64
}

// selected is a descriptor select waits on.
type selected struct {
	fd   int
	f    *vfs.File
	mask int16
}

func selectFDs(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	tvp := a.Pointer(4)
	timeout := forever
	if tvp != 0 {
		d, err := copyInTimeval(t, tvp)
		if err != nil {
			return 0, err
		}
		timeout = d
	}
	dl := newDeadline(timeout)
	n, err := doSelect(t, int(a.Int(0)), a.Pointer(1), a.Pointer(2), a.Pointer(3), timeout)
	if tvp == 0 || err == unix.EFAULT {
		return n, err
	}
	return n, finishTimeout(t, err, timeout == 0, func() error {
		tv := unix.NsecToTimeval(dl.left().Nanoseconds())
		return kernel.CopyOut(t, tvp, &tv)
	})
}

// finishTimeout is poll_select_finish for select, pselect6 and ppoll,
// given the call's result err: the time left is written back (writeBack)
// unless the timeout was zero or the persona has STICKY_TIMEOUTS; when it
// is not written back, or cannot be, an interrupted call is not
// restarted, since it would start again with its whole timeout.
func finishTimeout(t *kernel.Task, err error, zero bool, writeBack func() error) error {
	sticky := t.Personality()&abi.STICKY_TIMEOUTS != 0
	if !sticky && (zero || writeBack() == nil) {
		return err
	}
	if err == unix.EINTR {
		return kernel.ErrIntrNoRestart
	}
	return err
}

// swapSigmaskPack is swapSigmask for a mask given as a struct
// sigset_argpack at addr (pselect6; io_pgetevents's struct __aio_sigset
// has its layout): EFAULT if it cannot be read, EINVAL for a mask whose
// size is not a sigset_t's.
func swapSigmaskPack(t *kernel.Task, addr uintptr) error {
	if addr == 0 {
		return nil
	}
	var pack abi.SigsetArgpack
	if err := kernel.CopyIn(t, addr, &pack); err != nil {
		return err
	}
	if pack.Mask != 0 && pack.Size != linux.SignalSetSize {
		return unix.EINVAL
	}
	return swapSigmask(t, uintptr(pack.Mask))
}

func pselect6(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if err := swapSigmaskPack(t, a.Pointer(5)); err != nil {
		return 0, err
	}
	tsp := a.Pointer(4)
	timeout := forever
	if tsp != 0 {
		d, err := copyInTimespec(t, tsp)
		if err != nil {
			return 0, err
		}
		timeout = d
	}
	dl := newDeadline(timeout)
	n, err := doSelect(t, int(a.Int(0)), a.Pointer(1), a.Pointer(2), a.Pointer(3), timeout)
	if tsp == 0 || err == unix.EFAULT {
		return n, err
	}
	return n, finishTimeout(t, err, timeout == 0, func() error { return copyOutTimespec(t, tsp, dl.left()) })
}

// copyInTimeval reads a struct timeval: EINVAL if negative or with
// microseconds out of range.
func copyInTimeval(t *kernel.Task, addr uintptr) (time.Duration, error) {
	var tv linux.Timeval
	if err := kernel.CopyIn(t, addr, &tv); err != nil {
		return 0, err
	}
	if tv.Sec < 0 || tv.Usec < 0 || tv.Usec >= 1e6 {
		return 0, unix.EINVAL
	}
	sec := min(tv.Sec, int64(time.Duration(1<<62)/time.Second))
	return time.Duration(sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond, nil
}

// doSelect implements select on the sets at in, out and ex (0: none).
func doSelect(t *kernel.Task, nfds int, in, out, ex uintptr, timeout time.Duration) (uintptr, error) {
	if nfds < 0 {
		return 0, unix.EINVAL
	}
	nfds = min(nfds, fdTableSize(t))
	words := (nfds + 63) / 64
	var sets fdSets
	var err error
	for _, s := range []struct {
		addr uintptr
		dst  *[]uint64
	}{{in, &sets.in}, {out, &sets.out}, {ex, &sets.ex}} {
		if *s.dst, err = copyInFDSet(t, s.addr, words, nfds); err != nil {
			return 0, err
		}
	}
	fds, err := selectedFiles(t, &sets, nfds)
	for _, s := range fds {
		defer s.f.DecRef()
	}
	if err != nil {
		return 0, err
	}
	watch := make([]watched, len(fds))
	for i, s := range fds {
		watch[i] = watched{s.f, s.mask}
	}
	var ready fdSets
	n, err := waitReady(t, watch, timeout, func() (int, error) {
		ready = selectOnce(fds, &sets, words)
		return ready.count(), nil
	})
	if err != nil {
		return 0, err
	}
	for _, s := range []struct {
		addr uintptr
		set  []uint64
	}{{in, ready.in}, {out, ready.out}, {ex, ready.ex}} {
		if err := copyOutFDSet(t, s.addr, s.set); err != nil {
			return 0, err
		}
	}
	return uintptr(n), nil
}

// fdTableSize is the size Linux's descriptor table would have (its
// max_fds), to which select clamps nfds: 64 slots, then a power of two
// of 128 past the highest open descriptor. Descriptors past it are
// ignored, not EBADF.
func fdTableSize(t *kernel.Task) int {
	fds := t.FDs().FDs()
	if len(fds) == 0 || fds[len(fds)-1] < 64 {
		return 64
	}
	n := 1
	for n < int(fds[len(fds)-1])/128+1 {
		n <<= 1
	}
	return n * 128
}

// copyInFDSet reads words 64-bit words of a set (nil for addr 0) and
// clears the bits at and above nfds.
func copyInFDSet(t *kernel.Task, addr uintptr, words, nfds int) ([]uint64, error) {
	if addr == 0 {
		return nil, nil
	}
	set := make([]uint64, words)
	if err := kernel.CopyInSlice(t, addr, set); err != nil {
		return nil, err
	}
	if r := nfds % 64; r != 0 {
		set[words-1] &= 1<<r - 1
	}
	return set, nil
}

func copyOutFDSet(t *kernel.Task, addr uintptr, set []uint64) error {
	if addr == 0 {
		return nil
	}
	return kernel.CopyOutSlice(t, addr, set)
}

// has reports whether fd is in set.
func has(set []uint64, fd int) bool { return set != nil && set[fd/64]&(1<<(fd%64)) != 0 }

// selectedFiles returns the descriptors in any set with what they are
// watched for; EBADF if one is not open. The caller drops the references
// of what it returns, even with an error.
func selectedFiles(t *kernel.Task, sets *fdSets, nfds int) ([]selected, error) {
	var fds []selected
	for fd := 0; fd < nfds; fd++ {
		var mask int16
		if has(sets.in, fd) {
			mask |= selectIn
		}
		if has(sets.out, fd) {
			mask |= selectOut
		}
		if has(sets.ex, fd) {
			mask |= selectEx
		}
		if mask == 0 {
			continue
		}
		f, err := getFile(t, int32(fd))
		if err != nil {
			return fds, err
		}
		fds = append(fds, selected{fd: fd, f: f, mask: mask})
	}
	return fds, nil
}

// selectOnce returns the ready subsets of sets.
func selectOnce(fds []selected, sets *fdSets, words int) fdSets {
	var r fdSets
	mk := func(s []uint64) []uint64 {
		if s == nil {
			return nil
		}
		return make([]uint64, words)
	}
	r.in, r.out, r.ex = mk(sets.in), mk(sets.out), mk(sets.ex)
	for _, s := range fds {
		ev := s.f.Readiness(s.mask)
		bit := uint64(1) << (s.fd % 64)
		if ev&selectIn != 0 && has(sets.in, s.fd) {
			r.in[s.fd/64] |= bit
		}
		if ev&selectOut != 0 && has(sets.out, s.fd) {
			r.out[s.fd/64] |= bit
		}
		if ev&selectEx != 0 && has(sets.ex, s.fd) {
			r.ex[s.fd/64] |= bit
		}
	}
	return r
}

// count returns the number of descriptors in all three sets.
func (s *fdSets) count() int {
	n := 0
	for _, set := range [][]uint64{s.in, s.out, s.ex} {
		for _, w := range set {
			n += bits.OnesCount64(w)
		}
	}
	return n
}
