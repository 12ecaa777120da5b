package vfs

import (
	"golang.org/x/sys/unix"
)

// Access times. Linux sets a file's atime when it is read (read, pread,
// readv, the reading side of sendfile, splice and copy_file_range, execve's
// loading), listed (getdents), mapped (mmap) or, for a symbolic link,
// read (readlink): file_accessed and touch_atime. A file opened with
// O_NOATIME, one with FS_NOATIME_FL, a read-only or noatime mount and a
// directory on a nodiratime mount keep theirs. Everywhere else the mount's
// rule is relatime, Linux's default: the atime moves only if it is not
// after the mtime or the ctime, or is a day old (relatime_need_update).
// Mounts made with strictatime are relatime here too: the sandbox does not
// keep that flag.
//
// Only a filesystem whose inodes keep their own times takes part
// (AtimeToucher: the memory filesystems and the overlay's copied-up
// files); a host file's atime is the host's, as overlayfs leaves a lower
// file's to the lower filesystem.

// AtimeToucher is an inode whose access time the VFS moves.
type AtimeToucher interface {
	// TouchAtime sets the access time to Now unless RelatimeNeedsUpdate
	// says no, the inode has FS_NOATIME_FL, or it is a directory and
	// nodiratime is set. It reads the clock only for an inode whose
	// times it keeps: this runs at every read.
	TouchAtime(nodiratime bool)
}

// RelatimeNeedsUpdate is relatime_need_update for an inode with times st
// at now.
func RelatimeNeedsUpdate(st *unix.Stat_t, now unix.Timespec) bool {
	const day = 24 * 60 * 60
	after := func(a, b unix.Timespec) bool { return a.Sec > b.Sec || a.Sec == b.Sec && a.Nsec > b.Nsec }
	return !after(st.Atim, st.Mtim) || !after(st.Atim, st.Ctim) || now.Sec-st.Atim.Sec >= day
}

// Accessed moves the access time of f's inode after a read, a listing or
// a mapping (file_accessed).
func (f *File) Accessed() {
	if f.Flags()&unix.O_NOATIME != 0 {
		return
	}
	touchAtime(f.d, f.inode)
}

// readDone moves the access time after a read that asked for asked bytes
// and did not fail before reading anything (filemap_read returns early
// for an empty request).
func (f *File) readDone(asked, n int, err error) {
	if asked > 0 && (n > 0 || err == nil) {
		f.Accessed()
	}
}

// touchAtime moves the access time of inode, reached through d (nil for
// an anonymous file, which has no mount to ask), by the mount's rule
// (touch_atime).
func touchAtime(d *Dentry, inode Inode) {
	t, ok := inode.(AtimeToucher)
	if !ok {
		return
	}
	var flags uint64
	if d != nil && d.mnt != nil {
		flags = d.mnt.flags.Load()
	}
	if flags&(unix.MS_NOATIME|unix.MS_RDONLY) != 0 {
		return
	}
	t.TouchAtime(flags&unix.MS_NODIRATIME != 0)
}
