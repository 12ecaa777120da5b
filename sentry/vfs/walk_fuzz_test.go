package vfs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/overlay"
	"runsc-lite/sentry/vfs"
)

// walkTree is the tree both FuzzPathWalk sides are built from, relative to
// the caller's root: directories end with "/", symlinks hold "->", the
// rest are files. "m/" is a mount of its own in the VFS. Outside the root
// there is "secret", which no walk may reach.
var walkTree = []string{
	"a/", "a/b/", "a/b/c", "a/up -> ..", "a/top -> /", "a/esc -> ../../..", "a/sib -> ../d",
	"d/", "d/f", "file", "m/", "m/g", "m/back -> ../a", "m/out -> ../../../..",
	"loop1 -> loop2", "loop2 -> loop1", "self -> self", "dangling -> nowhere", "abs -> /a/b",
	"fileslash -> file/", "dotdot -> ../..", "danglingdir -> nowhere/", "rel -> a/b/../../d",
	strings.Repeat("n", 255),
}

// chainLen is the length of the chain0 -> chain1 -> ... -> a symlink
// chain: chain0 needs 41 links, one more than Linux follows.
const chainLen = 41

func init() {
	for i := range chainLen {
		next := "a"
		if i+1 < chainLen {
			next = "chain" + strconv.Itoa(i+1)
		}
		walkTree = append(walkTree, "chain"+strconv.Itoa(i)+" -> "+next)
	}
}

// walkSides are the same tree in the sandbox's VFS (on in-memory
// filesystems) and on the host, where the kernel resolves paths with
// openat2(RESOLVE_IN_ROOT): the reference for every result. The host tree
// is built once (on tmpfs when there is one) and put back after each
// input; the VFS tree is built afresh for each.
type walkSides struct {
	v        *vfs.VFS
	fsc      *vfs.FSContext
	host     string // the host directory that is the root
	hostRoot int    // a descriptor of it
}

// buildWalkTree makes walkTree (and "secret" beside the root) with mkdir,
// file and link; mount is called once "m/" exists.
func buildWalkTree(mkdir, file func(path string) error, link func(target, path string) error, mount func() error) error {
	if err := mkdir("/root"); err != nil {
		return err
	}
	if err := file("/secret"); err != nil {
		return err
	}
	for _, e := range walkTree {
		name, target, isLink := strings.Cut(e, " -> ")
		var err error
		switch {
		case isLink:
			err = link(target, "/root/"+name)
		case strings.HasSuffix(name, "/"):
			if err = mkdir("/root/" + name); err == nil && name == "m/" {
				err = mount()
			}
		default:
			err = file("/root/" + name)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", e, err)
		}
	}
	return nil
}

// newHostWalkTree builds the host side under a new directory of base and
// returns the root's path and a descriptor of it.
func newHostWalkTree(tb testing.TB, base string) (string, int) {
	tb.Helper()
	world, err := os.MkdirTemp(base, "walk")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(world) })
	err = buildWalkTree(
		func(p string) error { return os.Mkdir(world+p, 0o755) },
		func(p string) error { return os.WriteFile(world+p, nil, 0o644) },
		func(target, p string) error { return os.Symlink(target, world+p) },
		func() error { return nil },
	)
	if err != nil {
		tb.Fatalf("host tree: %v", err)
	}
	fd, err := unix.Open(world+"/root", unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Close(fd) })
	return world + "/root", fd
}

