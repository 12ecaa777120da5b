package kernel

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// User namespaces (user_namespaces(7), Linux's kernel/user_namespace.c).
//
// The sentry keeps every user and group ID as a kernel ID (kuid, kgid):
// the ID of the sandbox's initial user namespace, which maps every ID to
// itself. A process's credentials carry its user namespace
// (Credentials.UserNS, nil for the initial one), and the syscall layer
// translates at the boundary: what a process gives (setuid, chown,
// setgroups) is mapped down to a kernel ID (EINVAL when its namespace has
// no mapping for it), what it is shown (getuid, stat, /proc, siginfo) is
// mapped up, an unmapped ID showing as the overflow ID 65534. Because the
// initial namespace's map is the identity, nothing that stored plain IDs
// before namespaces changes.
//
// Privilege is a capability in a namespace (HasCapIn, Linux's
// cap_capable): a process holds its effective set in its own namespace
// and in none of its ancestors; the owner of a namespace (its creator's
// effective uid, in the parent) holds every capability in it and its
// descendants. Credentials.HasCap asks about the initial namespace, so
// every check that is not written for namespaces stays global: a process
// in a child namespace passes none of them. What a child namespace's
// capabilities do reach: the setuid family and capset of its own
// credentials (within IDs its maps hold), signals and ptrace of processes
// of its own namespace, files whose owner and group its maps hold
// (capable_wrt_inode_uidgid), its own UTS namespace's names, and the maps
// of namespaces it owns.

// maxUserNSLevel is how deep user namespaces nest: Linux refuses a new
// one whose parent's level is above 32 (ENOSPC since Linux 4.9, EUSERS
// before).
const maxUserNSLevel = 32

// maxUserNamespaces bounds the user namespaces that live at once, as
// /proc/sys/user/max_user_namespaces does (ENOSPC, as Linux's ucount
// limit answers): a namespace no credentials hold any more is collected,
// and a cleanup gives its count back.
const maxUserNamespaces = 1 << 16

// maxIDMapExtents is UID_GID_MAP_MAX_EXTENTS, the lines a map may have.
const maxIDMapExtents = 340

// OverflowID is what an unmapped user or group ID shows as
// (/proc/sys/kernel/overflowuid and overflowgid).
const OverflowID = 65534

// IDMapExtent is one line of a uid_map or gid_map: Count IDs from First
// inside the namespace are the kernel IDs from Lower.
type IDMapExtent struct{ First, Lower, Count uint32 }

// IDMap is the extents of a map, none before it is written.
type IDMap []IDMapExtent

// toKernel maps id of the namespace to a kernel ID.
func (m IDMap) toKernel(id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.First && id-e.First < e.Count {
			return e.Lower + (id - e.First), true
		}
	}
	return 0, false
}

// fromKernel maps kernel ID k into the namespace.
func (m IDMap) fromKernel(k uint32) (uint32, bool) {
	for _, e := range m {
		if k >= e.Lower && k-e.Lower < e.Count {
			return e.First + (k - e.Lower), true
		}
	}
	return 0, false
}

// identityMap is the initial namespace's map, "0 0 4294967295": -1 is no
// ID.
var identityMap = IDMap{{0, 0, 4294967295}}

// UserNamespace is a user namespace other than the initial one, which is
// nil: a nil *UserNamespace is the initial namespace, whose maps are the
// identity.
type UserNamespace struct {
	parent *UserNamespace
	level  int
	// owner and group are the creator's effective uid and gid (kernel
	// IDs): the owner holds every capability in the namespace.
	owner, group uint32
	ino          uint64
	// parentCouldSetfcap is whether the creator held CAP_SETFCAP, which
	// mapping the parent's uid 0 needs (verify_root_map).
	parentCouldSetfcap bool

	// mu guards the maps and the setgroups flag. A map is written once;
	// readers take mu for the slice header.
	mu              sync.Mutex
	uidMap, gidMap  IDMap // guarded by mu
	setgroupsDenied bool  // guarded by mu
}

// userNSCount counts the user namespaces alive (maxUserNamespaces).
var userNSCount atomic.Int64

// nsInode hands out the inode numbers of namespaces the sandbox makes,
// after the ones /proc lists for the initial namespaces (0xF0000000 and
// 0xF0000001 are the initial network and mount namespaces').
var nsInode atomic.Uint64

func init() { nsInode.Store(0xF0000001) }

// NewNSInode returns a new namespace inode number.
func NewNSInode() uint64 { return nsInode.Add(1) }

