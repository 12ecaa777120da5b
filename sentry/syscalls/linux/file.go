package linux

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// File-family handlers: descriptors, reads and writes, open and close.
// Paths, stat and directories are in file_stat.go and file_dir.go; fcntl,
// ioctl and locks in file_control.go; sendfile and friends in
// file_transfer.go.

// maxRW is the most one read or write moves (Linux's MAX_RW_COUNT).
const maxRW = 0x7ffff000

// chunk bounds the sentry's buffer for one step of a large read or write.
const chunk = 1 << 20

func registerFile(st *kernel.SyscallTable) {
	fd, path, hex, oct, i := kernel.ArgFD, kernel.ArgPath, kernel.ArgHex, kernel.ArgOct, kernel.ArgInt
	reg(st, unix.SYS_OPEN, "open", open, path, hex, oct)
	reg(st, unix.SYS_OPENAT, "openat", openat, fd, path, hex, oct)
	reg(st, unix.SYS_CREAT, "creat", creat, path, oct)
	reg(st, unix.SYS_CLOSE, "close", closeFD, fd)
	reg(st, unix.SYS_CLOSE_RANGE, "close_range", closeRange, fd, fd, hex)
	reg(st, unix.SYS_READ, "read", read, fd, hex, i)
	reg(st, unix.SYS_WRITE, "write", write, fd, hex, i)
	reg(st, unix.SYS_PREAD64, "pread64", pread64, fd, hex, i, i)
	reg(st, unix.SYS_PWRITE64, "pwrite64", pwrite64, fd, hex, i, i)
	reg(st, unix.SYS_READV, "readv", readv, fd, hex, i)
	reg(st, unix.SYS_WRITEV, "writev", writev, fd, hex, i)
	reg(st, unix.SYS_PREADV, "preadv", preadv, fd, hex, i, i)
	reg(st, unix.SYS_PWRITEV, "pwritev", pwritev, fd, hex, i, i)
	partial(st, unix.SYS_PREADV2, "preadv2", preadv2, "flags must be 0", fd, hex, i, i, i, hex)
	partial(st, unix.SYS_PWRITEV2, "pwritev2", pwritev2, "flags must be 0", fd, hex, i, i, i, hex)
	reg(st, unix.SYS_LSEEK, "lseek", lseek, fd, i, i)
	reg(st, unix.SYS_DUP, "dup", dup, fd)
	reg(st, unix.SYS_DUP2, "dup2", dup2, fd, fd)
	reg(st, unix.SYS_DUP3, "dup3", dup3, fd, fd, hex)
	reg(st, unix.SYS_FSYNC, "fsync", fsync, fd)
	reg(st, unix.SYS_FDATASYNC, "fdatasync", fsync, fd)
	reg(st, unix.SYS_SYNC, "sync", sync)
	reg(st, unix.SYS_SYNCFS, "syncfs", syncfs, fd)
	reg(st, unix.SYS_FTRUNCATE, "ftruncate", ftruncate, fd, i)
	reg(st, unix.SYS_TRUNCATE, "truncate", truncate, path, i)
	reg(st, unix.SYS_FALLOCATE, "fallocate", fallocate, fd, hex, i, i)
	reg(st, unix.SYS_UMASK, "umask", umask, oct)
}

// copyInPath reads a path argument.
func copyInPath(t *kernel.Task, addr uintptr) (string, error) {
	return t.CopyInString(addr, unix.PathMax-1)
}

// getFile returns the file at fd with a reference the caller drops, as
// Linux's fdget: an O_PATH descriptor only names a file, and every syscall
// that would use it as an open file fails with EBADF.
func getFile(t *kernel.Task, fd int32) (*vfs.File, error) {
	f, err := t.FDs().Get(fd)
	if err != nil {
		return nil, err
	}
	if f.Flags()&unix.O_PATH != 0 {
		f.DecRef()
		return nil, unix.EBADF
	}
	return f, nil
}

// getFileRaw returns the file at fd, O_PATH descriptors included, as
// Linux's fdget_raw, for the syscalls that take them: fstat, fstatfs,
// fchdir, fcntl's descriptor commands, execveat and SCM_RIGHTS.
func getFileRaw(t *kernel.Task, fd int32) (*vfs.File, error) { return t.FDs().Get(fd) }

