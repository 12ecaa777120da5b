package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// linkApplets adds busybox applets to a bundle's root made by ociBundle.
func linkApplets(bundle string, names ...string) {
	for _, n := range names {
		os.Symlink("busybox", filepath.Join(bundle, "rootfs", "bin", n))
	}
}

// TestImageRootOwners: a root file system the user gives (--rootfs, an
// OCI bundle's root.path) is read as its own root would read it, though
// the sentry is nobody on the host (launch.OpenImageRoot): the image's
// root-only directory and files open to the sandbox's root, their owners
// shown as on the host, a directory made in /root stays in the memory
// overlay; the files of the sentry's own host identity are not its own
// there. Written through (--overlay=none) and on the host's own root, the
// root-only files stay closed (TestHostIdentity: /etc/shadow).
func TestImageRootOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("idmapped mounts need root")
	}
	const script = "cat /root/secret /etc/shadow; ls -a /root; stat -c '%u %g %a %n' /root /root/secret /mine; " +
		"mkdir /root/.cache && echo made; echo more >> /root/secret && chmod 666 /root/secret && chown 1:1 /etc/shadow && echo changed; cat /mine"
	const want = "secret\nshadow\n.\n..\nsecret\n0 0 700 /root\n0 0 600 /root/secret\n65534 65534 600 /mine\nmade\nchanged\n"
	bundle := ociBundle(t, "sh", "-c", script)
	linkApplets(bundle, "ls", "stat", "mkdir", "chmod", "chown")
	root := filepath.Join(bundle, "rootfs")
	for _, f := range []struct {
		path      string
		mode      os.FileMode
		uid, data string
	}{{"root", 0o700 | os.ModeDir, "0", ""}, {"root/secret", 0o600, "0", "secret\n"}, {"etc", 0o755 | os.ModeDir, "0", ""},
		{"etc/shadow", 0o600, "0", "shadow\n"}, {"mine", 0o600, "65534", "nobody's\n"}} {
		p := filepath.Join(root, f.path)
		if f.mode.IsDir() {
			must(t, os.Mkdir(p, f.mode.Perm()))
		} else {
			must(t, os.WriteFile(p, []byte(f.data), f.mode))
		}
		must(t, os.Chmod(p, f.mode.Perm()))
		if f.uid != "0" {
			must(t, os.Chown(p, 65534, 65534))
		}
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			skipKnownGap(t)
			r := runscLite(t, runOpts{dir: "/"}, "run", "--platform", platform, "--rootfs", root, "--", "/bin/sh", "-c", script)
			if r.code != 1 || r.stdout != want || !strings.Contains(r.stderr, "can't open '/mine': Permission denied") {
				t.Errorf("--rootfs: want exit 1, %q and EACCES for /mine, got %v", want, r)
			}
		})
	}
	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Process.Args = []string{"sh", "-c", script}
	})
	if r := oci(t, workDir(t, "state"), "run", "--bundle", bundle, "i1"); r.code != 1 || r.stdout != want {
		t.Errorf("an OCI bundle: want exit 1 and %q, got %v", want, r)
	}
	if _, err := os.Stat(filepath.Join(root, "root", ".cache")); !os.IsNotExist(err) {
		t.Errorf("a directory made in the image's /root is on the host: %v", err)
	}
	// The writes over root's files stayed in the memory overlay.
	var st unix.Stat_t
	if b, err := os.ReadFile(filepath.Join(root, "root", "secret")); err != nil || string(b) != "secret\n" ||
		unix.Stat(filepath.Join(root, "root", "secret"), &st) != nil || st.Mode&0o7777 != 0o600 {
		t.Errorf("the image's /root/secret changed on the host: %q %v, mode %o", b, err, st.Mode&0o7777)
	}
	if unix.Stat(filepath.Join(root, "etc", "shadow"), &st) != nil || st.Uid != 0 || st.Gid != 0 {
		t.Errorf("the image's /etc/shadow changed owner on the host: %d:%d", st.Uid, st.Gid)
	}
	// The same image as an overlayfs mount (a container's snapshot), with a
	// root-only file in its upper layer and a whiteout: seen as Linux's
	// overlay shows it.
	snap := workDir(t, "snapshot")
	upper, work, merged := filepath.Join(snap, "upper"), filepath.Join(snap, "work"), filepath.Join(snap, "merged")
	for _, d := range []string{upper, work, merged} {
		must(t, os.Mkdir(d, 0o755))
	}
	if err := unix.Mount("overlay", merged, "overlay", 0, "lowerdir="+root+",upperdir="+upper+",workdir="+work); err != nil {
		t.Fatalf("mounting an overlay: %v", err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	must(t, os.WriteFile(filepath.Join(merged, "root", "new"), []byte("new\n"), 0o600))
	must(t, os.Remove(filepath.Join(merged, "mine")))
	r := runscLite(t, runOpts{dir: "/"}, "run", "--rootfs", merged, "--", "/bin/sh", "-c", "cat /root/secret /root/new; stat -c '%u %a' /root/new; ls /mine")
	if r.code != 1 || r.stdout != "secret\nnew\n0 600\n" || !strings.Contains(r.stderr, "/mine: No such file or directory") {
		t.Errorf("an overlay root: want its upper layer's files and whiteout as Linux shows them, got %v", r)
	}
	// The same as Docker mounts a snapshot whose absolute layer paths
	// would not fit a page: relative to its home, from which it mounts.
	home := workDir(t, "docker-home")
	for _, d := range []string{"l", "c/diff", "c/work", "c/merged"} {
		must(t, os.MkdirAll(filepath.Join(home, d), 0o755))
	}
	must(t, os.Symlink(root, filepath.Join(home, "l", "IMG")))
	mount := exec.Command("mount", "-t", "overlay", "overlay", "-o", "lowerdir=l/IMG,upperdir=c/diff,workdir=c/work", "c/merged")
	mount.Dir = home
	if out, err := mount.CombinedOutput(); err != nil {
		t.Fatalf("mounting an overlay from its home: %v %s", err, out)
	}
	defer unix.Unmount(filepath.Join(home, "c", "merged"), unix.MNT_DETACH)
	r = runscLite(t, runOpts{dir: "/"}, "run", "--rootfs", filepath.Join(home, "c", "merged"), "--", "/bin/cat", "/root/secret")
	if r.code != 0 || r.stdout != "secret\n" {
		t.Errorf("an overlay root of relative layer paths (Docker's): want its root-only file, got %v", r)
	}
	// Written through, the sentry makes the mount points in / as itself.
	must(t, os.Chown(root, 65534, 65534))
	r = runscLite(t, runOpts{dir: "/"}, "run", "--rootfs", root, "--overlay=none", "--network=none", "--", "/bin/cat", "/root/secret")
	if r.code != 1 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("--overlay=none: want /root/secret closed, got %v", r)
	}
}

