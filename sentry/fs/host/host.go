// Package host is a host directory tree confined below a directory the
// caller opened: read only as the lower layer of the root overlay (and of
// read-only volumes), or writable as a read-write volume (write.go).
//
// Every host lookup is an openat2(2) from the root descriptor with
// RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_SYMLINKS and O_NOFOLLOW:
// the VFS resolves symlinks itself (in the sandbox's namespace), so the
// host never follows one for us, and even a path that a concurrent host
// change turned into an escape stays below the root. Nothing here opens a
// plain path. A read-only tree writes nothing: opening for writing or
// changing anything fails with EROFS. A writable one changes names only
// as a single component relative to a directory opened that way
// (mkdirat, unlinkat, renameat2... on its descriptor), and attributes
// only through a descriptor of the file itself (AT_EMPTY_PATH).
//
// Design decisions:
//   - An inode is a path below the root plus the attributes seen when it
//     was looked up. A read-only tree is treated as static while the
//     sandbox runs, so Stat answers from that snapshot and costs no
//     syscall, and a symlink's target is read once; reads always see
//     current contents. A writable tree's Stat and Readlink ask the host
//     each time. Directories are one inode per host
//     directory (by device and inode number), so that mounts on them are
//     found again; a directory found under a new name (renamed) takes it.
//     A writable tree's directories know their parent, which the
//     sandbox's renames move, and whether the sandbox removed them
//     (place.go), so paths built from them follow renames and say
//     " (deleted)". A file's inode is the path it was found at; an open
//     file's attributes are read and changed, and its xattrs read, through
//     its descriptor (vfs.OpenInode), so that fstat, fchmod, futimens,
//     ftruncate and fgetxattr after a rename act on it, not on whatever
//     took its old name. A file once opened is tracked as the directories
//     are (weakly, while anything holds its inode), so that its fd link
//     and its mappings' names follow the sandbox's renames and say
//     " (deleted)" after its unlink. Renames and removals made on the
//     host directly are not seen: the old names stay.
//   - Only directories, regular files and symlinks are opened; devices,
//     FIFOs and sockets found on the host fail with EACCES, as on a
//     filesystem mounted nodev (opening a host FIFO could block the sentry).
//   - Host stdio comes in through ImportFD, which wraps a host descriptor;
//     a terminal among them is waitable and signal-driven (tty.go: an
//     edge-triggered epoll instance of the sentry's on it).
//   - No host device or inode number reaches the sandbox: stat and
//     getdents answer with the numbers an Identities table hands out
//     (identity.go), shared with the imported descriptors, and statfs
//     with a filesystem ID made from the sandbox's device number.
package host

import (
	"context"
	"fmt"
	"os"
	"path"
	"sync"
	"weak"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// resolveFlags confine every host lookup below the root.
const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_SYMLINKS

// FS is a host directory tree.
type FS struct {
	root     *os.File // O_PATH descriptor of the sandbox root
	top      *inode
	ids      *Identities
	writable bool
	// single: root is a regular file's own descriptor, not a directory's
	// (a mount of one file, NewMount).
	single bool
	// swap, when not nil: root is an idmapped mount whose owners are
	// swapped back (Source.Swap). Immutable.
	swap *Swap

	// mu guards dirs, files and grown, and every inode's path, parent,
	// gone, stat, born and target.
	mu sync.Mutex
	// dirs are the directories looked up, by host identity.
	dirs map[hostFile]*inode
	// files are the regular files of a writable tree opened, weakly
	// held (track); grown is their count after the last drop of those
	// collected.
	files map[weak.Pointer[inode]]struct{}
	grown int
}

// New opens the host directory root as a filesystem whose files get
// their sandbox numbers from ids (nil: a table of its own).
func New(root string, ids *Identities) (*FS, error) {
	f, err := OpenRoot(root)
	if err != nil {
		return nil, err
	}
	return NewFromFile(f, ids)
}

// OpenRoot opens the host directory root for NewFromFile: the descriptor a
// sentry in an empty root of its own is given by its parent.
func OpenRoot(root string) (*os.File, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening sandbox root %s: %w", root, err)
	}
	return os.NewFile(uintptr(fd), root), nil
}

// NewFromFile makes the directory root, opened by OpenRoot, a filesystem
// whose files get their sandbox numbers from ids (nil: a table of its
// own). The filesystem owns root and closes it.
func NewFromFile(root *os.File, ids *Identities) (*FS, error) {
	return newFromFile(root, ids, nil)
}

