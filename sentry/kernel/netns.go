package kernel

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/fs/sys"
	"runsc-lite/sentry/socket/hostinet"
	"runsc-lite/sentry/socket/inet"
	"runsc-lite/sentry/usage"
)

// Network namespaces (CLONE_NEWNET of clone(2) and unshare(2), setns(2)).
//
// Decision: the sandbox's first network namespace is the one its
// --network mode makes (K.Net, or K.HostNet with --network=host): eth0,
// the forwarder, --publish and a container's links are there and only
// there. A new namespace is a netstack of its own with only lo
// (127.0.0.1/8, ::1), down until brought up, as a new namespace is in
// Linux; it has no link to anything else, whatever the mode (with
// --network=host too: a new namespace is never the host's), so nothing
// sent in it leaves it. Sockets belong to the namespace of the task
// that made them for their whole life (sock_net); /proc/net, netlink
// route dumps and changes, the interface ioctls, /sys/class/net and
// AF_UNIX abstract names follow the caller's namespace.
//
// A namespace lives while a task, a socket or a /proc/PID/ns/net file
// holds it: its netstack is closed once the last of them goes
// (inet.Stack.Release). At most MaxNetNamespaces exist at once
// (ENOSPC beyond, as Linux's user.max_net_namespaces), since each is a
// netstack in the sentry's own memory.
type NetNS struct {
	// Inode is its /proc/PID/ns/net inode number.
	Inode uint64
	// Inet is its netstack (Internet sockets, netlink, ioctls).
	Inet *inet.Stack
	// Host is --network=host's host network, in the first namespace
	// only (nil elsewhere and in the other modes).
	Host *hostinet.Stack
	// Owner is the user namespace that owns it (nil: the initial one),
	// where the capabilities that act on it count.
	Owner *UserNamespace

	nsRefs // tasks, sockets and ns files holding it

	sysMu sync.Mutex      // guards sysFS
	sysFS *sys.FileSystem // the sysfs mounts made in it show, made on first use
}

// nsRefs counts the holders of a network or IPC namespace, which goes
// with the last of them; the sandbox's first namespace of a kind (root)
// never goes.
type nsRefs struct {
	refs atomic.Int64
	root bool // immutable
}

