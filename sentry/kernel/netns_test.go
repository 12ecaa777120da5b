package kernel

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNetNSLimit: at most MaxNetNamespaces exist at once (ENOSPC past
// them); dropping one's last reference makes room again, and a namespace
// gone cannot be taken again.
func TestNetNSLimit(t *testing.T) {
	var made []*NetNS
	for len(made) < MaxNetNamespaces {
		ns, err := newNetNS(nil)
		if err != nil {
			t.Fatalf("namespace %d: %v", len(made), err)
		}
		made = append(made, ns)
	}
	if _, err := newNetNS(nil); !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("namespace past the limit: %v, want ENOSPC", err)
	}
	last := made[len(made)-1]
	if !last.tryIncRef() {
		t.Fatal("a live namespace refused a reference")
	}
	last.DecRef()
	last.DecRef()
	if last.tryIncRef() {
		t.Error("a released namespace took a reference")
	}
	ns, err := newNetNS(nil)
	if err != nil {
		t.Fatalf("after one went: %v", err)
	}
	if ns.Inode == last.Inode || ns.Inode <= rootNetInode+1 {
		t.Errorf("inode %#x reused or in the first namespaces' range", ns.Inode)
	}
	for _, ns := range append(made[:len(made)-1], ns) {
		ns.DecRef()
	}
	if n := liveNetNS.Load(); n != 0 {
		t.Errorf("%d namespaces left", n)
	}
}
