package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// CgroupNamespace is a cgroup namespace (CLONE_NEWCGROUP): the cgroup a
// process's /proc/PID/cgroup and its cgroup2 mounts' roots are shown
// relative to. The sandbox is one cgroup, the root of its read-only
// hierarchy (package fs/cgroup), where every process stays, so every
// namespace's root is that cgroup and every view is "/": a namespace is
// an identity (its inode number, its owner), as one made in a container
// that never moves its processes is in Linux. unshare applies it to the
// caller at once (unlike PID namespaces), clone to the child.
type CgroupNamespace struct {
	userNS *UserNamespace // owner; immutable
	ino    uint64         // immutable
}

// Inode is the namespace's inode number (/proc/PID/ns/cgroup).
func (ns *CgroupNamespace) Inode() uint64 {
	if ns == nil {
		return InitCgroupNSInode
	}
	return ns.ino
}

// UserNS is the user namespace that owns ns (nil: the initial one).
func (ns *CgroupNamespace) UserNS() *UserNamespace {
	if ns == nil {
		return nil
	}
	return ns.userNS
}

// CgroupNS is t's cgroup namespace, nil for the sandbox's first.
func (t *Task) CgroupNS() *CgroupNamespace { return t.cgroupns.Load() }

// CgroupNSInode returns t's cgroup namespace as a file
// (/proc/PID/ns/cgroup).
func (t *Task) CgroupNSInode() *NSInode { return &NSInode{IsCgroup: true, Cgroup: t.CgroupNS()} }

// newCgroupNSFor makes a cgroup namespace owned by the user namespace of
// credentials c (copy_cgroup_ns): EPERM without CAP_SYS_ADMIN there.
func newCgroupNSFor(c Credentials) (*CgroupNamespace, error) {
	if !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return nil, unix.EPERM
	}
	return &CgroupNamespace{userNS: c.UserNS, ino: NewNSInode()}, nil
}

// setNSCgroup is setns(2) into cgroup namespace ns (cgroupns_install):
// CAP_SYS_ADMIN in its owner and in the caller's user namespace, EPERM
// otherwise.
func (t *Task) setNSCgroup(ns *CgroupNamespace) error {
	if c := t.Creds(); !c.HasCapIn(ns.UserNS(), linux.CAP_SYS_ADMIN) || !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	t.cgroupns.Store(ns)
	return nil
}