// tryIncRef takes a reference unless the namespace is gone already.
func (r *nsRefs) tryIncRef() bool {
	if r.root {
		return true
	}
	for {
		n := r.refs.Load()
		if n <= 0 {
			return false
		}
		if r.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference and reports whether it was the last.
func (r *nsRefs) release() bool {
	return !r.root && r.refs.Add(-1) == 0
}

// MaxNetNamespaces bounds the network namespaces made inside a sandbox
// that exist at once.
const MaxNetNamespaces = 64

// rootNetInode is the first namespace's inode number, as Linux numbers
// init_net's; new ones are numbered after the mount namespace's.
const rootNetInode = 0xF0000000

var (
	nextNetInode atomic.Uint64 // the last inode number handed out, past rootNetInode+1
	liveNetNS    atomic.Int32  // namespaces made by CLONE_NEWNET that exist
)

// netRoot is the kernel's first network namespace, made on first use
// from K.Net and K.HostNet (set before the first task runs).
type netRoot struct {
	once sync.Once
	ns   *NetNS
}

// RootNetNS returns the sandbox's first network namespace.
func (k *Kernel) RootNetNS() *NetNS {
	k.netRoot.once.Do(func() {
		k.netRoot.ns = &NetNS{Inode: rootNetInode, Inet: k.Net, Host: k.HostNet, nsRefs: nsRefs{root: true}}
	})
	return k.netRoot.ns
}

// NetNS returns the task's network namespace.
func (t *Task) NetNS() *NetNS {
	if ns := t.netns.Load(); ns != nil {
		return ns
	}
	return t.K.RootNetNS()
}

// IsRoot reports whether ns is the sandbox's first network namespace.
func (ns *NetNS) IsRoot() bool { return ns.root }

// newNetNS makes a network namespace with only lo, down, and one
// reference: ENOSPC past MaxNetNamespaces.
func newNetNS(owner *UserNamespace) (*NetNS, error) {
	if liveNetNS.Add(1) > MaxNetNamespaces {
		liveNetNS.Add(-1)
		return nil, unix.ENOSPC
	}
	nextNetInode.CompareAndSwap(0, rootNetInode+1)
	ns := &NetNS{Inode: nextNetInode.Add(1), Inet: inet.NewIsolated(), Owner: owner}
	if owner != nil {
		ns.Inet.SetOwner(owner) // CAP_NET_ADMIN over its sockets (iptables) counts there
	}
	ns.refs.Store(1)
	return ns, nil
}

// Interfaces lists the namespace's interfaces: its stack's, or with
// --network=host the host's, which netlink and /proc/net show the
// application in that mode; none once the namespace is gone (a sysfs
// mounted in it outlives it).
func (ns *NetNS) Interfaces() ([]inet.Interface, error) {
	if !ns.root && ns.refs.Load() <= 0 {
		return nil, nil // gone: its interfaces are unregistered (cleanup_net)
	}
	if ns.Host != nil {
		return ns.Host.Interfaces()
	}
	return ns.Inet.Interfaces()
}

// SysFS returns the sysfs of the namespace, for a sandbox with cpus
// CPUs and the memory of account mem: its class/net lists the
// namespace's interfaces whoever looks.
// As Linux's sysfs_get_tree keeps one superblock per network namespace,
// every sysfs mounted in ns is this one (the same st_dev), made on
// first use.
func (ns *NetNS) SysFS(cpus int, mem *usage.Memory) *sys.FileSystem {
	ns.sysMu.Lock()
	defer ns.sysMu.Unlock()
	if ns.sysFS == nil {
		ns.sysFS = sys.New(cpus, mem, func() ([]sys.NetInterface, error) {
			ifs, err := ns.Interfaces()
			if err != nil {
				return nil, err
			}
			out := make([]sys.NetInterface, len(ifs))
			for i, in := range ifs {
				out[i] = sys.NetInterface{Name: in.Name, Index: in.Index, Flags: in.Flags, MTU: in.MTU, Type: in.Type, MAC: in.MAC}
			}
			return out, nil
		})
	}
	return ns.sysFS
}

// DecRef drops a reference: the last one releases the namespace's
// stack, which closes its netstack once its last socket is gone too.
func (ns *NetNS) DecRef() {
	if ns.release() {
		liveNetNS.Add(-1)
		ns.Inet.Release()
	}
}

// setNetNS makes ns the task's namespace, taking over the caller's
// reference, and drops the one it had.
func (t *Task) setNetNS(ns *NetNS) {
	if old := t.netns.Swap(ns); old != nil {
		old.DecRef()
	}
}

// inheritNetNS gives a new child the namespace CLONE_NEWNET made for it
// (taking that reference), or its parent's.
func (c *Task) inheritNetNS(parent *Task, made *NetNS) {
	if made != nil {
		c.netns.Store(made)
		return
	}
	// The parent's own reference keeps its namespace alive here.
	if ns := parent.netns.Load(); ns != nil && ns.tryIncRef() {
		c.netns.Store(ns)
	}
}

// newNetNSFor is CLONE_NEWNET for credentials c (already in a new user
// namespace if the call made one): CAP_SYS_ADMIN in c's user namespace
// (EPERM), which owns the new namespace.
func newNetNSFor(c Credentials) (*NetNS, error) {
	if !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return nil, unix.EPERM
	}
	return newNetNS(c.UserNS)
}

// dropNet drops the reference to a namespace no task took.
func (n newNamespaces) dropNet() {
	if n.net != nil {
		n.net.DecRef()
	}
}

// drop drops the references to the namespaces no task took.
func (n newNamespaces) drop() {
	n.dropNet()
	n.dropIPC()
	if n.mnt != nil {
		n.mnt.decRef()
	}
}

// setNSNet is setns(2) into network namespace ns (netns_install):
// CAP_SYS_ADMIN in its owner and in the caller's own user namespace
// (EPERM).
func (t *Task) setNSNet(ns *NetNS) error {
	c := t.Creds()
	if !c.HasCapIn(ns.Owner, linux.CAP_SYS_ADMIN) || !c.HasOwnCap(linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	if ns.root {
		t.setNetNS(nil)
		return nil
	}
	if !ns.tryIncRef() {
		return unix.EINVAL
	}
	t.setNetNS(ns)
	return nil
}

// NetNSInode returns t's network namespace as a file.
func (t *Task) NetNSInode() *NSInode { return &NSInode{Net: t.NetNS()} }

// releaseNetNS drops the exiting task's reference to its namespace.
func (t *Task) releaseNetNS() { t.setNetNS(nil) }
