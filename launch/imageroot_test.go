package launch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMain lets this test binary be a holder too: the untraced holder runs
// /proc/self/exe, which is the test binary here.
func TestMain(m *testing.M) {
	if IsHolder() {
		os.Exit(Hold())
	}
	os.Exit(m.Run())
}

func TestSwapMap(t *testing.T) {
	// ext is one line of a map: n ids from in, inside, to out.
	ext := func(in, out, n int) syscall.SysProcIDMap {
		return syscall.SysProcIDMap{ContainerID: in, HostID: out, Size: n}
	}
	for _, c := range []struct {
		id   uint32
		want []syscall.SysProcIDMap
	}{
		{65534, []syscall.SysProcIDMap{ext(0, 65534, 1), ext(1, 1, 65533), ext(65534, 0, 1), ext(65535, 65535, 1<<32-2-65534)}},
		{1, []syscall.SysProcIDMap{ext(0, 1, 1), ext(1, 0, 1), ext(2, 2, 1<<32-2-1)}},
		{1<<32 - 2, []syscall.SysProcIDMap{ext(0, 1<<32-2, 1), ext(1, 1, 1<<32-3), ext(1<<32-2, 0, 1)}},
	} {
		if got := swapMap(c.id); !reflect.DeepEqual(got, c.want) {
			t.Errorf("swapMap(%d) = %v, want %v", c.id, got, c.want)
		}
	}
}

// TestOpenImageRoot: a directory opens as a read-only idmapped mount on
// which root's files show as the given identity's and its files as
// root's; the host's own root opens plainly.
func TestOpenImageRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("idmapped mounts need root")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "roots"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nobodys"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, "nobodys"), 65534, 65533); err != nil {
		t.Fatal(err)
	}
	f, err := OpenImageRoot(dir, 65534, 65533)
	if err != nil || !f.Swapped {
		t.Fatalf("OpenImageRoot = %+v, %v; want an idmapped root", f, err)
	}
	defer f.Close()
	for name, want := range map[string][2]uint32{"roots": {65534, 65533}, "nobodys": {0, 0}} {
		var st unix.Stat_t
		if err := unix.Fstatat(int(f.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
		if got := [2]uint32{st.Uid, st.Gid}; got != want {
			t.Errorf("%s's owner through the mount: %v, want %v", name, got, want)
		}
	}
	if fd, err := unix.Openat(int(f.Fd()), "new", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644); err != unix.EROFS {
		unix.Close(fd)
		t.Errorf("creating a file through the mount: %v, want EROFS", err)
	}
	if err := unix.Fchmodat(int(f.Fd()), "roots", 0o666, 0); err != unix.EROFS {
		t.Errorf("chmod through the mount: %v, want EROFS", err)
	}
	h, err := OpenImageRoot("/", 65534, 65534)
	if err != nil || h.Swapped || h.Refused != nil {
		t.Errorf("OpenImageRoot(/) = %+v, %v; want the plain host root", h, err)
	}
	h.Close()
	if z, _ := OpenImageRoot(dir, 0, 0); z.Swapped {
		t.Errorf("OpenImageRoot for host identity 0: swapped, want plain")
	}
	// A file system that cannot be idmapped: plain, and says why.
	p, err := OpenImageRoot("/proc", 65534, 65534)
	if err != nil || p.Swapped || p.Refused == nil {
		t.Errorf("OpenImageRoot(/proc) = %+v, %v; want the plain descriptor and the host's refusal", p, err)
	}
	p.Close()
}

// TestUntracedHolder: the holder that runs Hold (when this process cannot
// trace its child) has the namespace with the swapped map too.
func TestUntracedHolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("maps other ids than the caller's")
	}
	h, err := startHolder(1000, 1001, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", h.cmd.Process.Pid))
	if err := h.end(); err != nil {
		t.Errorf("the holder: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%10d %10d %10d\n%10d %10d %10d\n%10d %10d %10d\n%10d %10d %10d\n", 0, 1000, 1, 1, 1, 999, 1000, 0, 1, 1001, 1001, uint32(1<<32-2-1000))
	if string(b) != want {
		t.Errorf("the holder's uid_map:\n%s\nwant\n%s", b, want)
	}
}

func TestParseOverlayOptions(t *testing.T) {
	for _, c := range []struct {
		opts string
		want overlayLayers
		err  bool
	}{
		{opts: "rw,lowerdir=/l1:/l\\0542\\:x,upperdir=/u,workdir=/w,redirect_dir=on,metacopy=on,uuid=on",
			want: overlayLayers{upper: "/u", lowers: []string{"/l1", "/l,2:x"}, options: map[string]string{"redirect_dir": "follow", "metacopy": "on"}}},
		{opts: "ro,lowerdir+=/a,lowerdir+=/b\\040c,userxattr",
			want: overlayLayers{lowers: []string{"/a", "/b c"}, options: map[string]string{"userxattr": ""}}},
		{opts: "rw,lowerdir=/a::/data", err: true},
		{opts: "rw,lowerdir+=/a,datadir+=/d", err: true},
		{opts: "rw,lowerdir=l/A:l/B,upperdir=/u",
			want: overlayLayers{upper: "/u", lowers: []string{"l/A", "l/B"}, options: map[string]string{}}},
		{opts: "rw,upperdir=/u", err: true},
	} {
		got, err := parseOverlayOptions(c.opts)
		if (err != nil) != c.err || err == nil && !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseOverlayOptions(%q) = %+v, %v; want %+v, error %t", c.opts, got, err, c.want, c.err)
		}
	}
}