// The inode numbers of the initial user and UTS namespaces
// (PROC_USER_INIT_INO, PROC_UTS_INIT_INO).
const (
	InitUserNSInode = 0xEFFFFFFD
	InitUTSNSInode  = 0xEFFFFFFE
)

// Parent returns ns's parent, nil (the initial namespace) for a child of
// the initial namespace and for the initial one itself.
func (ns *UserNamespace) Parent() *UserNamespace {
	if ns == nil {
		return nil
	}
	return ns.parent
}

// Level is how deep ns is: 0 for the initial namespace.
func (ns *UserNamespace) Level() int {
	if ns == nil {
		return 0
	}
	return ns.level
}

// Inode is ns's inode number (/proc/PID/ns/user).
func (ns *UserNamespace) Inode() uint64 {
	if ns == nil {
		return InitUserNSInode
	}
	return ns.ino
}

// Owner returns the creator's effective uid, a kernel ID (0 for the
// initial namespace).
func (ns *UserNamespace) Owner() uint32 {
	if ns == nil {
		return 0
	}
	return ns.owner
}

// UIDMap and GIDMap return ns's maps (nil before they are written).
func (ns *UserNamespace) UIDMap() IDMap {
	if ns == nil {
		return identityMap
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.uidMap
}

// GIDMap returns ns's gid map.
func (ns *UserNamespace) GIDMap() IDMap {
	if ns == nil {
		return identityMap
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.gidMap
}

// IsAncestorOf reports whether ns is other or one of its ancestors.
func (ns *UserNamespace) IsAncestorOf(other *UserNamespace) bool {
	for ; other.Level() > ns.Level(); other = other.parent {
	}
	return other == ns
}

// UIDToKernel maps uid of ns to a kernel ID (make_kuid); false when ns
// has no mapping for it.
func (ns *UserNamespace) UIDToKernel(uid uint32) (uint32, bool) { return ns.UIDMap().toKernel(uid) }

// GIDToKernel maps gid of ns to a kernel ID (make_kgid).
func (ns *UserNamespace) GIDToKernel(gid uint32) (uint32, bool) { return ns.GIDMap().toKernel(gid) }

// UIDFromKernel maps kernel uid k into ns (from_kuid); false when unmapped.
func (ns *UserNamespace) UIDFromKernel(k uint32) (uint32, bool) { return ns.UIDMap().fromKernel(k) }

// GIDFromKernel maps kernel gid k into ns (from_kgid).
func (ns *UserNamespace) GIDFromKernel(k uint32) (uint32, bool) { return ns.GIDMap().fromKernel(k) }

// ShowUID is kernel uid k as ns shows it (from_kuid_munged): the
// overflow uid when unmapped.
func (ns *UserNamespace) ShowUID(k uint32) uint32 {
	if id, ok := ns.UIDFromKernel(k); ok {
		return id
	}
	return OverflowID
}

// ShowGID is kernel gid k as ns shows it (from_kgid_munged).
func (ns *UserNamespace) ShowGID(k uint32) uint32 {
	if id, ok := ns.GIDFromKernel(k); ok {
		return id
	}
	return OverflowID
}

// MapsUID and MapsGID report whether ns has a mapping for kernel ID k
// (kuid_has_mapping), the vfs.IDMapper that capable_wrt_inode_uidgid asks.
func (ns *UserNamespace) MapsUID(k uint32) bool { _, ok := ns.UIDFromKernel(k); return ok }

// MapsGID reports whether ns maps kernel gid k.
func (ns *UserNamespace) MapsGID(k uint32) bool { _, ok := ns.GIDFromKernel(k); return ok }

// rootUID is the kernel uid of ns's uid 0, noChange (which no process
// has) while ns maps no uid 0: who counts as root for capabilities(7)'s
// rules of setuid and execve inside ns.
func (ns *UserNamespace) rootUID() uint32 {
	if k, ok := ns.UIDToKernel(0); ok {
		return k
	}
	return noChange
}

// SetgroupsAllowed is userns_may_setgroups without the capability: the
// namespace's setgroups file says allow and its gid map is written.
func (ns *UserNamespace) SetgroupsAllowed() bool {
	if ns == nil {
		return true
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return !ns.setgroupsDenied && ns.gidMap != nil
}

// SetgroupsText is /proc/PID/setgroups: "allow" or "deny".
func (ns *UserNamespace) SetgroupsText() string {
	if ns == nil {
		return "allow\n"
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.setgroupsDenied {
		return "deny\n"
	}
	return "allow\n"
}

// HasCapIn reports whether c holds cp in ns (cap_capable): its effective
// set if ns is its own namespace; everything if c's effective uid owns ns
// or an ancestor of ns that is a child of c's namespace; nothing in a
// namespace that is not c's or a descendant of it.
func (c Credentials) HasCapIn(ns *UserNamespace, cp linux.Capability) bool {
	for {
		if ns == c.UserNS {
			return c.HasOwnCap(cp)
		}
		if ns.Level() <= c.UserNS.Level() {
			return false
		}
		if ns.parent == c.UserNS && ns.owner == c.UID.Effective {
			return true
		}
		ns = ns.parent
	}
}

// HasOwnCap reports whether c holds cp in its own user namespace: its
// effective set (ns_capable(current_user_ns(), cp)).
func (c Credentials) HasOwnCap(cp linux.Capability) bool {
	return cp.Ok() && c.Caps.Effective()&(1<<cp) != 0
}

// NewUserNS makes a child of c's user namespace and moves c into it
// (create_user_ns and set_cred_user_ns): c holds every capability in the
// new namespace, none inheritable or ambient, with default securebits; its
// IDs stay (unmapped until the maps are written). Too deep a nesting or
// too many namespaces are ENOSPC.
func (c *Credentials) NewUserNS() error {
	parent := c.UserNS
	if parent.Level() > maxUserNSLevel {
		return unix.ENOSPC
	}
	if userNSCount.Add(1) > maxUserNamespaces {
		userNSCount.Add(-1)
		return unix.ENOSPC
	}
	// The owner's uid and gid must be mapped in the parent
	// (kuid_has_mapping): so they are, as they are the caller's.
	if !parent.MapsUID(c.UID.Effective) || !parent.MapsGID(c.GID.Effective) {
		return unix.EPERM
	}
	ns := &UserNamespace{parent: parent, level: parent.Level() + 1, owner: c.UID.Effective, group: c.GID.Effective,
		ino: NewNSInode(), parentCouldSetfcap: c.HasOwnCap(linux.CAP_SETFCAP)}
	if parent != nil {
		parent.mu.Lock()
		ns.setgroupsDenied = parent.setgroupsDenied
		parent.mu.Unlock()
	}
	runtime.AddCleanup(ns, func(struct{}) { userNSCount.Add(-1) }, struct{}{})
	c.UserNS = ns
	c.Caps = CapSets{} // every capability, as root's zero value
	return nil
}

// MapKind tells uid_map from gid_map.
type MapKind int

// The two maps.
const (
	UIDMapKind MapKind = iota
	GIDMapKind
)

// ShowMap is /proc/PID/uid_map or gid_map of ns as a reader in namespace
// reader sees it (uid_m_show): each extent's lower IDs as the reader's
// namespace has them, or its parent's when the reader is in ns itself; a
// lower ID the reader does not map shows as 4294967295, as Linux's.
func (ns *UserNamespace) ShowMap(kind MapKind, reader *UserNamespace) string {
	m := ns.UIDMap()
	from := reader.UIDFromKernel
	if kind == GIDMapKind {
		m, from = ns.GIDMap(), reader.GIDFromKernel
	}
	if reader == ns && ns != nil {
		from = ns.parent.UIDFromKernel
		if kind == GIDMapKind {
			from = ns.parent.GIDFromKernel
		}
	}
	var b strings.Builder
	for _, e := range m {
		lower, ok := from(e.Lower)
		if !ok {
			lower = noChange
		}
		fmt.Fprintf(&b, "%10d %10d %10d\n", e.First, lower, e.Count)
	}
	return b.String()
}

// parseIDMap parses a map write (map_write): lines of three numbers, at
// most maxIDMapExtents of them, none with a zero count, none wrapping
// around, none overlapping another inside or outside.
func parseIDMap(text string) (IDMap, error) {
	var m IDMap
	lines := strings.Split(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, unix.EINVAL
		}
		var v [3]uint32
		for i, s := range f {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return nil, unix.EINVAL
			}
			v[i] = uint32(n)
		}
		e := IDMapExtent{First: v[0], Lower: v[1], Count: v[2]}
		if e.Count == 0 || uint64(e.First)+uint64(e.Count) > 1<<32-1 || uint64(e.Lower)+uint64(e.Count) > 1<<32-1 {
			return nil, unix.EINVAL
		}
		for _, o := range m {
			if overlaps(o.First, o.Count, e.First, e.Count) || overlaps(o.Lower, o.Count, e.Lower, e.Count) {
				return nil, unix.EINVAL
			}
		}
		if len(m) == maxIDMapExtents {
			return nil, unix.EINVAL
		}
		m = append(m, e)
	}
	if len(m) == 0 {
		return nil, unix.EINVAL
	}
	return m, nil
}

func overlaps(a, an, b, bn uint32) bool {
	return uint64(a) < uint64(b)+uint64(bn) && uint64(b) < uint64(a)+uint64(an)
}

// WriteMap writes ns's uid or gid map as map_write and new_idmap_permitted
// have it, for a writer whose file was opened with opener's credentials
// (file_ns_capable asks the opener): once only (EPERM); by an opener in ns
// or its parent (EPERM); who holds CAP_SYS_ADMIN in ns (EPERM); a
// well-formed map (EINVAL); and either the single line that maps the
// owner's own effective uid (gid, with setgroups denied) or lower IDs the
// writer and the opener may set in the parent (CAP_SETUID or CAP_SETGID
// there) that the parent maps (EPERM).
func (ns *UserNamespace) WriteMap(kind MapKind, opener, writer Credentials, text string) error {
	if ns == nil {
		return unix.EPERM // the initial namespace's maps are fixed
	}
	if opener.UserNS != ns && opener.UserNS != ns.parent {
		return unix.EPERM
	}
	cp, toKernel := linux.Capability(linux.CAP_SETUID), ns.parent.UIDToKernel
	if kind == GIDMapKind {
		cp, toKernel = linux.CAP_SETGID, ns.parent.GIDToKernel
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	cur := &ns.uidMap
	if kind == GIDMapKind {
		cur = &ns.gidMap
	}
	if *cur != nil || !opener.HasCapIn(ns, linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	m, err := parseIDMap(text)
	if err != nil {
		return err
	}
	if !ns.mapPermitted(kind, cp, opener, writer, m) {
		return unix.EPERM
	}
	for i := range m {
		low, ok := toKernel(m[i].Lower)
		// The whole range must be mapped in the parent, contiguously
		// (map_id_range_down): the parent's extent holds it all.
		end, ok2 := toKernel(m[i].Lower + m[i].Count - 1)
		if !ok || !ok2 || end-low != m[i].Count-1 {
			return unix.EPERM
		}
		m[i].Lower = low
	}
	*cur = m
	return nil
}

// mapPermitted is new_idmap_permitted; ns.mu is held.
func (ns *UserNamespace) mapPermitted(kind MapKind, cp linux.Capability, opener, writer Credentials, m IDMap) bool {
	if kind == UIDMapKind && !ns.rootMapAllowed(opener, m) {
		return false
	}
	if len(m) == 1 && m[0].Count == 1 && ns.owner == opener.UID.Effective {
		if kind == UIDMapKind {
			if k, ok := ns.parent.UIDToKernel(m[0].Lower); ok && k == opener.UID.Effective {
				return true
			}
		} else if k, ok := ns.parent.GIDToKernel(m[0].Lower); ok && ns.setgroupsDenied && k == opener.GID.Effective {
			return true
		}
	}
	return writer.HasCapIn(ns.parent, cp) && opener.HasCapIn(ns.parent, cp)
}

// rootMapAllowed is verify_root_map: a map whose first lower uid is the
// parent's 0 needs CAP_SETFCAP in the parent, of the creator when the
// opener is inside ns, of the opener otherwise.
func (ns *UserNamespace) rootMapAllowed(opener Credentials, m IDMap) bool {
	for _, e := range m {
		if e.Lower != 0 {
			continue
		}
		if opener.UserNS == ns {
			return ns.parentCouldSetfcap
		}
		return opener.HasCapIn(ns.parent, linux.CAP_SETFCAP)
	}
	return true
}

// WriteSetgroups is a write of /proc/PID/setgroups (proc_setgroups_write):
// "allow" or "deny", with trailing white space (EINVAL otherwise); allow
// once denied, or deny once the gid map is written, is EPERM.
func (ns *UserNamespace) WriteSetgroups(text string) error {
	var deny bool
	switch strings.TrimRight(text, " \t\n") {
	case "allow":
	case "deny":
		deny = true
	default:
		return unix.EINVAL
	}
	if ns == nil {
		if deny {
			return unix.EPERM
		}
		return nil
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	switch {
	case !deny && ns.setgroupsDenied:
		return unix.EPERM
	case deny && ns.gidMap != nil:
		return unix.EPERM
	}
	ns.setgroupsDenied = deny
	return nil
}