// newWalkSides builds the VFS side and pairs it with the host's.
func newWalkSides(t *testing.T, host string, hostRoot int) *walkSides {
	t.Helper()
	ctx := context.Background()
	v := vfs.New(overlay.NewMemory(0o755))
	fsc := v.NewFSContext()
	err := buildWalkTree(
		func(p string) error { return v.Mkdir(ctx, vfs.KernelCreds(), fsc, nil, p, 0o755) },
		func(p string) error {
			f, err := v.Open(ctx, vfs.KernelCreds(), fsc, nil, p, unix.O_CREAT|unix.O_WRONLY, 0o644)
			if err == nil {
				f.DecRef()
			}
			return err
		},
		func(target, p string) error { return v.Symlink(ctx, vfs.KernelCreds(), fsc, target, nil, p) },
		func() error { return v.Mount("/root/m", overlay.NewMemory(0o755)) },
	)
	if err != nil {
		t.Fatalf("vfs tree: %v", err)
	}
	root, err := v.Lookup(ctx, vfs.KernelCreds(), fsc, nil, "/root", true)
	if err != nil {
		t.Fatal(err)
	}
	fsc.SetRoot(root)
	fsc.SetCwd(root)
	return &walkSides{v: v, fsc: fsc, host: host, hostRoot: hostRoot}
}

// inWalkTree reports whether rel (a path from the root) is part of the
// tree rather than something an input created.
func inWalkTree(rel string) bool {
	if rel == "/" {
		return true
	}
	for _, e := range walkTree {
		name, _, _ := strings.Cut(e, " -> ")
		if "/"+strings.TrimSuffix(name, "/") == rel {
			return true
		}
	}
	return false
}

// errnoOf returns the errno err carries (0 for nil, EIO for none).
func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if err == nil {
		return 0
	}
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}

// vfsOpen opens path in the sandbox and returns the result's path as the
// caller sees it.
func (s *walkSides) vfsOpen(path string, flags int) (string, error) {
	ctx := context.Background()
	f, err := s.v.Open(ctx, vfs.KernelCreds(), s.fsc, nil, path, flags, 0o644)
	if err != nil {
		return "", err
	}
	defer f.DecRef()
	d := f.Dentry()
	if d == nil {
		return "", fmt.Errorf("open %q gave a file without a dentry", path)
	}
	return vfs.PathOf(s.fsc.Root(), d), nil
}

// hostOpen opens path on the host as Linux resolves it for a process
// whose root is s.host, and returns the result's path from that root.
func (s *walkSides) hostOpen(path string, flags int) (string, error) {
	how := unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_IN_ROOT}
	if flags&unix.O_CREAT != 0 {
		how.Mode = 0o644
	}
	fd, err := unix.Openat2(s.hostRoot, path, &how)
	// A rename or mount anywhere on the host during a walk through ".."
	// makes RESOLVE_IN_ROOT fail with EAGAIN, to be tried again.
	for tries := 0; err == unix.EAGAIN && tries < 1000; tries++ {
		fd, err = unix.Openat2(s.hostRoot, path, &how)
	}
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", err
	}
	rel, ok := strings.CutPrefix(p, s.host)
	if !ok {
		return "", fmt.Errorf("the host resolved %q outside the root, to %s", path, p)
	}
	if rel == "" {
		rel = "/"
	}
	return rel, nil
}

// walkFlags turns the fuzzer's byte into open flags: O_PATH lookups with
// or without O_NOFOLLOW and O_DIRECTORY, or O_CREAT (with O_EXCL).
func walkFlags(b uint8) int {
	flags := unix.O_PATH
	if b&4 != 0 {
		flags = unix.O_CREAT | unix.O_WRONLY
		if b&8 != 0 {
			flags |= unix.O_EXCL
		}
	}
	if b&1 != 0 {
		flags |= unix.O_NOFOLLOW
	}
	if b&2 != 0 {
		flags |= unix.O_DIRECTORY
	}
	return flags
}