// TestOverlayRelativeLayers: an overlay mounted with relative layer
// paths, as Docker's overlay2 mounts one from its home (the mount point
// <home>/<id>/merged) and containerd its lower layers from their
// snapshots' directory (<snapshots>/<n>/fs its absolute upper layer),
// has its layers found from those directories, and only where they make
// the mount's root; elsewhere it stays closed.
func TestOverlayRelativeLayers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting an overlay needs root")
	}
	mkdirs := func(base string, dirs ...string) {
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// mountFrom mounts an overlay with options opts at target, from
	// directory dir, as Docker's mountFrom does.
	mountFrom := func(dir, opts, target string) {
		out, err := exec.Command("/bin/sh", "-c", "cd \"$1\" && mount -t overlay overlay -o \"$2\" \"$3\"", "sh", dir, opts, target).CombinedOutput()
		if err != nil {
			t.Fatalf("mount -o %s from %s: %v %s", opts, dir, err, out)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		t.Cleanup(func() { unix.Unmount(target, unix.MNT_DETACH) })
	}
	layersOf := func(target string) (overlayLayers, error) {
		fd, err := unix.Open(target, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		var stx unix.Statx_t
		if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil {
			t.Fatal(err)
		}
		mi, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		defer mi.Close()
		l, err := findOverlay(mi, stx.Mnt_id)
		if err != nil {
			t.Fatal(err)
		}
		return l.resolveRelative(fd)
	}

	// Docker: <home>/l/X -> ../<lower>/diff, <home>/<id>/{diff,work,merged}.
	home := t.TempDir()
	mkdirs(home, "low/diff/etc", "low/diff/gone", "id/diff", "id/work", "id/merged", "l")
	if err := os.Symlink("../low/diff", filepath.Join(home, "l", "X")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(home, "id", "diff", "gone"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	mountFrom(home, "lowerdir=l/X,upperdir=id/diff,workdir=id/work", "id/merged")
	l, err := layersOf(filepath.Join(home, "id", "merged"))
	if err != nil || l.upper != filepath.Join(home, "id", "diff") || len(l.lowers) != 1 || l.lowers[0] != filepath.Join(home, "l", "X") {
		t.Errorf("Docker's layout: %+v, %v", l, err)
	}

	// containerd: lower layers relative to <snapshots>, the upper absolute.
	snaps := t.TempDir()
	mkdirs(snaps, "1/fs/usr", "2/fs/bin", "3/fs", "3/work")
	mnt := t.TempDir()
	mountFrom(snaps, "lowerdir=2/fs:1/fs,upperdir="+filepath.Join(snaps, "3", "fs")+",workdir="+filepath.Join(snaps, "3", "work"), mnt)
	l, err = layersOf(mnt)
	if err != nil || len(l.lowers) != 2 || l.lowers[0] != filepath.Join(snaps, "2", "fs") || l.lowers[1] != filepath.Join(snaps, "1", "fs") {
		t.Errorf("containerd's layout: %+v, %v", l, err)
	}

	// From another directory, whose layers are not the mount's: closed.
	other := t.TempDir()
	mkdirs(other, "low/diff/other", "id/diff", "id/work", "id/merged", "l", "elsewhere/x/merged")
	if err := os.Symlink("../low/diff", filepath.Join(other, "l", "X")); err != nil {
		t.Fatal(err)
	}
	decoy := filepath.Join(other, "elsewhere", "x", "merged")
	mkdirs(filepath.Join(other, "elsewhere"), "l/X/etc", "id/diff", "id/work")
	mountFrom(other, "lowerdir=l/X,upperdir=id/diff,workdir=id/work", decoy)
	if l, err := layersOf(decoy); err == nil {
		t.Errorf("layers found from a directory that does not make the overlay: %+v", l)
	}
}
