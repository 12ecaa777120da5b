package launch

import (
	"fmt"
	"os"
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
		{opts: "rw,lowerdir=l/A:l/B,upperdir=/u", err: true},
		{opts: "rw,upperdir=/u", err: true},
	} {
		got, err := parseOverlayOptions(c.opts)
		if (err != nil) != c.err || err == nil && !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseOverlayOptions(%q) = %+v, %v; want %+v, error %t", c.opts, got, err, c.want, c.err)
		}
	}
}
