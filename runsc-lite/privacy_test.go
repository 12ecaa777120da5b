package main

// Attacks on the host's privacy (docs/security.md, issue 10): a program
// inside the sandbox (testdata/attack/peek.c) reads what Linux tells a
// process about the machine it runs on (/proc, /sys, uname, sysinfo, the
// mount table, stat and getdents of a host file, its own maps) and must
// find the sandbox's own figures, never the host's.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/kernel"
)

// hostFacts are figures of the host that must not reach the sandbox.
type hostFacts struct {
	memTotalKB string   // MemTotal, in kB
	btime      string   // boot time
	uptime     float64  // seconds
	release    string   // kernel release
	interfaces []string // network interfaces other than lo
	macs       []string // their MAC addresses
	sources    []string // mount sources that are host paths (/dev/vda)
	known      unix.Stat_t
	peek       unix.Stat_t // of the peek binary
}

// firstField returns the first field after name in a host /proc file.
func firstField(t *testing.T, file, name string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.TrimSuffix(f[0], ":") == name {
			return f[1]
		}
	}
	t.Fatalf("%s has no %s", file, name)
	return ""
}

func readHostFacts(t *testing.T, known, peek string) hostFacts {
	t.Helper()
	h := hostFacts{memTotalKB: firstField(t, "/proc/meminfo", "MemTotal"), btime: firstField(t, "/proc/stat", "btime")}
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		fmt.Sscan(string(b), &h.uptime)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	h.release = unix.ByteSliceToString(u.Release[:])
	ents, _ := os.ReadDir("/sys/class/net")
	for _, e := range ents {
		if e.Name() == "lo" {
			continue
		}
		h.interfaces = append(h.interfaces, e.Name())
		if mac, err := os.ReadFile(filepath.Join("/sys/class/net", e.Name(), "address")); err == nil {
			if m := strings.TrimSpace(string(mac)); m != "" && m != "00:00:00:00:00:00" {
				h.macs = append(h.macs, m)
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/mounts"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[0], "/") {
				h.sources = append(h.sources, f[0])
			}
		}
	}
	if err := unix.Stat(known, &h.known); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(peek, &h.peek); err != nil {
		t.Fatal(err)
	}
	return h
}

// sandboxMAC is eth0's address in the sandbox (package inet).
const sandboxMAC = "02:00:0a:00:02:0f"

// sections splits peek's output into its sections, by argument.
func sections(out string) map[string]string {
	s := make(map[string]string)
	var name string
	for _, line := range strings.SplitAfter(out, "\n") {
		if n, ok := strings.CutPrefix(line, "== "); ok {
			name = strings.TrimSuffix(n, "\n")
			s[name] = ""
			continue
		}
		s[name] += line
	}
	return s
}

// TestAttackHostPrivacy reads the machine's figures from inside a sandbox
// limited to 256 MiB and 64 tasks.
func TestAttackHostPrivacy(t *testing.T) {
	peek := buildC(t, filepath.Join("testdata", "attack", "peek.c"), true)
	dir := workDir(t, "privacy")
	known := filepath.Join(dir, "known")
	if err := os.WriteFile(known, []byte("a host file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host := readHostFacts(t, known, peek)
	args := []string{"uname", "sysinfo", "clocks", "/proc/meminfo", "/proc/stat", "/proc/uptime", "/proc/loadavg",
		"/proc/version", "/proc/cpuinfo", "/proc/sys/kernel/osrelease", "/proc/self/stat", "/proc/self/maps",
		"/proc/mounts", "/proc/self/mountinfo", "ls:/sys/class/net", "/sys/devices/system/cpu/online",
		"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/pids.max", "stat:" + known, "ls:" + dir,
		"/sys/block", "/sys/class/dmi/id/product_uuid", "/sys/firmware", "/sys/bus", "/sys/kernel", "/sys/module"}
	for _, iface := range host.interfaces {
		args = append(args, "/sys/class/net/"+iface+"/address")
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			out, code := runAttack(t, append([]string{"run", "--platform", platform, "--memory-limit", "256m", "--pids-limit", "64", "--", peek}, args...)...)
			if code != 0 {
				t.Fatalf("peek: exit %d\n%s", code, out)
			}
			checkPrivacy(t, host, dir, start, sections(out), out)
		})
	}
}

