package linux

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
)

// NUMA memory policy, answered as Linux answers on a machine with one
// memory node, node 0 (package mm says why): policies are checked, kept
// per thread and per mapping and reported; every page is on node 0, so
// nothing ever moves. Node masks are read and written as Linux's get_nodes
// and copy_nodes_to_user do, quirks included: a mask of maxnode-1 bits,
// bits past MAX_NUMNODES that must be clear, one word written back.

func registerMempolicy(st *kernel.SyscallTable) {
	reg(st, unix.SYS_SET_MEMPOLICY, "set_mempolicy", setMempolicy, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_GET_MEMPOLICY, "get_mempolicy", getMempolicy, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_MBIND, "mbind", mbind, "a mapping of shared memory has a policy of its own, not the object's", kernel.ArgHex, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_SET_MEMPOLICY_HOME_NODE, "set_mempolicy_home_node", setMempolicyHomeNode, kernel.ArgHex, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_MIGRATE_PAGES, "migrate_pages", migratePages, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_MOVE_PAGES, "move_pages", movePages, "presence is the host's mincore: a read-only zero page shows on node 0", kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
}

// nrNodeIDs is the number of possible nodes (nr_node_ids): one.
const nrNodeIDs = 1

// copyInNodes is get_nodes: the mask of maxnode-1 bits at addr, empty if
// addr is 0 or maxnode 1 or less; EINVAL past a page of bits or for a node
// at or past MaxNumNodes, checked a whole word at a time from the end.
func copyInNodes(t *kernel.Task, addr uintptr, maxnode uint64) (mm.NodeMask, error) {
	var nodes mm.NodeMask
	maxnode--
	if maxnode == 0 || addr == 0 {
		return nodes, nil
	}
	if maxnode > abi.PageSize*8 {
		return nodes, unix.EINVAL
	}
	for maxnode > mm.MaxNumNodes {
		var w uint64
		if err := kernel.CopyIn(t, addr+uintptr((maxnode-1)/64*8), &w); err != nil {
			return nodes, err
		}
		if w != 0 {
			return nodes, unix.EINVAL
		}
		maxnode = max(maxnode-64, mm.MaxNumNodes)
	}
	words := nodes[:(maxnode+63)/64]
	if err := kernel.CopyInSlice(t, addr, words); err != nil {
		return nodes, err
	}
	if maxnode%64 != 0 {
		words[len(words)-1] &= 1<<(maxnode%64) - 1
	}
	return nodes, nil
}

// copyOutNodes is copy_nodes_to_user: maxnode-1 bits rounded up to words,
// of which the first (the possible nodes') is nodes' and the rest zeros;
// EINVAL past a page.
func copyOutNodes(t *kernel.Task, addr uintptr, maxnode uint64, nodes *mm.NodeMask) error {
	n := ((maxnode - 1 + 63) &^ 63) / 8
	const have = nrNodeIDs * 8
	if n > have {
		if n > abi.PageSize {
			return unix.EINVAL
		}
		if err := t.CopyOut(addr+have, make([]byte, n-have)); err != nil {
			return err
		}
		n = have
	}
	return kernel.CopyOutSlice(t, addr, nodes[:n/8])
}

// mempolicyMode is sanitize_mpol_flags: mode's mode and its mode flags;
// EINVAL for an unknown mode, both node flags, or MPOL_F_NUMA_BALANCING
// with a mode other than MPOL_BIND and MPOL_PREFERRED_MANY.
func mempolicyMode(arg int32) (int, int, error) {
	flags := int(arg) & unix.MPOL_MODE_FLAGS
	mode := int(arg) &^ unix.MPOL_MODE_FLAGS
	switch {
	case uint32(mode) >= unix.MPOL_MAX,
		flags&unix.MPOL_F_STATIC_NODES != 0 && flags&unix.MPOL_F_RELATIVE_NODES != 0,
		flags&unix.MPOL_F_NUMA_BALANCING != 0 && mode != unix.MPOL_BIND && mode != unix.MPOL_PREFERRED_MANY:
		return 0, 0, unix.EINVAL
	}
	return mode, flags, nil
}

// newMemPolicy reads mode and its node mask into a policy (nil for
// MPOL_DEFAULT).
func newMemPolicy(t *kernel.Task, arg int32, addr uintptr, maxnode uint64) (*mm.MemPolicy, error) {
	mode, flags, err := mempolicyMode(arg)
	if err != nil {
		return nil, err
	}
	nodes, err := copyInNodes(t, addr, maxnode)
	if err != nil {
		return nil, err
	}
	return mm.NewMemPolicy(mode, flags, &nodes)
}

func setMempolicy(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	p, err := newMemPolicy(t, a.Int(0), a.Pointer(1), uint64(a[2]))
	if err != nil {
		return 0, err
	}
	t.SetMemPolicy(p)
	return 0, nil
}

func getMempolicy(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	modeAddr, maskAddr, maxnode := a.Pointer(0), a.Pointer(1), uint64(a[2])
	if maskAddr != 0 && maxnode < nrNodeIDs {
		return 0, unix.EINVAL
	}
	mode, nodes, err := mempolicyOf(t, a.Pointer(3), uint64(a[4]))
	if err != nil {
		return 0, err
	}
	if modeAddr != 0 {
		if err := kernel.CopyOut(t, modeAddr, &mode); err != nil {
			return 0, err
		}
	}
	if maskAddr != 0 {
		return 0, copyOutNodes(t, maskAddr, maxnode, &nodes)
	}
	return 0, nil
}

// mempolicyOf is do_get_mempolicy: the mode (or a node) and the nodes
// get_mempolicy reports for addr and flags.
func mempolicyOf(t *kernel.Task, addr uintptr, flags uint64) (int32, mm.NodeMask, error) {
	if flags&^(unix.MPOL_F_NODE|unix.MPOL_F_ADDR|unix.MPOL_F_MEMS_ALLOWED) != 0 {
		return 0, mm.NodeMask{}, unix.EINVAL
	}
	if flags&unix.MPOL_F_MEMS_ALLOWED != 0 {
		if flags&(unix.MPOL_F_NODE|unix.MPOL_F_ADDR) != 0 {
			return 0, mm.NodeMask{}, unix.EINVAL
		}
		return 0, mm.MemsAllowed(), nil
	}
	p := t.MemPolicy()
	if flags&unix.MPOL_F_ADDR != 0 {
		var err error
		if p, err = t.MM().Policy(addr); err != nil {
			return 0, mm.NodeMask{}, err
		}
	} else if addr != 0 {
		return 0, mm.NodeMask{}, unix.EINVAL
	}
	mode, nodes := p.Report()
	if flags&unix.MPOL_F_NODE != 0 {
		switch {
		case flags&unix.MPOL_F_ADDR != 0:
			// The node of the page at addr, faulted in for reading
			// (lookup_node).
			var b byte
			if err := kernel.CopyIn(t, addr, &b); err != nil {
				return 0, mm.NodeMask{}, err
			}
		case p == nil || p.Mode != unix.MPOL_INTERLEAVE && p.Mode != unix.MPOL_WEIGHTED_INTERLEAVE:
			return 0, mm.NodeMask{}, unix.EINVAL
		}
		mode = 0 // the page's node, or the next one to interleave on
	}
	return int32(mode), nodes, nil
}

func mbind(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	mode, flags, err := mempolicyMode(a.Int(2))
	if err != nil {
		return 0, err
	}
	nodes, err := copyInNodes(t, a.Pointer(3), uint64(a[4]))
	if err != nil {
		return 0, err
	}
	if mf := a.Uint(5); mf&^unix.MPOL_MF_VALID != 0 {
		return 0, unix.EINVAL
	} else if mf&unix.MPOL_MF_MOVE_ALL != 0 && !t.HasCapability(linux.CAP_SYS_NICE) {
		return 0, unix.EPERM
	}
	start, end, err := policyRange(a.Pointer(0), a.Pointer(1))
	if err != nil || end == start {
		return 0, err
	}
	p, err := mm.NewMemPolicy(mode, flags, &nodes)
	if err != nil {
		return 0, err
	}
	return 0, t.MM().Mbind(start, end, p)
}

// policyRange is [start, start+length) rounded up to whole pages: EINVAL
// for an unaligned start or a range that wraps (a length that rounds up
// to 0 is an empty range).
func policyRange(start, length uintptr) (uintptr, uintptr, error) {
	end := start + ((length + abi.PageSize - 1) &^ (abi.PageSize - 1))
	if start%abi.PageSize != 0 || end < start {
		return 0, 0, unix.EINVAL
	}
	return start, end, nil
}

func setMempolicyHomeNode(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(0)%abi.PageSize != 0 || a[3] != 0 || a[2] != 0 { // node 0 is the one online
		return 0, unix.EINVAL
	}
	start, end, err := policyRange(a.Pointer(0), a.Pointer(1))
	if err != nil || end == start {
		return 0, err
	}
	return 0, t.MM().SetHomeNode(start, end, 0)
}

func migratePages(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if _, err := copyInNodes(t, a.Pointer(2), uint64(a[1])); err != nil {
		return 0, err
	}
	to, err := copyInNodes(t, a.Pointer(3), uint64(a[1]))
	if err != nil {
		return 0, err
	}
	target, err := pidTask(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	if !t.MayInspect(target) {
		return 0, unix.EPERM
	}
	// Nodes the target may not use need CAP_SYS_NICE; none the caller
	// may use is EINVAL.
	allowed := mm.MemsAllowed()
	usable := mm.NodeMask{to[0] & allowed[0]}
	if to != usable && !t.HasCapability(linux.CAP_SYS_NICE) {
		return 0, unix.EPERM
	}
	if usable.Empty() || target.MM() == nil {
		return 0, unix.EINVAL
	}
	return 0, nil // every page is on node 0 already
}

func movePages(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := a.Int(5)
	if flags&^(unix.MPOL_MF_MOVE|unix.MPOL_MF_MOVE_ALL) != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.MPOL_MF_MOVE_ALL != 0 && !t.HasCapability(linux.CAP_SYS_NICE) {
		return 0, unix.EPERM
	}
	target, err := pidTask(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	if !t.MayAttach(target) {
		return 0, unix.EPERM
	}
	m := target.MM()
	if m == nil {
		return 0, unix.EINVAL
	}
	n, pages, status := uint64(a[1]), a.Pointer(2), a.Pointer(4)
	if nodes := a.Pointer(3); nodes != 0 {
		return 0, movePagesTo(t, m, n, pages, nodes, status)
	}
	return 0, pagesStat(t, m, n, pages, status)
}

// pagesStatChunk is how many pages do_pages_stat reads and answers at
// once; pagesBatch how many the sentry asks mm about at once, whose
// questions to the host cover runs of pages.
const (
	pagesStatChunk = 16
	pagesBatch     = 64 * pagesStatChunk
)

// pagesStat is do_pages_stat: each page's node or error in status, read
// and written 16 at a time; EFAULT at the first chunk of pages that cannot
// be read (after the statuses before it are written) or of statuses that
// cannot be written.
func pagesStat(t *kernel.Task, m *mm.MemoryManager, n uint64, pages, status uintptr) error {
	addrs := make([]uintptr, min(n, pagesBatch))
	for n > 0 {
		if dying(t) {
			return unix.EINTR
		}
		want := int(min(n, uint64(len(addrs))))
		got, readErr := 0, error(nil)
		for got < want && readErr == nil {
			c := min(pagesStatChunk, want-got)
			if readErr = kernel.CopyInSlice(t, pages+uintptr(got)*8, addrs[got:got+c]); readErr == nil {
				got += c
			}
		}
		st := m.PageNodes(addrs[:got])
		for off := 0; off < got; off += pagesStatChunk {
			if err := kernel.CopyOutSlice(t, status+uintptr(off)*4, st[off:min(off+pagesStatChunk, got)]); err != nil {
				return err
			}
		}
		if readErr != nil {
			return readErr
		}
		pages += uintptr(got) * 8
		status += uintptr(got) * 4
		n -= uint64(got)
	}
	return nil
}

// movePagesTo is do_pages_move: page by page, its address and target node
// (ENODEV for one that is not online), then its status, the node it is on
// (0) or an error: all are on the target already. Pages are read ahead in
// batches up to the first error, which ends the call once the statuses
// before it are written.
func movePagesTo(t *kernel.Task, m *mm.MemoryManager, n uint64, pages, nodes, status uintptr) error {
	addrs := make([]uintptr, 0, min(n, pagesBatch))
	for i := uintptr(0); uint64(i) < n; i += uintptr(len(addrs)) {
		if dying(t) {
			return unix.EINTR
		}
		addrs = addrs[:0]
		var stop error
		for j := i; uint64(j) < n && len(addrs) < cap(addrs); j++ {
			var addr uintptr
			var node int32
			if stop = kernel.CopyIn(t, pages+j*8, &addr); stop != nil {
				break
			}
			if stop = kernel.CopyIn(t, nodes+j*4, &node); stop != nil {
				break
			}
			if node != 0 {
				stop = unix.ENODEV
				break
			}
			addrs = append(addrs, addr)
		}
		if err := kernel.CopyOutSlice(t, status+i*4, m.PageNodes(addrs)); err != nil {
			return err
		}
		if stop != nil {
			return stop
		}
	}
	return nil
}

// dying reports whether t must stop (its process is going away): a walk
// of many pages, each a question to the host, ends early then.
func dying(t *kernel.Task) bool {
	select {
	case <-t.Killed():
		return true
	default:
		return false
	}
}
