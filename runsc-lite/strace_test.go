package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestStraceLikeStrace runs the programs of testdata/strace under real
// `strace -f` natively and under `runsc-lite run --strace`, and requires
// the same lines, task by task, from each program's marker call on: pids,
// addresses and the spacing before " = " normalized, <unfinished ...> and
// its <... resumed> joined into one line.
func TestStraceLikeStrace(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("the strace comparison needs strace(1)")
	}
	for _, name := range []string{"files", "signals", "sockets", "waits"} {
		t.Run(name, func(t *testing.T) {
			skipKnownGap(t)
			dir := workDir(t, "strace")
			src, err := filepath.Abs(filepath.Join("testdata/strace", name+".c"))
			if err != nil {
				t.Fatal(err)
			}
			bin := buildC(t, src, true)
			nativeLog := filepath.Join(dir, "native.log")
			if r := runOut(t, runOpts{dir: dir}, strace, "-f", "-o", nativeLog, bin, dir); r.code != 0 {
				t.Fatalf("natively under strace: %v", r)
			}
			sandboxLog := filepath.Join(dir, "sandbox.log")
			if r := runscLite(t, runOpts{dir: dir}, "run", "--strace-log", sandboxLog, "--", bin, dir); r.code != 0 {
				t.Fatalf("in the sandbox: %v", r)
			}
			native, sandboxed := readTrace(t, nativeLog), readTrace(t, sandboxLog)
			if len(native) == 0 || len(native[0]) < 10 {
				t.Fatalf("native trace too short after the marker: %q", native)
			}
			if d := traceDiff(native, sandboxed); d != "" {
				t.Errorf("the traces differ (- strace, + runsc-lite):\n%s", d)
			}
		})
	}
}

