package kernel

import (
	"context"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// Namespace files (Linux's nsfs): what opening /proc/PID/ns/user or
// ns/uts gives, a handle on the namespace that setns(2) takes and the
// NS_GET_* ioctls ask about. The magic link resolves to the namespace's
// NSInode itself (a vfs.LinkJumper jump), not to a path.

// NSInode is a user, UTS, network, IPC, time, mount, PID or cgroup
// namespace as a file: exactly one of User (with IsUser), UTS, Net, IPC,
// Time, Mnt, PID and Cgroup (with IsCgroup).
type NSInode struct {
	IsUser   bool
	User     *UserNamespace
	UTS      *UTSNamespace
	Net      *NetNS
	IPC      *IPCNamespace
	Time     *TimeNamespace
	Mnt      *MountNS
	PID      *PIDNamespace
	IsCgroup bool
	Cgroup   *CgroupNamespace
}

// The inode numbers of the sandbox's first PID namespace and its cgroup
// namespace, as Linux numbers its initial ones (PROC_PID_INIT_INO,
// PROC_CGROUP_INIT_INO).
const (
	InitPIDNSInode    = 0xEFFFFFFC
	InitCgroupNSInode = 0xEFFFFFFB
)

// PIDNSInode returns t's PID namespace as a file (/proc/PID/ns/pid).
func (t *Task) PIDNSInode() *NSInode { return &NSInode{PID: t.PIDNS()} }

// PIDNSForChildrenInode returns the PID namespace of t's next children as
// a file (/proc/PID/ns/pid_for_children); nil, no file, for a namespace
// whose init is not made yet (pidns_for_children_get).
func (t *Task) PIDNSForChildrenInode() *NSInode {
	ns := t.PIDNSForChildren()
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	if ns.level > 0 && ns.init == nil {
		return nil
	}
	return &NSInode{PID: ns}
}

// nsfsDev is the device of namespace files (an anonymous device, as
// nsfs's).
const nsfsDev = 4

// Inode returns the namespace's inode number.
func (n *NSInode) Inode() uint64 {
	switch {
	case n.IsUser:
		return n.User.Inode()
	case n.Net != nil:
		return n.Net.Inode
	case n.IPC != nil:
		return n.IPC.Inode()
	case n.Time != nil:
		return n.Time.Inode()
	case n.Mnt != nil:
		return n.Mnt.Inode()
	case n.PID != nil:
		return n.PID.Inode()
	case n.IsCgroup:
		return n.Cgroup.Inode()
	}
	return n.UTS.Inode()
}

// Stat implements vfs.Inode: a read-only regular file whose inode number
// is the namespace's.
func (n *NSInode) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{Dev: nsfsDev, Ino: n.Inode(), Mode: unix.S_IFREG | 0o444, Nlink: 1, Blksize: 4096}, nil
}

// Open implements vfs.Inode. A network, IPC or mount namespace's file
// holds the namespace while it is open (its netstack is closed, its
// objects removed, its mounts unmounted, with its last holder: netns.go,
// ipcns.go, mntns.go).
func (n *NSInode) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	if n.Mnt != nil {
		if !n.Mnt.tryIncRef() {
			return nil, unix.ENOENT
		}
		return mntNSFile{n.Mnt}, nil
	}
	if n.IPC != nil {
		if !n.IPC.tryIncRef() {
			return nil, unix.ENOENT
		}
		return ipcNSFile{n.IPC}, nil
	}
	if n.Net != nil {
		if !n.Net.tryIncRef() {
			return nil, unix.ENOENT
		}
		return netNSFile{n.Net}, nil
	}
	return nsFileImpl{}, nil
}

// netNSFile is an open network namespace file.
type netNSFile struct{ ns *NetNS }

func (netNSFile) ReadAt(context.Context, []byte, int64) (int, error)  { return 0, unix.EINVAL }
func (netNSFile) WriteAt(context.Context, []byte, int64) (int, error) { return 0, unix.EINVAL }
func (f netNSFile) Release()                                          { f.ns.DecRef() }

// ipcNSFile is an open IPC namespace file.
type ipcNSFile struct{ ns *IPCNamespace }

func (ipcNSFile) ReadAt(context.Context, []byte, int64) (int, error)  { return 0, unix.EINVAL }
func (ipcNSFile) WriteAt(context.Context, []byte, int64) (int, error) { return 0, unix.EINVAL }
func (f ipcNSFile) Release()                                          { f.ns.decRef() }

// mntNSFile is an open mount namespace file.
type mntNSFile struct{ ns *MountNS }

func (mntNSFile) ReadAt(context.Context, []byte, int64) (int, error)  { return 0, unix.EINVAL }
func (mntNSFile) WriteAt(context.Context, []byte, int64) (int, error) { return 0, unix.EINVAL }
func (f mntNSFile) Release()                                          { f.ns.decRef() }

// nsFileImpl is an open namespace file: it neither reads nor writes.
type nsFileImpl struct{}

func (nsFileImpl) ReadAt(context.Context, []byte, int64) (int, error)  { return 0, unix.EINVAL }
func (nsFileImpl) WriteAt(context.Context, []byte, int64) (int, error) { return 0, unix.EINVAL }
func (nsFileImpl) Release()                                            {}

// UserNSInode and UTSNSInode return t's namespaces as files.
func (t *Task) UserNSInode() *NSInode { return &NSInode{IsUser: true, User: t.UserNS()} }

// UTSNSInode returns t's UTS namespace as a file.
func (t *Task) UTSNSInode() *NSInode { return &NSInode{UTS: t.UTS()} }

