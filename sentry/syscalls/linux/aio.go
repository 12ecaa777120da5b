package linux

import (
	"errors"
	"math"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/fs/eventfd"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/aio"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// Handlers of Linux native AIO (fs/aio.c); the contexts, rings and
// requests are package aio's. Checks are in Linux's order, so the errno of
// a call with several faults is Linux's.

func registerAIO(st *kernel.SyscallTable) {
	hex, i := kernel.ArgHex, kernel.ArgInt
	reg(st, unix.SYS_IO_SETUP, "io_setup", ioSetup, i, hex)
	reg(st, unix.SYS_IO_DESTROY, "io_destroy", ioDestroy, hex)
	partial(st, unix.SYS_IO_SUBMIT, "io_submit", ioSubmit,
		"reads, writes and fsyncs complete within io_submit, as buffered I/O does in Linux; IOCB_FLAG_IOPRIO is not checked", hex, i, hex)
	reg(st, unix.SYS_IO_CANCEL, "io_cancel", ioCancel, hex, hex, hex)
	reg(st, unix.SYS_IO_GETEVENTS, "io_getevents", ioGetevents, hex, i, i, hex, hex)
	reg(st, unix.SYS_IO_PGETEVENTS, "io_pgetevents", ioPgetevents, hex, i, i, hex, hex, hex)
}

// rwfSupported are the RWF_* flags of Linux 6.1 (RWF_SUPPORTED).
const rwfSupported = unix.RWF_HIPRI | unix.RWF_DSYNC | unix.RWF_SYNC | unix.RWF_NOWAIT | unix.RWF_APPEND

// aioRingName is how /proc/PID/maps shows a ring (the aio file's name).
const aioRingName = "/[aio] (deleted)"

func ioSetup(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	nr, ctxp := uint32(a.Uint(0)), a.Pointer(1)
	var cur uint64
	if err := kernel.CopyIn(t, ctxp, &cur); err != nil {
		return 0, err
	}
	if cur != 0 || nr == 0 {
		return 0, unix.EINVAL
	}
	tb := t.AIO()
	if tb == nil {
		return 0, unix.EINVAL
	}
	c, err := tb.Setup(nr, t.K.CPUs())
	if err != nil {
		return 0, err
	}
	ring, err := c.Ring()
	if err != nil {
		tb.Abandon(c)
		return 0, err
	}
	addr, err := t.MM().Mmap(mm.MmapOpts{Length: uintptr(c.Size()), Prot: unix.PROT_READ | unix.PROT_WRITE,
		Flags: unix.MAP_SHARED, File: ring, Name: aioRingName, AIORing: true})
	if err != nil {
		tb.Abandon(c)
		return 0, err
	}
	if err := tb.Install(c, addr); err != nil {
		t.MM().Munmap(addr, uintptr(c.Size()))
		tb.Abandon(c)
		return 0, err
	}
	id := uint64(addr)
	if err := kernel.CopyOut(t, ctxp, &id); err != nil {
		destroyAIO(t, tb, c)
		return 0, err
	}
	return 0, nil
}

// lookupAIO finds the context whose id is ctxID (lookup_ioctx): the id in
// the ring at that address, which the application may have changed, must
// name a live context made at that address.
func lookupAIO(t *kernel.Task, ctxID uint64) (*aio.Table, *aio.Context, bool) {
	var ringID uint32
	if err := kernel.CopyIn(t, uintptr(ctxID), &ringID); err != nil {
		return nil, nil, false
	}
	tb := t.AIO()
	if tb == nil {
		return nil, nil, false
	}
	c, ok := tb.Lookup(uintptr(ctxID), ringID)
	return tb, c, ok
}

// destroyAIO kills c and unmaps what is at its ring's address, as
// kill_ioctx does (whatever the application mapped there since).
func destroyAIO(t *kernel.Task, tb *aio.Table, c *aio.Context) error {
	addr, size, err := tb.Destroy(c)
	if err != nil {
		return err
	}
	t.MM().Munmap(addr, uintptr(size))
	return nil
}

func ioDestroy(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	tb, c, ok := lookupAIO(t, uint64(a.Pointer(0)))
	if !ok {
		return 0, unix.EINVAL
	}
	return 0, destroyAIO(t, tb, c)
}

// ioSubmit submits up to nr iocbs (no more than the ring holds) and
// returns how many went in; an error stops it, and is returned only if
// none did.
func ioSubmit(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	nr, iocbpp := a.Int64(1), a.Pointer(2)
	if nr < 0 {
		return 0, unix.EINVAL
	}
	_, c, ok := lookupAIO(t, uint64(a.Pointer(0)))
	if !ok {
		return 0, unix.EINVAL
	}
	nr = min(nr, int64(c.NumEvents()))
	var i int64
	var err error
	for ; i < nr; i++ {
		var cb uint64
		if err = kernel.CopyIn(t, iocbpp+uintptr(i)*8, &cb); err != nil {
			break
		}
		if err = submitIOCB(t, c, uintptr(cb)); err != nil {
			break
		}
	}
	if i > 0 {
		return uintptr(i), nil
	}
	return 0, err
}

// submitIOCB is io_submit_one: the iocb at addr is read, checked, given a
// slot, and run (or, a poll, queued).
func submitIOCB(t *kernel.Task, c *aio.Context, addr uintptr) error {
	var cb abi.IOCB
	if err := kernel.CopyIn(t, addr, &cb); err != nil {
		return err
	}
	if cb.Reserved2 != 0 || int64(cb.NBytes) < 0 {
		return unix.EINVAL
	}
	if err := c.Begin(); err != nil {
		return err
	}
	req := aio.Request{Obj: uint64(addr), Data: cb.Data}
	f, err := prepareIOCB(t, &cb, addr, &req)
	var run func() int64
	if err == nil && cb.Opcode != linux.IOCB_CMD_POLL {
		run, err = startIOCB(t, &cb, f)
	}
	if err != nil {
		if f != nil {
			f.DecRef()
		}
		if req.EventFD != nil {
			req.EventFD.DecRef()
		}
		c.Abort()
		return err
	}
	if cb.Opcode == linux.IOCB_CMD_POLL {
		c.Poll(req, f, int16(cb.Buf)|unix.POLLERR|unix.POLLHUP)
		return nil
	}
	defer f.DecRef()
	c.Complete(req, run())
	return nil
}

// prepareIOCB is __io_submit_one's checks: the file, the eventfd, the
// key written back, then the opcode's own. It returns the file (a
// reference) even on error, for the caller to drop.
func prepareIOCB(t *kernel.Task, cb *abi.IOCB, addr uintptr, req *aio.Request) (*vfs.File, error) {
	f, err := getFile(t, int32(cb.FD))
	if err != nil {
		return nil, err
	}
	if cb.Flags&linux.IOCB_FLAG_RESFD != 0 {
		e, err := getFile(t, int32(cb.ResFD))
		if err != nil {
			return f, err
		}
		if _, ok := eventfd.FromFile(e); !ok {
			e.DecRef()
			return f, unix.EINVAL
		}
		req.EventFD = e
	}
	key := uint32(0) // KIOCB_KEY
	if err := kernel.CopyOut(t, addr+abi.IOCBKeyOffset, &key); err != nil {
		return f, err
	}
	switch cb.Opcode {
	case linux.IOCB_CMD_PREAD, linux.IOCB_CMD_PREADV:
		return f, checkRW(f, cb, false)
	case linux.IOCB_CMD_PWRITE, linux.IOCB_CMD_PWRITEV:
		return f, checkRW(f, cb, true)
	case linux.IOCB_CMD_FSYNC, linux.IOCB_CMD_FDSYNC:
		if cb.Buf != 0 || cb.Offset != 0 || cb.NBytes != 0 || cb.RWFlags != 0 || !f.CanSync(t.Ctx()) {
			return f, unix.EINVAL
		}
		return f, nil
	case linux.IOCB_CMD_POLL:
		if uint64(uint16(cb.Buf)) != cb.Buf || cb.Offset != 0 || cb.NBytes != 0 || cb.RWFlags != 0 {
			return f, unix.EINVAL
		}
		return f, nil
	}
	return f, unix.EINVAL
}

// checkRW is aio_prep_rw's and aio_read's or aio_write's checks before
// the buffer: the RWF flags, the file's mode, a file that cannot be read
// or written at all (a directory).
func checkRW(f *vfs.File, cb *abi.IOCB, write bool) error {
	if flags := cb.RWFlags; flags != 0 && flags&^rwfSupported != 0 {
		return unix.EOPNOTSUPP
	}
	if (write && !f.Writable()) || (!write && !f.Readable()) {
		return unix.EBADF
	}
	if st, err := f.Stat(); err == nil && vfs.IsDir(st.Mode) {
		return unix.EINVAL
	}
	return nil
}

// startIOCB builds what a checked request runs, with the checks Linux
// makes before the I/O (aio_setup_rw's buffer or iovecs, rw_verify_area's
// offset), which fail io_submit itself; the I/O's own result is the
// event's.
func startIOCB(t *kernel.Task, cb *abi.IOCB, f *vfs.File) (func() int64, error) {
	switch cb.Opcode {
	case linux.IOCB_CMD_FSYNC, linux.IOCB_CMD_FDSYNC:
		return func() int64 { return eventResult(0, f.Sync(t.Ctx())) }, nil
	}
	var seq usermem.IOSequence
	var err error
	if cb.Opcode == linux.IOCB_CMD_PREADV || cb.Opcode == linux.IOCB_CMD_PWRITEV {
		seq, err = t.IovecsIOSequence(uintptr(cb.Buf), int(cb.NBytes))
	} else {
		seq, err = t.SingleIOSequence(uintptr(cb.Buf), cb.NBytes)
	}
	if err != nil {
		return nil, err
	}
	if cb.Offset < 0 || cb.Offset+int64(seq.NumBytes()) < cb.Offset {
		return nil, unix.EINVAL
	}
	ctx := t.Ctx()
	if cb.RWFlags&unix.RWF_NOWAIT != 0 {
		ctx = vfs.NoWait(ctx)
	}
	// Files without positions (pipes, sockets) ignore the offset.
	off := cb.Offset
	if !positional(f) {
		off = -1
	}
	if cb.Opcode == linux.IOCB_CMD_PWRITE || cb.Opcode == linux.IOCB_CMD_PWRITEV {
		return func() int64 { return eventResult(writeAtCtx(t, ctx, f, seq, off)) }, nil
	}
	return func() int64 { return eventResult(readAtCtx(t, ctx, f, seq, off)) }, nil
}

// eventResult is an event's res: the count, or the negated errno. An
// interrupted request fails with EINTR: one request of many cannot be
// restarted (aio_rw_done).
func eventResult(n uintptr, err error) int64 {
	if err == nil {
		return int64(n)
	}
	e := unix.EIO
	errors.As(err, &e)
	switch e {
	case kernel.ErrRestartSys, kernel.ErrRestartNoIntr, kernel.ErrRestartNoHand, kernel.ErrRestartBlock:
		e = unix.EINTR
	}
	return -int64(e)
}

func ioCancel(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	iocb := a.Pointer(1)
	var key uint32
	if err := kernel.CopyIn(t, iocb+abi.IOCBKeyOffset, &key); err != nil {
		return 0, err
	}
	if key != 0 { // KIOCB_KEY
		return 0, unix.EINVAL
	}
	_, c, ok := lookupAIO(t, uint64(a.Pointer(0)))
	if !ok {
		return 0, unix.EINVAL
	}
	return 0, c.Cancel(uint64(iocb))
}

// aioTimeout reads io_getevents's relative timeout as Linux converts it
// (timespec64_to_ktime, without validating it): forever without one or
// past KTIME_MAX, no wait at all for zero or less.
func aioTimeout(t *kernel.Task, addr uintptr) (time.Duration, error) {
	if addr == 0 {
		return forever, nil
	}
	var ts linux.Timespec
	if err := kernel.CopyIn(t, addr, &ts); err != nil {
		return 0, err
	}
	const ktimeSecMax = math.MaxInt64 / int64(time.Second)
	if ts.Sec >= ktimeSecMax {
		return forever, nil
	}
	d := ts.Sec*int64(time.Second) + ts.Nsec
	if ts.Sec < -ktimeSecMax || d <= 0 {
		return 0, nil
	}
	return time.Duration(d), nil
}

func ioGetevents(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	timeout, err := aioTimeout(t, a.Pointer(4))
	if err != nil {
		return 0, err
	}
	return getEvents(t, uint64(a.Pointer(0)), a.Int64(1), a.Int64(2), a.Pointer(3), timeout)
}

// ioPgetevents is io_getevents with a signal mask for the wait, given
// as a struct __aio_sigset (the layout of pselect6's argument pack).
func ioPgetevents(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	timeout, err := aioTimeout(t, a.Pointer(4))
	if err != nil {
		return 0, err
	}
	if err := swapSigmaskPack(t, a.Pointer(5)); err != nil {
		return 0, err
	}
	return getEvents(t, uint64(a.Pointer(0)), a.Int64(1), a.Int64(2), a.Pointer(3), timeout)
}

// getEvents is do_io_getevents: between minNr and nr events copied to
// the io_event array at events, waiting up to timeout for minNr.
func getEvents(t *kernel.Task, ctxID uint64, minNr, nr int64, events uintptr, timeout time.Duration) (uintptr, error) {
	_, c, ok := lookupAIO(t, ctxID)
	if !ok || minNr > nr || minNr < 0 {
		return 0, unix.EINVAL
	}
	out := func(index int, b []byte) error {
		return kernel.CopyOutSlice(t, events+uintptr(index)*uintptr(linux.IOEventSize), b)
	}
	n, err := c.GetEvents(int(minNr), int(nr), timeout, t.Interrupted(), out)
	return uintptr(n), err
}