// checkPrivacy checks peek's sections of a run started at start; dir
// holds the host file "known".
func checkPrivacy(t *testing.T, host hostFacts, dir string, start time.Time, s map[string]string, out string) {
	t.Helper()
	// Memory: the limit, never the host's.
	if !regexp.MustCompile(`(?m)^MemTotal: +262144 kB$`).MatchString(s["/proc/meminfo"]) {
		t.Errorf("MemTotal is not --memory-limit=256m:\n%s", s["/proc/meminfo"])
	}
	if host.memTotalKB != "262144" && strings.Contains(s["/proc/meminfo"], " "+host.memTotalKB+" kB") {
		t.Errorf("meminfo shows the host's MemTotal %s kB", host.memTotalKB)
	}
	if f := strings.Fields(s["sysinfo"]); len(f) != 3 || f[1] != "268435456" {
		t.Errorf("sysinfo (uptime, totalram, procs): %q; want totalram 268435456", s["sysinfo"])
	}
	if s["/sys/fs/cgroup/memory.max"] != "268435456\n" || s["/sys/fs/cgroup/pids.max"] != "64\n" {
		t.Errorf("cgroup memory.max %q, pids.max %q; want the sandbox's limits", s["/sys/fs/cgroup/memory.max"], s["/sys/fs/cgroup/pids.max"])
	}
	// Time: the sandbox's start, never the host's boot.
	btime := regexp.MustCompile(`(?m)^btime ([0-9]+)$`).FindStringSubmatch(s["/proc/stat"])
	if btime == nil || btime[1] == host.btime {
		t.Errorf("/proc/stat's btime is the host's boot time %s, or missing:\n%s", host.btime, s["/proc/stat"])
	} else if b, _ := strconv.ParseInt(btime[1], 10, 64); b < start.Add(-clocks.BootDelay).Unix()-1 || b > time.Now().Unix() {
		t.Errorf("btime %d is not when the sandbox started (%d)", b, start.Unix())
	}
	var up float64
	fmt.Sscan(s["/proc/uptime"], &up)
	if limit := (time.Since(start) + clocks.BootDelay).Seconds() + 1; up > limit || up < 0 {
		t.Errorf("/proc/uptime %q: more than the sandbox has run (%.1f s); the host's is %.0f s", s["/proc/uptime"], limit, host.uptime)
	}
	// The monotonic and boot-time clocks, read through the vDSO without a
	// trap, and times(2) count from the sandbox's start: the stubs' time
	// namespace hides the host's uptime.
	var mono, boot, ticks float64
	fmt.Sscan(s["clocks"], &mono, &boot, &ticks)
	if limit := (time.Since(start) + clocks.BootDelay).Seconds() + 1; mono > limit || boot > limit || ticks > limit {
		t.Errorf("CLOCK_MONOTONIC, CLOCK_BOOTTIME, times(): %q s; more than the sandbox has run (%.1f s), the host's uptime is %.0f s", s["clocks"], limit, host.uptime)
	}
	if d := clocks.BootDelay.Seconds(); mono < d || boot < d || up < d {
		t.Errorf("CLOCK_MONOTONIC, CLOCK_BOOTTIME, /proc/uptime: %q, %.1f s; they start at %.0f s", s["clocks"], up, d)
	}
	// Tasks: the sandbox's, numbered from 1.
	var l1, l5, l15 float64
	var running, threads, last int
	if n, _ := fmt.Sscanf(s["/proc/loadavg"], "%f %f %f %d/%d %d", &l1, &l5, &l15, &running, &threads, &last); n != 6 || threads > 64 || last > 64 || running < 1 {
		t.Errorf("/proc/loadavg %q: want the sandbox's tasks (at most 64) and last pid", s["/proc/loadavg"])
	}
	if pid, _ := strconv.Atoi(strings.Fields(s["/proc/self/stat"] + " x")[0]); pid < 1 || pid > 64 {
		t.Errorf("/proc/self/stat shows pid %d, not a sandbox pid", pid)
	}
	// The kernel: the release the sentry emulates, never the host's.
	if f := strings.Split(s["uname"], "\n"); len(f) < 3 || f[2] != kernel.Release {
		t.Errorf("uname: %q; want release %s", s["uname"], kernel.Release)
	}
	if s["/proc/sys/kernel/osrelease"] != kernel.Release+"\n" || !strings.Contains(s["/proc/version"], " "+kernel.Release+" ") {
		t.Errorf("osrelease %q, version %q; want %s", s["/proc/sys/kernel/osrelease"], s["/proc/version"], kernel.Release)
	}
	if host.release != kernel.Release && strings.Contains(out, host.release) {
		t.Errorf("the host's release %s shows inside", host.release)
	}
	for _, field := range []string{"microcode", "bugs"} {
		if regexp.MustCompile(`(?m)^` + field + `\s*:`).MatchString(s["/proc/cpuinfo"]) {
			t.Errorf("/proc/cpuinfo shows the host's %s", field)
		}
	}
	// The network: the sandbox's own lo and eth0 (--network=sandbox, the
	// default, with its made-up MAC), no host interface or MAC address.
	own := map[string]string{"lo": "00:00:00:00:00:00", "eth0": sandboxMAC}
	if names := strings.Fields(s["ls:/sys/class/net"]); len(names) != 8 || names[5] != "eth0" || names[7] != "lo" {
		t.Errorf("/sys/class/net lists %q; the sandbox has lo and eth0 only", s["ls:/sys/class/net"])
	}
	for _, x := range append(append([]string(nil), host.interfaces...), host.macs...) {
		if _, mine := own[x]; mine {
			continue
		}
		if strings.Contains(s["ls:/sys/class/net"], " "+x+"\n") || strings.Contains(strings.ToLower(out), strings.ToLower(x)+"\n") {
			t.Errorf("the host's interface or address %s shows inside", x)
		}
	}
	gone := []string{"/sys/block", "/sys/class/dmi/id/product_uuid", "/sys/firmware", "/sys/bus", "/sys/kernel", "/sys/module"}
	for _, iface := range host.interfaces {
		p := "/sys/class/net/" + iface + "/address"
		if mac, mine := own[iface]; mine {
			if s[p] != mac+"\n" {
				t.Errorf("%s: %q, want the sandbox's own %s", p, s[p], mac)
			}
			continue
		}
		gone = append(gone, p)
	}
	for _, p := range gone {
		if s[p] != "ENOENT\n" {
			t.Errorf("%s: %q, want ENOENT", p, s[p])
		}
	}
	// Mounts: no host path.
	mounts := s["/proc/mounts"] + s["/proc/self/mountinfo"]
	if !strings.Contains(mounts, " / overlay ") || strings.Contains(mounts, "lowerdir") {
		t.Errorf("the mount table:\n%s", mounts)
	}
	for _, src := range host.sources {
		if strings.Contains(mounts, src+" ") {
			t.Errorf("the host's mount source %s shows in the mount table", src)
		}
	}
	// Files: the sandbox's device and inode numbers.
	var dev, ino uint64
	fmt.Sscan(s["stat:"+filepath.Join(dir, "known")], &dev, &ino)
	if dev == 0 || ino == 0 || dev == host.known.Dev || ino == host.known.Ino {
		t.Errorf("stat of a host file inside: dev %d ino %d; on the host dev %d ino %d", dev, ino, host.known.Dev, host.known.Ino)
	}
	if !strings.Contains("\n"+s["ls:"+dir], fmt.Sprintf("\n%d known\n", ino)) {
		t.Errorf("getdents shows another inode number than stat (%d):\n%s", ino, s["ls:"+dir])
	}
	hostMap := fmt.Sprintf("%02x:%02x %d ", unix.Major(host.peek.Dev), unix.Minor(host.peek.Dev), host.peek.Ino)
	if !strings.Contains(s["/proc/self/maps"], "/peek\n") || strings.Contains(s["/proc/self/maps"], hostMap) {
		t.Errorf("/proc/self/maps shows the host's device and inode of peek (%s):\n%s", hostMap, s["/proc/self/maps"])
	}
}

