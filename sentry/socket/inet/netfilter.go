package inet

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"runsc-lite/abi"
)

// Netfilter: the iptables socket options of AF_INET sockets
// (IPT_SO_GET_INFO, IPT_SO_GET_ENTRIES, IPT_SO_GET_REVISION_MATCH and
// _TARGET, IPT_SO_SET_REPLACE, IPT_SO_SET_ADD_COUNTERS), which
// iptables-legacy and LTP speak, as Linux's net/ipv4/netfilter/
// ip_tables.c and x_tables.c serve them.
//
// Decision: the rules are enforced by netstack's own stack.IPTables, the
// packet filter of the namespace's stack, and never leave the sandbox (no
// host iptables is touched: a sandbox's rule set filters the sandbox's
// own traffic). netstack keeps parsed rules only, so this file keeps each
// table as the application set it (iptTable: the entries with their
// offsets, hooks and counters) to answer GET_INFO and GET_ENTRIES byte for
// byte as Linux does, and hands netstack a translation of it. The checks
// of a new table are Linux's translate_table, in its order and with its
// errnos (EINVAL for a malformed table, ELOOP for a loop or a jump into
// the middle of an entry, ENOENT for an unknown table, match or target,
// EPROTONOSUPPORT for an unknown revision, EAGAIN for a stale counter
// count), so that no table netstack would trip on (a jump off an entry, a
// policy that is not ACCEPT or DROP, REJECT outside filter's hooks) gets
// through. The extensions are those netstack can enforce: the ipt_ip part
// of an entry (addresses, interfaces with masks, protocol, fragments and
// every inversion), the "tcp", "udp", "state" and "comment" matches, the standard
// target (ACCEPT, DROP, RETURN, jumps), ERROR and REJECT; others are
// ENOENT, so iptables says the extension is missing instead of a rule
// silently doing nothing. Every table of a namespace (filter, nat,
// mangle, raw) exists from the start, as Linux instantiates a netns's
// tables on first use; their contents start as Linux's: one ACCEPT policy
// per hook and the ERROR entry. Counters count packets and bytes per
// rule, counted when the rule's target runs (all its matches matched),
// where Linux counts them too.
//
// Gaps, each a difference from Linux a program could see: IPT_F_GOTO (-g)
// jumps as -j does (netstack returns to the calling chain); NF_QUEUE
// drops (there is no queue reader); the byte counts are of the IPv4
// packet as netstack sees it; "state" sees every packet on lo as INVALID
// (netstack's POSTROUTING drops a packet's connection tracking entry
// once it is sent, and lo's packets skip PREROUTING, where netstack
// tracks the others; Linux keeps the entry on the looped skb); the
// "conntrack" match is not there, so iptables' -m state falls back to
// "state" and warns about it when it re-reads a table with one. The 32-bit
// compat layout is not served (the sandbox runs 64-bit programs only).

// unsetHook is a hook entry or underflow that no entry holds (Linux's
// 0xFFFFFFFF).
const unsetHook = ^uint32(0)

// xtAlign is XT_ALIGN's alignment on x86-64 (__alignof__(struct _xt_align)).
const xtAlign = 8

// Flags of ipt_ip (include/uapi/linux/netfilter_ipv4/ip_tables.h).
const (
	iptFFrag = 0x01 // match second and later fragments only
	iptFGoto = 0x02 // the standard target's jump is a goto
	iptFMask = 0x03
)

// maxTableSize bounds IPT_SO_SET_REPLACE's table (ENOMEM past it, as
// xt_alloc_table_info past the memory it may take); the sentry's memory
// holds it.
const maxTableSize = 16 << 20

// xtStandardTarget and xtErrorTarget are the names of the standard target
// (verdicts and jumps) and of the ERROR target (XT_STANDARD_TARGET,
// XT_ERROR_TARGET).
const (
	xtStandardTarget = ""
	xtErrorTarget    = "ERROR"
)

// tableKind is one table of Linux's iptables.
type tableKind struct {
	name  string
	id    stack.TableID
	hooks uint32 // valid_hooks
}

