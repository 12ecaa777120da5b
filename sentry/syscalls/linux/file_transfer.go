package linux

import (
	"context"
	"math"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/fs/pipe"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// Handlers that move data between two files inside the sentry: sendfile,
// copy_file_range, splice, tee. The data goes through one sentry buffer
// (usermem.Copy), which each file reads into or writes from directly;
// nothing reaches the application's memory. vmsplice, between a pipe and
// the application's memory, is here too: readv and writev of a pipe.

func registerTransfer(st *kernel.SyscallTable) {
	fd, hex, i := kernel.ArgFD, kernel.ArgHex, kernel.ArgInt
	reg(st, unix.SYS_SENDFILE, "sendfile", sendfile, fd, fd, hex, i)
	reg(st, unix.SYS_COPY_FILE_RANGE, "copy_file_range", copyFileRange, fd, hex, fd, hex, i, hex)
	partial(st, unix.SYS_SPLICE, "splice", splice, "copies through the sentry; SPLICE_F_* flags are hints", fd, hex, fd, hex, i, hex)
	partial(st, unix.SYS_TEE, "tee", tee, "copies through the sentry", fd, fd, i, hex)
	partial(st, unix.SYS_VMSPLICE, "vmsplice", vmsplice, "copies through the sentry (no pages are gifted or shared)", fd, hex, i, hex)
}

// endpoint is one side of a transfer: a file and an optional explicit
// offset (nil: the file position).
type endpoint struct {
	f   *vfs.File
	off *int64
}

// reader reads the endpoint into the sentry's buffer.
func (e endpoint) reader(t *kernel.Task) usermem.Reader {
	return usermem.ReaderFunc(e.at(t, e.f.Read, e.f.PRead))
}

// writer writes the sentry's buffer to the endpoint.
func (e endpoint) writer(t *kernel.Task) usermem.Writer {
	return usermem.WriterFunc(e.at(t, e.f.Write, e.f.PWrite))
}

// at is a transfer of the sentry's buffer at the endpoint: at the file
// position with atPos, or at the explicit offset with atOff, advancing
// it.
func (e endpoint) at(t *kernel.Task, atPos func(context.Context, usermem.IOSequence) (int, error), atOff func(context.Context, usermem.IOSequence, int64) (int, error)) func([]byte) (int, error) {
	return func(p []byte) (int, error) {
		if e.off == nil {
			return atPos(t.Ctx(), usermem.BytesSequence(p))
		}
		n, err := atOff(t.Ctx(), usermem.BytesSequence(p), *e.off)
		*e.off += int64(n)
		return n, err
	}
}

// transfer copies up to count bytes from in to out (usermem.Copy) and
// returns how many were written. A short read or write ends it; an
// explicit input offset then ends after what was written, so that what
// was read and not written is read again.
func transfer(t *kernel.Task, in, out endpoint, count int64) (int64, error) {
	var start int64
	if in.off != nil {
		start = *in.off
	}
	n, err := usermem.Copy(out.writer(t), in.reader(t), int(count))
	if in.off != nil {
		*in.off = start + int64(n)
	}
	return resultOr(int64(n), err)
}

func resultOr(done int64, err error) (int64, error) {
	if done > 0 {
		return done, nil
	}
	return 0, err
}

// copyInOffset reads a loff_t pointer argument (nil for NULL): EINVAL
// if negative.
func copyInOffset(t *kernel.Task, addr uintptr) (*int64, error) {
	off, err := copyInLoff(t, addr)
	if err == nil && off != nil && *off < 0 {
		return nil, unix.EINVAL
	}
	return off, err
}

func copyOutOffset(t *kernel.Task, addr uintptr, off *int64) error {
	if off == nil {
		return nil
	}
	return kernel.CopyOut(t, addr, off)
}

// twoFiles gets the files of a transfer, checking their access modes.
func twoFiles(t *kernel.Task, infd, outfd int32) (*vfs.File, *vfs.File, error) {
	in, err := getFile(t, infd)
	if err != nil {
		return nil, nil, err
	}
	out, err := getFile(t, outfd)
	if err != nil {
		in.DecRef()
		return nil, nil, err
	}
	if !in.Readable() || !out.Writable() {
		in.DecRef()
		out.DecRef()
		return nil, nil, unix.EBADF
	}
	return in, out, nil
}

func sendfile(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	in, out, err := twoFiles(t, a.Int(1), a.Int(0))
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	defer out.DecRef()
	if out.Flags()&unix.O_APPEND != 0 {
		return 0, unix.EINVAL
	}
	count, err := rwLen(a.Int64(3))
	if err != nil {
		return 0, err
	}
	off, err := copyInOffset(t, a.Pointer(2))
	if err != nil {
		return 0, err
	}
	n, err := transfer(t, endpoint{in, off}, endpoint{out, nil}, int64(count))
	if err != nil {
		return 0, err
	}
	return uintptr(n), copyOutOffset(t, a.Pointer(2), off)
}

// regularPair is generic_file_rw_checks for two files twoFiles gave:
// both regular (EISDIR for a directory, else EINVAL), the output not
// append-only (EBADF).
func regularPair(in, out *vfs.File) error {
	for _, f := range []*vfs.File{in, out} {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if vfs.IsDir(st.Mode) {
			return unix.EISDIR
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			return unix.EINVAL
		}
	}
	if out.Flags()&unix.O_APPEND != 0 {
		return unix.EBADF
	}
	return nil
}

// isPipe reports whether f is a FIFO.
func isPipe(f *vfs.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// splice moves data when one side is a pipe, as splice(2) requires; an
// offset given for the pipe side is ESPIPE.
func splice(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	in, out, err := twoFiles(t, a.Int(0), a.Int(2))
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	defer out.DecRef()
	inPipe, outPipe := isPipe(in), isPipe(out)
	switch {
	case !inPipe && !outPipe:
		return 0, unix.EINVAL
	case inPipe && a.Pointer(1) != 0, outPipe && a.Pointer(3) != 0:
		return 0, unix.ESPIPE
	}
	count, err := rwLen(a.Int64(4))
	if err != nil {
		return 0, err
	}
	inOff, err := copyInOffset(t, a.Pointer(1))
	if err != nil {
		return 0, err
	}
	outOff, err := copyInOffset(t, a.Pointer(3))
	if err != nil {
		return 0, err
	}
	if !spliceable(in) || !spliceable(out) || inPipe && out.Flags()&unix.O_APPEND != 0 {
		// An appending file cannot take a splice (do_splice).
		return 0, unix.EINVAL
	}
	n, err := transfer(t, endpoint{in, inOff}, endpoint{out, outOff}, int64(count))
	if err != nil {
		return 0, err
	}
	if err := copyOutOffset(t, a.Pointer(1), inOff); err != nil {
		return 0, err
	}
	return uintptr(n), copyOutOffset(t, a.Pointer(3), outOff)
}

// spliceable reports whether splice can move data to or from f: regular
// files, pipes, sockets and devices have splice_read and splice_write in
// Linux; directories and anonymous files (epoll, eventfd, signalfd,
// timerfd, pidfd, inotify, whose mode has no type) have neither, which
// do_splice finds (EINVAL) before it waits for the pipe.
func spliceable(f *vfs.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode&unix.S_IFMT != 0 && !vfs.IsDir(st.Mode)
}

// spliceFlags are the flags splice, tee and vmsplice know.
const spliceFlags = linux.SPLICE_F_MOVE | linux.SPLICE_F_NONBLOCK | linux.SPLICE_F_MORE | linux.SPLICE_F_GIFT

// tee duplicates bytes queued in one pipe into another, in fs/splice.c's
// order of checks; it waits for bytes and for room unless
// SPLICE_F_NONBLOCK (the files' O_NONBLOCK does not matter, as in Linux).
func tee(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := uint32(a.Uint(3))
	if flags&^spliceFlags != 0 {
		return 0, unix.EINVAL
	}
	count := int(min(a.Pointer(2), uintptr(math.MaxInt32)))
	if count == 0 {
		return 0, nil
	}
	in, out, err := twoFiles(t, a.Int(0), a.Int(1))
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	defer out.DecRef()
	inPipe, ok1 := pipe.FromFile(in)
	outPipe, ok2 := pipe.FromFile(out)
	if !ok1 || !ok2 || inPipe == outPipe {
		return 0, unix.EINVAL
	}
	n, err := retryOnPipes(t, flags, func() (int, error) { return inPipe.Tee(outPipe, count, t.MemoryAccount()) },
		pipeEvents{inPipe, unix.POLLIN | unix.POLLHUP}, pipeEvents{outPipe, unix.POLLOUT | unix.POLLERR})
	return uintptr(n), err
}

// pipeEvents are events of a pipe a splice call waits for.
type pipeEvents struct {
	p      *pipe.Pipe
	events int16
}

// retryOnPipes runs op until it fails with something other than EAGAIN,
// waiting for the events between tries, unless flags have
// SPLICE_F_NONBLOCK; EINTR when the caller is interrupted.
func retryOnPipes(t *kernel.Task, flags uint32, op func() (int, error), waits ...pipeEvents) (int, error) {
	n, err := op()
	if err != unix.EAGAIN || flags&linux.SPLICE_F_NONBLOCK != 0 {
		return n, err
	}
	w := vfs.NewWaiter()
	for _, pe := range waits {
		e := w.Entry(pe.events)
		pe.p.EventQueue().Add(e)
		defer pe.p.EventQueue().Remove(e)
	}
	stop := vfs.Interrupt(t.Ctx())
	for {
		if n, err = op(); err != unix.EAGAIN {
			return n, err
		}
		select {
		case <-w.C():
		case <-stop:
			return 0, unix.EINTR
		}
	}
}

// vmsplice moves bytes between the caller's memory and a pipe: into it
// for a descriptor open for writing, out of it for one open for reading,
// as writev and readv do (the pages are copied, never gifted). Checks in
// Linux's order: flags, the descriptor and its mode (EBADF), the iovecs,
// then that it is a pipe (EBADF). SPLICE_F_NONBLOCK makes this call not
// wait.
func vmsplice(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := uint32(a.Uint(3))
	if flags&^spliceFlags != 0 {
		return 0, unix.EINVAL
	}
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	write := f.Writable()
	if !write && !f.Readable() {
		return 0, unix.EBADF
	}
	seq, err := t.IovecsIOSequence(a.Pointer(1), int(min(a.Pointer(2), uintptr(math.MaxInt32))))
	if err != nil {
		return 0, err
	}
	if seq.NumBytes() == 0 {
		return 0, nil
	}
	p, ok := pipe.FromFile(f)
	if !ok {
		return 0, unix.EBADF
	}
	s := f.Impl().(vfs.Stream)
	if !write {
		if flags&linux.SPLICE_F_NONBLOCK != 0 {
			return ioResult(vfs.PartialTransfer(seq.CopyOutFrom(usermem.ReaderFunc(func(b []byte) (int, error) { return s.Read(t.Ctx(), b) }))))
		}
		// A blocking read waits for the first bytes, as vmsplice does.
		return readAt(t, f, seq, -1)
	}
	// Into the pipe: what fits, after waiting for room unless
	// SPLICE_F_NONBLOCK (vmsplice_to_pipe waits once, not for all).
	return ioResult(retryOnPipes(t, flags, func() (int, error) {
		return vfs.PartialTransfer(seq.CopyInTo(usermem.WriterFunc(func(b []byte) (int, error) { return s.Write(t.Ctx(), b) })))
	}, pipeEvents{p, unix.POLLOUT | unix.POLLERR}))
}