// atDir returns the directory a *at syscall starts from: nil for
// AT_FDCWD. The caller releases it with putFile.
func atDir(t *kernel.Task, dirfd int32, path string) (*vfs.File, error) {
	if dirfd == unix.AT_FDCWD || strings.HasPrefix(path, "/") {
		// An absolute path ignores dirfd, even a bad one.
		return nil, nil
	}
	return t.FDs().Get(dirfd)
}

// putFile drops a reference taken by getFile or atDir.
func putFile(f *vfs.File) {
	if f != nil {
		f.DecRef()
	}
}

// pathAt reads the path at addr and resolves dirfd, then runs fn.
func pathAt(t *kernel.Task, dirfd int32, addr uintptr, fn func(ctx context.Context, dir *vfs.File, path string) error) error {
	path, err := copyInPath(t, addr)
	if err != nil {
		return err
	}
	dir, err := atDir(t, dirfd, path)
	if err != nil {
		return err
	}
	defer putFile(dir)
	return fn(t.Ctx(), dir, path)
}

func openat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doOpen(t, a.Int(0), a.Pointer(1), int(a.Int(2)), a.Uint(3))
}

func open(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doOpen(t, unix.AT_FDCWD, a.Pointer(0), int(a.Int(1)), a.Uint(2))
}

func creat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doOpen(t, unix.AT_FDCWD, a.Pointer(0), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, a.Uint(1))
}

func doOpen(t *kernel.Task, dirfd int32, addr uintptr, flags int, mode uint32) (uintptr, error) {
	var fd int32
	err := pathAt(t, dirfd, addr, func(ctx context.Context, dir *vfs.File, path string) error {
		f, err := t.K.VFS.Open(ctx, t.FSCreds(), t.FS(), dir, path, flags, mode)
		if err != nil {
			return err
		}
		defer f.DecRef()
		fd, err = t.FDs().Install(f, 0, flags&unix.O_CLOEXEC != 0)
		if err == unix.EINVAL {
			err = unix.EMFILE
		}
		return err
	})
	return uintptr(fd), err
}

func closeFD(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.FDs().Close(a.Int(0))
}

func closeRange(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	first, last, flags := a.Uint(0), a.Uint(1), a.Uint(2)
	if flags&^(unix.CLOSE_RANGE_CLOEXEC|unix.CLOSE_RANGE_UNSHARE) != 0 || first > last {
		return 0, unix.EINVAL
	}
	// CLOSE_RANGE_UNSHARE: the table is unshared by whoever shares it
	// (clone); until threads share tables, closing in place is the same.
	t.FDs().CloseRange(first, last, flags&unix.CLOSE_RANGE_CLOEXEC != 0)
	return 0, nil
}

// rwLen validates a read or write count.
func rwLen(n int64) (int, error) {
	if n < 0 {
		return 0, unix.EINVAL
	}
	return int(min(n, maxRW)), nil
}

// accessOK is Linux's access_ok: [addr, addr+n) lies below the top of the
// user address space. It says nothing about what is mapped there.
func accessOK(addr uintptr, n uint64) bool {
	return n <= mm.TaskSize && uint64(addr) <= mm.TaskSize-n
}

// rwBuf validates the buffer and count of read(2), write(2), pread64(2)
// and pwrite64(2) as vfs_read and vfs_write do: EFAULT unless the whole
// range passes access_ok (so a count near 2^64 is EFAULT, not EINVAL, and
// nothing past a buffer that could not be that long is ever copied), then
// the count is cut to MAX_RW_COUNT.
func rwBuf(addr uintptr, n uint64) (int, error) {
	if !accessOK(addr, n) {
		return 0, unix.EFAULT
	}
	return int(min(n, maxRW)), nil
}

// sockBuf validates the buffer of sendto(2) and recvfrom(2) as
// import_ubuf does: the count is cut to MAX_RW_COUNT first, then the
// range must pass access_ok.
func sockBuf(addr uintptr, n uint64) (int, error) {
	n = min(n, maxRW)
	if !accessOK(addr, n) {
		return 0, unix.EFAULT
	}
	return int(n), nil
}

