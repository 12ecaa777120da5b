package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRunShort runs the benchmark end to end, as `runsc-lite bench` does,
// on a tiny subset: one micro and one macro workload, one rep, native and
// runsc-lite on systrap, and a runner that always fails. The sandbox's
// results are not checked (the sentry may not run a workload yet), only
// that every row and cell is there and the JSON and SVG are well-formed.
func TestRunShort(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("needs gcc")
	}
	exe := buildRunscLite(t)
	ws, err := Select(Workloads(), "^(getppid|start-true)$")
	if err != nil {
		t.Fatal(err)
	}
	broken := Runner{Name: "broken", Platform: "broken", prefix: []string{"/bin/false"}}
	cfg := Config{
		Workloads: ws,
		Runners:   []Runner{Native(), RunscLite(exe, "systrap"), broken, GVisorRunsc("", "systrap")},
		Reps:      1,
		Quick:     true,
		Dir:       cacheDirForTest(t),
		Timeout:   30 * time.Second,
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, w := range ws {
		if c := res.Cell(w.Name, Native()); !c.OK() {
			t.Errorf("%s natively: no measurement: %s", w.Name, c.Err)
		}
		if c := res.Cell(w.Name, broken); c.OK() || c.Failed != 1 {
			t.Errorf("%s on a failing runner: %+v, want one failure", w.Name, c)
		}
	}

	var table bytes.Buffer
	if err := WriteTable(&table, res); err != nil {
		t.Fatalf("WriteTable: %v", err)
	}
	t.Logf("table:\n%s", table.String())
	checkTable(t, table.String(), ws)
	for _, want := range []string{"machine: ", "cores", "latency per operation"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
	for _, s := range res.Samples {
		if s.Runner == "native" && (s.CPUNs <= 0 || s.WallNs <= 0 || (s.Workload == "getppid" && !(s.P50 > 0 && s.P50 <= s.P90 && s.P90 <= s.P99))) {
			t.Errorf("native sample lacks CPU, wall time or percentiles: %+v", s)
		}
	}
	checkJSON(t, res, len(ws)*3)
	checkSVG(t, res)
}

func checkTable(t *testing.T, table string, ws []Workload) {
	t.Helper()
	for _, w := range ws {
		row := rowOf(table, w.Name)
		if row == "" {
			t.Errorf("table has no row for %s", w.Name)
			continue
		}
		if !strings.Contains(row, "failed: exit status 1") || !strings.Contains(row, "not installed") {
			t.Errorf("row %q: want the broken runner's failure and gVisor's \"not installed\"", row)
		}
	}
}

// rowOf returns the table line that starts with name.
func rowOf(table, name string) string {
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, name+" ") {
			return line
		}
	}
	return ""
}

func checkJSON(t *testing.T, res *Result, samples int) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	var got report
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("JSON does not parse: %v", err)
	}
	if len(got.Samples) != samples {
		t.Errorf("JSON has %d samples, want %d", len(got.Samples), samples)
	}
	for _, s := range got.Samples {
		if s.Workload == "" || s.Runner == "" || s.Rep != 1 || s.Unit == "" || (s.Error == "") != (s.Value > 0) {
			t.Errorf("bad sample %+v", s)
		}
	}
}

func checkSVG(t *testing.T, res *Result) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSVG(&buf, res); err != nil {
		t.Fatalf("WriteSVG: %v", err)
	}
	wellFormed(t, buf.Bytes())
	for _, want := range []string{"<svg", "getppid", "start-true", "native = 1x", "runsc-lite systrap"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

// wellFormed fails t unless doc is well-formed XML.
func wellFormed(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
}

// buildRunscLite builds the runsc-lite command for the sandbox runner.
func buildRunscLite(t testing.TB) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "runsc-lite")
	out, err := exec.Command("go", "build", "-o", exe, "runsc-lite/runsc-lite").CombinedOutput()
	if err != nil {
		t.Fatalf("go build runsc-lite: %v\n%s", err, out)
	}
	return exe
}

