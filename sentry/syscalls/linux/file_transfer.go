package linux

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// Handlers that move data between two files inside the sentry: sendfile,
// copy_file_range, splice. The data goes through a sentry buffer; nothing
// reaches the application's memory.

func registerTransfer(st *kernel.SyscallTable) {
	fd, hex, i := kernel.ArgFD, kernel.ArgHex, kernel.ArgInt
	reg(st, unix.SYS_SENDFILE, "sendfile", sendfile, fd, fd, hex, i)
	reg(st, unix.SYS_COPY_FILE_RANGE, "copy_file_range", copyFileRange, fd, hex, fd, hex, i, hex)
	partial(st, unix.SYS_SPLICE, "splice", splice, "copies through the sentry; SPLICE_F_* flags are hints", fd, hex, fd, hex, i, hex)
}

// endpoint is one side of a transfer: a file and an optional explicit
// offset (nil: the file position).
type endpoint struct {
	f   *vfs.File
	off *int64
}

func (e endpoint) read(t *kernel.Task, p []byte) (int, error) {
	if e.off == nil {
		return e.f.Read(t.Ctx(), p)
	}
	n, err := e.f.PRead(t.Ctx(), p, *e.off)
	*e.off += int64(n)
	return n, err
}

func (e endpoint) write(t *kernel.Task, p []byte) (int, error) {
	if e.off == nil {
		return e.f.Write(t.Ctx(), p)
	}
	n, err := e.f.PWrite(t.Ctx(), p, *e.off)
	*e.off += int64(n)
	return n, err
}

// transfer copies up to count bytes from in to out and returns how many
// were written. A short read or write ends it.
func transfer(t *kernel.Task, in, out endpoint, count int64) (int64, error) {
	buf := make([]byte, min(count, chunk))
	var done int64
	for done < count {
		p := buf[:min(count-done, int64(len(buf)))]
		n, err := in.read(t, p)
		if n > 0 {
			w, werr := out.write(t, p[:n])
			done += int64(w)
			if werr != nil || w < n {
				if in.off != nil {
					*in.off -= int64(n - w)
				}
				return resultOr(done, werr)
			}
		}
		if err != nil {
			return resultOr(done, err)
		}
		if n < len(p) {
			break
		}
	}
	return done, nil
}

func resultOr(done int64, err error) (int64, error) {
	if done > 0 {
		return done, nil
	}
	return 0, err
}

// copyInOffset reads a loff_t pointer argument (nil for NULL).
func copyInOffset(t *kernel.Task, addr uintptr) (*int64, error) {
	if addr == 0 {
		return nil, nil
	}
	var b [8]byte
	if err := t.CopyIn(addr, b[:]); err != nil {
		return nil, err
	}
	off := int64(binary.LittleEndian.Uint64(b[:]))
	if off < 0 {
		return nil, unix.EINVAL
	}
	return &off, nil
}

func copyOutOffset(t *kernel.Task, addr uintptr, off *int64) error {
	if off == nil {
		return nil
	}
	return t.CopyOut(addr, binary.LittleEndian.AppendUint64(nil, uint64(*off)))
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

func copyFileRange(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Uint(5) != 0 {
		return 0, unix.EINVAL
	}
	in, out, err := twoFiles(t, a.Int(0), a.Int(2))
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	defer out.DecRef()
	if out.Flags()&unix.O_APPEND != 0 {
		return 0, unix.EBADF
	}
	for _, f := range []*vfs.File{in, out} {
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		if vfs.IsDir(st.Mode) {
			return 0, unix.EISDIR
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			return 0, unix.EINVAL
		}
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
	n, err := transfer(t, endpoint{in, inOff}, endpoint{out, outOff}, int64(count))
	if err != nil {
		return 0, err
	}
	if err := copyOutOffset(t, a.Pointer(1), inOff); err != nil {
		return 0, err
	}
	return uintptr(n), copyOutOffset(t, a.Pointer(3), outOff)
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
	n, err := transfer(t, endpoint{in, inOff}, endpoint{out, outOff}, int64(count))
	if err != nil {
		return 0, err
	}
	if err := copyOutOffset(t, a.Pointer(1), inOff); err != nil {
		return 0, err
	}
	return uintptr(n), copyOutOffset(t, a.Pointer(3), outOff)
}
