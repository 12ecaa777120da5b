package host

import (
	"sync"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// Identities are the device and inode numbers the sandbox sees for host
// files, so that no host number reaches it (stat, statx, getdents,
// /proc/PID/maps):
//   - Every file below the sandbox root has one sandbox device number,
//     whatever host filesystem it is on, as the root is one mount in the
//     sandbox's mount table (/proc/self/mountinfo).
//   - Inode numbers are handed out in the order files are first seen,
//     keyed by the host's (st_dev, st_ino): the same file, under any of its
//     hard links, listed by getdents or imported as a descriptor, always
//     gets the same number for the sandbox's life, which find, tar, cp -a
//     and du rely on. They start at 2 (the root, as on ext4) and stay far
//     below the overlay's own numbers (top bit set).
//   - Host descriptors that are not in a directory tree (the pipes,
//     sockets and terminals given as stdio) get an anonymous device per
//     host device, and numbers from the same sequence.
//   - The table only grows, by one small entry per host file the sandbox
//     has looked up or listed. The host tree is read only to the sandbox,
//     so the table is bounded by the files below the root (the overlay
//     above already keeps a node for each file looked up).
type Identities struct {
	dev uint64 // st_dev of every file below the root

	mu      sync.Mutex // guards inos, anonDev and next
	inos    map[hostFile]uint64
	anonDev map[uint64]uint64 // host st_dev of a stream -> sandbox st_dev
	next    uint64            // the last inode number handed out
}

// hostFile is a host file's identity.
type hostFile struct{ dev, ino uint64 }

// NewIdentities returns an empty table with a device number of its own.
func NewIdentities() *Identities {
	return &Identities{dev: vfs.NewDeviceID(), inos: make(map[hostFile]uint64), anonDev: make(map[uint64]uint64), next: 1}
}

// Dev returns the device number of the files below the root.
func (ids *Identities) Dev() uint64 { return ids.dev }

// Ino returns the sandbox's inode number of host file (dev, ino).
func (ids *Identities) Ino(dev, ino uint64) uint64 {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	return ids.inoLocked(hostFile{dev, ino})
}

func (ids *Identities) inoLocked(f hostFile) uint64 {
	if n, ok := ids.inos[f]; ok {
		return n
	}
	ids.next++
	ids.inos[f] = ids.next
	return ids.next
}

// File returns st, a host file's attributes, with the sandbox's device
// and inode numbers.
func (ids *Identities) File(st unix.Stat_t) unix.Stat_t {
	st.Ino = ids.Ino(st.Dev, st.Ino)
	st.Dev = ids.dev
	return st
}

// Descriptor returns st, the attributes of an imported host descriptor,
// with sandbox numbers: those of File for files and directories (the same
// as through the root, if the file is below it), an anonymous device for
// pipes, sockets and terminals. A nil table hides both numbers.
func (ids *Identities) Descriptor(st unix.Stat_t) unix.Stat_t {
	if ids == nil {
		st.Dev, st.Ino = 0, 0
		return st
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
		return ids.File(st)
	}
	ids.mu.Lock()
	defer ids.mu.Unlock()
	dev, ok := ids.anonDev[st.Dev]
	if !ok {
		dev = vfs.NewDeviceID()
		ids.anonDev[st.Dev] = dev
	}
	st.Ino = ids.inoLocked(hostFile{st.Dev, st.Ino})
	st.Dev = dev
	return st
}
