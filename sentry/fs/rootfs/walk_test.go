package rootfs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

func TestPathWalkErrors(t *testing.T) {
	s := newSandbox(t, map[string]string{
		"dir/file": "x",
		"loop1":    "-> loop2",
		"loop2":    "-> loop1",
		"dangling": "-> /nowhere",
		"dirlink":  "-> dir",
	})
	long := strings.Repeat("a", 256)
	for _, c := range []struct {
		path string
		want error
	}{
		{"", unix.ENOENT},
		{"/missing", unix.ENOENT},
		{"/dir/file/", unix.ENOTDIR},
		{"/dir/file/x", unix.ENOTDIR},
		{"/dir/file/.", unix.ENOTDIR},
		{"/dir/file/..", unix.ENOTDIR},
		{"/" + long, unix.ENAMETOOLONG},
		{"/" + strings.Repeat("a/", unix.PathMax/2), unix.ENAMETOOLONG},
		{"/loop1", unix.ELOOP},
		{"/loop1/x", unix.ELOOP},
		{"/dangling", unix.ENOENT},
	} {
		_, err := s.open(c.path, unix.O_RDONLY)
		wantErr(t, "open "+c.path[:min(len(c.path), 40)], err, c.want)
	}
	for _, p := range []string{"/dir/", "/dirlink/", "/dirlink/.", "/dir//", "/dir/./"} {
		if _, err := s.open(p, unix.O_RDONLY|unix.O_DIRECTORY); err != nil {
			t.Errorf("open %s: %v", p, err)
		}
	}
	_, err := s.open("/dir/file", unix.O_RDONLY|unix.O_DIRECTORY)
	wantErr(t, "O_DIRECTORY on a file", err, unix.ENOTDIR)
	_, err = s.open("/dirlink", unix.O_RDONLY|unix.O_NOFOLLOW)
	wantErr(t, "O_NOFOLLOW on a symlink", err, unix.ELOOP)
	_, err = s.open("/dir", unix.O_WRONLY)
	wantErr(t, "directory for writing", err, unix.EISDIR)
	f, err := s.open("/dirlink", unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		t.Fatalf("O_PATH|O_NOFOLLOW on a symlink: %v", err)
	}
	if st, _ := f.Stat(); !vfs.IsSymlink(st.Mode) {
		t.Errorf("O_PATH|O_NOFOLLOW opened mode %o", st.Mode)
	}
	f.DecRef()
}

func TestSymlinkChainLimit(t *testing.T) {
	files := map[string]string{"l0": "-> target", "target": "ok"}
	for i := 1; i <= 41; i++ {
		files["l"+itoa(i)] = "-> l" + itoa(i-1)
	}
	s := newSandbox(t, files)
	if got, err := s.read("/l39"); err != nil || got != "ok" {
		t.Errorf("40 links: %q, %v", got, err)
	}
	_, err := s.read("/l40")
	wantErr(t, "41 links", err, unix.ELOOP)
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestDotDotAtRootAndDirfd(t *testing.T) {
	s := newSandbox(t, map[string]string{"a/b/c": "deep", "top": "top"})
	for _, p := range []string{"/../../top", "/a/../../../top", "../../../../top"} {
		if got, err := s.read(p); err != nil || got != "top" {
			t.Errorf("%s: %q, %v", p, got, err)
		}
	}
	dir, err := s.open("/a/b", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.DecRef()
	f, err := s.v.Open(s.ctx, rootCreds, s.fsc, dir, "c", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("openat(dir, c): %v", err)
	}
	f.DecRef()
	if _, err := s.v.Open(s.ctx, rootCreds, s.fsc, dir, "../../top", unix.O_RDONLY, 0); err != nil {
		t.Errorf("openat(dir, ../../top): %v", err)
	}
	file, _ := s.open("/top", unix.O_RDONLY)
	defer file.DecRef()
	_, err = s.v.Open(s.ctx, rootCreds, s.fsc, file, "x", unix.O_RDONLY, 0)
	wantErr(t, "openat(file, x)", err, unix.ENOTDIR)
	if err := s.v.Chdir(s.ctx, rootCreds, s.fsc, "/a/b"); err != nil {
		t.Fatal(err)
	}
	if got, removed := s.fsc.Getcwd(); got != "/a/b" || removed {
		t.Errorf("getcwd = %s, removed %v", got, removed)
	}
	if got, _ := s.read("c"); got != "deep" {
		t.Errorf("relative read %q", got)
	}
}

// TestSymlinkEscape is the attack test: symlinks that point outside the
// sandbox root, absolutely or with .. chains, resolve inside it.
func TestSymlinkEscape(t *testing.T) {
	outer := t.TempDir()
	secret := filepath.Join(outer, "secret")
	if err := os.WriteFile(secret, []byte("host secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(outer, "root")
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("sandbox passwd"), 0o644)
	links := map[string]string{
		"abs":      "/etc/passwd",
		"up":       "../../../../../../../../etc/passwd",
		"upsecret": "../secret",
		"abssec":   secret,
		"updir":    "../../../../..",
		"etc/deep": "../../../../../../../../../../etc/passwd",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	v, fsc, err := New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &sandbox{t: t, dir: root, v: v, fsc: fsc, ctx: t.Context()}
	for _, p := range []string{"/abs", "/up", "/etc/deep", "/updir/etc/passwd", "/updir/updir/../etc/passwd"} {
		if got, err := s.read(p); err != nil || got != "sandbox passwd" {
			t.Errorf("%s: %q, %v (want the sandbox's passwd)", p, got, err)
		}
	}
	for _, p := range []string{"/upsecret", "/abssec", "/updir/secret", "/../secret", "/updir/root/abs"} {
		if got, err := s.read(p); err == nil {
			t.Errorf("%s escaped the root: read %q", p, got)
		}
	}
	// The host layer alone, asked for names it should never see.
	d, err := s.v.Lookup(s.ctx, rootCreds, s.fsc, nil, "/updir", true)
	if err != nil || vfs.PathOf(s.fsc.Root(), d) != "/" {
		t.Errorf("/updir resolves to %v, %v; want /", d, err)
	}
}
