package vfs

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// FileSystem is a mounted filesystem.
type FileSystem interface {
	// Root is the filesystem's root directory.
	Root() Inode
	// Statfs describes the filesystem (statfs(2)).
	Statfs(ctx context.Context) (unix.Statfs_t, error)
}

// Inode is a file in a filesystem: a regular file, a directory, a symlink,
// a device. Its Stat mode says which; the walk trusts it and then asks for
// the optional interfaces below (Dir, Symlink, DirWriter, AttrSetter).
type Inode interface {
	// Stat returns the file's attributes. Filesystems report their own
	// st_dev and st_ino; they must be stable while the inode exists.
	Stat(ctx context.Context) (unix.Stat_t, error)
	// Open opens a non-directory for I/O with open(2) flags (the access
	// mode and O_APPEND, O_NONBLOCK, O_TRUNC...). Directories and symlinks
	// are opened by the VFS itself and never reach Open.
	Open(ctx context.Context, flags int) (FileImpl, error)
}

// Removable is implemented by directories that rmdir can remove while a
// process still has them as its working directory: Removed reports that it
// did, and such a directory takes no new entries (ENOENT, as in Linux).
type Removable interface {
	Removed() bool
}

// Dir is implemented by directories.
type Dir interface {
	// Lookup returns the child called name (never "." or ".."), or ENOENT.
	Lookup(ctx context.Context, name string) (Inode, error)
	// ReadDir lists the directory without "." and "..", which the VFS adds.
	ReadDir(ctx context.Context) ([]Dirent, error)
}

// Dirent is one directory entry.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint8 // unix.DT_REG, DT_DIR...
}

// Symlink is implemented by symbolic links.
type Symlink interface {
	Readlink(ctx context.Context) (string, error)
}

// DirWriter is implemented by directories of writable filesystems. Names
// are single components, never "." or ".."; the VFS has checked
// permissions and applied the umask. Errors follow the matching syscall:
// EEXIST, ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EXDEV, EPERM.
//
// The files Create, Mkdir and Symlink make belong to creds, as
// inode_init_owner says: their filesystem uid, and their filesystem gid
// unless the directory is set-group-ID (then its group, and a new
// directory is set-group-ID too).
type DirWriter interface {
	// Create makes a non-directory (mode carries S_IFREG, S_IFIFO...) and
	// returns it; EEXIST if name exists.
	Create(ctx context.Context, creds Creds, name string, mode uint32, rdev uint64) (Inode, error)
	Mkdir(ctx context.Context, creds Creds, name string, mode uint32) error
	Symlink(ctx context.Context, creds Creds, name, target string) error
	// Link makes name another name of target (same filesystem, not a
	// directory); ENOENT if target has no name left and is not a
	// linkable TmpfileMaker file (vfs_link).
	Link(ctx context.Context, name string, target Inode) error
	// Unlink removes a non-directory (EISDIR for a directory).
	Unlink(ctx context.Context, name string) error
	// Rmdir removes an empty directory.
	Rmdir(ctx context.Context, name string) error
	// Rename moves oldName to newName in newDir, a directory of the same
	// filesystem, with renameat2 flags (RENAME_NOREPLACE,
	// RENAME_EXCHANGE). The VFS has checked that newDir is not inside the
	// moved directory.
	Rename(ctx context.Context, oldName string, newDir Inode, newName string, flags uint32) error
}

// LinkCounter is implemented by inodes that know without a Stat (a host
// call for a host file) whether a name is left for them: Dentry.Unlinked
// asks it for every file mapping /proc/PID/maps lists.
type LinkCounter interface {
	HasLinks() bool
}

// TmpfileMaker is implemented by directories of filesystems that make
// open(2)'s O_TMPFILE files (the inode operation tmpfile): Tmpfile makes a
// regular file with mode (S_IFREG, permissions, the umask applied) that no
// directory holds and whose link count is 0, owned as Create's files are.
// A link may name it once when linkable (O_TMPFILE without O_EXCL, Linux's
// I_LINKABLE); any other file whose link count is 0 cannot be linked
// again: Link fails with ENOENT.
type TmpfileMaker interface {
	Tmpfile(ctx context.Context, creds Creds, mode uint32, linkable bool) (Inode, error)
}

// AttrSetter is implemented by inodes whose attributes can change.
type AttrSetter interface {
	SetAttr(ctx context.Context, a Attr) error
}

// ContentWriter is implemented by inodes whose attributes are fixed but whose
// contents a write changes (a /proc/sys file): access(2)'s W_OK is not
// EROFS for them, as for other files of a read-only file system.
type ContentWriter interface {
	Writable() bool
}

