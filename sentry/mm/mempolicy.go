package mm

import (
	"golang.org/x/sys/unix"
)

// NUMA memory policies (mbind(2), set_mempolicy(2)). The sandbox is a
// machine with one memory node, node 0, as the host's pages are to the
// application: the host kernel places them, and which of its nodes they
// are on is not the sandbox's to show. A policy therefore changes no
// placement; it is kept and reported as Linux keeps it on such a machine:
// per task (the kernel package) and per mapping (VMA.policy), where it
// splits and merges mappings as Linux's vm_policy does (mergeable), is
// kept by mprotect's splits and mremap's moves and copied by fork, and is
// lost with the mapping.
//
// Linux keeps the policy of shared memory (shmem, tmpfs, memfd) in the
// object, so that every mapping of it sees an mbind made through one;
// here each mapping has its own.

// MaxNumNodes is the nodes a node mask names (MAX_NUMNODES, the
// CONFIG_NODES_SHIFT=10 of common x86-64 kernels): bits of a mask past it
// must be clear.
const MaxNumNodes = 1024

// NodeMask is a set of nodes (nodemask_t), bit n of word n/64 for node n.
type NodeMask [MaxNumNodes / 64]uint64

// Empty reports whether m names no node.
func (m *NodeMask) Empty() bool { return *m == NodeMask{} }

// onlineNodes is the nodes with memory, the ones a task may use: node 0.
const onlineNodes = 1

// MemsAllowed is the nodes a task may use (cpuset_mems_allowed).
func MemsAllowed() NodeMask { return NodeMask{onlineNodes} }

// MemPolicy is one NUMA policy (struct mempolicy). It is never changed
// once made, so tasks and mappings share it; nil is MPOL_DEFAULT.
type MemPolicy struct {
	// Mode is the mode, never MPOL_DEFAULT; Flags the mode flags given
	// with it (unix.MPOL_MODE_FLAGS).
	Mode, Flags int
	// HomeNode is set_mempolicy_home_node's node, -1 for none.
	HomeNode int
	// nodes is the online nodes the policy uses (empty for MPOL_LOCAL):
	// the first word of a mask, since only node 0 is online.
	nodes uint64
	// user is the mask as given, which a policy with a mode flag keeps
	// and reports (mpol_store_user_nodemask).
	user NodeMask
}

// NewMemPolicy is mpol_new followed by mpol_set_nodemask on a machine
// whose one node is node 0: the policy of mode with flags over nodes, nil
// for MPOL_DEFAULT, EINVAL for a mask the mode does not take or that names
// no online node. mode and flags are already sane (known mode, not both
// node flags).
func NewMemPolicy(mode, flags int, nodes *NodeMask) (*MemPolicy, error) {
	empty := nodes.Empty()
	nodeFlags := flags&(unix.MPOL_F_STATIC_NODES|unix.MPOL_F_RELATIVE_NODES) != 0
	switch {
	case mode == unix.MPOL_DEFAULT:
		if !empty {
			return nil, unix.EINVAL
		}
		return nil, nil
	case mode == unix.MPOL_PREFERRED && empty:
		if nodeFlags {
			return nil, unix.EINVAL
		}
		mode = unix.MPOL_LOCAL
	case mode == unix.MPOL_LOCAL:
		if !empty || nodeFlags {
			return nil, unix.EINVAL
		}
	case empty:
		return nil, unix.EINVAL
	}
	p := &MemPolicy{Mode: mode, Flags: flags, HomeNode: -1}
	if mode == unix.MPOL_LOCAL {
		return p, nil
	}
	if flags&unix.MPOL_MODE_FLAGS != 0 {
		p.user = *nodes
	}
	// The nodes named that are online; relative to the online ones, any
	// node folds onto the one online node (mpol_relative_nodemask).
	p.nodes = nodes[0] & onlineNodes
	if flags&unix.MPOL_F_RELATIVE_NODES != 0 {
		p.nodes = onlineNodes
	}
	if p.nodes == 0 {
		return nil, unix.EINVAL
	}
	return p, nil
}

// Report is what get_mempolicy shows of p: its mode with its flags, and
// its nodes (as given, for a policy with a mode flag).
func (p *MemPolicy) Report() (int, NodeMask) {
	if p == nil {
		return unix.MPOL_DEFAULT, NodeMask{}
	}
	if p.Flags&unix.MPOL_MODE_FLAGS != 0 {
		return p.Mode | p.Flags, p.user
	}
	return p.Mode | p.Flags, NodeMask{p.nodes}
}

// Equal reports whether p and q are the same policy (mpol_equal): mappings
// with policies that differ are not merged.
func (p *MemPolicy) Equal(q *MemPolicy) bool {
	if p == nil || q == nil {
		return p == q
	}
	return *p == *q
}