// newFromFile is NewFromFile for a root whose owners swap undoes.
func newFromFile(root *os.File, ids *Identities, swap *Swap) (*FS, error) {
	if ids == nil {
		ids = NewIdentities()
	}
	fs := &FS{root: root, ids: ids, dirs: make(map[hostFile]*inode), swap: swap}
	st, born, err := fstat(int(root.Fd()))
	if err != nil {
		fs.root.Close()
		return nil, fmt.Errorf("stat of sandbox root %s: %w", root.Name(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		fs.root.Close()
		return nil, fmt.Errorf("sandbox root %s: %w", root.Name(), unix.ENOTDIR)
	}
	fs.top = fs.inodeFor(".", st, born, nil)
	return fs, nil
}

// Close closes the root descriptor.
func (fs *FS) Close() error { return fs.root.Close() }

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.top }

// Statfs implements vfs.FileSystem.
func (fs *FS) Statfs(ctx context.Context) (unix.Statfs_t, error) {
	var s unix.Statfs_t
	if err := unix.Fstatfs(int(fs.root.Fd()), &s); err != nil {
		return s, err
	}
	if !fs.writable {
		s.Flags |= unix.ST_RDONLY
	}
	// f_fsid as Linux makes it from a device number (huge_encode_dev).
	s.Fsid.Val = [2]int32{int32(vfs.EncodeDev(fs.ids.Dev())), 0}
	return s, nil
}

// open opens p (relative to the root) with openat2, confined.
func (fs *FS) open(p string, flags int) (int, error) {
	if fs.single {
		return fs.reopen(p, flags)
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC), Resolve: resolveFlags}
	return openat2(int(fs.root.Fd()), p, &how)
}

// openat2 is openat2(2), again after EINTR or EAGAIN.
func openat2(dirfd int, p string, how *unix.OpenHow) (int, error) {
	for {
		fd, err := unix.Openat2(dirfd, p, how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return fd, err
	}
}

// inode is a host file below the root.
type inode struct {
	fs   *FS
	path string // relative to the root, cleaned; "." for the root (guarded by fs.mu)
	// parent is the directory a directory or file is in (place.go), nil
	// for the root; gone, that the sandbox removed the directory, or
	// the name of the open file. Guarded by fs.mu.
	parent  *inode
	gone    bool
	hostDev uint64      // the host's st_dev, for the inode numbers of entries
	stat    unix.Stat_t // with the sandbox's numbers (guarded by fs.mu)
	born    vfs.Birth   // the host's birth time, if it has one (guarded by fs.mu)
	// target is a symlink's target once read, in a read-only tree, which
	// is static as its attributes are (guarded by fs.mu; "" until read).
	target string
}

// where returns the inode's path and its last attributes.
func (i *inode) where() (string, unix.Stat_t) {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	return i.path, i.stat
}

// hostPath returns the inode's path below the root.
func (i *inode) hostPath() string {
	p, _ := i.where()
	return p
}

// Stat implements vfs.Inode.
func (i *inode) Stat(ctx context.Context) (unix.Stat_t, error) {
	p, st := i.where()
	if !i.fs.writable {
		return st, nil
	}
	hst, born, err := i.fs.lstat(p)
	if err != nil {
		return st, err
	}
	st = i.fs.sandboxStat(hst)
	i.fs.mu.Lock()
	i.stat, i.born = st, born
	i.fs.mu.Unlock()
	return st, nil
}

// BirthTime implements vfs.BirthTimer: the host's, as last seen (Stat
// asks the host again for a writable tree).
func (i *inode) BirthTime(ctx context.Context) vfs.Birth {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	return i.born
}

// Lookup implements vfs.Dir.
func (i *inode) Lookup(ctx context.Context, name string) (vfs.Inode, error) {
	p := path.Join(i.hostPath(), name)
	st, born, err := i.fs.lstat(p)
	if err != nil {
		return nil, err
	}
	return i.fs.inodeFor(p, st, born, i), nil
}

// sandboxStat returns st, a host file's attributes, as the sandbox sees
// them: its numbers from the identity table, its real owners.
func (fs *FS) sandboxStat(st unix.Stat_t) unix.Stat_t {
	return fs.ids.File(fs.swap.owners(st))
}

// lstat returns the host attributes and birth time of the file at p,
// confined.
func (fs *FS) lstat(p string) (unix.Stat_t, vfs.Birth, error) {
	fd, err := fs.open(p, unix.O_PATH)
	if err != nil {
		return unix.Stat_t{}, vfs.Birth{}, hostErr(err)
	}
	defer unix.Close(fd)
	st, born, err := fstat(fd)
	if err != nil {
		return st, born, hostErr(err)
	}
	return st, born, nil
}

// fstat is fstat(2) of the host file open at fd, through statx(2), which
// also gives its birth time where the host's filesystem keeps one.
func fstat(fd int) (unix.Stat_t, vfs.Birth, error) {
	var x unix.Statx_t
	// Only AT_EMPTY_PATH and this mask pass the sentry's seccomp filter
	// (package confine).
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &x); err != nil {
		return unix.Stat_t{}, vfs.Birth{}, err
	}
	ts := func(t unix.StatxTimestamp) unix.Timespec { return unix.Timespec{Sec: t.Sec, Nsec: int64(t.Nsec)} }
	st := unix.Stat_t{
		Dev: unix.Mkdev(x.Dev_major, x.Dev_minor), Ino: x.Ino, Nlink: uint64(x.Nlink), Mode: uint32(x.Mode),
		Uid: x.Uid, Gid: x.Gid, Rdev: unix.Mkdev(x.Rdev_major, x.Rdev_minor), Size: int64(x.Size),
		Blksize: int64(x.Blksize), Blocks: int64(x.Blocks), Atim: ts(x.Atime), Mtim: ts(x.Mtime), Ctim: ts(x.Ctime),
	}
	return st, vfs.Birth{Time: ts(x.Btime), Known: x.Mask&unix.STATX_BTIME != 0}, nil
}