// cacheDirForTest is where the test compiles workloads: the user cache, as
// the sandbox does not see the host's /tmp.
func cacheDirForTest(t testing.TB) string {
	t.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("no user cache directory: %v", err)
	}
	return filepath.Join(base, "runsc-lite-bench")
}

func TestSelect(t *testing.T) {
	all := Workloads()
	if got, _ := Select(all, ""); len(got) != len(all) {
		t.Errorf("empty pattern selects %d of %d", len(got), len(all))
	}
	if got, err := Select(all, "getppid, fork-wait"); err != nil || len(got) != 2 || got[0].Name != "getppid" {
		t.Errorf(`Select("getppid, fork-wait") = %v, %v; want the two`, Names(got), err)
	}
	if got, err := Select(all, "^fork-"); err != nil || len(got) != 2 {
		t.Errorf(`Select("^fork-") = %v, %v; want fork-wait and fork-exec-wait`, Names(got), err)
	}
	for _, bad := range []string{"(", "no-such-workload"} {
		if _, err := Select(all, bad); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("Select(%q) error = %v; want a one-line error", bad, err)
		}
	}
}

func TestWorkloadNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range Workloads() {
		if seen[w.Name] || w.prepare == nil || w.Desc == "" {
			t.Errorf("workload %q: duplicate, or no prepare or description", w.Name)
		}
		seen[w.Name] = true
	}
}

func TestSummarize(t *testing.T) {
	s := summarize([]float64{5, 1, 4, 2, 3})
	if s.N != 5 || s.Median != 3 || s.Min != 1 || s.Max != 5 || s.Q1 != 2 || s.Q3 != 4 {
		t.Errorf("summarize = %+v", s)
	}
	if got := s.Spread(); math.Abs(got-2.0/3) > 1e-9 {
		t.Errorf("Spread = %v, want IQR/median = 2/3", got)
	}
	if s := summarize([]float64{2, 4}); s.Median != 3 || s.Spread() != 2.0/3 {
		t.Errorf("two samples: %+v, spread %v", s, s.Spread())
	}
	if s := summarize(nil); s.N != 0 {
		t.Errorf("no samples: %+v", s)
	}
}

func TestParseMicro(t *testing.T) {
	v, pct, err := parseMicro("noise\nns/op 123.5\npct 100 150.5 900\n")
	if err != nil || v != 123.5 || len(pct) != 3 || pct[0] != 100 || pct[1] != 150.5 || pct[2] != 900 {
		t.Errorf("parseMicro = %v, %v, %v", v, pct, err)
	}
	if v, pct, err := parseMicro("ns/op 7\n"); err != nil || v != 7 || pct != nil {
		t.Errorf("without percentiles: %v, %v, %v", v, pct, err)
	}
	for _, bad := range []string{"", "ns/op x", "ns/op -1", "ns/op 5\npct 1 2", "ns/op 5\npct 1 2 x"} {
		if _, _, err := parseMicro(bad); err == nil {
			t.Errorf("parseMicro(%q) succeeded", bad)
		}
	}
}

// TestCPUTimeCountsEveryProcess checks that a run's CPU time includes a
// process nobody waits for, as a sandbox's processes may be: the command
// starts an orphan (its parent exits at once, so init reaps it) that does
// a fixed amount of work, about 230 ms of CPU here, and waits for its
// file. Work, not wall time, is fixed, so a loaded machine only slows it.
func TestCPUTimeCountsEveryProcess(t *testing.T) {
	meter := newCPUMeter()
	defer meter.close()
	if meter.base == "" {
		t.Skipf("no cgroup to measure with: %s", meter.Source)
	}
	done := filepath.Join(t.TempDir(), "done")
	orphan := `( (i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; touch "$1") & ); while [ ! -e "$1" ]; do sleep 0.05; done`
	m, err := Native().measure(context.Background(), Macro, Command{Argv: []string{"sh", "-c", orphan, "sh", done}}, 5*time.Minute, meter)
	if err != nil {
		t.Fatal(err)
	}
	if m.cpu < 0.08e9 {
		t.Errorf("cpu %v (wall %v): want the orphan's work (about 230ms of CPU) counted", time.Duration(m.cpu), time.Duration(m.wall))
	}
	entries, _ := os.ReadDir(meter.base)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("the run's cgroup %s was left behind", e.Name())
		}
	}
}

