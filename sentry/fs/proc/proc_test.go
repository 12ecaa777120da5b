package proc

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// newTestFS returns /proc for a kernel with no tasks and a 256 MiB
// memory account of which 16 MiB are used.
func newTestFS(t *testing.T) (*FileSystem, *kernel.Kernel) {
	t.Helper()
	k := kernel.New(nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	k.Memory = usage.NewMemory(256 << 20)
	k.Memory.Charge(usage.Anon, 16<<20)
	return New(k), k
}

// read returns the contents of the file at path below fs's root.
func read(t *testing.T, fs *FileSystem, path string) string {
	t.Helper()
	s, err := kernfs.ReadPath(context.Background(), fs.Root(), path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// fields returns the "name: value" lines of s by name.
func fields(s string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(s, "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok {
			m[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
	}
	return m
}

func TestMeminfo(t *testing.T) {
	fs, _ := newTestFS(t)
	s := read(t, fs, "meminfo")
	line := regexp.MustCompile(`^[A-Za-z0-9_()]+: +[0-9]+( kB)?$`)
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if !line.MatchString(l) || len(l) < 24 {
			t.Errorf("line %q is not in meminfo's format", l)
		}
	}
	m := fields(s)
	for name, want := range map[string]string{
		"MemTotal": "262144 kB", "MemFree": "245760 kB", "MemAvailable": "245760 kB",
		"CommitLimit": "262144 kB", "Committed_AS": "16384 kB", "SwapTotal": "0 kB", "Hugepagesize": "2048 kB",
	} {
		if m[name] != want {
			t.Errorf("%s: %q, want %q", name, m[name], want)
		}
	}
}

func TestStat(t *testing.T) {
	fs, k := newTestFS(t)
	lines := strings.Split(strings.TrimSuffix(read(t, fs, "stat"), "\n"), "\n")
	n := k.CPUs()
	if len(lines) < n+1 || !strings.HasPrefix(lines[0], "cpu  ") {
		t.Fatalf("want a cpu line and %d cpuN lines:\n%s", n, strings.Join(lines, "\n"))
	}
	sums := make([]uint64, 10)
	for i := 1; i <= n; i++ {
		f := strings.Fields(lines[i])
		if len(f) != 11 || f[0] != "cpu"+strconv.Itoa(i-1) {
			t.Fatalf("line %q: want cpu%d and 10 times", lines[i], i-1)
		}
		for j, v := range f[1:] {
			x, _ := strconv.ParseUint(v, 10, 64)
			sums[j] += x
		}
	}
	total := "cpu "
	for _, x := range sums {
		total += " " + strconv.FormatUint(x, 10)
	}
	if total != lines[0] {
		t.Errorf("the cpu line %q is not the sum of the cpuN lines %q", lines[0], total)
	}
	want := map[string]string{"btime": strconv.FormatInt(k.Started.Unix(), 10), "processes": "0", "procs_running": "0", "procs_blocked": "0", "ctxt": "0"}
	for _, l := range lines[n+1:] {
		name, value, _ := strings.Cut(l, " ")
		if w, ok := want[name]; ok && value != w {
			t.Errorf("%s %s, want %s", name, value, w)
		}
		delete(want, name)
	}
	if len(want) > 0 {
		t.Errorf("missing lines %v", want)
	}
}

func TestLoadavgUptime(t *testing.T) {
	fs, _ := newTestFS(t)
	if s := read(t, fs, "loadavg"); !regexp.MustCompile(`^0\.00 0\.00 0\.00 0/0 0\n$`).MatchString(s) {
		t.Errorf("loadavg of a kernel with no task: %q", s)
	}
	if s := read(t, fs, "uptime"); !regexp.MustCompile(`^0\.[0-9]{2} [0-9]+\.[0-9]{2}\n$`).MatchString(s) {
		t.Errorf("uptime of a kernel just made: %q", s)
	}
}

func TestCPUInfo(t *testing.T) {
	fs, k := newTestFS(t)
	blocks := strings.Split(strings.TrimSuffix(read(t, fs, "cpuinfo"), "\n\n"), "\n\n")
	if len(blocks) != k.CPUs() {
		t.Fatalf("%d processor blocks for %d CPUs", len(blocks), k.CPUs())
	}
	for i, b := range blocks {
		m := fields(b)
		if m["processor"] != strconv.Itoa(i) || m["core id"] != strconv.Itoa(i) || m["siblings"] != strconv.Itoa(k.CPUs()) {
			t.Errorf("block %d: processor %q, core id %q, siblings %q", i, m["processor"], m["core id"], m["siblings"])
		}
		if !strings.Contains(" "+m["flags"]+" ", " fpu ") || m["model name"] == "" || m["vendor_id"] == "" {
			t.Errorf("block %d: flags %q, model name %q, vendor %q", i, m["flags"], m["model name"], m["vendor_id"])
		}
		for _, hostOnly := range []string{"microcode", "bugs"} {
			if _, ok := m[hostOnly]; ok {
				t.Errorf("block %d shows the host's %s", i, hostOnly)
			}
		}
	}
}

func TestRelease(t *testing.T) {
	fs, _ := newTestFS(t)
	if s := read(t, fs, "sys/kernel/osrelease"); s != kernel.Release+"\n" {
		t.Errorf("osrelease %q", s)
	}
	if s := read(t, fs, "version"); !strings.HasPrefix(s, "Linux version "+kernel.Release+" ") {
		t.Errorf("version %q", s)
	}
	if a, b := read(t, fs, "sys/kernel/random/boot_id"), read(t, fs, "sys/kernel/random/boot_id"); a != b || len(a) != 37 {
		t.Errorf("boot_id %q then %q", a, b)
	}
}

func TestMounts(t *testing.T) {
	own := []Mount{
		{Source: "overlay", Path: "/", Type: "overlay", Flags: "rw", ID: 1, ParentID: 1},
		{Source: "tmpfs", Path: "/dev", Type: "tmpfs", Flags: "ro,nosuid", Data: "mode=755", ID: 2, ParentID: 1},
		{Source: "tmpfs", Path: "/dev/shm", Type: "tmpfs", Flags: "rw", Data: "mode=1777", ID: 3, ParentID: 2},
		{Source: "a b", Path: "/devices", Type: "tmpfs", Flags: "rw", ID: 4, ParentID: 1},
	}
	// The first namespace, with a mount of mount(2)'s, and a copy of it
	// (a namespace of its own) whose mounts have IDs of their own.
	first := []vfs.MountInfo{
		{Origin: 1, Path: "/", Dev: unix.Mkdev(0, 70), ID: 1, ParentID: 1},
		{Origin: 2, Path: "/dev", Dev: unix.Mkdev(0, 71), ID: 2, ParentID: 1},
		{Origin: 3, Path: "/dev/shm", Dev: unix.Mkdev(0, 72), ID: 3, ParentID: 2},
		{Origin: 4, Path: "/devices", Dev: unix.Mkdev(0, 73), ID: 4, ParentID: 1},
		{Origin: 5, Path: "/mnt", Dev: unix.Mkdev(0, 74), ID: 5, ParentID: 1,
			MountOptions: vfs.MountOptions{Source: "none", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_RELATIME, Data: "size=1k"}},
		// A bind mount of a directory of /dev.
		{Origin: 2, Root: "/pts", Path: "/pts", Dev: unix.Mkdev(0, 71), ID: 6, ParentID: 1},
	}
	want := "1 1 0:70 / / rw - overlay overlay rw\n" +
		"2 1 0:71 / /dev ro,nosuid - tmpfs tmpfs ro,mode=755\n" +
		"3 2 0:72 / /dev/shm rw - tmpfs tmpfs rw,mode=1777\n" +
		"4 1 0:73 / /devices rw - tmpfs a\\040b rw\n" +
		"5 1 0:74 / /mnt rw,nosuid,relatime - tmpfs none rw,size=1k\n" +
		"6 1 0:71 /pts /pts ro,nosuid - tmpfs tmpfs ro,mode=755\n"
	if got := mountinfo(describeMounts(own, first)); got != want {
		t.Errorf("mountinfo:\n%s\nwant:\n%s", got, want)
	}
	want = "overlay / overlay rw 0 0\ntmpfs /dev tmpfs ro,nosuid,mode=755 0 0\ntmpfs /dev/shm tmpfs rw,mode=1777 0 0\n" +
		"a\\040b /devices tmpfs rw 0 0\nnone /mnt tmpfs rw,nosuid,relatime,size=1k 0 0\ntmpfs /pts tmpfs ro,nosuid,mode=755 0 0\n"
	if got := mountsFile(describeMounts(own, first)); got != want {
		t.Errorf("mounts:\n%s\nwant:\n%s", got, want)
	}
	copied := slices.Clone(first)
	for i := range copied {
		copied[i].ID += 5
		if copied[i].ParentID = copied[i].ParentID + 5; i == 0 {
			copied[i].ParentID = copied[i].ID
		}
	}
	want = "6 6 0:70 / / rw - overlay overlay rw\n" +
		"7 6 0:71 / /dev ro,nosuid - tmpfs tmpfs ro,mode=755\n" +
		"8 7 0:72 / /dev/shm rw - tmpfs tmpfs rw,mode=1777\n" +
		"9 6 0:73 / /devices rw - tmpfs a\\040b rw\n" +
		"10 6 0:74 / /mnt rw,nosuid,relatime - tmpfs none rw,size=1k\n" +
		"11 6 0:71 /pts /pts ro,nosuid - tmpfs tmpfs ro,mode=755\n"
	if got := mountinfo(describeMounts(own, copied)); got != want {
		t.Errorf("mountinfo of a copy:\n%s\nwant:\n%s", got, want)
	}
}

func TestConfigGz(t *testing.T) {
	fs, _ := newTestFS(t)
	zr, err := gzip.NewReader(strings.NewReader(read(t, fs, "config.gz")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	line := regexp.MustCompile(`^(CONFIG_[A-Z0-9_]+)=y$|^# (CONFIG_[A-Z0-9_]+) is not set$`)
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(l, "#") && !strings.HasSuffix(l, "is not set") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q is not a kernel config line", l)
			continue
		}
		name := m[1] + m[2]
		if _, dup := seen[name]; dup {
			t.Errorf("%s is listed twice", name)
		}
		seen[name] = l
	}
	for name, want := range map[string]string{
		"CONFIG_EVENTFD":            "CONFIG_EVENTFD=y",
		"CONFIG_TMPFS":              "CONFIG_TMPFS=y",
		"CONFIG_AIO":                "CONFIG_AIO=y",
		"CONFIG_IO_URING":           "# CONFIG_IO_URING is not set",
		"CONFIG_USER_NS":            "CONFIG_USER_NS=y",
		"CONFIG_NET_NS":             "CONFIG_NET_NS=y",
		"CONFIG_IPC_NS":             "CONFIG_IPC_NS=y",
		"CONFIG_PID_NS":             "CONFIG_PID_NS=y",
		"CONFIG_MNT_NS":             "CONFIG_MNT_NS=y",
		"CONFIG_CHECKPOINT_RESTORE": "CONFIG_CHECKPOINT_RESTORE=y",
		"CONFIG_TIME_NS":            "CONFIG_TIME_NS=y",
	} {
		if seen[name] != want {
			t.Errorf("%s: %q, want %q", name, seen[name], want)
		}
	}
}
