package bench

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkWorkloads runs every workload under each runner as Go
// sub-benchmarks (BenchmarkWorkloads/WORKLOAD/RUNNER). Each iteration runs the
// workload natively and then under the runner, back to back, so the
// reported x-native ratio comes from one sitting. gVisor's runners are
// included when runsc is in PATH. `runsc-lite bench` is the same
// measurement with interleaved repetitions and a table; this form lets
// `go test -bench` pick one cell, e.g.
//
//	go test -run '^$' -bench 'Workloads/getppid/systrap' ./tools/bench
func BenchmarkWorkloads(b *testing.B) {
	if _, err := exec.LookPath("gcc"); err != nil {
		b.Skip("needs gcc")
	}
	exe := buildRunscLite(b)
	runsc, _ := exec.LookPath("runsc")
	env := &Env{Dir: cacheDirForTest(b), Quick: testing.Short()}
	native := Native()
	for _, w := range Workloads() {
		b.Run(w.Name, func(b *testing.B) {
			cmd, err := w.prepare(env)
			if err != nil {
				b.Skipf("setup: %v", err)
			}
			for _, r := range Runners(exe, runsc, []string{"systrap", "ptrace"}, nil)[1:] {
				if r.Unavailable != "" {
					continue
				}
				b.Run(r.Name, func(b *testing.B) {
					var nativeSum, sandboxSum float64
					for b.Loop() {
						nm, err := native.measure(context.Background(), w.Kind, cmd, 2*time.Minute, nil)
						if err != nil {
							b.Fatalf("natively: %v", err)
						}
						sm, err := r.measure(context.Background(), w.Kind, cmd, 2*time.Minute, nil)
						if err != nil {
							b.Fatalf("on %s: %v", r.Name, err)
						}
						nativeSum += nm.value
						sandboxSum += sm.value
					}
					b.ReportMetric(sandboxSum/float64(b.N), w.Kind.Unit()+"-"+r.Name)
					b.ReportMetric(nativeSum/float64(b.N), w.Kind.Unit()+"-native")
					b.ReportMetric(sandboxSum/nativeSum, "x-native")
				})
			}
		})
	}
}
