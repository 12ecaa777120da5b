package vfs

import (
	"context"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usermem"
)

// File is an open file description: what open(2) returns and dup(2)
// shares. It holds the position, the status flags and the filesystem's
// implementation.
type File struct {
	refs  atomic.Int64
	v     *VFS
	d     *Dentry // nil for anonymous files (pipes, imported descriptors)
	inode Inode
	impl  FileImpl // nil for O_PATH files and directories
	// mode is the access mode and O_PATH, which never change: read
	// without mu.
	mode int

	// mu guards the position, the flags and the directory snapshot; a
	// directory is listed by its filesystem under it.
	mu      sync.Mutex
	off     int64    // guarded by mu
	flags   int      // guarded by mu
	dirents []Dirent // directory snapshot taken when reading from offset 0; guarded by mu

	// counted is set, with leaseKey the file's identity, when the file
	// is a regular file the lease table counts (lease.go); both are set
	// before the file is shared and never change.
	counted  bool
	leaseKey lockKey

	// writeHold is what the file holds on the file writeKey names
	// (writeaccess.go): 1, write access; -1, its denial, as an
	// executable; 0, neither. Both are set before the file is shared and
	// never change.
	writeHold int
	writeKey  lockKey

	// async is the file's owner and O_ASYNC state (async.go), under
	// its own lock.
	async asyncState

	// releaseMu guards onRelease, the calls OnRelease registered.
	releaseMu sync.Mutex
	onRelease map[*func()]struct{}
}

// statusFlags are the flags F_SETFL may change (SETFL_MASK); O_ASYNC
// changes only as the file arms or disarms its signals (async.go).
const statusFlags = unix.O_APPEND | unix.O_NONBLOCK | unix.O_DIRECT | unix.O_NOATIME

// NewFile returns a file with one reference. d may be nil for files that
// have no name (pipes, imported host descriptors); v may be nil for files
// that take no locks.
func NewFile(v *VFS, d *Dentry, inode Inode, impl FileImpl, flags int) *File {
	f := &File{v: v, d: d, inode: inode, impl: impl, mode: flags & (unix.O_ACCMODE | unix.O_PATH),
		flags: flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC | unix.O_NOCTTY | unix.O_CLOEXEC)}
	f.refs.Store(1)
	return f
}

// IncRef takes a reference.
func (f *File) IncRef() { f.refs.Add(1) }

// DecRef drops a reference; the last one releases the file and its
// flock and OFD locks.
func (f *File) DecRef() {
	if f.refs.Add(-1) != 0 {
		return
	}
	f.releaseMu.Lock()
	calls := f.onRelease
	f.onRelease = nil
	f.releaseMu.Unlock()
	for fn := range calls {
		(*fn)()
	}
	f.releaseAsync()
	if f.v != nil {
		f.v.locks.releaseFile(f)
		f.v.leases.release(f)
		f.releaseWrite()
		f.closeEvent()
	}
	if f.impl != nil {
		f.impl.Release()
	}
}

// OnRelease has fn called when f's last reference goes, before the file
// is released: an epoll instance holds no reference to the files it
// watches and forgets one when it is closed for good (Linux's
// eventpoll_release), so that closing a socket still in an epoll set
// closes the connection. stop unregisters fn. fn must not take f's
// locks or a reference to it.
func (f *File) OnRelease(fn func()) (stop func()) {
	key := &fn
	f.releaseMu.Lock()
	if f.onRelease == nil {
		f.onRelease = make(map[*func()]struct{})
	}
	f.onRelease[key] = struct{}{}
	f.releaseMu.Unlock()
	return func() {
		f.releaseMu.Lock()
		delete(f.onRelease, key)
		f.releaseMu.Unlock()
	}
}

// Dentry returns the file's name in the mount tree (nil if anonymous).
func (f *File) Dentry() *Dentry { return f.d }

// Inode returns the file's inode.
func (f *File) Inode() Inode { return f.inode }

// Impl returns the filesystem's implementation (nil for O_PATH files and
// directories).
func (f *File) Impl() FileImpl { return f.impl }

// Flags returns the access mode and status flags, under File.mu, which
// a filesystem may not take (locks.go).
func (f *File) Flags() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flags
}