// inodeFor returns the inode of the host file at p, in directory parent,
// whose host attributes are st: the one inode of a directory, a new one
// for anything else.
func (fs *FS) inodeFor(p string, st unix.Stat_t, born vfs.Birth, parent *inode) *inode {
	sst := fs.sandboxStat(st)
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &inode{fs: fs, path: p, parent: parent, hostDev: st.Dev, stat: sst, born: born}
	}
	key := hostFile{st.Dev, st.Ino}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if d, ok := fs.dirs[key]; ok {
		// A read-only tree is static: a directory found again under
		// another name (a host bind mount) keeps its first one.
		if fs.writable {
			d.path, d.parent, d.stat, d.born = p, parent, sst, born
		}
		return d
	}
	d := &inode{fs: fs, path: p, parent: parent, hostDev: st.Dev, stat: sst, born: born}
	fs.dirs[key] = d
	return d
}

// hostErr maps host errors to what the application may see: anything
// unexpected from a confined lookup looks like a missing file.
func hostErr(err error) error {
	switch err {
	case unix.ENOENT, unix.ENOTDIR, unix.EACCES, unix.ENAMETOOLONG, unix.ENOMEM, unix.EMFILE, unix.ENFILE:
		return err
	case unix.EXDEV, unix.ELOOP:
		// A confinement check fired (the host tree changed under us).
		return unix.ENOENT
	}
	if errno, ok := err.(unix.Errno); ok {
		return errno
	}
	return unix.EIO
}

// ReadDir implements vfs.Dir.
func (i *inode) ReadDir(ctx context.Context) ([]vfs.Dirent, error) {
	fd, err := i.fs.open(i.hostPath(), unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, hostErr(err)
	}
	defer unix.Close(fd)
	var out []vfs.Dirent
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return nil, hostErr(err)
		}
		if n <= 0 {
			return out, nil
		}
		start := len(out)
		out = parseDirents(buf[:n], out)
		for k := start; k < len(out); k++ {
			out[k].Ino = i.fs.ids.Ino(i.hostDev, out[k].Ino)
		}
	}
}

// parseDirents appends the linux_dirent64 records in b, without . and ..
func parseDirents(b []byte, out []vfs.Dirent) []vfs.Dirent {
	for len(b) >= 19 {
		reclen := int(b[16]) | int(b[17])<<8
		if reclen < 19 || reclen > len(b) {
			break
		}
		ino := uint64(0)
		for k := 7; k >= 0; k-- {
			ino = ino<<8 | uint64(b[k])
		}
		name := b[19:reclen]
		for k, c := range name {
			if c == 0 {
				name = name[:k]
				break
			}
		}
		if s := string(name); s != "." && s != ".." {
			out = append(out, vfs.Dirent{Name: s, Ino: ino, Type: b[18]})
		}
		b = b[reclen:]
	}
	return out
}