// Attr is a change of attributes; Mask says which fields apply. Times are
// absolute (the VFS has resolved UTIME_NOW); ctime is updated by the
// filesystem.
type Attr struct {
	Mask         uint32
	Mode         uint32 // permission bits (07777)
	UID, GID     uint32
	Size         int64
	Atime, Mtime unix.Timespec
	// Now, if set, is the time of the change, the one reading of the
	// clock that resolved UTIME_NOW: a filesystem stamps ctime (and a
	// truncation's mtime) with it, so that times given as now are the
	// ctime too, as notify_change's one current_time. Zero: the
	// filesystem reads the clock.
	Now unix.Timespec
	// TimesGiven says the application gave a time other than "now"
	// (utimensat with a time that is not UTIME_NOW): that needs the
	// owner, where setting the current time needs only write permission.
	TimesGiven bool
	// SizeLimit, if set, is the caller's RLIMIT_FSIZE: growing a file
	// by truncation beyond it is ErrSizeLimit (inode_newsize_ok).
	SizeLimit *uint64
}

// ErrSizeLimit is the error of a file growing beyond the caller's
// RLIMIT_FSIZE: EFBIG, and the caller gets SIGXFSZ.
var ErrSizeLimit = fmt.Errorf("beyond the file size limit (RLIMIT_FSIZE): %w", unix.EFBIG)

// Attr mask bits.
const (
	AttrMode uint32 = 1 << iota
	AttrUID
	AttrGID
	AttrSize
	AttrAtime
	AttrMtime
)

// OpenInode is a FileImpl whose open file answers for its inode's
// attributes: a host file of a writable tree, whose inode knows a path,
// which a rename or unlink may make name another file or none, while the
// open descriptor still names this one. fstat, fchmod, fchown, futimens,
// ftruncate, fgetxattr and flistxattr act on what Inode returns
// (File.StatCtx, File.SetAttr, File.GetXattr, File.ListXattr), as Linux's
// act on the open file's inode.
type OpenInode interface {
	Inode() Inode
}

// FileImpl is a filesystem's side of an open file. Offsets are managed by
// the File unless the implementation is a Stream.
type FileImpl interface {
	// ReadAt reads at off; at end of file it returns 0, nil (not io.EOF).
	ReadAt(ctx context.Context, p []byte, off int64) (int, error)
	// WriteAt writes at off; off < 0 means append at the end of the file,
	// atomically with respect to other appends.
	WriteAt(ctx context.Context, p []byte, off int64) (int, error)
	// Release is called once, when the last reference to the File goes.
	Release()
}

// Stream is implemented by files without a file position (pipes,
// terminals, host descriptors): read and write go to it, and pread,
// pwrite and lseek fail with ESPIPE unless the implementation is also a
// Seeker.
type Stream interface {
	Read(ctx context.Context, p []byte) (int, error)
	Write(ctx context.Context, p []byte) (int, error)
}

// WaitingReader is a Stream whose reads do their own waiting, because
// when a read ends depends on more than readiness (a terminal's VMIN and
// VTIME: timers, and bytes taken as they come). The VFS calls ReadWaiting
// instead of waiting for POLLIN around Read; nonblock is the file's
// O_NONBLOCK. A read interrupted before it took anything returns EINTR.
type WaitingReader interface {
	ReadWaiting(ctx context.Context, p []byte, nonblock bool) (int, error)
}

// HoleSeeker is implemented by regular files that know where their holes
// are: SeekHole answers lseek's SEEK_DATA and SEEK_HOLE for an offset
// inside the file (ENXIO when no data follows).
type HoleSeeker interface {
	SeekHole(ctx context.Context, off int64, whence int) (int64, error)
}

// Seeker is implemented by files with their own lseek(2).
type Seeker interface {
	Seek(ctx context.Context, off int64, whence int) (int64, error)
}

// Memory is the application memory an ioctl reads and writes
// (*kernel.Task satisfies it).
type Memory interface {
	CopyIn(addr uintptr, dst []byte) error
	CopyOut(addr uintptr, src []byte) error
}

// Ioctler is implemented by files with ioctls of their own; others get
// ENOTTY. Generic ioctls (FIOCLEX, FIONBIO...) are handled before.
type Ioctler interface {
	Ioctl(ctx context.Context, mem Memory, cmd uint32, arg uintptr) (uintptr, error)
}

// Mappable is implemented by files that can be mapped into the
// application: it returns a host descriptor owned by the caller.
type Mappable interface {
	MappableFile() (*os.File, error)
}

// MapChecker is implemented by mappable files that take only some
// mappings (a packet socket's rings: offset 0 and exactly the rings'
// size, Linux's packet_mmap): CheckMap returns the error mmap(2) fails
// with, before the file is mapped. length is the page-rounded length.
type MapChecker interface {
	CheckMap(offset int64, length uintptr) error
}

// Syncer is implemented by files whose fsync does something.
type Syncer interface {
	Sync(ctx context.Context) error
}

// Allocator is implemented by files that support fallocate(2).
type Allocator interface {
	Allocate(ctx context.Context, mode uint32, off, length int64) error
}

// Sealer is implemented by files of memory filesystems, which may carry
// seals (fcntl(2)'s F_ADD_SEALS and F_GET_SEALS, Linux's
// memfd_file_seals_ptr); a file that is not a Sealer has none to show:
// EINVAL.
type Sealer interface {
	// Seals returns the file's seals, or EINVAL if it has none.
	Seals() (uint32, error)
	// AddSeals adds seals, valid bits of an open file the caller may
	// write: EPERM once F_SEAL_SEAL is set, EBUSY for F_SEAL_WRITE while a
	// shared writable mapping of the file exists.
	AddSeals(seals uint32) error
}