// readInto reads up to n bytes with rd, in chunks, and copies them to
// addr. A short read ends the loop (streams return what they have).
func readInto(t *kernel.Task, addr uintptr, n int, rd func(p []byte, done int) (int, error)) (int, error) {
	// Read no more than can be delivered: a buffer that runs into a bad page
	// gets a short count, and the file keeps the rest (EFAULT if none fits).
	if ok := t.MM().AccessiblePrefix(addr, n, true); ok < n {
		if ok == 0 {
			return 0, unix.EFAULT
		}
		n = ok
	}
	buf := make([]byte, min(n, chunk))
	done := 0
	for done < n {
		p := buf[:min(n-done, len(buf))]
		got, err := rd(p, done)
		if got > 0 {
			if cerr := t.CopyOut(addr+uintptr(done), p[:got]); cerr != nil {
				return done, cerr
			}
			done += got
		}
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if got < len(p) {
			break
		}
	}
	return done, nil
}

// writeFrom copies up to n bytes from addr and writes them with wr, in
// chunks.
func writeFrom(t *kernel.Task, addr uintptr, n int, wr func(p []byte, done int) (int, error)) (int, error) {
	if ok := t.MM().AccessiblePrefix(addr, n, false); ok < n {
		if ok == 0 {
			return 0, unix.EFAULT
		}
		n = ok
	}
	buf := make([]byte, min(n, chunk))
	done := 0
	for done < n || n == 0 {
		p := buf[:min(n-done, len(buf))]
		if err := t.CopyIn(addr+uintptr(done), p); err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		w, err := wr(p, done)
		done += w
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if w < len(p) || n == 0 {
			break
		}
	}
	return done, nil
}

// getFileFor returns fd's file if it was opened for reading (or, with
// write, for writing): read(2), write(2) and their families fail with EBADF
// before they look at the buffer, as vfs_read checks FMODE_READ before
// access_ok.
func getFileFor(t *kernel.Task, fd int32, write bool) (*vfs.File, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, err
	}
	if (write && !f.Writable()) || (!write && !f.Readable()) {
		f.DecRef()
		return nil, unix.EBADF
	}
	return f, nil
}

func read(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFileFor(t, a.Int(0), false)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := rwBuf(a.Pointer(1), uint64(a.Int64(2)))
	if err != nil {
		return 0, err
	}
	ctx := t.Ctx()
	got, err := readInto(t, a.Pointer(1), n, func(p []byte, _ int) (int, error) { return f.Read(ctx, p) })
	return uintptr(got), err
}

func write(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFileFor(t, a.Int(0), true)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := rwBuf(a.Pointer(1), uint64(a.Int64(2)))
	if err != nil {
		return 0, err
	}
	ctx := t.Ctx()
	got, err := writeFrom(t, a.Pointer(1), n, func(p []byte, _ int) (int, error) { return f.Write(ctx, p) })
	return uintptr(got), err
}

func pread64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFileFor(t, a.Int(0), false)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := rwBuf(a.Pointer(1), uint64(a.Int64(2)))
	if err != nil {
		return 0, err
	}
	off := a.Int64(3)
	ctx := t.Ctx()
	got, err := readInto(t, a.Pointer(1), n, func(p []byte, done int) (int, error) {
		return f.PRead(ctx, p, off+int64(done))
	})
	return uintptr(got), err
}

func pwrite64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFileFor(t, a.Int(0), true)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := rwBuf(a.Pointer(1), uint64(a.Int64(2)))
	if err != nil {
		return 0, err
	}
	off := a.Int64(3)
	ctx := t.Ctx()
	got, err := writeFrom(t, a.Pointer(1), n, func(p []byte, done int) (int, error) {
		return f.PWrite(ctx, p, off+int64(done))
	})
	return uintptr(got), err
}

// iovec is one struct iovec.
type iovec struct {
	base uintptr
	len  int
}

// iovecSize is sizeof(struct iovec).
const iovecSize = 16