// Readlink implements vfs.Symlink.
func (i *inode) Readlink(ctx context.Context) (string, error) {
	if i.fs.writable {
		return i.readlink()
	}
	// A path walk follows /bin, /lib64 and the like at every execve: three
	// host calls each, the first time only.
	i.fs.mu.Lock()
	target := i.target
	i.fs.mu.Unlock()
	if target != "" {
		return target, nil
	}
	target, err := i.readlink()
	if err == nil {
		i.fs.mu.Lock()
		i.target = target
		i.fs.mu.Unlock()
	}
	return target, err
}

// readlink reads the symlink's target from the host.
func (i *inode) readlink() (string, error) {
	fd, err := i.fs.open(i.hostPath(), unix.O_PATH)
	if err != nil {
		return "", hostErr(err)
	}
	defer unix.Close(fd)
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", hostErr(err)
	}
	return string(buf[:n]), nil
}

// Open implements vfs.Inode: regular files only, for reading (and, in a
// writable tree, writing: O_APPEND kept, O_TRUNC left to SetAttr).
func (i *inode) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	acc := flags & unix.O_ACCMODE
	if !i.fs.writable && (acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0) {
		return nil, unix.EROFS
	}
	p, st := i.where()
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, unix.EACCES
	}
	fd, err := i.fs.open(p, acc|flags&unix.O_APPEND)
	if err != nil {
		return nil, hostErr(err)
	}
	i.fs.track(i)
	return &file{fd: fd, name: p, appends: flags&unix.O_APPEND != 0, shared: i.fs.single, in: i}, nil
}

// OpenHost opens the regular file for reading and returns the host
// descriptor, owned by the caller (the overlay copies files up with it).
func (i *inode) OpenHost() (*os.File, error) {
	impl, err := i.Open(context.Background(), unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	f := impl.(*file)
	return os.NewFile(uintptr(f.fd), f.name), nil
}

// file is an open host regular file. It holds the bare descriptor, not an
// *os.File: wrapping one costs a host fcntl(F_GETFL) per open (os.NewFile
// asks whether it is non-blocking), a tenth of an open's host work.
type file struct {
	fd      int    // owned: closed by Release
	name    string // the path below the root, for errors
	in      *inode // the inode it was opened from
	appends bool   // opened O_APPEND: WriteAt(off < 0) is write(2)
	// shared: the host descriptor shares its open file description (and
	// so its flags) with the single-file mount's others: an append is a
	// pwrite at the end.
	shared bool
}

// ReadAt implements vfs.FileImpl.
func (f *file) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(f.fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

// SeekHole implements vfs.HoleSeeker with the host file's own holes.
func (f *file) SeekHole(ctx context.Context, off int64, whence int) (int64, error) {
	return unix.Seek(f.fd, off, whence)
}

// WriteAt implements vfs.FileImpl: only files of a writable tree opened
// for writing are written; the host descriptor's mode says which.
func (f *file) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	for {
		var n int
		var err error
		switch {
		case off < 0 && f.appends && f.shared:
			var st unix.Stat_t
			if err = unix.Fstat(f.fd, &st); err == nil {
				n, err = unix.Pwrite(f.fd, p, st.Size)
			}
		case off < 0 && f.appends:
			n, err = unix.Write(f.fd, p)
		default:
			n, err = unix.Pwrite(f.fd, p, max(off, 0))
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, hostErr(err)
		}
		return n, nil
	}
}

// Sync implements vfs.Syncer: a file of a writable tree reaches the
// host's disk (fsync of a file opened only for reading is harmless).
func (f *file) Sync(ctx context.Context) error {
	if err := unix.Fsync(f.fd); err != nil {
		return hostErr(err)
	}
	return nil
}

// Release implements vfs.FileImpl.
func (f *file) Release() { unix.Close(f.fd) }

// MappableFile implements vfs.Mappable.
func (f *file) MappableFile() (*os.File, error) { return dup(f.fd, f.name) }

// dup returns a new descriptor of the host file fd, named name.
func dup(fd int, name string) (*os.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicating %s: %w", name, err)
	}
	return os.NewFile(uintptr(nfd), name), nil
}