const (
	hookPre  = 1 << linux.NF_INET_PRE_ROUTING
	hookIn   = 1 << linux.NF_INET_LOCAL_IN
	hookFwd  = 1 << linux.NF_INET_FORWARD
	hookOut  = 1 << linux.NF_INET_LOCAL_OUT
	hookPost = 1 << linux.NF_INET_POST_ROUTING
)

// tableKinds are the IPv4 tables, with Linux's valid hooks.
var tableKinds = []tableKind{
	{"filter", stack.FilterID, hookIn | hookFwd | hookOut},
	{"nat", stack.NATID, hookPre | hookIn | hookOut | hookPost},
	{"mangle", stack.MangleID, hookPre | hookIn | hookFwd | hookOut | hookPost},
	{"raw", stack.RawID, hookPre | hookOut},
}

func findTableKind(name string) *tableKind {
	for i := range tableKinds {
		if tableKinds[i].name == name {
			return &tableKinds[i]
		}
	}
	return nil
}

// xtExt is a match or target of an entry as the table stores it.
type xtExt struct {
	name string
	rev  uint8
	size uint16 // u.match_size or u.target_size, its header included
	// data is the payload as Linux keeps it for userspace: the
	// extension's own bytes, zero up to size.
	data []byte
}

// ruleCounter counts the packets and bytes of one entry.
type ruleCounter struct {
	pcnt, bcnt atomic.Uint64
}

func (c *ruleCounter) load() linux.XTCounters {
	return linux.XTCounters{Pcnt: c.pcnt.Load(), Bcnt: c.bcnt.Load()}
}

// iptEntry is one entry (rule) of a table.
type iptEntry struct {
	off     uint32         // its offset in the table
	hdr     linux.IPTEntry // as given, Comeback (comefrom) as computed, Counters unused
	matches []xtExt
	target  xtExt
	verdict int32 // the standard target's verdict
	counter *ruleCounter
}

// standard reports whether the entry's target is the standard one.
func (e *iptEntry) standard() bool { return e.target.name == xtStandardTarget }

// unconditional reports whether the entry matches every packet (no
// matches, a zero ipt_ip), as Linux's unconditional().
func (e *iptEntry) unconditional() bool {
	return e.hdr.TargetOffset == linux.SizeOfIPTEntry && e.hdr.IP == linux.IPTIP{}
}

// iptTable is a table of a namespace as the application set it.
type iptTable struct {
	kind      *tableKind
	hookEntry [linux.NF_INET_NUMHOOKS]uint32
	underflow [linux.NF_INET_NUMHOOKS]uint32
	size      uint32
	entries   []*iptEntry
}

// iptables are a stack's tables.
type iptables struct {
	mu     sync.Mutex           // guards tables, made and the netstack tables' replacement
	tables map[string]*iptTable // by name, made on first use
	made   []string             // the tables' names in the order they were made
}

// procNames is /proc/net/ip_tables_names: the tables made so far, the
// last made first (Linux adds each at the head of the netns's list).
func (ipt *iptables) procNames() string {
	ipt.mu.Lock()
	defer ipt.mu.Unlock()
	var b strings.Builder
	for i := len(ipt.made) - 1; i >= 0; i-- {
		b.WriteString(ipt.made[i] + "\n")
	}
	return b.String()
}

// table returns the namespace's table of kind k, made with Linux's
// initial contents on first use. Preconditions: ipt.mu is held.
func (ipt *iptables) table(k *tableKind) *iptTable {
	if t := ipt.tables[k.name]; t != nil {
		return t
	}
	t, err := initialTable(k)
	if err != nil {
		// The initial table is ours: it always translates.
		panic(fmt.Sprintf("netfilter: initial %s table: %v", k.name, err))
	}
	if ipt.tables == nil {
		ipt.tables = make(map[string]*iptTable)
	}
	ipt.tables[k.name] = t
	ipt.made = append(ipt.made, k.name)
	return t
}