// copyInIovecs reads cnt iovecs at addr: EINVAL beyond UIO_MAXIOV, then
// as parseIovecs.
func copyInIovecs(t *kernel.Task, addr uintptr, cnt int32) ([]iovec, int, error) {
	if cnt < 0 || cnt > linux.UIO_MAXIOV {
		return nil, 0, unix.EINVAL
	}
	raw := make([]byte, iovecSize*int(cnt))
	if err := t.CopyIn(addr, raw); err != nil {
		return nil, 0, err
	}
	return parseIovecs(raw)
}

// parseIovecs decodes an iovec array as Linux's import_iovec: EINVAL if
// any length is negative as a ssize_t, then EFAULT if any buffer reaches
// past the user address space (access_ok, before anything is copied, so
// that no earlier buffer is transferred), then lengths cut so that the
// total stays within MAX_RW_COUNT. It returns the buffers and their total.
func parseIovecs(raw []byte) ([]iovec, int, error) {
	iovs := make([]iovec, len(raw)/iovecSize)
	for i := range iovs {
		l := int64(binary.LittleEndian.Uint64(raw[iovecSize*i+8:]))
		if l < 0 {
			return nil, 0, fmt.Errorf("iovec %d of %d bytes: %w", i, l, unix.EINVAL)
		}
		iovs[i] = iovec{uintptr(binary.LittleEndian.Uint64(raw[iovecSize*i:])), int(l)}
	}
	total := 0
	for i, v := range iovs {
		if end := v.base + uintptr(v.len); end < v.base || end > mm.TaskSize {
			return nil, 0, fmt.Errorf("iovec %d at %#x of %d bytes: %w", i, v.base, v.len, unix.EFAULT)
		}
		iovs[i].len = min(v.len, maxRW-total)
		total += iovs[i].len
	}
	return iovs, total, nil
}

// vectorRead reads into the iovecs with one call of rd per buffer-full.
func vectorRead(t *kernel.Task, iovs []iovec, total int, rd func(p []byte) (int, error)) (uintptr, error) {
	buf := make([]byte, min(total, chunk))
	done := 0
	vi, voff := 0, 0
	for done < total {
		p := buf[:min(total-done, len(buf))]
		got, err := rd(p)
		for q := p[:got]; len(q) > 0; {
			for iovs[vi].len-voff == 0 {
				vi, voff = vi+1, 0
			}
			k := min(len(q), iovs[vi].len-voff)
			if cerr := t.CopyOut(iovs[vi].base+uintptr(voff), q[:k]); cerr != nil {
				if done > 0 {
					return uintptr(done), nil
				}
				return 0, cerr
			}
			q, voff, done = q[k:], voff+k, done+k
		}
		if err != nil {
			if done > 0 {
				return uintptr(done), nil
			}
			return 0, err
		}
		if got < len(p) {
			break
		}
	}
	return uintptr(done), nil
}

// vectorWrite gathers the iovecs and writes them with wr.
func vectorWrite(t *kernel.Task, iovs []iovec, total int, wr func(p []byte) (int, error)) (uintptr, error) {
	buf := make([]byte, 0, min(total, chunk))
	done := 0
	flush := func() (bool, error) {
		w, err := wr(buf)
		done += w
		short := w < len(buf)
		buf = buf[:0]
		return short, err
	}
	for _, v := range iovs {
		for off := 0; off < v.len; {
			k := min(v.len-off, cap(buf)-len(buf))
			start := len(buf)
			buf = buf[:start+k]
			if err := t.CopyIn(v.base+uintptr(off), buf[start:]); err != nil {
				buf = buf[:start]
				if len(buf) > 0 {
					_, ferr := flush()
					return writeResult(done, ferr)
				}
				return writeResult(done, err)
			}
			off += k
			if len(buf) == cap(buf) {
				if short, err := flush(); err != nil || short {
					return writeResult(done, err)
				}
			}
		}
	}
	if len(buf) > 0 || total == 0 {
		_, err := flush()
		return writeResult(done, err)
	}
	return uintptr(done), nil
}

