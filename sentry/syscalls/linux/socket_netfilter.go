package linux

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/socket/inet"
)

// The iptables socket options (IPT_SO_*) of AF_INET sockets: Linux's
// ip_setsockopt and ip_getsockopt hand the options they do not know to
// netfilter (nf_setsockopt), whose ip_tables registers this range, on a
// socket of any type. Their values are tables of any size, read and
// written here in application memory; sentry/socket/inet/netfilter.go
// checks and keeps them. Each needs CAP_NET_ADMIN in the user namespace
// that owns the socket's network namespace.

// netfilterSocket returns s if level and name are an iptables option of
// an AF_INET socket, or of an AF_INET6 one that is not raw (whose SOL_IP
// options ipv6_getsockopt hands to UDP's, and so to ip_getsockopt): get
// or set options. A raw AF_INET6 socket's would be ip6tables', which the
// sandbox does not have.
func netfilterSocket(s netSocket, level, name int32, get bool) (*inet.Socket, bool) {
	is, ok := s.(*inet.Socket)
	if !ok || level != unix.SOL_IP {
		return nil, false
	}
	if fam := is.Family(); fam != unix.AF_INET && (fam != unix.AF_INET6 || is.Type() == unix.SOCK_RAW) {
		return nil, false
	}
	last := int32(linux.IPT_SO_SET_MAX)
	if get {
		last = linux.IPT_SO_GET_MAX
	}
	return is, name >= linux.IPT_BASE_CTL && name <= last
}

// netfilterAdmin reports whether t has CAP_NET_ADMIN over s's namespace.
func netfilterAdmin(t *kernel.Task, s *inet.Socket) bool {
	owner, _ := s.Stack().Owner().(*kernel.UserNamespace)
	return t.Creds().HasCapIn(owner, linux.CAP_NET_ADMIN)
}

// netfilterSetsockopt is do_ipt_set_ctl; n is optlen (non-negative).
func netfilterSetsockopt(t *kernel.Task, s *inet.Socket, name int32, addr uintptr, n int32) error {
	if !netfilterAdmin(t, s) {
		return unix.EPERM
	}
	switch name {
	case linux.IPT_SO_SET_REPLACE:
		return iptReplace(t, s.Stack(), addr, n)
	case linux.IPT_SO_SET_ADD_COUNTERS:
		return iptAddCounters(t, s.Stack(), addr, n)
	}
	return unix.EINVAL
}

// iptReplace is IPT_SO_SET_REPLACE: struct ipt_replace and the table
// after it; the old table's counters go to the address it names.
func iptReplace(t *kernel.Task, st *inet.Stack, addr uintptr, n int32) error {
	if n < linux.SizeOfIPTReplace {
		return unix.EINVAL
	}
	var r linux.IPTReplace
	if err := kernel.CopyIn(t, addr, &r); err != nil {
		return err
	}
	if err := inet.CheckIPTablesReplace(&r, int(n)); err != nil {
		return err
	}
	blob := make([]byte, r.Size)
	if err := t.CopyIn(addr+linux.SizeOfIPTReplace, blob); err != nil {
		return err
	}
	old, err := st.IPTablesReplace(&r, blob)
	if err != nil {
		return err
	}
	// The new table is in place: a failed copy of the old counters is
	// not the caller's error (__do_replace only warns).
	if err := kernel.CopyOutSlice(t, uintptr(r.Counters), old); err != nil {
		t.K.Log.Warn("iptables: counters copy to user failed while replacing table", "pid", t.PID())
	}
	return nil
}

// iptAddCounters is IPT_SO_SET_ADD_COUNTERS: struct xt_counters_info and
// one struct xt_counters per entry after it.
func iptAddCounters(t *kernel.Task, st *inet.Stack, addr uintptr, n int32) error {
	if n < abi.SizeOfXTCountersInfo {
		return unix.EINVAL
	}
	var c abi.XTCountersInfo
	if err := kernel.CopyIn(t, addr, &c); err != nil {
		return err
	}
	if err := inet.CheckIPTablesCounters(&c, int(n)); err != nil {
		return err
	}
	counters := make([]linux.XTCounters, c.NumCounters)
	if err := kernel.CopyInSlice(t, addr+abi.SizeOfXTCountersInfo, counters); err != nil {
		return err
	}
	return st.IPTablesAddCounters(c.Name, counters)
}

// netfilterGetsockopt is do_ipt_get_ctl; n is optlen (read from
// lenAddr, non-negative), which it leaves as it is. Its result is the
// syscall's: a revision for IPT_SO_GET_REVISION_*.
func netfilterGetsockopt(t *kernel.Task, s *inet.Socket, name int32, addr, lenAddr uintptr, n int32) (uintptr, error) {
	if !netfilterAdmin(t, s) {
		return 0, unix.EPERM
	}
	var ret int
	var err error
	switch name {
	case linux.IPT_SO_GET_INFO:
		err = iptGetInfo(t, s.Stack(), addr, n)
	case linux.IPT_SO_GET_ENTRIES:
		err = iptGetEntries(t, s.Stack(), addr, n)
	case linux.IPT_SO_GET_REVISION_MATCH, linux.IPT_SO_GET_REVISION_TARGET:
		ret, err = iptGetRevision(t, name == linux.IPT_SO_GET_REVISION_TARGET, addr, n)
	default:
		return 0, unix.EINVAL
	}
	if err != nil {
		return 0, err
	}
	return uintptr(ret), kernel.CopyOut(t, lenAddr, &n)
}

// iptGetInfo is IPT_SO_GET_INFO: the table named in struct ipt_getinfo.
func iptGetInfo(t *kernel.Task, st *inet.Stack, addr uintptr, n int32) error {
	if n != linux.SizeOfIPTGetinfo {
		return unix.EINVAL
	}
	var name linux.TableName
	if err := kernel.CopyIn(t, addr, &name); err != nil {
		return err
	}
	info, err := st.IPTablesInfo(name)
	if err != nil {
		return err
	}
	return kernel.CopyOut(t, addr, &info)
}

// iptGetEntries is IPT_SO_GET_ENTRIES: the table's entries after struct
// ipt_get_entries, whose size must be the table's.
func iptGetEntries(t *kernel.Task, st *inet.Stack, addr uintptr, n int32) error {
	if n < linux.SizeOfIPTGetEntries {
		return unix.EINVAL
	}
	var g linux.IPTGetEntries
	if err := kernel.CopyIn(t, addr, &g); err != nil {
		return err
	}
	if uint64(n) != linux.SizeOfIPTGetEntries+uint64(g.Size) {
		return unix.EINVAL
	}
	b, err := st.IPTablesEntries(g.Name, g.Size)
	if err != nil {
		return err
	}
	return t.CopyOut(addr+linux.SizeOfIPTGetEntries, b)
}

// iptGetRevision is IPT_SO_GET_REVISION_MATCH and _TARGET.
func iptGetRevision(t *kernel.Task, target bool, addr uintptr, n int32) (int, error) {
	if n != linux.SizeOfXTGetRevision {
		return 0, unix.EINVAL
	}
	var r linux.XTGetRevision
	if err := kernel.CopyIn(t, addr, &r); err != nil {
		return 0, err
	}
	return inet.IPTablesRevision(target, r)
}