// initialTable is a table as Linux makes it (ipt_alloc_initial_table):
// one unconditional ACCEPT policy per valid hook, then the ERROR entry.
func initialTable(k *tableKind) (*iptTable, error) {
	r := linux.IPTReplace{ValidHooks: k.hooks}
	copy(r.Name[:], k.name)
	var blob []byte
	for h := range linux.NF_INET_NUMHOOKS {
		if k.hooks&(1<<h) == 0 {
			continue
		}
		r.HookEntry[h], r.Underflow[h] = uint32(len(blob)), uint32(len(blob))
		blob = append(blob, abi.Encode(linux.IPTEntry{
			TargetOffset: linux.SizeOfIPTEntry,
			NextOffset:   linux.SizeOfIPTEntry + linux.SizeOfXTStandardTarget,
		})...)
		blob = append(blob, abi.Encode(linux.XTStandardTarget{
			Target:  linux.XTEntryTarget{TargetSize: linux.SizeOfXTStandardTarget},
			Verdict: -linux.NF_ACCEPT - 1,
		})...)
		r.NumEntries++
	}
	blob = append(blob, abi.Encode(linux.IPTEntry{
		TargetOffset: linux.SizeOfIPTEntry,
		NextOffset:   linux.SizeOfIPTEntry + linux.SizeOfXTErrorTarget,
	})...)
	et := linux.XTErrorTarget{Target: linux.XTEntryTarget{TargetSize: linux.SizeOfXTErrorTarget}}
	copy(et.Target.Name[:], xtErrorTarget)
	copy(et.Name[:], xtErrorTarget)
	blob = append(blob, abi.Encode(et)...)
	r.NumEntries++
	r.Size = uint32(len(blob))
	return translate(&r, blob)
}

// cstring is a fixed-size name up to its NUL; ok is false if it has none.
func cstring(b []byte) (s string, ok bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return string(b), false
	}
	return string(b[:i]), true
}

func align(n uint32) uint32 { return (n + xtAlign - 1) &^ (xtAlign - 1) }

// IPTablesInfo answers IPT_SO_GET_INFO for the table named name
// (ENOENT for a table Linux does not have).
func (st *Stack) IPTablesInfo(name linux.TableName) (linux.IPTGetinfo, error) {
	n, _ := cstring(name[:len(name)-1])
	k := findTableKind(n)
	if k == nil {
		return linux.IPTGetinfo{}, sys.ENOENT
	}
	st.ipt.mu.Lock()
	defer st.ipt.mu.Unlock()
	t := st.ipt.table(k)
	info := linux.IPTGetinfo{
		ValidHooks: k.hooks,
		HookEntry:  t.hookEntry,
		Underflow:  t.underflow,
		NumEntries: uint32(len(t.entries)),
		Size:       t.size,
	}
	copy(info.Name[:], n)
	return info, nil
}

// IPTablesEntries answers IPT_SO_GET_ENTRIES: the entries of the table
// named name, with their counters, if the caller's size is the table's
// (EAGAIN if not: the table changed since its GET_INFO).
func (st *Stack) IPTablesEntries(name linux.TableName, size uint32) ([]byte, error) {
	n, _ := cstring(name[:len(name)-1])
	k := findTableKind(n)
	if k == nil {
		return nil, sys.ENOENT
	}
	st.ipt.mu.Lock()
	defer st.ipt.mu.Unlock()
	t := st.ipt.table(k)
	if size != t.size {
		return nil, sys.EAGAIN
	}
	b := make([]byte, 0, t.size)
	for _, e := range t.entries {
		b = e.encode(b)
	}
	return b, nil
}

// encode appends the entry as copy_entries_to_user lays it out.
func (e *iptEntry) encode(b []byte) []byte {
	h := e.hdr
	h.Counters = e.counter.load()
	b = append(b, abi.Encode(h)...)
	for _, m := range e.matches {
		mh := linux.XTEntryMatch{MatchSize: m.size, Revision: m.rev}
		copy(mh.Name[:], m.name)
		b = append(b, abi.Encode(mh)...)
		b = append(b, m.data...)
	}
	th := linux.XTEntryTarget{TargetSize: e.target.size, Revision: e.target.rev}
	copy(th.Name[:], e.target.name)
	b = append(b, abi.Encode(th)...)
	return append(b, e.target.data...)
}

