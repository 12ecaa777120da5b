package kernel

import (
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// userOf returns credentials of uid in the initial namespace, root's
// capabilities dropped for a uid other than 0.
func userOf(uid uint32) Credentials {
	c := Credentials{UID: IDs{uid, uid, uid, uid}, GID: IDs{uid, uid, uid, uid}}
	if uid != 0 {
		c.Caps.droppedEffective, c.Caps.droppedPermitted = AllCaps, AllCaps
	}
	return c
}

func TestParseIDMap(t *testing.T) {
	for _, tc := range []struct {
		text string
		want error
		n    int
	}{
		{"0 1000 1\n", nil, 1},
		{"0 1000 1", nil, 1},
		{"  0   1000   10\n10 2000 5\n", nil, 2},
		{"0 0 4294967295", nil, 1},
		{"", unix.EINVAL, 0},
		{"0 1000", unix.EINVAL, 0},
		{"0 1000 0", unix.EINVAL, 0},
		{"0 1000 1 2", unix.EINVAL, 0},
		{"x 1000 1", unix.EINVAL, 0},
		{"4294967295 1000 1", unix.EINVAL, 0},
		{"0 1000 5\n4 2000 1", unix.EINVAL, 0},  // inside overlaps
		{"0 1000 5\n10 1004 1", unix.EINVAL, 0}, // outside overlaps
	} {
		m, err := parseIDMap(tc.text)
		if err != tc.want || len(m) != tc.n {
			t.Errorf("parseIDMap(%q) = %v, %v; want %d extents, %v", tc.text, m, err, tc.n, tc.want)
		}
	}
}

// TestCapInNamespace: a process holds its capabilities in its own user
// namespace and what it owns below, never in its parent's; HasCap (the
// initial namespace) fails for every process of a child namespace.
func TestCapInNamespace(t *testing.T) {
	user := userOf(1000)
	inside := user
	if err := inside.NewUserNS(); err != nil {
		t.Fatal(err)
	}
	ns := inside.UserNS
	if !inside.HasCapIn(ns, linux.CAP_SYS_ADMIN) || inside.HasCap(linux.CAP_SYS_ADMIN) || inside.HasCapIn(nil, linux.CAP_KILL) {
		t.Errorf("creator inside: in its namespace %v, globally %v, in the parent %v; want true, false, false",
			inside.HasCapIn(ns, linux.CAP_SYS_ADMIN), inside.HasCap(linux.CAP_SYS_ADMIN), inside.HasCapIn(nil, linux.CAP_KILL))
	}
	// The owner (uid 1000 outside, no capability) holds every capability
	// in the namespace it made; another unprivileged uid none; root all.
	if !user.HasCapIn(ns, linux.CAP_SYS_ADMIN) || userOf(1001).HasCapIn(ns, linux.CAP_SYS_ADMIN) || !userOf(0).HasCapIn(ns, linux.CAP_SYS_ADMIN) {
		t.Error("owner, other user, root in a child namespace: want true, false, true")
	}
	nested := inside
	if err := nested.NewUserNS(); err != unix.EPERM {
		t.Errorf("a namespace made by an unmapped uid: %v, want EPERM", err)
	}
	if err := ns.WriteMap(UIDMapKind, inside, inside, "0 1000 1"); err != nil {
		t.Fatal(err)
	}
	if err := ns.WriteSetgroups("deny"); err != nil {
		t.Fatal(err)
	}
	if err := ns.WriteMap(GIDMapKind, inside, inside, "0 1000 1"); err != nil {
		t.Fatal(err)
	}
	if err := nested.NewUserNS(); err != nil {
		t.Fatal(err)
	}
	if !user.HasCapIn(nested.UserNS, linux.CAP_SETUID) || nested.HasCapIn(ns, linux.CAP_SETUID) {
		t.Error("owner of an ancestor holds caps in the grandchild; the grandchild none in its parent")
	}
}

// TestWriteMap: the rules of map_write and new_idmap_permitted.
func TestWriteMap(t *testing.T) {
	fresh := func() Credentials {
		c := userOf(1000)
		if err := c.NewUserNS(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := fresh()
	ns := c.UserNS
	if err := ns.WriteMap(UIDMapKind, c, c, "0 1001 1"); err != unix.EPERM {
		t.Errorf("mapping another uid: %v, want EPERM", err)
	}
	if err := ns.WriteMap(GIDMapKind, c, c, "0 1000 1"); err != unix.EPERM {
		t.Errorf("gid map with setgroups allowed: %v, want EPERM", err)
	}
	if err := ns.WriteMap(UIDMapKind, c, c, "0 1000 1"); err != nil {
		t.Errorf("self map: %v", err)
	}
	if err := ns.WriteMap(UIDMapKind, c, c, "0 1000 1"); err != unix.EPERM {
		t.Errorf("second write: %v, want EPERM", err)
	}
	if err := ns.WriteSetgroups("deny"); err != nil {
		t.Fatal(err)
	}
	if err := ns.WriteMap(GIDMapKind, c, c, "0 1000 1"); err != nil {
		t.Errorf("gid self map with setgroups denied: %v", err)
	}
	if k, ok := ns.UIDToKernel(0); !ok || k != 1000 || ns.ShowUID(0) != OverflowID || ns.ShowUID(1000) != 0 {
		t.Errorf("uid 0 inside is %d, %v; kernel 0 shows as %d, 1000 as %d", k, ok, ns.ShowUID(0), ns.ShowUID(1000))
	}
	if err := ns.WriteSetgroups("allow"); err != unix.EPERM {
		t.Errorf("allow after deny: %v, want EPERM", err)
	}
	// Root of the parent maps a range and the parent's root.
	c = fresh()
	root := userOf(0)
	if err := c.UserNS.WriteMap(UIDMapKind, root, root, "0 995 10\n100 0 1"); err != nil {
		t.Errorf("root mapping a range: %v", err)
	}
	// The creator inside may not map the parent's root: it had no
	// CAP_SETFCAP when it made the namespace (verify_root_map).
	c = fresh()
	if err := c.UserNS.WriteMap(UIDMapKind, c, c, "0 0 1"); err != unix.EPERM {
		t.Errorf("unprivileged map of the parent's root: %v, want EPERM", err)
	}
	// A process of another uid, in the parent, without CAP_SYS_ADMIN in
	// the namespace.
	c = fresh()
	other := userOf(1001)
	if err := c.UserNS.WriteMap(UIDMapKind, other, other, "0 1001 1"); err != unix.EPERM {
		t.Errorf("another user writing the map: %v, want EPERM", err)
	}
}

// TestExecCapsInNamespace: execve in a user namespace gives capabilities
// to the namespace's root (the kernel uid its uid 0 maps to), no one else.
func TestExecCapsInNamespace(t *testing.T) {
	c := userOf(1000)
	if err := c.NewUserNS(); err != nil {
		t.Fatal(err)
	}
	noMap := c
	noMap.execCaps()
	if noMap.Caps.Permitted() != 0 {
		t.Errorf("exec with no uid 0 mapped: permitted %#x, want 0", noMap.Caps.Permitted())
	}
	if err := c.UserNS.WriteMap(UIDMapKind, c, c, "0 1000 1"); err != nil {
		t.Fatal(err)
	}
	c.execCaps()
	if c.Caps.Effective() != AllCaps {
		t.Errorf("exec as the namespace's root: effective %#x, want all", c.Caps.Effective())
	}
}