// WithHomeNode returns p with home node node.
func (p *MemPolicy) WithHomeNode(node int) *MemPolicy {
	c := *p
	c.HomeNode = node
	return &c
}

// shownAt returns the mapping at addr that /proc/PID/maps shows, or nil;
// m.mu is held.
func (m *MemoryManager) shownAt(addr uintptr) *VMA {
	if v := m.vmas.containing(addr); v != nil && v.shown() {
		return v
	}
	return nil
}

// Policy is the policy of the mapping at addr (get_mempolicy's
// MPOL_F_ADDR): EFAULT where nothing is mapped.
func (m *MemoryManager) Policy(addr uintptr) (*MemPolicy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.shownAt(addr)
	if v == nil {
		return nil, unix.EFAULT
	}
	return v.policy, nil
}

// Mbind gives the mappings in [start, end), page-aligned and not empty,
// policy p (do_mbind, after its argument checks): EFAULT if nothing is
// mapped there, or for a policy other than the default, if part of the
// range is not (queue_pages_range); nothing changes then.
func (m *MemoryManager) Mbind(start, end uintptr, p *MemPolicy) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var pieces [][2]uintptr
	at := start
	for v := range m.vmas.in(start, end) {
		if !v.shown() {
			continue
		}
		if v.Start > at && p != nil {
			return unix.EFAULT
		}
		if !v.special { // the vDSO's pages keep no policy
			pieces = append(pieces, [2]uintptr{max(v.Start, start), min(v.End, end)})
		}
		at = v.End
	}
	if at == start || at < end && p != nil {
		return unix.EFAULT
	}
	m.setPolicies(pieces, func(*VMA) *MemPolicy { return p })
	return nil
}

// setPolicies gives the mappings in each piece the policy fn picks for
// it; m.mu is held.
func (m *MemoryManager) setPolicies(pieces [][2]uintptr, fn func(*VMA) *MemPolicy) {
	for _, r := range pieces {
		m.update(r[0], r[1], func(v *VMA) { v.policy = fn(v) })
	}
}

// SetHomeNode is set_mempolicy_home_node over [start, end), page-aligned
// and not empty: the mappings there whose policy is MPOL_BIND or
// MPOL_PREFERRED_MANY get home node node; ENOENT if no mapping there has a
// policy, EOPNOTSUPP at the first with a policy of another mode (the
// mappings before it keep their change, as in Linux).
func (m *MemoryManager) SetHomeNode(start, end uintptr, node int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var pieces [][2]uintptr
	err := error(unix.ENOENT)
	for v := range m.vmas.in(start, end) {
		if v.special || v.policy == nil {
			continue
		}
		if v.policy.Mode != unix.MPOL_BIND && v.policy.Mode != unix.MPOL_PREFERRED_MANY {
			err = unix.EOPNOTSUPP
			break
		}
		pieces = append(pieces, [2]uintptr{max(v.Start, start), min(v.End, end)})
		err = nil
	}
	m.setPolicies(pieces, func(v *VMA) *MemPolicy { return v.policy.WithHomeNode(node) })
	return err
}

// PageNodes is move_pages' status of each page of addrs: 0 (the node) for
// a page present in memory, -ENOENT for one not yet present, -EFAULT where
// nothing is mapped. Presence is the host's mincore of the page, which
// also counts a file page in the page cache that the process has not
// faulted in, and the shared zero page of an anonymous page only read
// (which Linux answers -EFAULT). The host is asked about a run of pages
// at once (residencyWindow): the next addresses are usually near.
func (m *MemoryManager) PageNodes(addrs []uintptr) []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	status := make([]int32, len(addrs))
	var w residencyWindow
	for i, a := range addrs {
		switch v := m.shownAt(a); {
		case v == nil:
			status[i] = -int32(unix.EFAULT)
		case !w.present(m, v, a):
			status[i] = -int32(unix.ENOENT)
		}
	}
	return status
}

// residencyWindow is the host's residency of a run of pages of one
// mapping, from start.
type residencyWindow struct {
	start uintptr
	vec   [64]byte
	n     int // pages of vec that are known
}

// present reports whether the page of v at addr is resident, asking the
// host about it and the pages after it in v unless w knows; m.mu is held.
func (w *residencyWindow) present(m *MemoryManager, v *VMA, addr uintptr) bool {
	page := addr &^ (pageSize - 1)
	if page < w.start || page >= w.start+uintptr(w.n)*pageSize {
		w.start, w.n = page, int((min(v.End, page+uintptr(len(w.vec))*pageSize)-page)/pageSize)
		if err := m.as.Resident(page, w.vec[:w.n]); err != nil {
			w.n = 0
			return false
		}
	}
	return w.vec[(page-w.start)/pageSize]&1 != 0
}
