package control

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// metrics are the sandbox's metrics in the Prometheus text exposition
// format (version 0.0.4): syscalls by name with their latency, page
// faults, tasks, memory, descriptors and CPU time.
//
// They are written here, not with the Prometheus client library, which
// was left out while it alone would have brought package net into
// runsc-lite. netstack has brought net since, and runsc-lite is built
// with CGO_ENABLED=0 (TestStaticBuild); moving to the client library is
// open work.
type metrics struct {
	srv *Server
	// byNr are the histograms of the syscalls, by number: found without
	// a lock on every syscall.
	byNr [maxSyscall]atomic.Pointer[histogram]
}

// maxSyscall bounds the syscall numbers counted.
const maxSyscall = 1024

// latencyBuckets are the histograms' upper bounds in seconds: 1 µs to
// about 1 s, by 4.
var latencyBuckets = func() []float64 {
	b := make([]float64, 11)
	for i := range b {
		b[i] = 1e-6 * math.Pow(4, float64(i))
	}
	return b
}()

// histogram is one syscall's latency histogram; every field atomic.
type histogram struct {
	buckets [12]atomic.Uint64 // per bound of latencyBuckets, then +Inf; not cumulative
	sumNs   atomic.Uint64
	count   atomic.Uint64
}

func newMetrics(srv *Server) *metrics { return &metrics{srv: srv} }

// Syscall counts one syscall (kernel.SyscallCounter).
func (m *metrics) Syscall(nr uintptr, took time.Duration) {
	if nr >= maxSyscall {
		return
	}
	h := m.byNr[nr].Load()
	if h == nil {
		m.byNr[nr].CompareAndSwap(nil, new(histogram))
		h = m.byNr[nr].Load()
	}
	s := took.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, s)
	h.buckets[i].Add(1)
	h.sumNs.Add(uint64(took.Nanoseconds()))
	h.count.Add(1)
}

// descriptors counts the open descriptors of every process.
func (m *metrics) descriptors() int {
	k := m.srv.S.K
	n := 0
	for _, pid := range k.PIDs(false) {
		if t := k.Task(pid); t != nil {
			if fds := t.FDs(); fds != nil {
				n += fds.Count()
			}
		}
	}
	return n
}

// text returns every metric in the text format.
func (m *metrics) text() (string, error) {
	k := m.srv.S.K
	var b strings.Builder
	one := func(name, kind, help string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, kind, name, formatFloat(v))
	}
	user, sys := k.CPUTime()
	one("runsc_lite_page_faults_total", "counter", "Page faults of the sandbox's tasks that reached the sentry.", float64(k.Faults()))
	one("runsc_lite_tasks", "gauge", "Tasks (threads) in the sandbox.", float64(k.NumTasks()))
	one("runsc_lite_processes", "gauge", "Processes in the sandbox.", float64(len(k.PIDs(false))))
	one("runsc_lite_forks_total", "counter", "Tasks created since the sandbox started.", float64(k.Forks()))
	one("runsc_lite_memory_used_bytes", "gauge", "Memory charged to the sandbox (mappings and in-memory files).", float64(k.Memory.Used()))
	one("runsc_lite_memory_limit_bytes", "gauge", "The sandbox's memory limit.", float64(k.Memory.Limit()))
	one("runsc_lite_memory_refused_total", "counter", "Allocations refused at the memory limit.", float64(k.Memory.Refused()))
	one("runsc_lite_file_descriptors", "gauge", "Open descriptors of the sandbox's processes.", float64(m.descriptors()))
	one("runsc_lite_cpu_user_seconds_total", "counter", "User CPU time of the sandbox.", user.Seconds())
	one("runsc_lite_cpu_system_seconds_total", "counter", "System CPU time of the sandbox (the sentry's work for it).", sys.Seconds())
	const name = "runsc_lite_syscall_duration_seconds"
	fmt.Fprintf(&b, "# HELP %s Time the sentry took to answer each syscall, by name.\n# TYPE %s histogram\n", name, name)
	type row struct {
		name string
		h    *histogram
	}
	var rows []row
	for nr := range m.byNr {
		if h := m.byNr[nr].Load(); h != nil {
			rows = append(rows, row{k.Syscalls.Name(uintptr(nr)), h})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
	for _, r := range rows {
		var cum uint64
		for i, le := range latencyBuckets {
			cum += r.h.buckets[i].Load()
			fmt.Fprintf(&b, "%s_bucket{name=%q,le=%q} %d\n", name, r.name, formatFloat(le), cum)
		}
		cum += r.h.buckets[len(latencyBuckets)].Load()
		fmt.Fprintf(&b, "%s_bucket{name=%q,le=\"+Inf\"} %d\n", name, r.name, cum)
		fmt.Fprintf(&b, "%s_sum{name=%q} %s\n", name, r.name, formatFloat(float64(r.h.sumNs.Load())/1e9))
		// The count is the buckets' total, read once, so that it and
		// the +Inf bucket agree.
		fmt.Fprintf(&b, "%s_count{name=%q} %d\n", name, r.name, cum)
	}
	return b.String(), nil
}

// formatFloat writes a sample value as Prometheus does.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