// CheckIPTablesReplace makes IPT_SO_SET_REPLACE's checks of its header
// r against the option's length optlen, before the table is read: ENOMEM
// for a counter count or size past the limits, EINVAL for no counters or
// an option shorter than the table.
func CheckIPTablesReplace(r *linux.IPTReplace, optlen int) error {
	if uint64(r.NumCounters) >= (1<<31-1)/linux.SizeOfXTCounters {
		return sys.ENOMEM
	}
	if r.NumCounters == 0 {
		return sys.EINVAL
	}
	if uint64(optlen) < uint64(r.Size)+linux.SizeOfIPTReplace {
		return sys.EINVAL
	}
	if r.Size >= maxTableSize {
		return sys.ENOMEM
	}
	return nil
}

// IPTablesReplace answers IPT_SO_SET_REPLACE: the table r names becomes
// the entries in blob (r.Size bytes), in the stack's record and in
// netstack. It returns the old table's counters, for r.Counters.
func (st *Stack) IPTablesReplace(r *linux.IPTReplace, blob []byte) ([]linux.XTCounters, error) {
	r.Name[len(r.Name)-1] = 0
	t, err := translate(r, blob)
	if err != nil {
		return nil, err
	}
	n, _ := cstring(r.Name[:])
	k := findTableKind(n)
	if k == nil {
		return nil, sys.ENOENT
	}
	if r.ValidHooks != k.hooks {
		return nil, sys.EINVAL
	}
	t.kind = k
	s, err := st.netstack()
	if err != nil {
		return nil, err
	}
	nt, err := t.netstackTable(s)
	if err != nil {
		return nil, err
	}
	st.ipt.mu.Lock()
	defer st.ipt.mu.Unlock()
	old := st.ipt.table(k)
	if int(r.NumCounters) != len(old.entries) {
		return nil, sys.EAGAIN
	}
	s.IPTables().ForceReplaceTable(k.id, nt, false)
	st.ipt.tables[k.name] = t
	counters := make([]linux.XTCounters, len(old.entries))
	for i, e := range old.entries {
		counters[i] = e.counter.load()
	}
	return counters, nil
}

// CheckIPTablesCounters makes IPT_SO_SET_ADD_COUNTERS's check of its
// header against the option's length (xt_copy_counters).
func CheckIPTablesCounters(c *abi.XTCountersInfo, optlen int) error {
	if uint64(c.NumCounters)*linux.SizeOfXTCounters != uint64(optlen)-abi.SizeOfXTCountersInfo {
		return sys.EINVAL
	}
	return nil
}

// IPTablesAddCounters answers IPT_SO_SET_ADD_COUNTERS: adds counters, one
// per entry, to the table's (EINVAL for a count that is not the table's).
func (st *Stack) IPTablesAddCounters(name linux.TableName, counters []linux.XTCounters) error {
	n, _ := cstring(name[:len(name)-1])
	k := findTableKind(n)
	if k == nil {
		return sys.ENOENT
	}
	st.ipt.mu.Lock()
	defer st.ipt.mu.Unlock()
	t := st.ipt.table(k)
	if len(counters) != len(t.entries) {
		return sys.EINVAL
	}
	for i, e := range t.entries {
		e.counter.pcnt.Add(counters[i].Pcnt)
		e.counter.bcnt.Add(counters[i].Bcnt)
	}
	return nil
}

