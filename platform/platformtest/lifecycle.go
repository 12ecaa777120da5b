package platformtest

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func testManyAddressSpaces(t *testing.T, f Factory, _ Options) {
	n, switched := 1000, 50
	if testing.Short() {
		n = 100
	}
	p := newPlatform(t, f)
	prog := assemble(t, `
	mov $39, %eax
	syscall
	ud2
`)
	// cycle creates an address space, optionally runs a thread in it up to
	// its first syscall, and releases everything.
	cycle := func(i int, run bool) {
		t.Helper()
		as, err := p.NewAddressSpace()
		if err != nil {
			t.Fatalf("address space %d: NewAddressSpace: %v", i, err)
		}
		defer as.Release()
		if !run {
			return
		}
		loadCode(t, as, codeAddr, prog.code)
		th := makeThread(t, p.NewContext(), as, codeAddr, mapStack(t, as, stackAddr))
		defer th.release()
		th.runToSyscall(unix.SYS_GETPID)
	}

	// The first address spaces may create lasting platform state (a
	// forkserver, a socket; systrap's spare address space, made in the
	// background from the second on): count after two, once the count has
	// settled (a release or a refill still under way would leak into the
	// comparison either way).
	cycle(0, true)
	cycle(0, false)
	fdsBefore := countFDs(t)
	for deadline, still := time.Now().Add(5*time.Second), 0; still < 4 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if n := countFDs(t); n != fdsBefore {
			fdsBefore, still = n, 0
		} else {
			still++
		}
	}
	procsBefore := countDescendants(t)

	for i := range n {
		cycle(i+1, i < switched)
	}

	// Releasing may finish asynchronously (reaping, closing in the
	// background): allow it a few seconds.
	var fds, procs int
	for deadline := time.Now().Add(5 * time.Second); ; {
		fds, procs = countFDs(t), countDescendants(t)
		if (fds <= fdsBefore+3 && procs <= procsBefore+2) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fds > fdsBefore+3 {
		t.Errorf("after creating and releasing %d address spaces the sentry has %d open fds, had %d before: fds leak\n%s",
			n, fds, fdsBefore, describeFDs())
	}
	if procs > procsBefore+2 {
		t.Errorf("after creating and releasing %d address spaces the sentry has %d descendant processes, had %d before: stub processes or zombies leak",
			n, procs, procsBefore)
	}
}

// countFDs counts the open file descriptors of this process.
func countFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("counting open fds: %v", err)
	}
	n := 0
	for _, e := range entries {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		// Not the platform's: the Go runtime opens the cgroup's CPU
		// limits when it first updates GOMAXPROCS (Go 1.25 on), and go
		// test its log, whenever they come.
		if strings.HasPrefix(target, "/sys/fs/cgroup/") || strings.HasSuffix(target, "/testlog.txt") {
			continue
		}
		n++
	}
	return n
}

// describeFDs summarises where this process's fds point, for leak reports.
func describeFDs() string {
	entries, _ := os.ReadDir("/proc/self/fd")
	byTarget := map[string]int{}
	for _, e := range entries {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		if i := strings.IndexByte(target, '['); i > 0 {
			target = target[:i] // "socket:[1234]" -> "socket:"
		}
		byTarget[target]++
	}
	var b strings.Builder
	for _, target := range slices.Sorted(maps.Keys(byTarget)) {
		fmt.Fprintf(&b, "  %5d fds -> %s\n", byTarget[target], target)
	}
	return b.String()
}

// countDescendants counts the processes (zombies included) whose parent
// chain leads to this process: the platform's stubs and helpers. Other
// processes on the host do not disturb the count.
func countDescendants(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("listing processes: %v", err)
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentPID(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	count := 0
	queue := []int{os.Getpid()}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		count += len(children[pid])
		queue = append(queue, children[pid]...)
	}
	return count
}

// parentPID reads the parent of pid from /proc/pid/stat; it reports false
// if the process is already gone.
func parentPID(pid int) (int, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// "pid (comm) state ppid ...": comm may contain spaces and parentheses.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}
