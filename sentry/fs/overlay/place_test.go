package overlay

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// TestPlaces: a node's Ancestry follows renames of it and of the
// directories above it, a file with two names does not say which (nor
// once the name it was given last is gone), a removed file keeps its last
// place, and no directory is moved below itself even when the caller did
// not check.
func TestPlaces(t *testing.T) {
	ctx := context.Background()
	creds := vfs.KernelCreds()
	fs := NewMemory(0o755)
	root := fs.root
	lookup := func(dir *node, name string) *node {
		t.Helper()
		c, err := dir.Lookup(ctx, name)
		if err != nil {
			t.Fatalf("lookup %s: %v", name, err)
		}
		return c.(*node)
	}
	path := func(n *node) string {
		t.Helper()
		up, ok := n.Ancestry()
		if !ok {
			return "?"
		}
		p := ""
		for _, s := range up {
			p = "/" + s.Name + p
		}
		return p
	}
	for _, d := range []string{"a", "x"} {
		if err := root.Mkdir(ctx, creds, d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	a := lookup(root, "a")
	if err := a.Mkdir(ctx, creds, "b", 0o755); err != nil {
		t.Fatal(err)
	}
	b := lookup(a, "b")
	f, err := b.Create(ctx, creds, "f", unix.S_IFREG|0o644, 0)
	if err != nil {
		t.Fatal(err)
	}
	file := f.(*node)
	if err := root.Rename(ctx, "a", root, "a2", 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Rename(ctx, "b", lookup(root, "x"), "b2", 0); err != nil {
		t.Fatal(err)
	}
	if got := path(file); got != "/x/b2/f" {
		t.Errorf("file after its directories moved: %s, want /x/b2/f", got)
	}
	if err := b.Link(ctx, "g", file); err != nil {
		t.Fatal(err)
	}
	if got := path(file); got != "?" {
		t.Errorf("file with two names: %s, want no answer", got)
	}
	if err := b.Unlink(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if got := path(file); got != "?" {
		t.Errorf("file after losing the name it was last given: %s, want no answer", got)
	}
	if err := root.Rename(ctx, "x", b, "x", 0); err != unix.EINVAL {
		t.Errorf("moving a directory below itself: %v, want EINVAL", err)
	}
	h, err := b.Create(ctx, creds, "h", unix.S_IFREG|0o644, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Unlink(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	if got := path(h.(*node)); got != "/x/b2/h" {
		t.Errorf("removed file: %s, want its last place /x/b2/h", got)
	}
}