// TestOCIRootWrites: root.readonly false keeps writes in a memory overlay
// by default (an image's root-owned files writable, the host unchanged),
// and writes through to root.path on the host (as the sentry's host
// identity) with the root-overlay annotation none; true refuses every
// write with EROFS and leaves the host directory as it was.
func TestOCIRootWrites(t *testing.T) {
	bundle := ociBundle(t, "true")
	linkApplets(bundle, "mkdir", "rm")
	root := filepath.Join(bundle, "rootfs")
	os.WriteFile(filepath.Join(root, "old"), []byte("old\n"), 0o644)
	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Process.Args = []string{"sh", "-c", "echo mem > /old && mkdir /made && cat /old"}
	})
	overlayState := workDir(t, "state-overlay")
	if r := oci(t, overlayState, "run", "--bundle", bundle, "m1"); r.code != 0 || r.stdout != "mem\n" {
		t.Fatalf("run with root.readonly=false, the default overlay: %v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "old")); string(b) != "old\n" {
		t.Errorf("a write in the memory overlay reached the host: %q", b)
	}
	if _, err := os.Stat(filepath.Join(root, "made")); !os.IsNotExist(err) {
		t.Errorf("a directory made in the memory overlay is on the host: %v", err)
	}
	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Annotations = map[string]string{rootOverlayAnnotation: "disk"}
	})
	if r := oci(t, overlayState, "run", "--bundle", bundle, "m2"); r.code == 0 || !strings.Contains(r.stderr, rootOverlayAnnotation) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("a bad root-overlay annotation: %v, want a one-line error naming it", r)
	}
	if os.Geteuid() == 0 {
		// The sentry writes as its host identity, 65534 under root.
		if err := os.Chown(root, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink in the root that names a host directory outside it: the
	// mount point made for a tmpfs below it must not land there.
	outside := workDir(t, "outside")
	os.Symlink(outside, filepath.Join(root, "esc"))
	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Annotations = map[string]string{rootOverlayAnnotation: "none"}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/esc/x", Type: "tmpfs", Source: "tmpfs"})
	})
	stateDir := workDir(t, "state")
	if r := oci(t, stateDir, "run", "--bundle", bundle, "w0"); r.code == 0 || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("run with a mount point through a symlink out of the root: %v, want a one-line error", r)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("a mount point was made outside the root, through a symlink: %v", ents)
	}
	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Annotations = map[string]string{rootOverlayAnnotation: "none"}
		s.Process.Args = []string{"sh", "-c", "echo through > /written && mkdir /made && rm /old && cat /written"}
	})
	if r := oci(t, stateDir, "run", "--bundle", bundle, "w1"); r.code != 0 || r.stdout != "through\n" {
		t.Fatalf("run with root.readonly=false: %v", r)
	}
	if b, err := os.ReadFile(filepath.Join(root, "written")); err != nil || string(b) != "through\n" {
		t.Errorf("the file written in the sandbox on the host: %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "made")); err != nil || !fi.IsDir() {
		t.Errorf("the directory made in the sandbox on the host: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "old")); !os.IsNotExist(err) {
		t.Errorf("the file removed in the sandbox is still on the host: %v", err)
	}

	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Root.Readonly = true
		s.Process.Args = []string{"sh", "-c", "cat /written; echo x > /refused || echo refused; mkdir /made2 || echo refused; rm /written || echo refused"}
	})
	r := oci(t, stateDir, "run", "--bundle", bundle, "w2")
	if r.code != 0 || r.stdout != "through\nrefused\nrefused\nrefused\n" || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("run with root.readonly=true: %v, want the file read and three writes refused with EROFS", r)
	}
	for _, n := range []string{"refused", "made2"} {
		if _, err := os.Stat(filepath.Join(root, n)); !os.IsNotExist(err) {
			t.Errorf("%s was made on the host under a read-only root: %v", n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "written")); err != nil {
		t.Errorf("a file was removed on the host under a read-only root: %v", err)
	}
}