// AnonymousMapper is implemented by files whose mappings are anonymous
// memory (/dev/zero).
type AnonymousMapper interface {
	MapsAnonymous() bool
}

// BlindWriter is implemented by files whose writes never look at the
// bytes (Linux's write_null and write_full: /dev/null, /dev/zero,
// /dev/full). Such a write reads nothing of the application's memory:
// only the range is checked, as vfs_write's access_ok does, so a write
// from an unmapped buffer succeeds (or fails) there as it does in Linux.
type BlindWriter interface {
	// WriteBlind returns what a write of n bytes returns, with ok false
	// if this file reads its writes after all.
	WriteBlind(n int) (written int, ok bool, err error)
}

// EmptyReader is implemented by files every read of which is at the end
// (Linux's read_null: /dev/null). A read returns 0 without looking at the
// application's memory.
type EmptyReader interface {
	ReadsEmpty() bool
}

// ZeroReader is implemented by files every read of which fills the
// buffer with zero bytes (Linux's read_iter_zero: /dev/zero, /dev/full).
// The zeros are copied out of memory that is never written
// (usermem.IOSequence.ZeroFill), with no buffer to clear.
type ZeroReader interface {
	ReadsZeros() bool
}

// Readiness reports which poll(2) events of mask hold now (POLLIN,
// POLLOUT and their RDNORM/WRNORM twins, POLLPRI), plus POLLHUP and
// POLLERR whatever mask says; files without it are always ready for
// reading and writing. Files whose readiness changes also implement
// Waitable (wait.go).
type Readiness interface {
	Readiness(mask int16) int16
}

// FDInfoer is implemented by the open files that show more in
// /proc/PID/fdinfo/N than the position and flags: its lines, each ending
// with a newline (inotify's watches, as Linux's show_fdinfo).
type FDInfoer interface {
	FDInfo() string
}

// PollableRegular is implemented by the open regular files that have a
// poll of their own, which epoll may watch unlike other regular files
// (Linux's file_can_poll): /proc/PID/mounts and mountinfo.
type PollableRegular interface {
	PollableRegular()
}

// Unpollable is implemented by files that poll(2) reports always ready
// but that epoll refuses (EPERM), as Linux does for files whose driver has
// no poll (file_can_poll): /dev/null, /dev/zero, /dev/full, /dev/urandom.
// Regular files
// and directories are refused by their type.
type Unpollable interface {
	Unpollable() bool
}

// LinkNamer is implemented by the inodes of files without a name (pipes,
// eventfds) to give the target of their /proc/PID/fd link, as
// "pipe:[INO]" or "anon_inode:[eventfd]".
type LinkNamer interface {
	LinkName() string
}

// FIFOOpener opens named pipes. The VFS has no pipes of its own (they
// live in package fs/pipe, above it): whoever builds the VFS installs one
// with SetFIFOOpener, and opening a FIFO node goes to it with the node's
// identity, so every opener of one node shares one pipe whatever
// filesystem holds it. Without one, opening a FIFO is the filesystem's
// business (which refuses, ENXIO).
type FIFOOpener interface {
	// OpenFIFO opens the pipe of the FIFO node (dev, ino) with open(2)
	// flags, blocking as fifo(7) says.
	OpenFIFO(ctx context.Context, dev, ino uint64, flags int) (FileImpl, error)
}

// DeviceOpener opens device nodes by their numbers, so that a node made
// with mknod(2) anywhere opens the device its numbers name, as in Linux:
// whoever builds the VFS installs one with SetDeviceOpener. Without one,
// opening a device node is its filesystem's business.
type DeviceOpener interface {
	// OpenDevice opens the character (S_IFCHR) or block (S_IFBLK)
	// device rdev with open(2) flags; ENXIO if there is none.
	OpenDevice(ctx context.Context, typ uint32, rdev uint64, flags int) (FileImpl, error)
}

// IsDir reports whether a stat mode is a directory.
func IsDir(mode uint32) bool { return mode&unix.S_IFMT == unix.S_IFDIR }

// IsSymlink reports whether a stat mode is a symbolic link.
func IsSymlink(mode uint32) bool { return mode&unix.S_IFMT == unix.S_IFLNK }

// DirentType returns the d_type for a stat mode.
func DirentType(mode uint32) uint8 {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return unix.DT_REG
	case unix.S_IFDIR:
		return unix.DT_DIR
	case unix.S_IFLNK:
		return unix.DT_LNK
	case unix.S_IFCHR:
		return unix.DT_CHR
	case unix.S_IFBLK:
		return unix.DT_BLK
	case unix.S_IFIFO:
		return unix.DT_FIFO
	case unix.S_IFSOCK:
		return unix.DT_SOCK
	}
	return unix.DT_UNKNOWN
}