// TestAttackHostPrivacyRoot runs with another root directory: its host
// path must not show in the mount table.
func TestAttackHostPrivacyRoot(t *testing.T) {
	peek := buildC(t, filepath.Join("testdata", "attack", "peek.c"), true)
	root := filepath.Dir(peek)
	out, code := runAttack(t, "run", "--rootfs", root, "--", "/peek", "/proc/mounts", "/proc/self/mountinfo", "/proc/self/maps")
	if code != 0 || !strings.Contains(out, " / overlay ") {
		t.Fatalf("peek: exit %d\n%s", code, out)
	}
	if strings.Contains(out, root) || strings.Contains(out, filepath.Base(root)) {
		t.Errorf("the root's host path %s shows inside:\n%s", root, out)
	}
}

// TestAttackResolvConfFigures: the /etc/resolv.conf the sandbox's network
// generates is no host file. statfs of it shows the sandbox's memory (a
// tmpfs as big as --memory-limit, as /tmp), never the host disk that would
// have held it (its type, size and free blocks: df showed the host's
// volume), the mount table calls it a tmpfs, it refuses writes (EROFS),
// and runsc-lite needs no host temporary directory for it.
func TestAttackResolvConfFigures(t *testing.T) {
	peek := buildC(t, filepath.Join("testdata", "attack", "peek.c"), true)
	dir := workDir(t, "resolv")
	hostResolv := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(hostResolv, []byte("nameserver 192.0.2.53\nsearch example.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	var hostFS []unix.Statfs_t
	for _, p := range []string{tmp, "/"} {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err != nil {
			t.Fatal(err)
		}
		hostFS = append(hostFS, st)
	}
	env := append(os.Environ(), resolvConfEnv+"="+hostResolv, "TMPDIR="+tmp)
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			r := runscLite(t, runOpts{env: env}, "run", "--platform", platform, "--memory-limit", "256m", "--", peek,
				"statfs:/etc/resolv.conf", "statfs:/tmp", "write:/etc/resolv.conf", "/etc/resolv.conf", "/proc/self/mountinfo")
			if r.code != 0 {
				t.Fatalf("peek: %v", r)
			}
			s := sections(r.stdout)
			var typ, blocks, free uint64
			if n, _ := fmt.Sscanf(s["statfs:/etc/resolv.conf"], "%v %d %d", &typ, &blocks, &free); n != 3 {
				t.Fatalf("statfs /etc/resolv.conf: %q", s["statfs:/etc/resolv.conf"])
			}
			for _, h := range hostFS {
				if typ == uint64(h.Type) && blocks == h.Blocks || blocks == h.Blocks && free == h.Bfree {
					t.Errorf("statfs /etc/resolv.conf shows the host's figures: type %#x, %d blocks, %d free", typ, blocks, free)
					break
				}
			}
			if want := fmt.Sprintf("%#x %d", linux.TMPFS_MAGIC, 256<<20/4096); !strings.HasPrefix(s["statfs:/etc/resolv.conf"], want+" ") {
				t.Errorf("statfs /etc/resolv.conf: %q; want the sandbox's memory, a tmpfs of --memory-limit (%s ...)", s["statfs:/etc/resolv.conf"], want)
			}
			if s["write:/etc/resolv.conf"] != "EROFS\n" {
				t.Errorf("open /etc/resolv.conf for writing: %q, want EROFS", s["write:/etc/resolv.conf"])
			}
			if want := "nameserver 10.0.2.3\nsearch example.test\n"; !strings.HasSuffix(s["/etc/resolv.conf"], want) {
				t.Errorf("/etc/resolv.conf:\n%s\nwant it to end:\n%s", s["/etc/resolv.conf"], want)
			}
			if !regexp.MustCompile(`(?m) /etc/resolv\.conf ro - tmpfs tmpfs `).MatchString(s["/proc/self/mountinfo"]) {
				t.Errorf("mountinfo does not show /etc/resolv.conf as a read-only tmpfs:\n%s", s["/proc/self/mountinfo"])
			}
		})
	}
	// The file needs no host directory: a TMPDIR that cannot hold one
	// changes nothing.
	env = append(env, "TMPDIR="+filepath.Join(tmp, "missing"))
	if r := runscLite(t, runOpts{env: env}, "run", "--", peek, "/etc/resolv.conf"); r.code != 0 || !strings.Contains(r.stdout, "nameserver 10.0.2.3\n") {
		t.Errorf("with TMPDIR missing: %v", r)
	}
	if ents, err := os.ReadDir(tmp); err != nil || len(ents) != 0 {
		t.Errorf("runsc-lite left files in its TMPDIR %s: %v %v", tmp, ents, err)
	}
}

// TestAttackHostCPUNumbers starts the sandbox inside a host cpuset of one
// CPU that is not CPU 0, as a container's cpus often are: the sandbox has
// one CPU, CPU 0, and no getcpu (the vDSO's, which read the host's CPU
// number, or the system call) may name the host's.
func TestAttackHostCPUNumbers(t *testing.T) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	last := -1
	for i := 0; i < 1024; i++ {
		if set.IsSet(i) {
			last = i
		}
	}
	if last < 1 {
		t.Skip("needs a CPU other than CPU 0")
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Skip("taskset (util-linux) is not installed")
	}
	prog := buildC(t, filepath.Join("testdata", "attack", "cpunum.c"), true)
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			r := runOut(t, runOpts{}, taskset, "-c", strconv.Itoa(last), runscBin, "run", "--platform", platform, "--", prog)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "cpus 1, highest allowed 0, highest getcpu 0\n") {
				t.Errorf("inside host CPU %d only, the sandbox showed a host CPU number: %v", last, r)
			}
		})
	}
}