// SetStatusFlags replaces the flags F_SETFL may change for creds; turning
// O_NOATIME on needs the owner of the file or CAP_FOWNER, and O_APPEND
// stays as it is on an append-only file (EPERM), as setfl says.
func (f *File) SetStatusFlags(ctx context.Context, creds Creds, flags int) error {
	if (flags^f.Flags())&unix.O_APPEND != 0 && isAppend(f.inode) {
		return unix.EPERM // an append-only file keeps O_APPEND (setfl)
	}
	if flags&unix.O_NOATIME != 0 && f.Flags()&unix.O_NOATIME == 0 {
		st, err := f.inode.Stat(ctx)
		if err != nil {
			return err
		}
		if !creds.ownerOrCapable(&st) {
			return unix.EPERM
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flags = f.flags&^statusFlags | flags&statusFlags
	return nil
}

func (f *File) isPath() bool { return f.mode&unix.O_PATH != 0 }

func (f *File) readable() bool {
	return !f.isPath() && f.mode&unix.O_ACCMODE != unix.O_WRONLY
}

func (f *File) writable() bool {
	acc := f.mode & unix.O_ACCMODE
	return !f.isPath() && (acc == unix.O_WRONLY || acc == unix.O_RDWR)
}

// Readable reports whether the file was opened for reading. It takes no
// lock (the access mode never changes), so a filesystem may call it.
func (f *File) Readable() bool { return f.readable() }

// Writable reports whether the file was opened for writing. It takes no
// lock, as Readable.
func (f *File) Writable() bool { return f.writable() }

// Stat returns the file's attributes (fstat).
func (f *File) Stat() (unix.Stat_t, error) { return f.StatCtx(context.Background()) }

// StatCtx is Stat for a caller.
func (f *File) StatCtx(ctx context.Context) (unix.Stat_t, error) { return f.attrInode().Stat(ctx) }

// attrInode is the inode whose attributes f's calls read and change: the
// open file's own view of it when the filesystem has one (OpenInode).
func (f *File) attrInode() Inode {
	if o, ok := f.impl.(OpenInode); ok {
		return o.Inode()
	}
	return f.inode
}

func (f *File) io() (FileImpl, error) {
	if f.impl == nil {
		if f.isPath() {
			return nil, unix.EBADF
		}
		return nil, unix.EISDIR
	}
	return f.impl, nil
}

// Read reads into dst at the file position and advances it (read(2)):
// dst is cut to the part the application can write first (EFAULT if
// none), so that no more of the file is consumed than can be delivered.
// A blocking stream waits for its first bytes only, and returns what it
// has after them.
func (f *File) Read(ctx context.Context, dst usermem.IOSequence) (n int, err error) {
	asked := dst.NumBytes()
	defer func() { f.fileEvent(ctx, n, unix.IN_ACCESS); f.readDone(asked, n, err) }()
	if !f.readable() {
		return 0, unix.EBADF
	}
	impl, err := f.io()
	if err != nil {
		return 0, err
	}
	if readsEmpty(impl) {
		return 0, nil
	}
	if dst, err = dst.WritablePrefix(); err != nil {
		return 0, err
	}
	if readsZeros(impl) {
		return partial(dst.ZeroFill())
	}
	if r, ok := impl.(WaitingReader); ok {
		// Only the first part of dst waits; the rest takes what is there.
		nonblock := f.nonBlocking(ctx)
		return partial(dst.CopyOutFrom(usermem.ReaderFunc(func(p []byte) (int, error) {
			n, err := r.ReadWaiting(ctx, p, nonblock)
			nonblock = true
			return n, err
		})))
	}
	if s, q, ok := f.blockingStream(); ok {
		return f.readBlocking(ctx, s, q, dst)
	}
	if s, ok := impl.(Stream); ok {
		return partial(dst.CopyOutFrom(usermem.ReaderFunc(func(p []byte) (int, error) { return s.Read(ctx, p) })))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return partial(dst.CopyOutFrom(usermem.ReaderFunc(func(p []byte) (int, error) {
		n, err := impl.ReadAt(ctx, p, f.off)
		f.off += int64(n)
		return n, err
	})))
}

// readsEmpty reports whether every read of impl is at its end
// (EmptyReader): the read then returns 0 without touching memory.
func readsEmpty(impl FileImpl) bool {
	e, ok := impl.(EmptyReader)
	return ok && e.ReadsEmpty()
}

// readsZeros reports whether every read of impl is zero bytes
// (ZeroReader).
func readsZeros(impl FileImpl) bool {
	z, ok := impl.(ZeroReader)
	return ok && z.ReadsZeros()
}

// PartialTransfer is partial, for transfers made outside the VFS.
func PartialTransfer(n int, err error) (int, error) { return partial(n, err) }

// partial is the result of a transfer that stopped: the count if anything
// moved (the error ends it, as Linux's short reads and writes do), else
// the error.
func partial(n int, err error) (int, error) {
	if n > 0 {
		return n, nil
	}
	return 0, err
}

// Write writes src at the file position (or the end, with O_APPEND) and
// advances it (write(2)): src is cut to the part the application can read
// first (EFAULT if none).
func (f *File) Write(ctx context.Context, src usermem.IOSequence) (n int, err error) {
	defer func() { f.fileEvent(ctx, n, unix.IN_MODIFY) }()
	if !f.writable() {
		return 0, unix.EBADF
	}
	impl, err := f.io()
	if err != nil {
		return 0, err
	}
	if b, ok := impl.(BlindWriter); ok {
		if n, ok, err := b.WriteBlind(src.NumBytes()); ok {
			return n, err
		}
	}
	if src, err = src.ReadablePrefix(); err != nil {
		return 0, err
	}
	if s, q, ok := f.blockingStream(); ok {
		return partial(src.CopyInTo(usermem.WriterFunc(func(p []byte) (int, error) { return f.writeBlocking(ctx, s, q, p) })))
	}
	if s, ok := impl.(Stream); ok {
		return partial(src.CopyInTo(usermem.WriterFunc(func(p []byte) (int, error) { return s.Write(ctx, p) })))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return partial(src.CopyInTo(usermem.WriterFunc(func(p []byte) (int, error) {
		if f.flags&unix.O_APPEND != 0 {
			n, err := impl.WriteAt(ctx, p, -1)
			if st, serr := f.inode.Stat(ctx); serr == nil {
				f.off = st.Size
			}
			return n, err
		}
		if f.off+int64(len(p)) < f.off {
			return 0, unix.EFBIG
		}
		n, err := impl.WriteAt(ctx, p, f.off)
		f.off += int64(n)
		return n, err
	})))
}

// positional checks that pread/pwrite apply to the file.
func (f *File) positional(off int64) (FileImpl, error) {
	impl, err := f.io()
	if err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, unix.EINVAL
	}
	if _, ok := impl.(Stream); ok {
		if _, seek := impl.(Seeker); !seek {
			return nil, unix.ESPIPE
		}
	}
	return impl, nil
}

// PRead reads into dst at off without moving the position (pread64(2)),
// dst cut as Read cuts it.
func (f *File) PRead(ctx context.Context, dst usermem.IOSequence, off int64) (n int, err error) {
	asked := dst.NumBytes()
	defer func() { f.fileEvent(ctx, n, unix.IN_ACCESS); f.readDone(asked, n, err) }()
	if !f.readable() {
		return 0, unix.EBADF
	}
	impl, err := f.positional(off)
	if err != nil {
		return 0, err
	}
	if readsEmpty(impl) {
		return 0, nil
	}
	if dst, err = dst.WritablePrefix(); err != nil {
		return 0, err
	}
	if readsZeros(impl) {
		return partial(dst.ZeroFill())
	}
	return partial(dst.CopyOutFrom(usermem.ReaderFunc(func(p []byte) (int, error) {
		n, err := impl.ReadAt(ctx, p, off)
		off += int64(n)
		return n, err
	})))
}

// PWrite writes src at off without moving the position (pwrite64(2)),
// src cut as Write cuts it. As in Linux, O_APPEND files append whatever
// off says.
func (f *File) PWrite(ctx context.Context, src usermem.IOSequence, off int64) (n int, err error) {
	defer func() { f.fileEvent(ctx, n, unix.IN_MODIFY) }()
	if !f.writable() {
		return 0, unix.EBADF
	}
	impl, err := f.positional(off)
	if err != nil {
		return 0, err
	}
	if b, ok := impl.(BlindWriter); ok {
		if n, ok, err := b.WriteBlind(src.NumBytes()); ok {
			return n, err
		}
	}
	if src, err = src.ReadablePrefix(); err != nil {
		return 0, err
	}
	appending := f.Flags()&unix.O_APPEND != 0
	return partial(src.CopyInTo(usermem.WriterFunc(func(p []byte) (int, error) {
		if appending {
			return impl.WriteAt(ctx, p, -1)
		}
		n, err := impl.WriteAt(ctx, p, off)
		off += int64(n)
		return n, err
	})))
}

// ReadAt implements io.ReaderAt for the loader: it reads until p is full
// and returns io.EOF at the end of the file.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	ctx := context.Background()
	done := 0
	for done < len(p) {
		n, err := f.PRead(ctx, usermem.BytesSequence(p[done:]), off+int64(done))
		done += n
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.EOF
		}
	}
	return done, nil
}

// Seek implements lseek(2).
func (f *File) Seek(ctx context.Context, off int64, whence int) (int64, error) {
	if f.isPath() {
		return 0, unix.EBADF
	}
	if s, ok := f.impl.(Seeker); ok {
		return s.Seek(ctx, off, whence)
	}
	if _, ok := f.impl.(Stream); ok {
		return 0, unix.ESPIPE
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var base int64
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		base = f.off
	case unix.SEEK_END, unix.SEEK_DATA, unix.SEEK_HOLE:
		st, err := f.inode.Stat(ctx)
		if err != nil {
			return 0, err
		}
		if IsDir(st.Mode) && whence == unix.SEEK_END {
			return 0, unix.EINVAL
		}
		switch whence {
		case unix.SEEK_END:
			base = st.Size
		case unix.SEEK_DATA, unix.SEEK_HOLE:
			if off < 0 || off >= st.Size {
				return 0, unix.ENXIO
			}
			if hs, ok := f.impl.(HoleSeeker); ok {
				next, err := hs.SeekHole(ctx, off, whence)
				if err != nil {
					return 0, err
				}
				off = next
			} else if whence == unix.SEEK_HOLE {
				// The whole file is data, as generic_file_llseek says.
				off = st.Size
			}
		}
	default:
		return 0, unix.EINVAL
	}
	if base > 0 && off > math.MaxInt64-base {
		return 0, unix.EOVERFLOW
	}
	next := base + off
	if next < 0 {
		return 0, unix.EINVAL
	}
	if next == 0 {
		f.dirents = nil
	}
	f.off = next
	return next, nil
}

// MappableFile returns a host descriptor of the file's contents for the
// memory manager, owned by the caller: EACCES for O_PATH files and
// directories, ENODEV for files that cannot be mapped.
func (f *File) MappableFile() (*os.File, error) {
	if f.impl == nil {
		return nil, unix.EACCES
	}
	m, ok := f.impl.(Mappable)
	if !ok {
		return nil, unix.ENODEV
	}
	return m.MappableFile()
}

// MapsAnonymous reports whether mappings of the file are anonymous
// memory (/dev/zero).
func (f *File) MapsAnonymous() bool {
	a, ok := f.impl.(AnonymousMapper)
	return ok && a.MapsAnonymous()
}

// SetAttr changes the file's attributes for creds (fchmod, fchown,
// ftruncate, futimens); truncation needs the file open for writing, not
// write permission.
func (f *File) SetAttr(ctx context.Context, creds Creds, a Attr) error {
	if f.isPath() {
		return unix.EBADF
	}
	if a.Mask&AttrSize != 0 && !f.writable() {
		return unix.EINVAL
	}
	if a.Mask&AttrSize != 0 && isAppend(f.inode) {
		return unix.EPERM // do_sys_ftruncate
	}
	if f.d.readOnly() {
		return unix.EROFS
	}
	return f.v.attrEvent(ctx, setAttr(ctx, creds, f.attrInode(), a), f.d, f.inode, a)
}

// Sync implements fsync(2): files of a filesystem (regular files,
// directories) and block devices have something to flush, or nothing to;
// pipes, sockets, character devices and anonymous files (eventfd, epoll,
// whose mode has no type) have no fsync (EINVAL).
func (f *File) Sync(ctx context.Context) error {
	if f.isPath() {
		return unix.EBADF
	}
	if s, ok := f.impl.(Syncer); ok {
		return s.Sync(ctx)
	}
	if !f.CanSync(ctx) {
		return unix.EINVAL
	}
	return nil
}

// CanSync reports whether f has an fsync (Linux's f_op->fsync), which
// AIO's IOCB_CMD_FSYNC checks before it queues the request.
func (f *File) CanSync(ctx context.Context) bool {
	if _, ok := f.impl.(Syncer); ok {
		return true
	}
	st, err := f.inode.Stat(ctx)
	if err != nil {
		return true
	}
	switch st.Mode & unix.S_IFMT {
	case 0, unix.S_IFIFO, unix.S_IFSOCK, unix.S_IFCHR:
		return false
	}
	return true
}

// Allocate implements fallocate(2); sizeLimit, if set, is the caller's
// RLIMIT_FSIZE (as Attr.SizeLimit).
func (f *File) Allocate(ctx context.Context, mode uint32, off, length int64, sizeLimit *uint64) error {
	if !f.writable() {
		return unix.EBADF
	}
	if off < 0 || length <= 0 {
		return unix.EINVAL
	}
	// Only a plain allocation of an append-only file, and nothing of an
	// immutable one (vfs_fallocate).
	if mode&^unix.FALLOC_FL_KEEP_SIZE != 0 && isAppend(f.inode) || isImmutable(f.inode) {
		return unix.EPERM
	}
	a, ok := f.impl.(Allocator)
	if !ok {
		st, err := f.inode.Stat(ctx)
		switch {
		case err == nil && IsDir(st.Mode):
			return unix.EISDIR
		case err == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO:
			return unix.ESPIPE
		}
		return unix.ENODEV
	}
	// An allocation that grows the file past the limit fails whole
	// (inode_newsize_ok in the filesystems' fallocate).
	if sizeLimit != nil && mode&(unix.FALLOC_FL_KEEP_SIZE|unix.FALLOC_FL_INSERT_RANGE|unix.FALLOC_FL_COLLAPSE_RANGE) == 0 {
		end := uint64(off) + uint64(length)
		if st, err := f.inode.Stat(ctx); err == nil && end > uint64(st.Size) && end > *sizeLimit {
			return ErrSizeLimit
		}
	}
	return a.Allocate(ctx, mode, off, length)
}

// Ioctl passes an ioctl the syscall layer does not handle to the file.
func (f *File) Ioctl(ctx context.Context, mem Memory, cmd uint32, arg uintptr) (uintptr, error) {
	if f.isPath() {
		return 0, unix.EBADF
	}
	i, ok := f.impl.(Ioctler)
	if !ok {
		return 0, unix.ENOTTY
	}
	return i.Ioctl(ctx, mem, cmd, arg)
}

// Readiness returns the events of mask that would not block, and
// POLLHUP and POLLERR when they apply, whatever mask says. Files without
// Readiness never block (DefaultEvents).
func (f *File) Readiness(mask int16) int16 {
	if r, ok := f.impl.(Readiness); ok {
		return r.Readiness(mask) & (mask | alwaysEvents)
	}
	return mask & DefaultEvents
}

// ReadDir returns the directory entries from the file position on, and
// that position; the caller moves past the entries it consumed with
// AdvanceDir. The listing is taken when reading from position
// 0, so a directory changing while read is listed consistently.
func (f *File) ReadDir(ctx context.Context) (_ []Dirent, _ int64, err error) {
	defer func() {
		if err == nil { // iterate_dir; after f.mu is given back (Flags takes it)
			f.fileEvent(ctx, 1, unix.IN_ACCESS)
			f.Accessed()
		}
	}()
	if f.isPath() {
		return nil, 0, unix.EBADF
	}
	dir, ok := f.inode.(Dir)
	if !ok || f.impl != nil || f.d == nil {
		return nil, 0, unix.ENOTDIR
	}
	if r, ok := f.inode.(Removable); ok && r.Removed() {
		// A removed directory lists nothing, not even "." (IS_DEADDIR).
		return nil, 0, unix.ENOENT
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirents == nil || f.off == 0 {
		list, err := dir.ReadDir(ctx)
		if err != nil {
			return nil, 0, err
		}
		f.dirents = append(dotEntries(ctx, f.v, f.d), list...)
	}
	if f.off >= int64(len(f.dirents)) {
		return nil, f.off, nil
	}
	return f.dirents[f.off:], f.off, nil
}

// AdvanceDir moves a directory's position by n entries.
func (f *File) AdvanceDir(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.off += int64(n)
}

// dotEntries returns "." and ".." for d.
func dotEntries(ctx context.Context, v *VFS, d *Dentry) []Dirent {
	ino := func(i Inode) uint64 {
		st, _ := i.Stat(ctx)
		return st.Ino
	}
	parent := d
	if v != nil && d.mnt.ns != nil {
		// ".." of a directory being listed needs no permission: the walk
		// only climbs the chain it was built from.
		w := &walker{v: v, ctx: ctx, root: d.mnt.ns.Root()}
		parent = w.dotdot(d)
	}
	return []Dirent{
		{Name: ".", Ino: ino(d.inode), Type: unix.DT_DIR},
		{Name: "..", Ino: ino(parent.inode), Type: unix.DT_DIR},
	}
}
