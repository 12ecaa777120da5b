package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"time"
)

// Run is what -out holds: one run of a list on one platform.
type Run struct {
	Platform  string            `json:"platform"`
	Started   time.Time         `json:"started"`
	DurationS float64           `json:"duration_s"`
	Counts    map[Outcome]int   `json:"counts"`
	Results   map[string]Result `json:"results"`
}

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "ltp:", err)
		os.Exit(1)
	}
}

func mainErr() error {
	here := moduleDir()
	src := flag.String("src", "", "LTP source `DIR` to build from (omitted: use the tree already installed in -build)")
	build := flag.String("build", "", "build `DIR`: the copy of the sources (ltp/), the installed tests (root/), the test directories (tmp/)")
	out := flag.String("out", "", "write every result to `FILE` as JSON (default: BUILD/results-PLATFORM.json)")
	platform := flag.String("platform", "systrap", "runsc-lite's platform: systrap or ptrace")
	runsc := flag.String("runsc", "", "the runsc-lite `BINARY` (default: go build ./runsc-lite into BUILD)")
	list := flag.String("list", filepath.Join(here, "tools", "ltp", "safe.list"), "the tests to run: a runtest `FILE` (name, command)")
	baseline := flag.String("baseline", filepath.Join(here, "tools", "ltp", "native.json"), "the native outcomes `FILE` to compare with")
	prev := flag.String("prev", "", "a previous -out `FILE`: print the tests that regressed and improved since")
	match := flag.String("run", "", "run only the tests whose name matches `REGEXP`")
	timeout := flag.Duration("timeout", 60*time.Second, "wall time a test gets")
	parallel := flag.Int("j", 2, "tests run at a time")
	failing := flag.String("failing", "", "update the failing list `FILE` (name<TAB>reason) with the tests run")
	report := flag.String("report", "", "run nothing: report on the results `FILE` of an earlier run")
	flag.Parse()
	if *build == "" && *report == "" || flag.NArg() != 0 {
		flag.Usage()
		return errors.New("-build or -report is required, and no arguments")
	}
	if *platform != "systrap" && *platform != "ptrace" {
		return fmt.Errorf("-platform %q: systrap or ptrace", *platform)
	}
	tests, err := ReadTests(*list)
	if err != nil {
		return err
	}
	native, err := ReadBaseline(*baseline)
	if err != nil {
		return err
	}
	var before *Run
	if *prev != "" {
		if before, err = ReadRun(*prev); err != nil {
			return err
		}
	}
	if *report != "" {
		rn, err := ReadRun(*report)
		if err != nil {
			return err
		}
		tests = ran(tests, rn.Results)
		Report(os.Stdout, rn, tests, native, before)
		if *failing != "" {
			return UpdateFailing(*failing, tests, rn.Results, native)
		}
		return nil
	}
	buildDir, err := filepath.Abs(*build)
	if err != nil {
		return err
	}
	if *src != "" {
		if err := os.MkdirAll(buildDir, 0o755); err != nil {
			return err
		}
		log, err := os.Create(filepath.Join(buildDir, "build.log"))
		if err != nil {
			return err
		}
		fmt.Printf("building LTP from %s in %s (log: %s)\n", *src, buildDir, log.Name())
		err = Build(*src, buildDir, tests, log)
		log.Close()
		if err != nil {
			return fmt.Errorf("building LTP (see %s): %w", log.Name(), err)
		}
	}
	if *match != "" {
		re, err := regexp.Compile(*match)
		if err != nil {
			return fmt.Errorf("-run: %w", err)
		}
		var some []Test
		for _, t := range tests {
			if re.MatchString(t.Name) {
				some = append(some, t)
			}
		}
		tests = some
	}
	if *runsc == "" {
		*runsc = filepath.Join(buildDir, "runsc-lite")
		if err := run(os.Stderr, here, "go", "build", "-o", *runsc, "./runsc-lite"); err != nil {
			return err
		}
	}
	if *out == "" {
		*out = filepath.Join(buildDir, "results-"+*platform+".json")
	}
	tmpRoot := filepath.Join(buildDir, "tmp")
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return err
	}
	if err := Searchable(tmpRoot); err != nil {
		return err
	}
	r := &Runner{Runsc: *runsc, Platform: *platform, LTPRoot: filepath.Join(buildDir, "root"),
		TmpRoot: tmpRoot, Timeout: *timeout, Parallel: *parallel}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	fmt.Printf("running %d tests on %s, %d at a time, %v each at most\n", len(tests), *platform, *parallel, *timeout)
	started, n := time.Now(), 0
	results := r.RunAll(ctx, tests, func(t Test, res Result) {
		n++
		crash := ""
		if res.SentryCrash {
			crash = " SENTRY CRASH"
		}
		fmt.Printf("[%d/%d] %-24s %-7s %5.1fs%s\n", n, len(tests), t.Name, res.Outcome, float64(res.DurationMS)/1000, crash)
	})
	if ctx.Err() != nil {
		return errors.New("interrupted: no results written")
	}
	rn := Run{Platform: *platform, Started: started, DurationS: time.Since(started).Seconds(), Results: results, Counts: map[Outcome]int{}}
	for _, res := range results {
		rn.Counts[res.Outcome]++
	}
	b, err := json.MarshalIndent(rn, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	Report(os.Stdout, &rn, tests, native, before)
	fmt.Printf("results: %s\n", *out)
	if *failing != "" {
		return UpdateFailing(*failing, tests, results, native)
	}
	return nil
}

// ran returns the tests that have a result.
func ran(tests []Test, results map[string]Result) []Test {
	var out []Test
	for _, t := range tests {
		if _, ok := results[t.Name]; ok {
			out = append(out, t)
		}
	}
	return out
}

// ReadRun reads a file written by -out.
func ReadRun(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rn Run
	if err := json.Unmarshal(b, &rn); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &rn, nil
}

// moduleDir returns the directory of the module runsc-lite, the defaults'
// base: the working directory or the first of its parents with a go.mod.
func moduleDir() string {
	wd, _ := os.Getwd()
	if b, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if mod := string(b[:len(b)-1]); filepath.IsAbs(mod) {
			return filepath.Dir(mod)
		}
	}
	return wd
}