// TestOCIFileBind: bind mounts of single files (Docker's resolv.conf and
// hosts, in a directory only root may enter) are live both ways: the
// sandbox's appends to the read-write one reach the host, the host's
// changes to both are seen inside, and the read-only one refuses writes.
func TestOCIFileBind(t *testing.T) {
	bundle := ociBundle(t, "true")
	linkApplets(bundle, "grep", "seq")
	private := filepath.Join(workDir(t, "files"), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	resolv, hosts := filepath.Join(private, "resolv.conf"), filepath.Join(private, "hosts")
	os.WriteFile(resolv, []byte("nameserver 192.0.2.1\n"), 0o644)
	os.WriteFile(hosts, []byte("127.0.0.1 localhost\n"), 0o644)
	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", `cat /etc/resolv.conf
echo 192.0.2.9 added >> /etc/hosts
for i in $(seq 200); do grep -q host-change /etc/hosts && break; sleep 0.05; done
cat /etc/resolv.conf
echo x > /etc/resolv.conf || echo refused`}
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: resolv, Options: []string{"rbind", "ro"}},
			specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: hosts, Options: []string{"rbind", "rw"}})
	})
	stateDir := workDir(t, "state")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, runscBin, "--root", stateDir, "run", "--bundle", bundle, "f1")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { oci(t, stateDir, "delete", "--force", "f1") })
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(hosts); strings.Contains(string(b), "added") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the sandbox's append to /etc/hosts never reached the host (stderr %q)", errOut.String())
		}
	}
	// The host changes both files in place while the sandbox runs.
	if err := os.WriteFile(resolv, []byte("nameserver 192.0.2.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(hosts, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("192.0.2.3 host-change\n")
	f.Close()
	err = cmd.Wait()
	if want := "nameserver 192.0.2.1\nnameserver 192.0.2.2\nrefused\n"; err != nil || out.String() != want {
		t.Errorf("the sandbox: %v, stdout %q, stderr %q; want %q", err, out.String(), errOut.String(), want)
	}
	if !strings.Contains(errOut.String(), "Read-only file system") {
		t.Errorf("the write to the read-only file: stderr %q, want EROFS", errOut.String())
	}
	if b, _ := os.ReadFile(hosts); string(b) != "127.0.0.1 localhost\n192.0.2.9 added\n192.0.2.3 host-change\n" {
		t.Errorf("/etc/hosts on the host: %q", b)
	}
	if b, _ := os.ReadFile(resolv); string(b) != "nameserver 192.0.2.2\n" {
		t.Errorf("/etc/resolv.conf on the host: %q", b)
	}
}
