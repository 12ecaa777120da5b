package host

import (
	"context"
	"testing"

	"runsc-lite/sentry/vfs"
)

// TestWritableNamesFollowRenames: a working directory in a writable tree
// is named where the sandbox's renames moved it, and its ".." is its new
// parent; once removed, getcwd says so.
func TestWritableNamesFollowRenames(t *testing.T) {
	fs, _, _ := newWritable(t)
	ctx := context.Background()
	creds := vfs.KernelCreds()
	v := vfs.New(fs)
	fsc := v.NewFSContext()
	for _, d := range []string{"/a", "/a/b", "/a/b/c", "/x"} {
		if err := v.Mkdir(ctx, creds, fsc, nil, d, 0o755); err != nil {
			t.Fatalf("mkdir %s: %v", d, err)
		}
	}
	if err := v.Chdir(ctx, creds, fsc, "/a/b/c"); err != nil {
		t.Fatal(err)
	}
	steps := []struct{ from, to, cwd, up string }{
		{"/a", "/a2", "/a2/b/c", "/a2/b"},       // an ancestor renamed
		{"/a2/b", "/x/b", "/x/b/c", "/x/b"},     // moved across directories
		{"/x/b/c", "/x/c2", "/x/c2", "/x"},      // itself moved
		{"/x", "/sub/x", "/sub/x/c2", "/sub/x"}, // below another directory
	}
	for _, s := range steps {
		if err := v.Rename(ctx, creds, fsc, nil, s.from, nil, s.to, 0); err != nil {
			t.Fatalf("rename %s %s: %v", s.from, s.to, err)
		}
		if got, removed := fsc.Getcwd(); got != s.cwd || removed {
			t.Errorf("after rename %s %s: getcwd %q (removed %v), want %q", s.from, s.to, got, removed, s.cwd)
		}
		st, err := v.StatAt(ctx, creds, fsc, nil, "..", true)
		want, err2 := v.StatAt(ctx, creds, fsc, nil, s.up, true)
		if err != nil || err2 != nil || st.Ino != want.Ino {
			t.Errorf("after rename %s %s: \"..\" is not %s (%v, %v)", s.from, s.to, s.up, err, err2)
		}
	}
	if err := v.Rmdir(ctx, creds, fsc, nil, "/sub/x/c2"); err != nil {
		t.Fatal(err)
	}
	if got, removed := fsc.Getcwd(); got != "/sub/x/c2" || !removed {
		t.Errorf("after rmdir: getcwd %q (removed %v), want /sub/x/c2 removed", got, removed)
	}
	if err := v.Mkdir(ctx, creds, fsc, nil, "new", 0o755); err == nil {
		t.Error("mkdir in a removed working directory succeeded")
	}
}
