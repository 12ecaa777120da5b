package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// unshareFlags are the flags unshare(2) knows; others are EINVAL.
const unshareFlags = unix.CLONE_THREAD | unix.CLONE_FS | unix.CLONE_NEWNS | unix.CLONE_SIGHAND |
	unix.CLONE_VM | unix.CLONE_FILES | unix.CLONE_SYSVSEM | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWNET | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// namespaceFlags are the namespaces unshare(2) and clone(2) make: user
// (userns.go), UTS (uts.go), network (netns.go), IPC (ipcns.go), time
// (timens.go), mount (mntns.go), PID (pidns.go) and cgroup
// (cgroupns.go), every kind Linux has.
const namespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// newNamespaces are what an unshare or clone made: credentials in a new
// user namespace, a new UTS, network, IPC, time, mount, PID or cgroup
// namespace; nil where it made none.
type newNamespaces struct {
	creds  *Credentials
	uts    *UTSNamespace
	net    *NetNS        // a reference, which the task it goes to takes (netns.go)
	ipc    *IPCNamespace // a reference, as net's (ipcns.go)
	time   *TimeNamespace
	mnt    *MountNS // a reference, as net's (mntns.go)
	pid    *PIDNamespace
	cgroup *CgroupNamespace
	// mntCopy leads the task's root and working directory into mnt.
	mntCopy *vfs.NamespaceCopy
}

// makeNamespaces makes the namespaces flags ask for, each by its own
// function, the user namespace first: it owns the others
// (create_new_namespaces with the new credentials).
func (t *Task) makeNamespaces(flags uint64) (newNamespaces, error) {
	var n newNamespaces
	c := t.Creds()
	if flags&unix.CLONE_NEWUSER != 0 {
		if err := t.newUserNS(&c); err != nil {
			return n, err
		}
		n.creds = &c
	}
	if flags&unix.CLONE_NEWUTS != 0 {
		u, err := t.newUTSNS(c)
		if err != nil {
			return n, err
		}
		n.uts = u
	}
	if flags&unix.CLONE_NEWPID != 0 {
		// Not while the caller's children already go to another
		// namespace than its own (copy_pid_ns).
		if t.PIDNSForChildren() != t.PIDNS() {
			return n, unix.EINVAL
		}
		ns, err := newPIDNSFor(t.PIDNS(), c)
		if err != nil {
			return n, err
		}
		n.pid = ns
	}
	if flags&unix.CLONE_NEWCGROUP != 0 {
		ns, err := newCgroupNSFor(c)
		if err != nil {
			return n, err
		}
		n.cgroup = ns
	}
	if flags&unix.CLONE_NEWTIME != 0 {
		ns, err := t.newTimeNSFor(c)
		if err != nil {
			return n, err
		}
		n.time = ns
	}
	if flags&unix.CLONE_NEWNET != 0 {
		ns, err := newNetNSFor(c)
		if err != nil {
			return n, err
		}
		n.net = ns
	}
	if flags&unix.CLONE_NEWIPC != 0 {
		ns, err := t.newIPCNSFor(c)
		if err != nil {
			n.dropNet()
			return n, err
		}
		n.ipc = ns
	}
	if flags&unix.CLONE_NEWNS != 0 { // last: nothing fails after it
		ns, cp, err := t.newMountNSFor(c)
		if err != nil {
			n.drop()
			return n, err
		}
		n.mnt, n.mntCopy = ns, cp
	}
	return n, nil
}

// newUserNS moves c into a new child of its user namespace
// (create_user_ns): EPERM for a chrooted caller, ENOSPC past the nesting
// or count limit.
func (t *Task) newUserNS(c *Credentials) error {
	if !t.K.VFS.IsRoot(t.FS().Root()) {
		return unix.EPERM
	}
	return c.NewUserNS()
}

// newUTSNS copies t's UTS namespace for credentials c (in their user
// namespace, which owns the copy): EPERM without CAP_SYS_ADMIN there.
func (t *Task) newUTSNS(c Credentials) (*UTSNamespace, error) {
	if !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return nil, unix.EPERM
	}
	return t.UTS().copyFor(c.UserNS), nil
}

// enterNamespaces moves t's process into what n holds.
func (t *Task) enterNamespaces(n newNamespaces) {
	if n.creds != nil {
		t.TG.mu.Lock()
		t.TG.creds = *n.creds
		t.TG.mu.Unlock()
	}
	if n.uts != nil {
		t.uts.Store(n.uts)
	}
	if n.net != nil {
		t.setNetNS(n.net)
	}
	if n.ipc != nil {
		t.setIPCNS(n.ipc)
	}
	if n.time != nil {
		t.timensChildren.Store(n.time) // the caller's own stays (unshare_nsproxy_namespaces)
	}
	if n.pid != nil {
		t.pidnsChildren.Store(n.pid) // so does its PID namespace
	}
	if n.cgroup != nil {
		t.cgroupns.Store(n.cgroup)
	}
	if n.mnt != nil {
		t.setMountNS(n.mnt)
	}
}

// Unshare gives the task its own copy of what flags name, as unshare(2)
// does (ksys_unshare): CLONE_FILES its descriptor table, CLONE_FS its
// root, working directory and umask, CLONE_SYSVSEM (and CLONE_NEWIPC,
// whose new namespace cannot reach the old sets) ends its SEM_UNDO
// adjustments as exit would, in the namespace it had. CLONE_THREAD, CLONE_SIGHAND and CLONE_VM
// succeed only where there is nothing to unshare (one thread, an address
// space no other task uses), EINVAL otherwise, as Linux has it.
func (t *Task) Unshare(flags uint64) error {
	if flags&^unshareFlags != 0 {
		return unix.EINVAL
	}
	// The implied flags, as ksys_unshare adds them.
	if flags&unix.CLONE_NEWUSER != 0 {
		flags |= unix.CLONE_THREAD | unix.CLONE_FS
	}
	if flags&unix.CLONE_VM != 0 {
		flags |= unix.CLONE_SIGHAND
	}
	if flags&unix.CLONE_SIGHAND != 0 {
		flags |= unix.CLONE_THREAD
	}
	if flags&unix.CLONE_NEWNS != 0 {
		flags |= unix.CLONE_FS
	}
	if flags&(unix.CLONE_THREAD|unix.CLONE_SIGHAND) != 0 && t.TG.NumThreads() > 1 ||
		flags&unix.CLONE_VM != 0 && t.MM().Shared() {
		return unix.EINVAL
	}
	ns, err := t.makeNamespaces(flags)
	if err != nil {
		return err
	}
	if flags&(unix.CLONE_SYSVSEM|unix.CLONE_NEWIPC) != 0 {
		t.leaveSemUndo() // before the switch, as ksys_unshare's exit_sem
	}
	t.enterNamespaces(ns)
	if flags&unix.CLONE_FS != 0 {
		t.mu.Lock()
		t.fs = t.fs.Fork()
		t.mu.Unlock()
	}
	if ns.mntCopy != nil {
		t.FS().EnterNamespace(ns.mntCopy) // its own since CLONE_FS above
	}
	if flags&unix.CLONE_FILES != 0 {
		t.UnshareFDs()
	}
	return nil
}

// UnshareFDs gives the task a descriptor table of its own if it shares
// one (CLONE_FILES), a copy of the shared one.
func (t *Task) UnshareFDs() {
	old := t.FDs()
	if !old.Shared() {
		return
	}
	fds := old.Fork()
	t.mu.Lock()
	t.fds = fds
	t.mu.Unlock()
	old.DecUsers()
}
