package cgroup

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeHost writes a mountinfo and a /proc/self/cgroup for discover, and
// makes the cgroup directories it names (with controller files) under a
// temporary directory standing for /sys/fs/cgroup.
type fakeHost struct {
	t    *testing.T
	root string
	src  sources
}

func newFakeHost(t *testing.T, mountinfo, cgroup []string, root bool) *fakeHost {
	dir := t.TempDir()
	h := &fakeHost{t: t, root: filepath.Join(dir, "sys"), src: sources{
		mountinfo: filepath.Join(dir, "mountinfo"), cgroup: filepath.Join(dir, "cgroup"), root: root,
	}}
	for i, l := range mountinfo {
		mountinfo[i] = strings.ReplaceAll(l, "@", h.root)
	}
	h.write(h.src.mountinfo, strings.Join(mountinfo, "\n")+"\n")
	h.write(h.src.cgroup, strings.Join(cgroup, "\n")+"\n")
	return h
}

func (h *fakeHost) write(path, content string) {
	h.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

const (
	v1Memory = "35 31 0:32 / @/memory rw,relatime - cgroup cgroup rw,memory"
	v1Pids   = "39 31 0:36 / @/pids rw,relatime - cgroup cgroup rw,pids"
	v2Mount  = "41 31 0:38 / @/unified rw,relatime - cgroup2 cgroup2 rw"
)

func TestDiscoverV1(t *testing.T) {
	h := newFakeHost(t, []string{v1Memory, v1Pids, v2Mount},
		[]string{"8:pids:/", "4:memory:/jobs/a b", "0::/"}, true)
	h.write(filepath.Join(h.root, "unified", "cgroup.controllers"), "hugetlb\n")
	got, why, err := discover(h.src)
	if err != nil || got == nil {
		t.Fatalf("discover = %v, %q, %v", got, why, err)
	}
	want := []string{filepath.Join(h.root, "memory", "jobs", "a b"), filepath.Join(h.root, "pids")}
	if got.version != 1 || !slices.Equal(got.bases, want) {
		t.Errorf("discover = v%d %q, want v1 %q", got.version, got.bases, want)
	}
}

func TestDiscoverV2(t *testing.T) {
	h := newFakeHost(t, []string{v2Mount}, []string{"0::/user.slice/session-1.scope"}, true)
	base := filepath.Join(h.root, "unified", "user.slice")
	h.write(filepath.Join(base, "cgroup.controllers"), "cpu memory pids\n")
	h.write(filepath.Join(base, "cgroup.subtree_control"), "")
	got, why, err := discover(h.src)
	if err != nil || got == nil {
		t.Fatalf("discover = %v, %q, %v", got, why, err)
	}
	if got.version != 2 || !slices.Equal(got.bases, []string{base}) {
		t.Errorf("discover = v%d %q, want v2 [%s]", got.version, got.bases, base)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "cgroup.subtree_control")); string(b) != "+memory +pids" {
		t.Errorf("subtree_control = %q, want the controllers enabled", b)
	}
}

func TestDiscoverNone(t *testing.T) {
	// No pids hierarchy at all.
	h := newFakeHost(t, []string{v1Memory}, []string{"4:memory:/"}, true)
	if got, why, err := discover(h.src); got != nil || why == "" || err != nil {
		t.Errorf("discover = %v, %q, %v; want none and a reason", got, why, err)
	}
	// Without root, a base that is not this user's.
	h = newFakeHost(t, []string{v1Memory, v1Pids}, []string{"8:pids:/", "4:memory:/"}, false)
	for _, d := range []string{"memory", "pids"} {
		h.write(filepath.Join(h.root, d, "cgroup.procs"), "")
		os.Chmod(filepath.Join(h.root, d, "cgroup.procs"), 0o444)
		os.Chmod(filepath.Join(h.root, d), 0o555)
	}
	if os.Geteuid() == 0 {
		t.Log("as root every file is writable; the delegation check is not exercised")
		return
	}
	if got, why, err := discover(h.src); got != nil || !strings.Contains(why, "not delegated") || err != nil {
		t.Errorf("discover = %v, %q, %v; want none, not delegated", got, why, err)
	}
}

func TestHostLimits(t *testing.T) {
	l := HostLimits(256<<20, 64)
	if l.PidsMax != 2*64+pidsSlack {
		t.Errorf("PidsMax = %d", l.PidsMax)
	}
	want := uint64(256<<20 + 32<<20 + uint64(l.PidsMax)*taskKernelMemory + memorySlack)
	if l.MemoryMax != want {
		t.Errorf("MemoryMax = %d, want %d", l.MemoryMax, want)
	}
	if l := HostLimits(^uint64(0)-1, 1); l.MemoryMax != 1<<63-1 {
		t.Errorf("MemoryMax for an unbounded sandbox = %d", l.MemoryMax)
	}
}

func TestRemoveStale(t *testing.T) {
	base := t.TempDir()
	mine, err := ownerName(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	gone := Prefix + "999999999-12345" // no such process
	reused := Prefix + "1-1"           // pid 1, started at another time
	busy := Prefix + "999999998-1"     // owner gone, not empty
	other := "system.slice"            // not ours
	for _, d := range []string{mine, gone, reused, busy, other, busy + "/child"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeStale(base, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for d, want := range map[string]bool{mine: true, gone: false, reused: false, busy: true, other: true} {
		if _, err := os.Stat(filepath.Join(base, d)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", d, err == nil, want)
		}
	}
}

func TestParseName(t *testing.T) {
	for name, ok := range map[string]bool{
		Prefix + "12-345": true, Prefix + "12": false, Prefix + "x-1": false, "other-1-2": false, Prefix + "-1-2": false,
	} {
		if _, _, got := parseName(name); got != ok {
			t.Errorf("parseName(%q) ok = %v, want %v", name, got, ok)
		}
	}
}
