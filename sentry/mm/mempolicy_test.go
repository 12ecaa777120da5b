package mm_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/mm"
)

func TestNewMemPolicy(t *testing.T) {
	for _, c := range []struct {
		name        string
		mode, flags int
		mask        uint64
		err         error
		report      int    // mode and flags reported
		nodes       uint64 // first word reported
	}{
		{"default", unix.MPOL_DEFAULT, 0, 0, nil, unix.MPOL_DEFAULT, 0},
		{"default with a node", unix.MPOL_DEFAULT, 0, 1, unix.EINVAL, 0, 0},
		{"bind to nodes 0 and 1", unix.MPOL_BIND, 0, 3, nil, unix.MPOL_BIND, 1},
		{"bind to node 1 only", unix.MPOL_BIND, 0, 2, unix.EINVAL, 0, 0},
		{"bind to none", unix.MPOL_BIND, 0, 0, unix.EINVAL, 0, 0},
		{"static nodes kept as given", unix.MPOL_INTERLEAVE, unix.MPOL_F_STATIC_NODES, 0x21, nil, unix.MPOL_INTERLEAVE | unix.MPOL_F_STATIC_NODES, 0x21},
		{"relative nodes fold onto node 0", unix.MPOL_BIND, unix.MPOL_F_RELATIVE_NODES, 0x20, nil, unix.MPOL_BIND | unix.MPOL_F_RELATIVE_NODES, 0x20},
		{"preferred without nodes is local", unix.MPOL_PREFERRED, 0, 0, nil, unix.MPOL_LOCAL, 0},
		{"preferred static without nodes", unix.MPOL_PREFERRED, unix.MPOL_F_STATIC_NODES, 0, unix.EINVAL, 0, 0},
		{"local with a node", unix.MPOL_LOCAL, 0, 1, unix.EINVAL, 0, 0},
	} {
		p, err := mm.NewMemPolicy(c.mode, c.flags, &mm.NodeMask{c.mask})
		if !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
			continue
		}
		if err != nil {
			continue
		}
		if mode, nodes := p.Report(); mode != c.report || nodes[0] != c.nodes {
			t.Errorf("%s: reports %#x %#x, want %#x %#x", c.name, mode, nodes[0], c.report, c.nodes)
		}
	}
}

// TestMbindSplitsAndMerges checks that a policy splits a mapping as
// Linux's vm_policy does, and that the default merges it back; a policy
// other than the default needs the whole range mapped.
func TestMbindSplitsAndMerges(t *testing.T) {
	m := newMM(t)
	a := anon(t, m, 0x50000000, 4*4096, unix.MAP_FIXED)
	bind, err := mm.NewMemPolicy(unix.MPOL_BIND, 0, &mm.NodeMask{1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Mbind(a+4096, a+2*4096, bind); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count("\n"+m.Maps(nil), "\n5000"); got != 3 {
		t.Errorf("%d mappings after mbind of the second page, want 3:\n%s", got, m.Maps(nil))
	}
	if p, err := m.Policy(a + 4096 + 8); err != nil || !p.Equal(bind) {
		t.Errorf("policy of the bound page: %v, %v", p, err)
	}
	if p, err := m.Policy(a); err != nil || p != nil {
		t.Errorf("policy of the first page: %v, %v; want the default", p, err)
	}
	if err := m.Mbind(a, a+4*4096, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count("\n"+m.Maps(nil), "\n5000"); got != 1 {
		t.Errorf("%d mappings after the default, want 1:\n%s", got, m.Maps(nil))
	}
	if err := m.Munmap(a+2*4096, 4096); err != nil {
		t.Fatal(err)
	}
	if err := m.Mbind(a, a+4*4096, bind); !errors.Is(err, unix.EFAULT) {
		t.Errorf("mbind over a hole: %v, want EFAULT", err)
	}
	if err := m.Mbind(a+2*4096, a+3*4096, nil); !errors.Is(err, unix.EFAULT) {
		t.Errorf("mbind of the default over nothing but a hole: %v, want EFAULT", err)
	}
	if _, err := m.Policy(a + 2*4096); !errors.Is(err, unix.EFAULT) {
		t.Errorf("policy of a hole: %v, want EFAULT", err)
	}
}
