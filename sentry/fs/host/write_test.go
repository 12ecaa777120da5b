package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// newWritable returns a writable tree over a fresh directory, "root",
// beside a directory "outside" that it must never change.
func newWritable(t *testing.T) (fs *FS, root, outside string) {
	t.Helper()
	top := t.TempDir()
	root, outside = filepath.Join(top, "root"), filepath.Join(top, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	fs, err = NewMount(Source{Dir: f}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs, root, outside
}

// TestWritableChanges: every change a writable tree makes is on the host.
func TestWritableChanges(t *testing.T) {
	fs, root, _ := newWritable(t)
	ctx := context.Background()
	creds := vfs.KernelCreds()
	top := fs.Root().(*inode)
	if _, err := top.Create(ctx, creds, "f", unix.S_IFREG|0o640, 0); err != nil {
		t.Fatal(err)
	}
	if err := top.Mkdir(ctx, creds, "d", 0o750); err != nil {
		t.Fatal(err)
	}
	if err := top.Symlink(ctx, creds, "l", "f"); err != nil {
		t.Fatal(err)
	}
	f, err := top.Lookup(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	if err := top.Link(ctx, "f2", f); err != nil {
		t.Fatal(err)
	}
	d, _ := top.Lookup(ctx, "d")
	if err := top.Rename(ctx, "f2", d, "moved", 0); err != nil {
		t.Fatal(err)
	}
	if err := f.(vfs.AttrSetter).SetAttr(ctx, vfs.Attr{Mask: vfs.AttrMode | vfs.AttrSize, Mode: 0o600, Size: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := top.Create(ctx, creds, "fifo", unix.S_IFIFO|0o600, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := top.Create(ctx, creds, "dev", unix.S_IFCHR|0o600, 0x103); err != unix.EPERM {
		t.Errorf("a device node: %v, want EPERM", err)
	}
	if err := top.Rmdir(ctx, "sub"); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	for name, mode := range map[string]uint32{"f": unix.S_IFREG | 0o600, "d": unix.S_IFDIR | 0o750, "l": unix.S_IFLNK | 0o777, "d/moved": unix.S_IFREG | 0o600, "fifo": unix.S_IFIFO | 0o600} {
		if err := unix.Lstat(filepath.Join(root, name), &st); err != nil || st.Mode != mode&^umask() && st.Mode != mode {
			t.Errorf("%s on the host: mode %o, %v; want %o", name, st.Mode, err, mode)
		}
	}
	if err := unix.Lstat(filepath.Join(root, "f"), &st); err != nil || st.Size != 5 || st.Nlink != 2 {
		t.Errorf("f: size %d, links %d, %v; want 5 and 2", st.Size, st.Nlink, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "sub")); !os.IsNotExist(err) {
		t.Errorf("rmdir: %v", err)
	}
}

// umask returns the process's umask.
func umask() uint32 {
	m := unix.Umask(0)
	unix.Umask(m)
	return uint32(m)
}

// TestWritableConfined: a directory the tree looked up and that the host
// then turned into a symlink to elsewhere is not followed by any change:
// each fails and the directory outside is untouched. (The sandbox can do
// this swap itself through a volume: rename a directory away and put a
// symlink in its place, while another task holds the old one.)
func TestWritableConfined(t *testing.T) {
	fs, root, outside := newWritable(t)
	ctx := context.Background()
	creds := vfs.KernelCreds()
	sub, err := fs.Root().(vfs.Dir).Lookup(ctx, "sub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "victim"), []byte("v"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sub", "victim"), []byte("v"), 0o644); err != nil {
		t.Fatal(err)
	}
	victim, err := sub.(vfs.Dir).Lookup(ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "sub"), filepath.Join(root, "away")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "sub")); err != nil {
		t.Fatal(err)
	}
	dir := sub.(*inode)
	for name, change := range map[string]func() error{
		"create":  func() error { _, err := dir.Create(ctx, creds, "new", unix.S_IFREG|0o644, 0); return err },
		"mkdir":   func() error { return dir.Mkdir(ctx, creds, "new", 0o755) },
		"symlink": func() error { return dir.Symlink(ctx, creds, "new", "x") },
		"unlink":  func() error { return dir.Unlink(ctx, "victim") },
		"rename":  func() error { return dir.Rename(ctx, "victim", dir, "new", 0) },
		"chmod":   func() error { return victim.(vfs.AttrSetter).SetAttr(ctx, vfs.Attr{Mask: vfs.AttrMode, Mode: 0o777}) },
		"truncate": func() error {
			return victim.(vfs.AttrSetter).SetAttr(ctx, vfs.Attr{Mask: vfs.AttrSize, Size: 0})
		},
		"open for writing": func() error {
			f, err := victim.Open(ctx, unix.O_WRONLY)
			if err == nil {
				f.Release()
			}
			return err
		},
	} {
		if err := change(); err == nil {
			t.Errorf("%s through a swapped directory succeeded", name)
		}
	}
	ents, _ := os.ReadDir(outside)
	st, _ := os.Stat(filepath.Join(outside, "victim"))
	if len(ents) != 1 || st.Size() != 1 || st.Mode().Perm() != 0o644 {
		t.Errorf("the directory outside changed: %v, %v", ents, st.Mode())
	}
}

// TestReadOnlyRefuses: a tree that is not writable changes nothing.
func TestReadOnlyRefuses(t *testing.T) {
	dir := t.TempDir()
	fs, err := New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	top := fs.Root().(*inode)
	ctx := context.Background()
	if err := top.Mkdir(ctx, vfs.KernelCreds(), "d", 0o755); err != unix.EROFS {
		t.Errorf("mkdir: %v, want EROFS", err)
	}
	if _, err := top.Create(ctx, vfs.KernelCreds(), "f", unix.S_IFREG|0o644, 0); err != unix.EROFS {
		t.Errorf("create: %v, want EROFS", err)
	}
	if err := top.SetAttr(ctx, vfs.Attr{Mask: vfs.AttrMode, Mode: 0o700}); err != unix.EROFS {
		t.Errorf("chmod: %v, want EROFS", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the host directory changed: %v", ents)
	}
}