// FuzzPathWalk resolves arbitrary paths, from a root that is not the
// filesystem's, through a tree with symlink loops, a 41-link chain, links
// that climb above the root, a mount and a 255-byte name, plus one symlink
// "x" whose target the fuzzer writes. The walk must give what Linux gives
// (the host kernel, with openat2(RESOLVE_IN_ROOT), is the reference): the
// same errno, or the same file; nothing above the root is ever reached,
// and nothing panics. The path reaches the VFS as the syscall layer reads
// it, up to its first NUL; the whole string, NULs included, must not
// panic or escape either.
func FuzzPathWalk(f *testing.F) {
	for _, seed := range []struct {
		path, target string
		flags        uint8
	}{
		{"a/b/c", "", 0},
		{"/../../secret", "", 0},
		{"a/esc/secret", "", 0},
		{"m/out/secret", "", 0},
		{"x/secret", "../../..", 0},
		{"x", "/a/../../..", 2},
		{"chain0", "", 0},
		{"chain1/b", "", 0},
		{"loop1/", "", 1},
		{"self", "", 1},
		{"fileslash", "", 0},
		{"danglingdir", "", 4},
		{"dangling", "", 4},
		{"dangling", "", 12},
		{"nowhere/" + strings.Repeat("n", 256), "", 0},
		{"file/" + strings.Repeat("n", 256), "", 0},
		{strings.Repeat("n", 256) + "/..", "", 0},
		{strings.Repeat("a/../", 820), "", 0},
		{"m/back/b/../../m/g", "", 0},
		{"a/b\x00/../secret", "", 0},
		{"x/", "a\x00b", 0},
		{"newfile/", "", 4},
		{"x", "new", 4},
		{"rel", "", 2},
	} {
		f.Add(seed.path, seed.target, seed.flags)
	}
	base := "/dev/shm"
	if _, err := os.Stat(base); err != nil {
		base = f.TempDir()
	}
	host, hostRoot := newHostWalkTree(f, base)
	f.Fuzz(func(t *testing.T, path, target string, fl uint8) {
		s := newWalkSides(t, host, hostRoot)
		flags := walkFlags(fl)
		// The symlink x as symlink(2) makes it: its target is read up to
		// the first NUL and must be 1 to PATH_MAX-1 bytes.
		target, _, _ = strings.Cut(target, "\x00")
		if target != "" && len(target) < unix.PathMax {
			if err := os.Symlink(target, s.host+"/x"); err != nil {
				t.Fatalf("host symlink x -> %q: %v", target, err)
			}
			defer os.Remove(s.host + "/x")
			if err := s.v.Symlink(context.Background(), vfs.KernelCreds(), s.fsc, target, nil, "/x"); err != nil {
				t.Fatalf("vfs symlink x -> %q: %v", target, err)
			}
		}
		cpath, _, nul := strings.Cut(path, "\x00")
		if nul {
			// Looked up only: a file created here would change the tree.
			if got, err := s.vfsOpen(path, flags&(unix.O_NOFOLLOW|unix.O_DIRECTORY)|unix.O_PATH); err == nil && strings.HasPrefix(got, "(unreachable)") {
				t.Fatalf("open %q left the root: %s", path, got)
			}
		}
		got, gotErr := s.vfsOpen(cpath, flags)
		want, wantErr := s.hostOpen(cpath, flags)
		if errnoOf(wantErr) == unix.ELOOP && errnoOf(gotErr) != unix.ELOOP {
			// The host's ELOOP, for a path this tree resolves within
			// Linux's 40 links, has been seen only while the whole suite
			// loaded the machine, never alone (seed 2be785f162df4190,
			// a 33-link chain): the reference is asked again, and a
			// walk that fails with ELOOP created nothing to undo.
			want, wantErr = s.hostOpen(cpath, flags)
		}
		if wantErr == nil && !inWalkTree(want) {
			// Put the host tree back for the next input.
			defer os.Remove(s.host + want)
		}
		if strings.HasPrefix(got, "(unreachable)") {
			t.Fatalf("open %q left the root: %s", cpath, got)
		}
		if errnoOf(gotErr) != errnoOf(wantErr) || got != want {
			t.Errorf("open(%q, %#x) with x -> %q: %q, %v; Linux: %q, %v", cpath, flags, target, got, gotErr, want, wantErr)
		}
	})
}
