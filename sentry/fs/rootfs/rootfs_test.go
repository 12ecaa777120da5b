package rootfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// rootCreds are those of the sandbox's root, whom these tests act as
// (perm_test.go in package vfs tests other callers).
var rootCreds = vfs.KernelCreds()

// sandbox is a VFS over a fresh host directory.
type sandbox struct {
	t   *testing.T
	dir string
	v   *vfs.VFS
	fsc *vfs.FSContext
	ctx context.Context
}

func newSandbox(t *testing.T, files map[string]string) *sandbox {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := cutLink(content); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v, fsc, err := New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &sandbox{t: t, dir: dir, v: v, fsc: fsc, ctx: context.Background()}
}

// cutLink recognizes "-> target" as a symlink's content.
func cutLink(s string) (string, bool) {
	if len(s) > 3 && s[:3] == "-> " {
		return s[3:], true
	}
	return "", false
}

func (s *sandbox) open(path string, flags int) (*vfs.File, error) {
	return s.v.Open(s.ctx, rootCreds, s.fsc, nil, path, flags, 0o644)
}

func (s *sandbox) read(path string) (string, error) {
	f, err := s.open(path, unix.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer f.DecRef()
	buf := make([]byte, 1<<16)
	n, err := f.Read(s.ctx, usermem.BytesSequence(buf))
	return string(buf[:n]), err
}

func (s *sandbox) write(path, content string, flags int) {
	s.t.Helper()
	f, err := s.open(path, unix.O_WRONLY|flags)
	if err != nil {
		s.t.Fatalf("open %s: %v", path, err)
	}
	defer f.DecRef()
	if _, err := f.Write(s.ctx, usermem.BytesSequence([]byte(content))); err != nil {
		s.t.Fatalf("write %s: %v", path, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}

func TestReadHostFile(t *testing.T) {
	s := newSandbox(t, map[string]string{"etc/hello": "hi\n", "link": "-> etc/hello"})
	for _, p := range []string{"/etc/hello", "etc/hello", "/link", "/etc/../etc/./hello", "//etc//hello"} {
		got, err := s.read(p)
		if err != nil || got != "hi\n" {
			t.Errorf("read %q = %q, %v", p, got, err)
		}
	}
}

func TestMounts(t *testing.T) {
	s := newSandbox(t, nil)
	for _, p := range []string{"/tmp", "/dev", "/dev/shm", "/proc"} {
		st, err := s.v.StatAt(s.ctx, rootCreds, s.fsc, nil, p, true)
		if err != nil || !vfs.IsDir(st.Mode) {
			t.Errorf("stat %s: %v, mode %o", p, err, st.Mode)
		}
	}
	s.write("/tmp/x", "data", unix.O_CREAT)
	if got, _ := s.read("/tmp/x"); got != "data" {
		t.Errorf("tmpfs read back %q", got)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "tmp", "x")); err == nil {
		t.Error("tmpfs file reached the host")
	}
	d, err := s.v.Lookup(s.ctx, rootCreds, s.fsc, nil, "/dev/shm/..", true)
	if err != nil {
		t.Fatal(err)
	}
	if got := vfs.PathOf(s.fsc.Root(), d); got != "/dev" {
		t.Errorf("/dev/shm/.. is %s", got)
	}
	if got, err := s.read("/dev/zero"); err != nil || len(got) != 1<<16 || got[100] != 0 {
		t.Errorf("/dev/zero: %d bytes, %v", len(got), err)
	}
	if got, err := s.read("/dev/null"); err != nil || got != "" {
		t.Errorf("/dev/null: %q, %v", got, err)
	}
	_, err = s.open("/dev/tty", unix.O_RDWR)
	wantErr(t, "/dev/tty", err, unix.ENXIO)
	err = s.v.Unlink(s.ctx, rootCreds, s.fsc, nil, "/dev/null")
	wantErr(t, "unlink /dev/null", err, unix.EROFS)
	err = s.v.Rmdir(s.ctx, rootCreds, s.fsc, nil, "/tmp")
	wantErr(t, "rmdir /tmp", err, unix.EBUSY)
	err = s.v.Rename(s.ctx, rootCreds, s.fsc, nil, "/tmp/x", nil, "/y", 0)
	wantErr(t, "rename across mounts", err, unix.EXDEV)
}

// TestContentMount: a file of memory (the sandbox's generated
// /etc/resolv.conf) mounted where the root has none: its contents, read
// only, and statfs describes a tmpfs, not the host directory's disk.
func TestContentMount(t *testing.T) {
	s := newSandbox(t, nil)
	const content = "nameserver 10.0.2.3\n"
	e, err := Add(s.v, s.fsc, Mount{Dest: "/etc/resolv.conf", Content: []byte(content)})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Entry{Source: "tmpfs", Path: "/etc/resolv.conf", Type: "tmpfs", Flags: "ro", Data: "mode=755"}); len(e) != 1 || e[0] != want {
		t.Errorf("mount table entries %+v, want %+v", e, want)
	}
	if got, err := s.read("/etc/resolv.conf"); err != nil || got != content {
		t.Errorf("read %q, %v; want %q", got, err, content)
	}
	st, err := s.v.StatAt(s.ctx, rootCreds, s.fsc, nil, "/etc/resolv.conf", true)
	if err != nil || st.Mode != unix.S_IFREG|0o644 || st.Uid != 0 || st.Size != int64(len(content)) {
		t.Errorf("stat: mode %o uid %d size %d, %v", st.Mode, st.Uid, st.Size, err)
	}
	_, err = s.open("/etc/resolv.conf", unix.O_WRONLY)
	wantErr(t, "open for writing", err, unix.EROFS)
	d, err := s.v.Lookup(s.ctx, rootCreds, s.fsc, nil, "/etc/resolv.conf", true)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := s.v.Statfs(s.ctx, d)
	if err != nil || sf.Type != linux.TMPFS_MAGIC || sf.Flags&unix.ST_RDONLY == 0 {
		t.Errorf("statfs: type %#x flags %#x, %v; want a read-only tmpfs", sf.Type, sf.Flags, err)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "etc")); err == nil {
		t.Error("the mount point reached the host directory")
	}
}