func writeResult(done int, err error) (uintptr, error) {
	if done > 0 {
		return uintptr(done), nil
	}
	return 0, err
}

func readv(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doReadv(t, a.Int(0), a.Pointer(1), a.Int(2), -1)
}

func writev(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doWritev(t, a.Int(0), a.Pointer(1), a.Int(2), -1)
}

func preadv(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int64(3) < 0 {
		return 0, unix.EINVAL
	}
	return doReadv(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int64(3))
}

func pwritev(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int64(3) < 0 {
		return 0, unix.EINVAL
	}
	return doWritev(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int64(3))
}

// preadv2 with offset -1 uses the file position, as readv does.
func preadv2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(5) != 0 {
		return 0, unix.EOPNOTSUPP
	}
	return doReadv(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int64(3))
}

func pwritev2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(5) != 0 {
		return 0, unix.EOPNOTSUPP
	}
	return doWritev(t, a.Int(0), a.Pointer(1), a.Int(2), a.Int64(3))
}

// doReadv reads into iovecs at the file position (off < 0) or at off.
func doReadv(t *kernel.Task, fd int32, addr uintptr, cnt int32, off int64) (uintptr, error) {
	f, err := getFileFor(t, fd, false)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	iovs, total, err := copyInIovecs(t, addr, cnt)
	if err != nil {
		return 0, err
	}
	ctx := t.Ctx()
	return vectorRead(t, iovs, total, func(p []byte) (int, error) {
		if off < 0 {
			return f.Read(ctx, p)
		}
		n, err := f.PRead(ctx, p, off)
		off += int64(n)
		return n, err
	})
}

// doWritev writes from iovecs at the file position (off < 0) or at off.
func doWritev(t *kernel.Task, fd int32, addr uintptr, cnt int32, off int64) (uintptr, error) {
	f, err := getFileFor(t, fd, true)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	iovs, total, err := copyInIovecs(t, addr, cnt)
	if err != nil {
		return 0, err
	}
	ctx := t.Ctx()
	return vectorWrite(t, iovs, total, func(p []byte) (int, error) {
		if off < 0 {
			return f.Write(ctx, p)
		}
		n, err := f.PWrite(ctx, p, off)
		off += int64(n)
		return n, err
	})
}

func lseek(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	off, err := f.Seek(t.Ctx(), a.Int64(1), int(a.Int(2)))
	return uintptr(off), err
}

func dup(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fd, err := t.FDs().Dup(a.Int(0))
	return uintptr(fd), err
}

func dup2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fd, err := t.FDs().Dup3(a.Int(0), a.Int(1), false, true)
	return uintptr(fd), err
}

func dup3(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := a.Int(2)
	if flags&^unix.O_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	fd, err := t.FDs().Dup3(a.Int(0), a.Int(1), flags&unix.O_CLOEXEC != 0, false)
	return uintptr(fd), err
}

func fsync(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, f.Sync(t.Ctx())
}

// sync has nothing to flush: writes stay in memory or are the host's.
func sync(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) { return 0, nil }

func syncfs(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	f.DecRef()
	return 0, nil
}

func ftruncate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int64(1) < 0 {
		return 0, unix.EINVAL
	}
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.Dentry() == nil && f.Impl() != nil {
		if _, ok := f.Impl().(vfs.Stream); ok {
			return 0, unix.EINVAL
		}
	}
	return 0, f.SetAttr(t.Ctx(), t.FSCreds(), vfs.Attr{Mask: vfs.AttrSize, Size: a.Int64(1)})
}

func truncate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int64(1) < 0 {
		return 0, unix.EINVAL
	}
	return 0, pathAt(t, unix.AT_FDCWD, a.Pointer(0), func(ctx context.Context, dir *vfs.File, path string) error {
		return t.K.VFS.SetAttrAt(ctx, t.FSCreds(), t.FS(), dir, path, true, vfs.Attr{Mask: vfs.AttrSize, Size: a.Int64(1)})
	})
}

func fallocate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, f.Allocate(t.Ctx(), a.Uint(1), a.Int64(2), a.Int64(3))
}

func umask(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.FS().SwapUmask(a.Uint(0))), nil
}