// TestReadTrace: how readTrace splits a trace of --strace into tasks.
//   - ended task: --strace drops the [pid N] prefix once one task is
//     left, as strace does on a terminal, so a line without one after a
//     child's "+++ exited" line is the parent's (a child that exits before
//     its parent calls wait4 made TestStraceLikeStrace fail under load).
//   - child between calls: a child that runs and ends between two of its
//     parent's calls leaves the parent without a single prefixed line;
//     the unprefixed lines are then the sandbox's first process's (PID
//     1), not the child's (TestStraceLikeStrace/waits failed so, one run
//     in 7).
func TestReadTrace(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       [][]string
	}{{
		name: "ended task",
		text: `close(-42)                              = -1 EBADF (Bad file descriptor)
clone(child_stack=NULL, flags=SIGCHLD) = 2
[pid     2] exit_group(3)               = ?
[pid     2] +++ exited with 3 +++
wait4(-1, NULL, 0, NULL)                = 2
clone(child_stack=NULL, flags=SIGCHLD) = 3
[pid     1] getpid()                    = 1
[pid     3] exit_group(0)               = ?
[pid     3] +++ exited with 0 +++
wait4(-1, NULL, 0, NULL)                = 3
exit_group(0)                           = ?
+++ exited with 0 +++
`,
		want: [][]string{
			{"close(-42) = -1 EBADF (Bad file descriptor)", "clone(child_stack=NULL, flags=SIGCHLD) = P2", "wait4(-1, NULL, 0, NULL) = P2",
				"clone(child_stack=NULL, flags=SIGCHLD) = P3", "getpid() = P1", "wait4(-1, NULL, 0, NULL) = P3", "exit_group(0) = ?", "+++ exited with 0 +++"},
			{"exit_group(3) = ?", "+++ exited with 3 +++"},
			{"exit_group(0) = ?", "+++ exited with 0 +++"},
		},
	}, {
		name: "child between calls",
		text: `close(-42)                              = -1 EBADF (Bad file descriptor)
getpid()                                = 1
clone(child_stack=NULL, flags=SIGCHLD) = 2
[pid     2] exit_group(3)               = ?
[pid     2] +++ exited with 3 +++
waitid(P_PID, 2, NULL, WEXITED, NULL)   = 0
exit_group(0)                           = ?
+++ exited with 0 +++
`,
		want: [][]string{
			{"close(-42) = -1 EBADF (Bad file descriptor)", "getpid() = P1", "clone(child_stack=NULL, flags=SIGCHLD) = P2",
				"waitid(P_PID, P2, NULL, WEXITED, NULL) = 0", "exit_group(0) = ?", "+++ exited with 0 +++"},
			{"exit_group(3) = ?", "+++ exited with 3 +++"},
		},
	}} {
		log := filepath.Join(t.TempDir(), "trace.log")
		if err := os.WriteFile(log, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := readTrace(t, log); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: readTrace:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

var (
	// nativePrefix is strace -f -o's "PID ", sandboxPrefix --strace's
	// "[pid N] ".
	tracePrefix  = regexp.MustCompile(`^(?:\[pid +(\d+)\] |(\d+) +)`)
	traceResumed = regexp.MustCompile(`^<\.\.\. (\w+) resumed>`)
	// traceCloned is a clone, clone3, fork or vfork line and its child.
	traceCloned = regexp.MustCompile(`^(?:clone3?|v?fork)\(.*\) += (\d+)$`)
	traceAddr   = regexp.MustCompile(`0x[0-9a-f]{5,}`)
	traceEquals = regexp.MustCompile(`\) +=( |$)`)
	// tracePids are the places a pid appears: results of the calls that
	// return one, arguments of those that take one, and siginfo.
	tracePids = []*regexp.Regexp{
		regexp.MustCompile(`(si_pid=|^(?:kill|wait4|tgkill|tkill)\(|^waitid\(P_PID, )(-?\d+)`),
		regexp.MustCompile(`^((?:clone|fork|vfork|getpid|gettid|set_tid_address|wait4)\(.*\) = )(\d+)$`),
	}
)

// readTrace reads a trace into lines per task, tasks in order of their
// first line, from the marker call close(-42) on.
func readTrace(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	lines := map[string][]string{}
	pending := map[string]string{}     // a task's <unfinished ...> line, by pid
	pendingName := map[string]string{} // and its syscall's name
	started := false
	last := ""                // the task of an unprefixed line: the only one there is
	gone := map[string]bool{} // tasks whose "+++ exited" or "+++ killed" line was read
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		pid := last
		if m := tracePrefix.FindStringSubmatch(l); m != nil {
			pid = m[1] + m[2]
			l = l[len(m[0]):]
		} else if last == "" {
			pid = "main"
		} else if gone[last] {
			// The last task to write has ended, and with it the
			// prefixes: the line is the one task left's.
			pid = survivor(order, gone, last)
		}
		if strings.HasPrefix(l, "+++ ") {
			gone[pid] = true
		}
		if m := traceResumed.FindStringSubmatch(l); m != nil && pendingName[pid] != m[1] {
			// Unprefixed: the task left with a call of that name pending.
			for p, name := range pendingName {
				if name == m[1] {
					pid = p
				}
			}
		}
		last = pid
		if !started {
			if !strings.HasPrefix(l, "close(-42)") {
				continue
			}
			started = true
		}
		if rest, ok := strings.CutSuffix(l, " <unfinished ...>"); ok {
			pending[pid] = rest
			pendingName[pid] = rest[:max(0, strings.IndexByte(rest, '('))]
			continue
		}
		if m := traceResumed.FindStringSubmatch(l); m != nil {
			l = pending[pid] + l[len(m[0]):]
			delete(pending, pid)
			delete(pendingName, pid)
		}
		if _, ok := lines[pid]; !ok {
			order = append(order, pid)
		}
		lines[pid] = append(lines[pid], l)
	}
	// Unprefixed lines before there were several tasks are the first
	// task's: the prefixed task of lowest pid that no clone of the trace
	// made, or, when it never wrote while another task lived (its
	// children ran and ended between two of its calls), the sandbox's
	// first process, PID 1 (a native trace has a pid on every line).
	if main, ok := lines["main"]; ok && len(order) > 1 {
		children := map[string]bool{}
		for _, pid := range order {
			for _, l := range lines[pid] {
				if m := traceCloned.FindStringSubmatch(l); m != nil {
					children[m[1]] = true
				}
			}
		}
		first := ""
		for _, pid := range order[1:] {
			if children[pid] {
				continue
			}
			if first == "" || len(pid) < len(first) || len(pid) == len(first) && pid < first {
				first = pid
			}
		}
		if first == "" {
			first = "1"
			order = append(order, first)
		}
		lines[first] = append(main, lines[first]...)
		delete(lines, "main")
		order = order[1:]
		for i, pid := range order {
			if pid == first {
				order = append([]string{first}, append(order[:i:i], order[i+1:]...)...)
				break
			}
		}
	}
	// Pids are numbered in order of appearance: the first task is P1.
	number := map[string]string{}
	for i, pid := range order {
		number[pid] = fmt.Sprintf("P%d", i+1)
	}
	var out [][]string
	for _, pid := range order {
		var norm []string
		for _, l := range lines[pid] {
			l = traceEquals.ReplaceAllString(l, ") =$1")
			l = traceAddr.ReplaceAllString(l, "ADDR")
			for _, re := range tracePids {
				l = re.ReplaceAllStringFunc(l, func(s string) string {
					m := re.FindStringSubmatch(s)
					return m[1] + pidName(number, m[2])
				})
			}
			norm = append(norm, l)
		}
		out = append(out, norm)
	}
	return out
}

// survivor is the one task of order that has not ended: "main" (the first
// task, before it had a prefix) when no other is left, last when several
// are (which the prefixes rule out).
func survivor(order []string, gone map[string]bool, last string) string {
	left := ""
	for _, pid := range order {
		if pid == "main" || gone[pid] {
			continue
		}
		if left != "" {
			return last
		}
		left = pid
	}
	if left == "" {
		return "main"
	}
	return left
}

func pidName(number map[string]string, pid string) string {
	if n, ok := number[pid]; ok {
		return n
	}
	if pid == "-1" || pid == "0" {
		return pid
	}
	return "P?"
}

// traceDiff compares two traces task by task.
func traceDiff(native, sandboxed [][]string) string {
	var b strings.Builder
	if len(native) != len(sandboxed) {
		fmt.Fprintf(&b, "%d tasks natively, %d in the sandbox\n", len(native), len(sandboxed))
	}
	for i := range min(len(native), len(sandboxed)) {
		a, s := strings.Join(native[i], "\n")+"\n", strings.Join(sandboxed[i], "\n")+"\n"
		if a != s {
			fmt.Fprintf(&b, "task P%d:\n%s", i+1, lineDiff(a, s))
		}
	}
	return b.String()
}
