package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// TestConfined asks the host layer directly for names that climb out of
// the root; RESOLVE_IN_ROOT keeps them inside, and host symlinks are
// never followed by the host kernel.
func TestConfined(t *testing.T) {
	outer := t.TempDir()
	os.WriteFile(filepath.Join(outer, "secret"), []byte("s"), 0o644)
	root := filepath.Join(outer, "root")
	os.Mkdir(root, 0o755)
	os.Symlink("../secret", filepath.Join(root, "up"))
	fs, err := New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	ctx := context.Background()
	dir := fs.Root().(vfs.Dir)
	for _, name := range []string{"../secret", "../../secret", "/../secret"} {
		if _, err := dir.Lookup(ctx, name); err == nil {
			t.Errorf("lookup %q reached outside the root", name)
		}
	}
	up, err := dir.Lookup(ctx, "up")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := up.Stat(ctx); !vfs.IsSymlink(st.Mode) {
		t.Errorf("a host symlink was followed: mode %o", st.Mode)
	}
	if _, err := up.Open(ctx, unix.O_RDONLY); err == nil {
		t.Error("opened a symlink's target")
	}
	if _, err := fs.Root().Open(ctx, unix.O_WRONLY); err != unix.EROFS {
		t.Errorf("open for writing: %v", err)
	}
}

func TestImportFD(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := ImportFD(int(w.Fd()), NewIdentities())
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	ctx := context.Background()
	if n, err := f.Write(ctx, usermem.BytesSequence([]byte("hello"))); n != 5 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	buf := make([]byte, 5)
	if _, err := r.Read(buf); err != nil || string(buf) != "hello" {
		t.Errorf("host read %q, %v", buf, err)
	}
	if _, err := f.PWrite(ctx, usermem.BytesSequence([]byte("x")), 0); err != unix.ESPIPE {
		t.Errorf("pwrite on a pipe: %v", err)
	}
	if st, _ := f.Stat(); st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("fstat mode %o", st.Mode)
	}
}

// TestIdentities checks that no host device or inode number comes out of
// stat, getdents or an imported descriptor, and that the sandbox's
// numbers identify files as the host's do: hard links share one, other
// files do not, and a file seen twice keeps its number.
func TestIdentities(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"a", "c"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(root, "a"), filepath.Join(root, "b")); err != nil {
		t.Fatal(err)
	}
	ids := NewIdentities()
	fs, err := New(root, ids)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	ctx := context.Background()
	dir := fs.Root().(vfs.Dir)
	var host unix.Stat_t
	if err := unix.Stat(filepath.Join(root, "a"), &host); err != nil {
		t.Fatal(err)
	}
	stats := map[string]unix.Stat_t{}
	for _, name := range []string{"a", "b", "c"} {
		i, err := dir.Lookup(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := i.Stat(ctx)
		if st.Dev == host.Dev || st.Ino == host.Ino || st.Dev != ids.Dev() {
			t.Errorf("%s: dev %#x ino %d; host dev %#x ino %d, sandbox dev %#x", name, st.Dev, st.Ino, host.Dev, host.Ino, ids.Dev())
		}
		stats[name] = st
	}
	if stats["a"].Ino != stats["b"].Ino || stats["a"].Ino == stats["c"].Ino {
		t.Errorf("inode numbers a %d, b (a hard link of a) %d, c %d", stats["a"].Ino, stats["b"].Ino, stats["c"].Ino)
	}
	ents, err := dir.ReadDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Ino != stats[e.Name].Ino {
			t.Errorf("getdents: %s has inode %d, stat says %d", e.Name, e.Ino, stats[e.Name].Ino)
		}
	}
	h, err := os.Open(filepath.Join(root, "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	f, err := ImportFD(int(h.Fd()), ids)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	if st, _ := f.Stat(); st.Dev != ids.Dev() || st.Ino != stats["a"].Ino {
		t.Errorf("imported descriptor of b: dev %#x ino %d; want %#x, %d", st.Dev, st.Ino, ids.Dev(), stats["a"].Ino)
	}
	if s, err := fs.Statfs(ctx); err != nil || s.Fsid.Val[0] != int32(vfs.EncodeDev(ids.Dev())) {
		t.Errorf("statfs: fsid %v, %v", s.Fsid, err)
	}
}

// TestFileOwnsDescriptor checks that an open host file reads through its
// bare descriptor and that Release closes it: the file holds no *os.File
// whose finalizer would otherwise have closed a leaked one.
func TestFileOwnsDescriptor(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "f"), []byte("data"), 0o644)
	fs, err := New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	ctx := context.Background()
	i, err := fs.Root().(vfs.Dir).Lookup(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	impl, err := i.Open(ctx, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	fd := impl.(*file).fd
	p := make([]byte, 8)
	if n, err := impl.ReadAt(ctx, p, 1); err != nil || string(p[:n]) != "ata" {
		t.Errorf("ReadAt: %q, %v; want \"ata\"", p[:n], err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("descriptor %d of an open file: %v", fd, err)
	}
	impl.Release()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("descriptor %d after Release: %v, want EBADF", fd, err)
	}
}

// fstat, through statx for the birth time, gives what fstat(2) gives,
// for a file, a directory and a symlink opened O_PATH.
func TestFstatAsFstat(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o640)
	os.Symlink("f", filepath.Join(dir, "l"))
	for _, name := range []string{"f", ".", "l"} {
		fd, err := unix.Open(filepath.Join(dir, name), unix.O_PATH|unix.O_NOFOLLOW, 0)
		if err != nil {
			t.Fatal(err)
		}
		var want unix.Stat_t
		if err := unix.Fstat(fd, &want); err != nil {
			t.Fatal(err)
		}
		got, _, err := fstat(fd)
		unix.Close(fd)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", name, got, err, want)
		}
	}
}

// TestSymlinkTargets: a read-only tree reads a symlink's target once, as
// it keeps the attributes it looked up; a writable tree asks each time.
func TestSymlinkTargets(t *testing.T) {
	ctx := context.Background()
	ro := t.TempDir()
	os.Symlink("first", filepath.Join(ro, "l"))
	roFS, err := New(ro, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer roFS.Close()
	rwFS, rw, _ := newWritable(t)
	os.Symlink("first", filepath.Join(rw, "l"))
	for _, c := range []struct {
		fs   *FS
		dir  string
		want string
	}{{roFS, ro, "first"}, {rwFS, rw, "second"}} {
		l, err := c.fs.Root().(vfs.Dir).Lookup(ctx, "l")
		if err != nil {
			t.Fatal(err)
		}
		link := l.(vfs.Symlink)
		if got, err := link.Readlink(ctx); got != "first" || err != nil {
			t.Fatalf("readlink: %q, %v", got, err)
		}
		os.Remove(filepath.Join(c.dir, "l"))
		os.Symlink("second", filepath.Join(c.dir, "l"))
		if got, err := link.Readlink(ctx); got != c.want || err != nil {
			t.Errorf("writable %v: readlink after the host changed it: %q, %v; want %q", c.fs.writable, got, err, c.want)
		}
	}
}