// IPTablesRevision answers IPT_SO_GET_REVISION_MATCH and _TARGET
// (xt_find_revision): the highest revision of the extension, if the one
// asked for exists (EPROTONOSUPPORT if not, ENOENT for an unknown name).
func IPTablesRevision(target bool, r linux.XTGetRevision) (int, error) {
	n, _ := cstring(r.Name[:len(r.Name)-1])
	best, have := -1, false
	if target {
		for _, k := range targetKinds {
			if k.name == n {
				best, have = max(best, int(k.rev)), have || k.rev == r.Revision
			}
		}
	} else {
		for _, k := range matchKinds {
			if k.name == n {
				best, have = max(best, int(k.rev)), have || k.rev == r.Revision
			}
		}
	}
	if best < 0 {
		return 0, sys.ENOENT
	}
	if !have {
		return 0, sys.EPROTONOSUPPORT
	}
	return best, nil
}

// translate checks a table as Linux's translate_table does and returns
// it; blob are its entries, r.Size bytes.
func translate(r *linux.IPTReplace, blob []byte) (*iptTable, error) {
	t := &iptTable{size: uint32(len(blob))}
	for h := range t.hookEntry {
		t.hookEntry[h], t.underflow[h] = unsetHook, unsetHook
	}
	at := make(map[uint32]int) // entry index by offset
	for off := uint32(0); off < t.size; {
		e, err := checkEntrySizeAndHooks(blob, off, r, t)
		if err != nil {
			return nil, err
		}
		at[off] = len(t.entries)
		t.entries = append(t.entries, e)
		off += uint32(e.hdr.NextOffset)
	}
	if len(t.entries) != int(r.NumEntries) {
		return nil, sys.EINVAL
	}
	if err := t.checkHooks(r.ValidHooks); err != nil {
		return nil, err
	}
	if !t.markSourceChains(r.ValidHooks, at) {
		return nil, sys.ELOOP
	}
	name, _ := cstring(r.Name[:])
	for _, e := range t.entries {
		if err := e.findCheck(name); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// checkEntrySizeAndHooks checks the entry at off of blob: its place and
// size, its ipt_ip flags, the offsets of its matches and target
// (xt_check_entry_offsets), and notes the hooks that start or end at it.
func checkEntrySizeAndHooks(blob []byte, off uint32, r *linux.IPTReplace, t *iptTable) (*iptEntry, error) {
	limit := uint64(len(blob))
	if off%xtAlign != 0 || uint64(off)+linux.SizeOfIPTEntry >= limit {
		return nil, sys.EINVAL
	}
	e := &iptEntry{off: off, counter: &ruleCounter{}}
	abi.Decode(blob[off:], &e.hdr)
	if uint64(off)+uint64(e.hdr.NextOffset) > limit {
		return nil, sys.EINVAL
	}
	if e.hdr.NextOffset < linux.SizeOfIPTEntry+linux.SizeOfXTEntryTarget {
		return nil, sys.EINVAL
	}
	if e.hdr.IP.Flags&^iptFMask != 0 || e.hdr.IP.InverseFlags&^linux.IPT_INV_MASK != 0 {
		return nil, sys.EINVAL
	}
	if err := e.parseOffsets(blob[off : off+uint32(e.hdr.NextOffset)]); err != nil {
		return nil, err
	}
	for h := range linux.NF_INET_NUMHOOKS {
		if r.ValidHooks&(1<<h) == 0 {
			continue
		}
		if off == r.HookEntry[h] {
			t.hookEntry[h] = off
		}
		if off == r.Underflow[h] {
			if !e.validUnderflow() {
				return nil, sys.EINVAL
			}
			t.underflow[h] = off
		}
	}
	e.hdr.Comeback = 0
	e.hdr.Counters = linux.XTCounters{}
	return e, nil
}

// parseOffsets checks the target and matches of entry eb (its bytes, up
// to next_offset) as xt_check_entry_offsets does and takes them apart.
func (e *iptEntry) parseOffsets(eb []byte) error {
	to, next := uint32(e.hdr.TargetOffset), uint32(e.hdr.NextOffset)
	if to < linux.SizeOfIPTEntry || to+linux.SizeOfXTEntryTarget > next {
		return sys.EINVAL
	}
	var th linux.XTEntryTarget
	abi.Decode(eb[to:], &th)
	ts := uint32(th.TargetSize)
	if ts < linux.SizeOfXTEntryTarget || to+ts > next {
		return sys.EINVAL
	}
	name, terminated := cstring(th.Name[:])
	if !terminated {
		name = string(th.Name[:]) + "?" // no extension's name
	}
	switch name {
	case xtStandardTarget:
		if align(to+linux.SizeOfXTStandardTarget) != next {
			return sys.EINVAL
		}
		var std linux.XTStandardTarget
		abi.Decode(eb[to:], &std)
		if !verdictOK(std.Verdict) {
			return sys.EINVAL
		}
		e.verdict = std.Verdict
	case xtErrorTarget:
		var et linux.XTErrorTarget
		abi.Decode(eb[to:], &et)
		if ts != linux.SizeOfXTErrorTarget {
			return sys.EINVAL
		}
		if _, ok := cstring(et.Name[:]); !ok {
			return sys.EINVAL
		}
	}
	e.target = xtExt{name: name, rev: th.Revision, size: th.TargetSize, data: eb[to+linux.SizeOfXTEntryTarget : to+ts]}
	// The matches fill the space between the entry's header and its
	// target exactly.
	for pos := uint32(linux.SizeOfIPTEntry); pos < to; {
		length := to - pos
		if pos%xtAlign != 0 || length < linux.SizeOfXTEntryMatch {
			return sys.EINVAL
		}
		var mh linux.XTEntryMatch
		abi.Decode(eb[pos:], &mh)
		ms := uint32(mh.MatchSize)
		if ms < linux.SizeOfXTEntryMatch || ms > length {
			return sys.EINVAL
		}
		mname, ok := cstring(mh.Name[:])
		if !ok {
			mname = string(mh.Name[:]) + "?"
		}
		e.matches = append(e.matches, xtExt{name: mname, rev: mh.Revision, size: mh.MatchSize, data: eb[pos+linux.SizeOfXTEntryMatch : pos+ms]})
		pos += ms
	}
	return nil
}

// verdictOK reports whether a standard target's verdict is one Linux
// takes: a jump (positive), ACCEPT, DROP, QUEUE or RETURN.
func verdictOK(v int32) bool {
	switch {
	case v > 0:
		return true
	case v == linux.NF_RETURN:
		return true
	case v < 0:
		switch -v - 1 {
		case linux.NF_ACCEPT, linux.NF_DROP, linux.NF_QUEUE:
			return true
		}
	}
	return false
}

// validUnderflow reports whether the entry may end a built-in chain: an
// unconditional ACCEPT or DROP (check_underflow).
func (e *iptEntry) validUnderflow() bool {
	if !e.unconditional() || !e.standard() {
		return false
	}
	v := -e.verdict - 1
	return v == linux.NF_DROP || v == linux.NF_ACCEPT
}

// checkHooks checks that every valid hook has an entry and an underflow,
// in increasing order without duplicates (xt_check_table_hooks).
func (t *iptTable) checkHooks(valid uint32) error {
	var maxEntry, maxUflow uint32
	seen := false
	for h := range linux.NF_INET_NUMHOOKS {
		if valid&(1<<h) == 0 {
			continue
		}
		if t.hookEntry[h] == unsetHook || t.underflow[h] == unsetHook {
			return sys.EINVAL
		}
		if seen && (maxUflow >= t.underflow[h] || maxEntry >= t.hookEntry[h]) {
			return sys.EINVAL
		}
		maxEntry, maxUflow, seen = t.hookEntry[h], t.underflow[h], true
	}
	return nil
}

// markSourceChains walks every chain from its hook as Linux's
// mark_source_chains does, noting in each entry's comefrom the hooks that
// reach it; false for a loop, a jump to no entry's start or a walk off
// the table's end.
func (t *iptTable) markSourceChains(valid uint32, at map[uint32]int) bool {
	const inChain = 1 << linux.NF_INET_NUMHOOKS
	// back is Linux's back pointer (counters.pcnt while walking): the
	// offset of the entry the walk came from.
	back := make([]uint32, len(t.entries))
hooks:
	for hook := range linux.NF_INET_NUMHOOKS {
		if valid&(1<<hook) == 0 {
			continue
		}
		pos := t.hookEntry[hook]
		i := at[pos]
		back[i] = pos
		for {
			e := t.entries[i]
			visited := e.hdr.Comeback&(1<<hook) != 0
			if e.hdr.Comeback&inChain != 0 {
				return false
			}
			e.hdr.Comeback |= 1<<hook | inChain
			if (e.unconditional() && e.standard() && e.verdict < 0) || visited {
				// A return or the end: back along the last jump.
				for {
					e.hdr.Comeback ^= inChain
					oldpos := pos
					pos = back[i]
					back[i] = 0
					if pos == oldpos {
						continue hooks
					}
					i = at[pos]
					e = t.entries[i]
					if oldpos != pos+uint32(e.hdr.NextOffset) {
						break
					}
				}
				size := uint32(e.hdr.NextOffset)
				if pos+size >= t.size {
					return false
				}
				i = at[pos+size]
				back[i] = pos
				pos += size
				continue
			}
			newpos := pos + uint32(e.hdr.NextOffset)
			if e.standard() && e.verdict >= 0 {
				newpos = uint32(e.verdict)
				if _, ok := at[newpos]; !ok {
					return false
				}
			} else if newpos >= t.size {
				return false
			}
			i = at[newpos]
			back[i] = pos
			pos = newpos
		}
	}
	return true
}

// findCheck finds the entry's matches and target among the extensions
// and checks each against the entry (find_check_entry).
func (e *iptEntry) findCheck(table string) error {
	for i := range e.matches {
		m := &e.matches[i]
		k, err := findMatch(m.name, m.rev)
		if err != nil {
			return err
		}
		if err := k.check(m, e, table); err != nil {
			return err
		}
		m.normalize(k.size)
	}
	k, err := findTarget(e.target.name, e.target.rev)
	if err != nil {
		return err
	}
	if err := k.check(&e.target, e, table); err != nil {
		return err
	}
	e.target.normalize(k.size)
	return nil
}

// normalize keeps the extension's own size of its payload and zeroes the
// rest, as Linux copies it back (xt_data_to_user).
func (x *xtExt) normalize(size int) {
	d := make([]byte, len(x.data))
	copy(d, x.data[:min(size, len(x.data))])
	x.data = d
}

// extKind is a match or target the tables may use.
type extKind struct {
	name  string
	rev   uint8
	size  int    // its payload's size (matchsize, targetsize)
	proto uint16 // the protocol its entries must match (not inverted), if any
	table string // the only table it may be in, if any
	hooks uint32 // the hooks it may be reached from, if limited
	// unspec marks an extension of every family (NFPROTO_UNSPEC): a
	// table asking for a revision it lacks is EPROTONOSUPPORT, where one
	// of IPv4's own is ENOENT (xt_find_match searches the family's list,
	// then UNSPEC's, whose answer it returns).
	unspec bool
	// checkData checks the payload (checkentry), if needed.
	checkData func(data []byte, e *iptEntry) error
}

// check is xt_check_match and xt_check_target.
func (k *extKind) check(x *xtExt, e *iptEntry, table string) error {
	if align(uint32(k.size)) != uint32(len(x.data)) {
		return sys.EINVAL
	}
	if k.table != "" && k.table != table {
		return sys.EINVAL
	}
	if k.hooks != 0 && e.hdr.Comeback&^k.hooks != 0 {
		return sys.EINVAL
	}
	if k.proto != 0 && (e.hdr.IP.Protocol != k.proto || e.hdr.IP.InverseFlags&linux.IPT_INV_PROTO != 0) {
		return sys.EINVAL
	}
	if k.checkData != nil {
		return k.checkData(x.data, e)
	}
	return nil
}

func findExt(kinds []extKind, name string, rev uint8) (*extKind, error) {
	if len(name) >= linux.XT_EXTENSION_MAXNAMELEN {
		return nil, sys.EINVAL // not NUL-terminated
	}
	found := false
	errRevision := sys.ENOENT
	for i := range kinds {
		if kinds[i].name == name {
			if kinds[i].rev == rev {
				return &kinds[i], nil
			}
			found = true
			if kinds[i].unspec {
				errRevision = sys.EPROTOTYPE
			}
		}
	}
	if found {
		return nil, errRevision
	}
	return nil, sys.ENOENT
}

func findMatch(name string, rev uint8) (*extKind, error) { return findExt(matchKinds, name, rev) }

func findTarget(name string, rev uint8) (*extKind, error) { return findExt(targetKinds, name, rev) }

// netstackTable translates the table for netstack: one rule per entry,
// its ipt_ip and matches as netstack matchers, its target counting.
func (t *iptTable) netstackTable(s *stack.Stack) (stack.Table, error) {
	at := make(map[uint32]int, len(t.entries))
	for i, e := range t.entries {
		at[e.off] = i
	}
	nt := stack.Table{Rules: make([]stack.Rule, len(t.entries))}
	for h := range linux.NF_INET_NUMHOOKS {
		nt.BuiltinChains[h], nt.Underflows[h] = stack.HookUnset, stack.HookUnset
		if t.kind.hooks&(1<<h) != 0 {
			nt.BuiltinChains[h], nt.Underflows[h] = at[t.hookEntry[h]], at[t.underflow[h]]
		}
	}
	for i, e := range t.entries {
		rule := stack.Rule{Filter: stack.EmptyFilter4()}
		if e.hdr.IP != (linux.IPTIP{}) {
			rule.Matchers = append(rule.Matchers, &ipMatcher{ip: e.hdr.IP})
		}
		for _, m := range e.matches {
			rule.Matchers = append(rule.Matchers, newMatcher(m))
		}
		target, err := e.netstackTarget(s, at)
		if err != nil {
			return stack.Table{}, err
		}
		rule.Target = &countingTarget{Target: target, c: e.counter}
		nt.Rules[i] = rule
	}
	return nt, nil
}

// netstackTarget is the entry's target for netstack.
func (e *iptEntry) netstackTarget(s *stack.Stack, at map[uint32]int) (stack.Target, error) {
	switch e.target.name {
	case xtStandardTarget:
		switch {
		case e.verdict >= 0:
			// A goto (IPT_F_GOTO) jumps as -j does: see the gaps above.
			return &jumpTarget{to: at[uint32(e.verdict)]}, nil
		case e.verdict == linux.NF_RETURN:
			return &stack.ReturnTarget{NetworkProtocol: header.IPv4ProtocolNumber}, nil
		case -e.verdict-1 == linux.NF_ACCEPT:
			return &stack.AcceptTarget{NetworkProtocol: header.IPv4ProtocolNumber}, nil
		default: // DROP, and QUEUE with no queue reader
			return &stack.DropTarget{NetworkProtocol: header.IPv4ProtocolNumber}, nil
		}
	case xtErrorTarget:
		return &stack.ErrorTarget{NetworkProtocol: header.IPv4ProtocolNumber}, nil
	case "REJECT":
		return newRejectTarget(s, e.target.data)
	}
	return nil, fmt.Errorf("netfilter: target %q has no netstack translation", e.target.name)
}

// jumpTarget continues at another rule of the table (a user chain).
type jumpTarget struct{ to int }

// Action implements stack.Target.
func (j *jumpTarget) Action(*stack.PacketBuffer, stack.Hook, *stack.Route, stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	return stack.RuleJump, j.to
}

// countingTarget counts the packets and bytes that reach a rule's target.
type countingTarget struct {
	stack.Target
	c *ruleCounter
}

// Action implements stack.Target.
func (c *countingTarget) Action(pkt *stack.PacketBuffer, hook stack.Hook, r *stack.Route, ep stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	c.c.pcnt.Add(1)
	c.c.bcnt.Add(uint64(pkt.Size() - len(pkt.LinkHeader().Slice())))
	return c.Target.Action(pkt, hook, r, ep)
}
