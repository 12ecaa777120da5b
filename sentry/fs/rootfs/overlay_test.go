package rootfs

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// snapshot hashes every name, mode, size, mtime and content below dir.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %o %d %d\n", p, info.Mode(), info.Size(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		if info.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			fmt.Fprintln(h, target)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func (s *sandbox) names(path string) []string {
	s.t.Helper()
	f, err := s.open(path, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		s.t.Fatalf("open %s: %v", path, err)
	}
	defer f.DecRef()
	list, _, err := f.ReadDir(s.ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, e := range list {
		out = append(out, e.Name)
	}
	slices.Sort(out)
	return out
}

func TestOverlayLeavesHostUnchanged(t *testing.T) {
	s := newSandbox(t, map[string]string{
		"etc/conf":    "original",
		"etc/other":   "other",
		"bin/tool":    "#!/bin/sh\n",
		"data/a/b":    "nested",
		"link":        "-> etc/conf",
		"data/remove": "bye",
	})
	before := snapshot(t, s.dir)
	ctx, v, fsc := s.ctx, s.v, s.fsc

	s.write("/etc/conf", "changed", unix.O_TRUNC)
	if got, _ := s.read("/etc/conf"); got != "changed" {
		t.Errorf("read after write: %q", got)
	}
	if got, _ := s.read("/link"); got != "changed" {
		t.Errorf("read through symlink after write: %q", got)
	}
	s.write("/etc/other", "+more", unix.O_APPEND)
	if got, _ := s.read("/etc/other"); got != "other+more" {
		t.Errorf("append: %q", got)
	}
	s.write("/etc/new", "new file", unix.O_CREAT|unix.O_EXCL)
	_, err := s.open("/etc/new", unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY)
	wantErr(t, "O_EXCL on existing", err, unix.EEXIST)
	if got := s.names("/etc"); !slices.Equal(got, []string{".", "..", "conf", "new", "other"}) {
		t.Errorf("merged /etc = %v", got)
	}
	if err := v.Unlink(ctx, rootCreds, fsc, nil, "/data/remove"); err != nil {
		t.Fatal(err)
	}
	_, err = s.open("/data/remove", unix.O_RDONLY)
	wantErr(t, "open after unlink", err, unix.ENOENT)
	if got := s.names("/data"); !slices.Equal(got, []string{".", "..", "a"}) {
		t.Errorf("/data after unlink = %v", got)
	}
	s.write("/data/remove", "again", unix.O_CREAT)
	if got, _ := s.read("/data/remove"); got != "again" {
		t.Errorf("recreated: %q", got)
	}
	// Rename a lower directory with contents.
	if err := v.Rename(ctx, rootCreds, fsc, nil, "/data/a", nil, "/data/moved", 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.read("/data/moved/b"); got != "nested" {
		t.Errorf("after dir rename: %q", got)
	}
	_, err = s.open("/data/a/b", unix.O_RDONLY)
	wantErr(t, "old name after rename", err, unix.ENOENT)
	err = v.Rmdir(ctx, rootCreds, fsc, nil, "/data/moved")
	wantErr(t, "rmdir non-empty", err, unix.ENOTEMPTY)
	if err := v.Unlink(ctx, rootCreds, fsc, nil, "/data/moved/b"); err != nil {
		t.Fatal(err)
	}
	if err := v.Rmdir(ctx, rootCreds, fsc, nil, "/data/moved"); err != nil {
		t.Fatal(err)
	}
	if err := v.Mkdir(ctx, rootCreds, fsc, nil, "/data/newdir", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := v.Symlink(ctx, rootCreds, fsc, "../etc/conf", nil, "/data/sl"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.read("/data/sl"); got != "changed" {
		t.Errorf("new symlink: %q", got)
	}
	if err := v.Link(ctx, rootCreds, fsc, nil, "/bin/tool", nil, "/bin/hard", false); err != nil {
		t.Fatal(err)
	}
	st, err := v.StatAt(ctx, rootCreds, fsc, nil, "/bin/hard", true)
	if err != nil || st.Nlink != 2 {
		t.Errorf("link count %d, %v", st.Nlink, err)
	}
	attrs := []vfs.Attr{
		{Mask: vfs.AttrMode, Mode: 0o600},
		{Mask: vfs.AttrUID | vfs.AttrGID, UID: 1000, GID: 1000},
		{Mask: vfs.AttrSize, Size: 3},
		{Mask: vfs.AttrMtime | vfs.AttrAtime, Mtime: unix.Timespec{Sec: 12345}, Atime: unix.Timespec{Sec: 1}},
	}
	for _, a := range attrs {
		if err := v.SetAttrAt(ctx, rootCreds, fsc, nil, "/bin/tool", true, a); err != nil {
			t.Fatalf("setattr %+v: %v", a, err)
		}
	}
	st, _ = v.StatAt(ctx, rootCreds, fsc, nil, "/bin/hard", true)
	if st.Mode != unix.S_IFREG|0o600 || st.Uid != 1000 || st.Size != 3 || st.Mtim.Sec != 12345 {
		t.Errorf("attributes through the other link: %+v", st)
	}
	if err := v.Rename(ctx, rootCreds, fsc, nil, "/etc/conf", nil, "/etc/other", unix.RENAME_NOREPLACE); err != unix.EEXIST {
		t.Errorf("RENAME_NOREPLACE: %v", err)
	}
	if err := v.Rename(ctx, rootCreds, fsc, nil, "/etc/conf", nil, "/etc/other", unix.RENAME_EXCHANGE); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.read("/etc/conf"); got != "other+more" {
		t.Errorf("after exchange: %q", got)
	}
	if err := v.Rename(ctx, rootCreds, fsc, nil, "/etc", nil, "/etc/sub", 0); err != unix.EINVAL {
		t.Errorf("rename into itself: %v", err)
	}

	if after := snapshot(t, s.dir); after != before {
		t.Error("the host directory changed")
	}
}

// openUnlinked opens path read-only and unlinks it.
func (s *sandbox) openUnlinked(path string) *vfs.File {
	s.t.Helper()
	f, err := s.open(path, unix.O_RDONLY)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.v.Unlink(s.ctx, rootCreds, s.fsc, nil, path); err != nil {
		f.DecRef()
		s.t.Fatal(err)
	}
	return f
}

// TestOverlayUnlinkedHostFile: a host file unlinked while open has no
// link left, before its copy up and after, and no link names it again
// (Linux: nlink 0, linkat ENOENT); the host keeps it.
func TestOverlayUnlinkedHostFile(t *testing.T) {
	s := newSandbox(t, map[string]string{"f": "host", "g": "other"})
	before := snapshot(t, s.dir)
	ctx, v, fsc := s.ctx, s.v, s.fsc
	f := s.openUnlinked("/f")
	defer f.DecRef()
	if st, err := f.Stat(); err != nil || st.Nlink != 0 {
		t.Errorf("after unlink: nlink %d, %v; want 0", st.Nlink, err)
	}
	if err := v.LinkDentry(ctx, rootCreds, fsc, f.Dentry(), nil, "/back"); err != unix.ENOENT {
		t.Errorf("linking the unlinked file: %v, want ENOENT", err)
	}
	if !f.Dentry().Unlinked(ctx) {
		t.Error("the unlinked file's name is not shown as deleted")
	}
	// Copied up by a change of its mode after the unlink.
	w := s.openUnlinked("/g")
	defer w.DecRef()
	if err := v.SetAttrDentry(ctx, rootCreds, w.Dentry(), vfs.Attr{Mask: vfs.AttrMode, Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	if st, err := w.Stat(); err != nil || st.Nlink != 0 || st.Mode&0o777 != 0o600 {
		t.Errorf("after unlink and copy up: nlink %d, mode %o, %v; want 0, 0600", st.Nlink, st.Mode, err)
	}
	if after := snapshot(t, s.dir); after != before {
		t.Error("the host directory changed")
	}
}

// TestOverlayTmpfileInHostDir: an O_TMPFILE file made in a host directory
// not yet copied up takes that directory's group when it is set-group-ID,
// as a created file does.
func TestOverlayTmpfileInHostDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving the host directory another group needs root")
	}
	s := newSandbox(t, map[string]string{"shared/x": "x"})
	dir := filepath.Join(s.dir, "shared")
	if err := os.Chown(dir, 0, 1234); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(dir, 0o2777); err != nil {
		t.Fatal(err)
	}
	f, err := s.open("/shared", unix.O_TMPFILE|unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	if st, err := f.Stat(); err != nil || st.Gid != 1234 || st.Nlink != 0 {
		t.Errorf("tmpfile in a set-group-ID host directory: gid %d, nlink %d, %v; want 1234, 0", st.Gid, st.Nlink, err)
	}
}

func TestOverlayMappable(t *testing.T) {
	s := newSandbox(t, map[string]string{"lib.so": "ELF..."})
	f, err := s.open("/lib.so", unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	m, err := f.MappableFile()
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	buf := make([]byte, 10)
	if n, err := f.ReadAt(buf, 0); n != 6 || err == nil {
		t.Errorf("ReadAt = %d, %v; want 6, EOF", n, err)
	}
	// A file opened before a copy up sees the copy.
	s.write("/lib.so", "NEW", 0)
	if n, _ := f.ReadAt(buf[:3], 0); string(buf[:n]) != "NEW" {
		t.Errorf("read after copy up: %q", buf[:n])
	}
	d, err := s.open("/tmp", unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer d.DecRef()
	if _, err := d.MappableFile(); err != unix.EACCES {
		t.Errorf("mapping a directory: %v", err)
	}
}

func TestTmpfsFiles(t *testing.T) {
	s := newSandbox(t, nil)
	s.write("/dev/shm/seg", "shared", unix.O_CREAT)
	f, err := s.open("/dev/shm/seg", unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	m, err := f.MappableFile()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	b := make([]byte, 6)
	if _, err := m.ReadAt(b, 0); err != nil || string(b) != "shared" {
		t.Errorf("memfd content %q, %v", b, err)
	}
	st, _ := f.Stat()
	if st.Size != 6 || st.Nlink != 1 || st.Mode != unix.S_IFREG|0o644&^0o022 {
		t.Errorf("stat %+v", st)
	}
	if off, err := f.Seek(s.ctx, 0, unix.SEEK_END); off != 6 || err != nil {
		t.Errorf("SEEK_END = %d, %v", off, err)
	}
	tmp, _ := s.v.StatAt(s.ctx, rootCreds, s.fsc, nil, "/tmp", true)
	if tmp.Mode != unix.S_IFDIR|0o1777 {
		t.Errorf("/tmp mode %o", tmp.Mode)
	}
}
