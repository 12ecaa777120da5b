package control

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// metrics are the sandbox's metrics, kept with the Prometheus client
// library in a registry of the sandbox's own (not the library's default
// one, whose Go and process collectors would describe the sentry, and
// read /proc, which the confined sentry has not got): syscalls by name
// with their latency, page faults, tasks, memory by kind, descriptors and
// CPU time. The metrics RPC answers with the registry gathered, in the
// text exposition format (version 0.0.4).
//
// The syscall histograms are observed on every syscall: the histogram of
// a syscall number is found without a lock (byNr), and the library's
// Observe is itself lock-free. Everything else is read from the kernel
// when the metrics are gathered (sandboxCollector).
type metrics struct {
	srv      *Server
	registry *prometheus.Registry
	syscalls *prometheus.HistogramVec
	// byNr are the syscalls' histograms, by number, made on first use.
	byNr [maxSyscall]atomic.Pointer[observer]
}

// observer holds a histogram child of metrics.syscalls.
type observer struct{ prometheus.Observer }

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

func newMetrics(srv *Server) (*metrics, error) {
	m := &metrics{srv: srv, registry: prometheus.NewRegistry()}
	m.syscalls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "runsc_lite_syscall_duration_seconds",
		Help:    "Time the sentry took to answer each syscall, by name.",
		Buckets: latencyBuckets,
	}, []string{"name"})
	if err := m.registry.Register(m.syscalls); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := m.registry.Register(&sandboxCollector{m: m}); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return m, nil
}

// Syscall counts one syscall (kernel.SyscallCounter).
func (m *metrics) Syscall(nr uintptr, took time.Duration) {
	if nr >= maxSyscall {
		return
	}
	o := m.byNr[nr].Load()
	if o == nil {
		m.byNr[nr].CompareAndSwap(nil, &observer{m.syscalls.WithLabelValues(m.srv.S.K.Syscalls.Name(nr))})
		o = m.byNr[nr].Load()
	}
	o.Observe(took.Seconds())
}

// text returns every metric in the text format.
func (m *metrics) text() (string, error) {
	families, err := m.registry.Gather()
	if err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	var b strings.Builder
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return "", fmt.Errorf("metrics: %w", err)
		}
	}
	return b.String(), nil
}

// sandboxCollector reads the kernel's counters when the metrics are
// gathered.
type sandboxCollector struct{ m *metrics }

// sandboxMetric is one of the metrics sandboxCollector reads.
type sandboxMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(c *sandboxCollector) []labelled
}

// labelled is a sample value with its label values.
type labelled struct {
	v      float64
	labels []string
}

func one(v float64) []labelled { return []labelled{{v: v}} }

var sandboxMetrics = []sandboxMetric{
	{prometheus.NewDesc("runsc_lite_page_faults_total", "Page faults of the sandbox's tasks that reached the sentry.", nil, nil),
		prometheus.CounterValue, func(c *sandboxCollector) []labelled { return one(float64(c.m.srv.S.K.Faults())) }},
	{prometheus.NewDesc("runsc_lite_tasks", "Tasks (threads) in the sandbox.", nil, nil),
		prometheus.GaugeValue, func(c *sandboxCollector) []labelled { return one(float64(c.m.srv.S.K.NumTasks())) }},
	{prometheus.NewDesc("runsc_lite_processes", "Processes in the sandbox.", nil, nil),
		prometheus.GaugeValue, func(c *sandboxCollector) []labelled { return one(float64(len(c.m.srv.S.K.PIDs(false)))) }},
	{prometheus.NewDesc("runsc_lite_forks_total", "Tasks created since the sandbox started.", nil, nil),
		prometheus.CounterValue, func(c *sandboxCollector) []labelled { return one(float64(c.m.srv.S.K.Forks())) }},
	{prometheus.NewDesc("runsc_lite_memory_used_bytes", "Memory charged to the sandbox (mappings and in-memory files).", nil, nil),
		prometheus.GaugeValue, func(c *sandboxCollector) []labelled { return one(float64(c.m.srv.S.K.Memory.Used())) }},
	{prometheus.NewDesc("runsc_lite_memory_bytes", "Memory of the sandbox by kind: charged (anon, shmem, files, pipes) and mapped (mapped, mapped_file).", []string{"kind"}, nil),
		prometheus.GaugeValue, func(c *sandboxCollector) []labelled {
			var out []labelled
			for kind, v := range c.m.srv.memoryByKind() {
				out = append(out, labelled{v: float64(v), labels: []string{kind}})
			}
			return out
		}},
	{prometheus.NewDesc("runsc_lite_memory_limit_bytes", "The sandbox's memory limit.", nil, nil),
		prometheus.GaugeValue, func(c *sandboxCollector) []labelled { return one(float64(c.m.srv.S.K.Memory.Limit())) }},
	{prometheus.NewDesc("runsc_lite_memory_refused_total", "Allocations refused at the memory limit.", nil, nil),
		prometheus.CounterValue, func(c *sandboxCollector) []labelled { return one(float64(c.m.srv.S.K.Memory.Refused())) }},
	{prometheus.NewDesc("runsc_lite_file_descriptors", "Open descriptors of the sandbox's processes.", nil, nil),
		prometheus.GaugeValue, func(c *sandboxCollector) []labelled { return one(float64(c.m.srv.descriptors())) }},
	{prometheus.NewDesc("runsc_lite_cpu_user_seconds_total", "User CPU time of the sandbox.", nil, nil),
		prometheus.CounterValue, func(c *sandboxCollector) []labelled { u, _ := c.m.srv.S.K.CPUTime(); return one(u.Seconds()) }},
	{prometheus.NewDesc("runsc_lite_cpu_system_seconds_total", "System CPU time of the sandbox (the sentry's work for it).", nil, nil),
		prometheus.CounterValue, func(c *sandboxCollector) []labelled { _, s := c.m.srv.S.K.CPUTime(); return one(s.Seconds()) }},
}

// Describe implements prometheus.Collector.
func (c *sandboxCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, sm := range sandboxMetrics {
		ch <- sm.desc
	}
}

// Collect implements prometheus.Collector.
func (c *sandboxCollector) Collect(ch chan<- prometheus.Metric) {
	for _, sm := range sandboxMetrics {
		for _, l := range sm.value(c) {
			m, err := prometheus.NewConstMetric(sm.desc, sm.kind, l.v, l.labels...)
			if err != nil {
				m = prometheus.NewInvalidMetric(sm.desc, err)
			}
			ch <- m
		}
	}
}

// descriptors counts the open descriptors of every process.
func (srv *Server) descriptors() int {
	k := srv.S.K
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
