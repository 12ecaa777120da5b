package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// hostIdentity is the host uid and gid the sandbox's files are written as
// with the default --host-uid and --host-gid.
func hostIdentity() (uint32, uint32) {
	if os.Geteuid() == 0 {
		return 65534, 65534
	}
	return uint32(os.Geteuid()), uint32(os.Getegid())
}

// sandboxWritableDir returns a fresh directory the sandbox's host identity
// may write (mode 0777 for a sandbox of root's, which writes as nobody).
func sandboxWritableDir(t *testing.T, name string) string {
	t.Helper()
	d := workDir(t, name)
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

func owner(t *testing.T, p string) (uint32, uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid
}

// TestVolumes: a read-write volume's changes are on the host afterwards,
// owned by the sandbox's host identity (fsync of a file there included); a read-only one refuses writes;
// a single file can be a volume; --tmpfs mounts a sized memory file
// system; /proc/mounts lists them without host paths.
func TestVolumes(t *testing.T) {
	skipKnownGap(t)
	out := sandboxWritableDir(t, "vol-rw")
	in := workDir(t, "vol-ro")
	if err := os.WriteFile(filepath.Join(in, "input"), []byte("input data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(sandboxWritableDir(t, "vol-file"), "notes")
	if err := os.WriteFile(file, []byte("first\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(file, 0o666) // whatever the umask

	r := runscLite(t, runOpts{dir: in}, "run",
		"--volume", out+":/out", "--volume", in+":/in:ro", "--volume", file+":/etc/notes:rw", "--tmpfs", "/scratch:size=1m", "--",
		"/bin/sh", "-c", `set -e
cat /in/input
echo result > /out/result
sync /out/result
mkdir /out/dir
echo moved > /out/dir/a && mv /out/dir/a /out/dir/b
ln -s b /out/dir/link && ln /out/dir/b /out/dir/hard
chmod 640 /out/dir/b
touch -m -d '2001-02-03 04:05:06' /out/result
rm /out/dir/hard
echo second >> /etc/notes
if echo x > /in/new 2>/dev/null; then echo ro-written; fi
if mkdir /in/d 2>/dev/null; then echo ro-mkdir; fi
if dd if=/dev/zero of=/scratch/big bs=64k count=32 2>/dev/null; then echo tmpfs-unbounded; fi
grep -E ' (/out|/in|/etc/notes|/scratch) ' /proc/mounts`)
	wantMounts := "volume /out hostfs rw 0 0\nvolume /in hostfs ro 0 0\nvolume /etc/notes hostfs rw 0 0\ntmpfs /scratch tmpfs rw,size=1024k 0 0\n"
	if r.code != 0 || r.stdout != "input data\n"+wantMounts {
		t.Fatalf("want the input and the mounts\n%s, got %v", wantMounts, r)
	}
	uid, gid := hostIdentity()
	for name, want := range map[string]string{"result": "result\n", "dir/b": "moved\n", "dir/link": "moved\n"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(b) != want {
			t.Errorf("host %s: %q, %v; want %q", name, b, err, want)
		}
		if u, g := owner(t, filepath.Join(out, name)); u != uid || g != gid {
			t.Errorf("host %s belongs to %d:%d, want %d:%d", name, u, g, uid, gid)
		}
	}
	if st, err := os.Stat(filepath.Join(out, "dir", "b")); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("chmod 640 through the volume: %v, %v", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Join(out, "result")); err != nil || st.ModTime().UTC().Year() != 2001 {
		t.Errorf("touch -d through the volume: %v, %v", st.ModTime(), err)
	}
	if _, err := os.Lstat(filepath.Join(out, "dir", "a")); !os.IsNotExist(err) {
		t.Errorf("the renamed file's old name is still on the host: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(out, "dir", "hard")); !os.IsNotExist(err) {
		t.Errorf("the removed link is still on the host: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "first\nsecond\n" {
		t.Errorf("the file volume on the host: %q", b)
	}
	ents, _ := os.ReadDir(in)
	if len(ents) != 1 {
		t.Errorf("the read-only volume changed on the host: %v", ents)
	}
}

// TestVolumeOwnership: under root, --host-uid and --host-gid make the
// files a sandbox writes through a volume the named user's.
func TestVolumeOwnership(t *testing.T) {
	skipKnownGap(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root: the caller owns them otherwise (TestVolumes)")
	}
	dir := workDir(t, "vol-owner")
	if err := os.Chown(dir, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	r := runscLite(t, runOpts{dir: dir}, "run", "--host-uid=4321", "--host-gid=4321", "--volume", dir+":/out", "--",
		"/bin/sh", "-c", "echo x > /out/f && mkdir /out/d && stat -c %u:%g /out/f")
	if r.code != 0 || r.stdout != "4321:4321\n" {
		t.Fatalf("want 4321:4321 inside, got %v", r)
	}
	for _, name := range []string{"f", "d"} {
		if u, g := owner(t, filepath.Join(dir, name)); u != 4321 || g != 4321 {
			t.Errorf("host %s belongs to %d:%d, want 4321:4321", name, u, g)
		}
	}
}

// TestVolumeEscapes: nothing the sandbox does through a volume reaches a
// host file outside it: host symlinks and ".." resolve in the sandbox's
// tree, symlinks and hard links it makes lead nowhere on the host, and a
// rename out of the volume stays in the sandbox.
func TestVolumeEscapes(t *testing.T) {
	skipKnownGap(t)
	parent := workDir(t, "vol-escape")
	secret := "secret-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(filepath.Join(parent, secret), []byte("host secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(parent, "vol")
	if err := os.Mkdir(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(vol, 0o777)
	for name, target := range map[string]string{"up": "../" + secret, "abs": filepath.Join(parent, secret), "self": "/proc/self/cwd/../" + secret} {
		if err := os.Symlink(target, filepath.Join(vol, name)); err != nil {
			t.Fatal(err)
		}
	}
	pwned := filepath.Join(parent, "pwned")
	r := runscLite(t, runOpts{dir: "/"}, "run", "--volume", vol+":/v", "--cwd", "/v", "--",
		"/bin/sh", "-c", `
for p in /v/up /v/../`+secret+` ../`+secret+` /v/self; do cat $p 2>/dev/null && echo "read $p"; done
ln -s `+parent+` /v/out && echo x > /v/out/pwned 2>/dev/null
ln -s /proc/self/root`+parent+` /v/magic && echo x > /v/magic/pwned 2>/dev/null
ln /etc/hostname /v/hard 2>/dev/null && echo hard-linked
mkdir /v/d && mv /v/d /moved 2>/dev/null
echo x > /v/up 2>/dev/null
true`)
	// The absolute link names a path the sandbox's root shows (the root is
	// the host's /, read-only beneath the overlay): reading it is no
	// escape, but nothing may be written there.
	if r.code != 0 || strings.Contains(r.stdout, "read /v/up") || strings.Contains(r.stdout, "read /v/../") ||
		strings.Contains(r.stdout, "read ../") || strings.Contains(r.stdout, "read /v/self") || strings.Contains(r.stdout, "hard-linked") {
		t.Errorf("the sandbox reached outside the volume:\n%v", r)
	}
	if _, err := os.Lstat(pwned); !os.IsNotExist(err) {
		t.Errorf("a write through a symlink in the volume reached the host: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(parent, secret)); string(b) != "host secret\n" {
		t.Errorf("the host file the volume's links name changed: %q", b)
	}
	ents, _ := os.ReadDir(parent)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "pwned" && len(names) != 2 {
		t.Errorf("the volume's parent on the host changed: %v", names)
	}
	if _, err := os.Lstat(filepath.Join(vol, "hard")); !os.IsNotExist(err) {
		t.Errorf("a hard link to a file outside the volume was made: %v", err)
	}
}

// TestVolumeBadInput: bad volumes and mounts are one line and a non-zero
// status, before anything runs.
func TestVolumeBadInput(t *testing.T) {
	dir := workDir(t, "vol-bad")
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"missing-host", []string{"--volume", "/nonexistent-runsc-lite:/x"}, 1},
		{"relative-dest", []string{"--volume", dir + ":x"}, 2},
		{"empty-host", []string{"--volume", ":/x"}, 2},
		{"too-many-parts", []string{"--volume", dir + ":/x:ro:y"}, 2},
		{"dest-proc", []string{"--volume", dir + ":/proc/x"}, 2},
		{"dest-root", []string{"--volume", dir + ":/"}, 2},
		{"host-device", []string{"--volume", "/dev/null:/x"}, 1},
		{"tmpfs-relative", []string{"--tmpfs", "scratch"}, 2},
		{"tmpfs-bad-option", []string{"--tmpfs", "/scratch:bogus=1"}, 2},
		{"overlay-unknown", []string{"--overlay=disk"}, 2},
		{"overlay-none-on-host-root", []string{"--overlay=none"}, 2},
		{"dir-on-file", []string{"--volume", dir + ":/etc/hostname"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skipKnownGap(t)
			r := runscLite(t, runOpts{dir: dir}, append(append([]string{"run"}, tc.args...), "--", "/bin/true")...)
			if r.code != tc.code || r.stdout != "" || !strings.HasPrefix(r.stderr, "runsc-lite: ") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("want exit %d and one line on stderr, got %v", tc.code, r)
			}
		})
	}
}

// TestWorkingDirectory: the caller's directory is the sandbox's, at the
// same path, even below /tmp (which the sandbox otherwise replaces) and
// below a directory the sandbox's host identity cannot search; writes to
// it stay in memory; --cwd overrides; --host-tmp shows the host's /tmp; a
// directory that cannot be shown is an error.
func TestWorkingDirectory(t *testing.T) {
	skipKnownGap(t)
	tmp, err := os.MkdirTemp("/tmp", "runsc-lite-cwd-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	os.Chmod(tmp, 0o755)
	tool := filepath.Join(tmp, "mytool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\necho tool ran in $(pwd)\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := runscLite(t, runOpts{dir: tmp}, "run", "--", "/bin/sh", "-c",
		"pwd; ./mytool; cat "+tool+" >/dev/null && echo abs-ok; echo new > created && cat created; ls /tmp")
	want := tmp + "\ntool ran in " + tmp + "\nabs-ok\nnew\n" + filepath.Base(tmp) + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("below /tmp: want %q, got %v", want, r)
	}
	if _, err := os.Stat(filepath.Join(tmp, "created")); !os.IsNotExist(err) {
		t.Errorf("a write to the working directory reached the host: %v", err)
	}

	r = runscLite(t, runOpts{dir: tmp}, "run", "--cwd", "/usr", "--", "/bin/pwd")
	if r.code != 0 || r.stdout != "/usr\n" {
		t.Errorf("--cwd /usr: %v", r)
	}
	r = runscLite(t, runOpts{dir: tmp}, "run", "--host-tmp", "--cwd", "/", "--", "/bin/ls", tmp)
	if r.code != 0 || r.stdout != "mytool\n" {
		t.Errorf("--host-tmp: want the host's %s listed, got %v", tmp, r)
	}
	r = runscLite(t, runOpts{dir: tmp}, "run", "--cwd", "/", "--", "/bin/ls", "-A", "/tmp")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("with --cwd, /tmp must be empty: %v", r)
	}

	if os.Geteuid() == 0 {
		// The sandbox reads host files as nobody, who cannot search a
		// 0700 directory; the caller's directory below it is shown all
		// the same, and only it.
		private := workDir(t, "cwd-private")
		os.Chmod(private, 0o700)
		proj := filepath.Join(private, "proj")
		os.Mkdir(proj, 0o755)
		os.WriteFile(filepath.Join(proj, "f"), []byte("in proj\n"), 0o644)
		os.WriteFile(filepath.Join(private, "g"), []byte("beside proj\n"), 0o644)
		r = runscLite(t, runOpts{dir: proj}, "run", "--", "/bin/sh", "-c", "pwd; cat f; cat ../g 2>/dev/null || echo hidden")
		if want := proj + "\nin proj\nhidden\n"; r.code != 0 || r.stdout != want {
			t.Errorf("below a private directory: want %q, got %v", want, r)
		}
	}

	r = runscLite(t, runOpts{dir: "/proc/self/fdinfo"}, "run", "--", "/bin/pwd")
	if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "working directory") {
		t.Errorf("a working directory the sandbox cannot show: want one line and exit 1, got %v", r)
	}
}

// TestOverlayNone: with --overlay=none the --rootfs directory takes the
// sandbox's writes, which are there afterwards.
func TestOverlayNone(t *testing.T) {
	skipKnownGap(t)
	prog := buildC(t, filepath.Join("testdata", "e2e", "writefile.c"), true)
	root := sandboxWritableDir(t, "rootfs-none")
	b, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "writefile"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	r := runscLite(t, runOpts{dir: root}, "run", "--rootfs", root, "--overlay=none", "--", "/writefile", "/kept", "kept\n")
	if r.code != 0 || r.stdout != "wrote /kept\n" {
		t.Fatalf("--overlay=none: %v", r)
	}
	if b, err := os.ReadFile(filepath.Join(root, "kept")); err != nil || string(b) != "kept\n" {
		t.Errorf("the write is not in the root directory on the host: %q, %v", b, err)
	}
	r = runscLite(t, runOpts{dir: root}, "run", "--rootfs", root, "--", "/writefile", "/lost", "lost\n")
	if r.code != 0 {
		t.Fatalf("--overlay=memory: %v", r)
	}
	if _, err := os.Stat(filepath.Join(root, "lost")); !os.IsNotExist(err) {
		t.Errorf("--overlay=memory wrote to the host: %v", err)
	}
}

// TestVolumeOnNoexecMount: a volume from a host mount that forbids exec
// answers an executable mapping of its files as that host does (EPERM)
// and its other mappings with the file's bytes, as natively. The host's
// refusal must reach the application, so such a mapping is never one a
// stub thread makes as it resumes (platform/systrap: hostMapsAtResume).
func TestVolumeOnNoexecMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a noexec tmpfs needs root")
	}
	d := workDir(t, "vol-noexec")
	if err := syscall.Mount("tmpfs", d, "tmpfs", syscall.MS_NOEXEC|syscall.MS_NOSUID|syscall.MS_NODEV, "size=1m"); err != nil {
		t.Skipf("mounting a noexec tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(d, syscall.MNT_DETACH) })
	data := make([]byte, 8192)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(d, "data"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	prog := buildC(t, filepath.Join("testdata", "e2e", "mapexec.c"), false)
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			native, _ := compareRunsFlags(t, platform, "", "", true, []string{"--volume", d + ":/vol:ro"},
				[]string{prog, filepath.Join(d, "data")}, []string{prog, "/vol/data"})
			if !strings.Contains(native.stdout, "Operation not permitted") || !strings.Contains(native.stdout, "still running") {
				t.Errorf("natively: %q, want an EPERM and the program to go on", native.stdout)
			}
		})
	}
}

// TestVolumeOpenFileRenamed: an open file of a read-write volume is
// fstat'ed, chmod'ed, truncated, stamped and has its xattrs read through
// its descriptor after it was renamed, moved, had another file take its
// old name, and was unlinked, as natively; its /proc/self/fd link and
// /proc/self/maps name it where it is now. These went to the path it was
// opened at: fstat or fgetxattr after a rename was ENOENT, and after
// another file took the name, that file's; the fd link and the mapping
// kept the old name.
func TestVolumeOpenFileRenamed(t *testing.T) {
	prog := buildC(t, filepath.Join("testdata", "e2e", "openrename.c"), false)
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			nd, sd := workDir(t, "native"), workDir(t, "volume")
			// The sentry reads and writes host files as its own user.
			if err := os.Chmod(sd, 0o777); err != nil {
				t.Fatal(err)
			}
			// The sandbox cannot set a volume file's xattrs: "x" comes with one.
			for _, dir := range []string{nd, sd} {
				x := filepath.Join(dir, "x")
				if err := os.WriteFile(x, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := unix.Setxattr(x, "user.t", []byte("kept"), 0); err != nil {
					t.Skipf("user xattrs on %s: %v", dir, err)
				}
			}
			compareRunsFlags(t, platform, "", "", true, []string{"--volume", sd + ":/vol:rw"},
				[]string{prog, nd}, []string{prog, "/vol"})
		})
	}
}