// NSIoctl is an ioctl on namespace file n (ns_ioctl): NS_GET_USERNS opens
// the owning user namespace, NS_GET_PARENT a user namespace's parent
// (EPERM for the first PID namespace, which has none; EINVAL for a kind
// without a hierarchy), each only if it is the caller's or below it
// (EPERM, ns_get_owner); NS_GET_NSTYPE is the CLONE_NEW* flag;
// NS_GET_OWNER_UID writes a user namespace's owner as the caller sees it
// (EINVAL for a UTS one). Other commands are ENOTTY.
func (t *Task) NSIoctl(n *NSInode, cmd uint32, arg uintptr) (uintptr, error) {
	switch cmd {
	case unix.NS_GET_USERNS, unix.NS_GET_PARENT:
		var owner *UserNamespace
		switch {
		case n.IsUser && n.User == nil:
			return 0, unix.EPERM // the initial namespace has none
		case n.IsUser:
			owner = n.User.parent
		case n.PID != nil && cmd == unix.NS_GET_PARENT:
			return t.pidNSParent(n.PID)
		case cmd == unix.NS_GET_PARENT:
			return 0, unix.EINVAL
		case n.IsCgroup:
			owner = n.Cgroup.UserNS()
		case n.Net != nil:
			owner = n.Net.Owner
		case n.IPC != nil:
			owner = n.IPC.userNS
		case n.Time != nil:
			owner = n.Time.userNS
		case n.Mnt != nil:
			owner = n.Mnt.userNS
		case n.PID != nil:
			owner = n.PID.userNS
		default:
			owner = n.UTS.userNS
		}
		if !t.UserNS().IsAncestorOf(owner) {
			return 0, unix.EPERM
		}
		f := vfs.NewFile(t.K.VFS, nil, &NSInode{IsUser: true, User: owner}, nsFileImpl{}, unix.O_RDONLY)
		defer f.DecRef()
		fd, err := t.FDs().Install(f, 0, true)
		return uintptr(fd), err
	case unix.NS_GET_NSTYPE:
		if n.IsUser {
			return unix.CLONE_NEWUSER, nil
		}
		if n.Net != nil {
			return unix.CLONE_NEWNET, nil
		}
		if n.IPC != nil {
			return unix.CLONE_NEWIPC, nil
		}
		if n.Time != nil {
			return unix.CLONE_NEWTIME, nil
		}
		if n.Mnt != nil {
			return unix.CLONE_NEWNS, nil
		}
		if n.PID != nil {
			return unix.CLONE_NEWPID, nil
		}
		if n.IsCgroup {
			return unix.CLONE_NEWCGROUP, nil
		}
		return unix.CLONE_NEWUTS, nil
	case unix.NS_GET_OWNER_UID:
		if !n.IsUser {
			return 0, unix.EINVAL
		}
		uid := t.UserNS().ShowUID(n.User.Owner())
		return 0, CopyOut(t, arg, &uid)
	}
	return 0, unix.ENOTTY
}

// SetNS implements setns(2) on namespace file n, nstype 0 or its kind
// (EINVAL otherwise). Entering a user namespace (userns_install): not the
// caller's own (EINVAL), a single-threaded process (EINVAL), with
// CAP_SYS_ADMIN in the target (EPERM); the caller gets every capability
// there, as its creator did. Entering a UTS namespace
// (utsns_install) needs CAP_SYS_ADMIN in its owner and in the caller's
// namespace; so do network, IPC, time and cgroup namespaces (netns.go,
// ipcns.go, timens.go, cgroupns.go). Mount namespaces: mntns.go; PID
// namespaces: pidns.go.
func (t *Task) SetNS(n *NSInode, nstype int) error {
	kind := unix.CLONE_NEWUTS
	switch {
	case n.IsUser:
		kind = unix.CLONE_NEWUSER
	case n.Net != nil:
		kind = unix.CLONE_NEWNET
	case n.IPC != nil:
		kind = unix.CLONE_NEWIPC
	case n.Time != nil:
		kind = unix.CLONE_NEWTIME
	case n.Mnt != nil:
		kind = unix.CLONE_NEWNS
	case n.PID != nil:
		kind = unix.CLONE_NEWPID
	case n.IsCgroup:
		kind = unix.CLONE_NEWCGROUP
	}
	if nstype != 0 && nstype != kind {
		return unix.EINVAL
	}
	if n.Net != nil {
		return t.setNSNet(n.Net)
	}
	if n.IPC != nil {
		return t.setNSIPC(n.IPC)
	}
	if n.Time != nil {
		return t.setNSTime(n.Time)
	}
	if n.Mnt != nil {
		return t.setNSMount(n.Mnt)
	}
	if n.PID != nil {
		return t.setNSPID(n.PID)
	}
	if n.IsCgroup {
		return t.setNSCgroup(n.Cgroup)
	}
	c := t.Creds()
	if !n.IsUser {
		if !c.HasCapIn(n.UTS.userNS, linux.CAP_SYS_ADMIN) || !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
			return unix.EPERM
		}
		t.uts.Store(n.UTS)
		return nil
	}
	if n.User == c.UserNS || t.TG.NumThreads() > 1 {
		return unix.EINVAL
	}
	if !c.HasCapIn(n.User, linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	return t.changeCredsNoFixup(func(c *Credentials) {
		c.UserNS = n.User
		c.Caps = CapSets{}
	})
}

// changeCredsNoFixup applies fn to the credentials as one change, without
// the setuid rules (a change of namespace, not of IDs).
func (t *Task) changeCredsNoFixup(fn func(c *Credentials)) error {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	fn(&t.TG.creds)
	return nil
}