func TestMachineBusy(t *testing.T) {
	for _, c := range []struct {
		m    Machine
		busy bool
	}{
		{Machine{Cores: 2, LoadStart: 0.3, LoadEnd: 0.9}, false},
		{Machine{Cores: 2, LoadStart: 0.3, LoadEnd: 1.5}, false}, // the bench's own work
		{Machine{Cores: 2, LoadStart: 1.5, LoadEnd: 0.3}, true},
		{Machine{Cores: 2, LoadStart: 2.2, LoadEnd: 2.8, Load: 2}, false},
		{Machine{Cores: 2, LoadStart: 4, LoadEnd: 2, Load: 2}, true},
	} {
		if got := c.m.Busy(); got != c.busy {
			t.Errorf("%+v: Busy = %v, want %v", c.m, got, c.busy)
		}
		if warned := strings.Contains(strings.Join(c.m.header(), "\n"), "WARNING"); warned != c.busy {
			t.Errorf("%+v: header warns = %v, want %v", c.m, warned, c.busy)
		}
	}
}

// TestLoad starts busy loops, pauses them (each must show as stopped and
// use no CPU while paused), lets them spin again, and stops them.
func TestLoad(t *testing.T) {
	loops, err := startLoad(2)
	if err != nil {
		t.Fatal(err)
	}
	defer loops.stop()
	if err := loops.pause(); err != nil {
		t.Fatalf("pause: %v", err)
	}
	before := loopsCPU(t, loops)
	time.Sleep(100 * time.Millisecond)
	if after := loopsCPU(t, loops); after != before {
		t.Errorf("paused loops used CPU: %d ticks, then %d", before, after)
	}
	if err := loops.resume(); err != nil {
		t.Fatalf("resume: %v", err)
	}
	for _, c := range loops.procs {
		if st := procState(t, c.Process.Pid); st == 'T' {
			t.Errorf("loop %d still stopped after resume", c.Process.Pid)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for loopsCPU(t, loops) == before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if loopsCPU(t, loops) == before {
		t.Error("resumed loops used no CPU in 5s")
	}
}

// procStat returns the fields of /proc/PID/stat after the command name.
func procStat(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.Fields(rest)
}

func procState(t *testing.T, pid int) byte { return procStat(t, pid)[0][0] }

// loopsCPU is the user+system clock ticks of every loop.
func loopsCPU(t *testing.T, loops *busyLoops) int {
	t.Helper()
	total := 0
	for _, c := range loops.procs {
		f := procStat(t, c.Process.Pid)
		for _, v := range f[11:13] { // utime, stime: fields 14 and 15
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
	}
	return total
}

// TestSlowdown checks the --compare-idle figures and table on made-up
// samples: loaded medians exclude the idle reps and the other way round,
// and the summary line says which runner slowed down less.
func TestSlowdown(t *testing.T) {
	ws, err := Select(Workloads(), "^(getppid|bash-fork-exec-100)$")
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := Runner{Name: "systrap", Platform: "systrap"}, Runner{Name: "gvisor-systrap", Platform: "systrap", GVisor: true}
	res := &Result{Workloads: ws, Runners: []Runner{Native(), ours, theirs}, Reps: 2,
		Machine: Machine{Cores: 2, Load: 2, CompareIdle: true}}
	add := func(w string, r Runner, idle bool, values ...float64) {
		for i, v := range values {
			res.Samples = append(res.Samples, Sample{Workload: w, Runner: r.Name, Rep: i + 1, Value: v, Idle: idle})
		}
	}
	add("getppid", Native(), true, 1000, 1000)
	add("getppid", Native(), false, 2000, 2000)
	add("getppid", ours, true, 3000, 3000)
	add("getppid", ours, false, 6000, 6000)
	add("getppid", theirs, true, 10000, 10000)
	add("getppid", theirs, false, 30000, 30000)
	add("bash-fork-exec-100", ours, true, 1e9, 1e9)
	add("bash-fork-exec-100", ours, false, 1.5e9, 1.5e9)
	add("bash-fork-exec-100", theirs, true, 2e9, 2e9)
	add("bash-fork-exec-100", theirs, false, 2.6e9, 2.6e9)
	if c := res.Cell("getppid", ours); c.Median != 6000 || c.N != 2 {
		t.Errorf("loaded cell %+v, want median 6000 of 2", c.Stats)
	}
	if c := res.IdleCell("getppid", ours); c.Median != 3000 || c.N != 2 {
		t.Errorf("idle cell %+v, want median 3000 of 2", c.Stats)
	}
	if x, ok := res.Slowdown("getppid", theirs); !ok || x != 3 {
		t.Errorf("gVisor's getppid slowdown = %v, %v; want 3", x, ok)
	}
	if _, ok := res.Slowdown("bash-fork-exec-100", Native()); ok {
		t.Error("a slowdown without samples")
	}
	var table bytes.Buffer
	if err := WriteTable(&table, res); err != nil {
		t.Fatal(err)
	}
	t.Logf("table:\n%s", table.String())
	unavailable := *res
	unavailable.Runners = []Runner{Native(), ours, {Name: "gvisor-systrap", Platform: "systrap", GVisor: true, Unavailable: "not installed"}}
	var short bytes.Buffer
	if err := WriteTable(&short, &unavailable); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(short.String(), " against ") {
		t.Errorf("a summary against a gVisor that did not run:\n%s", short.String())
	}
	for _, want := range []string{
		"--load 2 --compare-idle",
		"3.00µs -> 6.00µs (2.00x)",
		"1.00s -> 1.50s (1.50x)",
		"systrap against gvisor-systrap: slowed down as much or less on getppid (2.00x against 3.00x); more on bash-fork-exec-100 (1.50x against 1.30x).",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
}

func TestFormat(t *testing.T) {
	for ns, want := range map[float64]string{12.345: "12.3ns", 1234: "1.23µs", 45600000: "45.6ms", 2.5e9: "2.50s", 0: "0.00ns"} {
		if got := FormatNs(ns); got != want {
			t.Errorf("FormatNs(%v) = %q, want %q", ns, got, want)
		}
	}
	if got := FormatRatio(123.4); got != "123x" {
		t.Errorf("FormatRatio(123.4) = %q", got)
	}
}

func TestScale(t *testing.T) {
	lin := newScale([]float64{1.5, 3})
	if lin.log || lin.hi != 5 || lin.x(0) != plotLeft || lin.x(5) != plotRight {
		t.Errorf("linear scale %+v", lin)
	}
	lg := newScale([]float64{0.8, 350})
	if !lg.log || lg.lo != 0.1 || lg.hi != 1000 || lg.x(1) <= plotLeft || lg.x(1000) != plotRight {
		t.Errorf("log scale %+v", lg)
	}
	if ticks := lg.ticks(); len(ticks) != 5 {
		t.Errorf("log ticks %v, want the 5 decades 0.1..1000", ticks)
	}
}

// TestTail checks that only the end of a chatty program's output is kept.
func TestTail(t *testing.T) {
	var tl tail
	tl.Write(bytes.Repeat([]byte("x"), 3*tailSize))
	tl.Write([]byte("\nlast line\n\n"))
	if len(tl.buf) > tailSize || tl.lastLine() != "last line" {
		t.Errorf("tail kept %d bytes, last line %q", len(tl.buf), tl.lastLine())
	}
}
