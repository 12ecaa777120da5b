package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A cpuMeter measures the CPU time (user + system) of one run and of every
// process it starts, sandbox processes included.
//
// A sandbox's processes are not all waited for by the command the bench
// starts (a sentry's stubs die with its PID namespace, gVisor's gofer and
// sandbox are reaped by their own parents or by nobody), so the rusage of
// the command undercounts them. The exact figure is a cgroup's: each run
// starts in a fresh cgroup v2 directory, whose cpu.stat counts every
// descendant wherever it moves below it. The command starts in a leaf
// below the run's directory ("cmd"), so a runtime that makes cgroups below
// the parent of its own (runsc-lite does, on a cgroup v2 host) still makes
// them inside the run's. Without a writable cgroup v2 hierarchy (not root,
// or no unified mount) the meter falls back to the rusage of the command
// and its waited-for descendants, and Source says so.
type cpuMeter struct {
	// base is this bench's cgroup directory; empty without cgroups.
	base string
	// Source says how CPU time is measured, for the report.
	Source string
	runs   int
}

// cpuRun is one run's accounting.
type cpuRun struct {
	dir  string
	leaf *os.File // the command's cgroup, open to start it there
}

// newCPUMeter prepares the bench's cgroup, or the rusage fallback.
func newCPUMeter() *cpuMeter {
	root, err := unifiedMount()
	if err == nil {
		base := filepath.Join(root, fmt.Sprintf("runsc-lite-bench-%d", os.Getpid()))
		if err = os.Mkdir(base, 0o755); err == nil {
			return &cpuMeter{base: base, Source: "from a cgroup v2 per run"}
		}
	}
	return &cpuMeter{Source: fmt.Sprintf("from rusage: the command and the children it waited for only; no cgroup: %v", err)}
}

// start makes the cgroup of one run; a nil run (no cgroups) measures
// with rusage.
func (m *cpuMeter) start() (*cpuRun, error) {
	if m == nil || m.base == "" {
		return nil, nil
	}
	m.runs++
	dir := filepath.Join(m.base, strconv.Itoa(m.runs))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup for the run: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "cmd"), 0o755); err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("cgroup for the run: %w", err)
	}
	leaf, err := os.Open(filepath.Join(dir, "cmd"))
	if err != nil {
		removeTree(dir)
		return nil, fmt.Errorf("cgroup for the run: %w", err)
	}
	return &cpuRun{dir: dir, leaf: leaf}, nil
}

// finish kills whatever the run left in its cgroup, removes the cgroup and
// returns the CPU time of the run in ns. rusage is the command's own, used
// when there is no cgroup.
func (r *cpuRun) finish(rusage *unix.Rusage) (float64, error) {
	if r == nil {
		if rusage == nil {
			return 0, errors.New("no rusage")
		}
		return float64(unix.TimevalToNsec(rusage.Utime) + unix.TimevalToNsec(rusage.Stime)), nil
	}
	r.leaf.Close()
	// Processes a run leaves behind (a timeout, a daemon) would keep
	// running into the next run's figures; cgroup.kill ends them all.
	os.WriteFile(filepath.Join(r.dir, "cgroup.kill"), []byte("1"), 0)
	usage, err := readUsage(filepath.Join(r.dir, "cpu.stat"))
	removeTree(r.dir)
	return usage, err
}

// close removes the bench's cgroup.
func (m *cpuMeter) close() {
	if m != nil && m.base != "" {
		removeTree(m.base)
	}
}

// readUsage reads usage_usec of a cpu.stat file, in ns.
func readUsage(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "usage_usec "); ok {
			us, err := strconv.ParseFloat(v, 64)
			return us * 1e3, err
		}
	}
	return 0, fmt.Errorf("%s: no usage_usec", path)
}

// removeTree removes a cgroup directory and the ones below it, deepest
// first, waiting a little for killed processes to leave them.
func removeTree(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			removeTree(filepath.Join(dir, e.Name()))
		}
	}
	for i := 0; i < 100; i++ {
		if err := unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unifiedMount returns where the cgroup v2 hierarchy is mounted, if it is
// and this process may make cgroups in it.
func unifiedMount() (string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) || fields[sep+1] != "cgroup2" || len(fields) < 5 {
			continue
		}
		dir := fields[4]
		if unix.Access(dir, unix.W_OK) != nil {
			return "", fmt.Errorf("%s is not writable", dir)
		}
		return dir, nil
	}
	return "", errors.New("no cgroup2 mount")
}
