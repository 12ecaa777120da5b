package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// failWidth bounds a failure's reason in a table cell; the full reasons are
// listed under the table.
const failWidth = 40

// WriteTable writes res as a table: one row per workload; per runner, the
// median, the spread, the ratio to native and, for runsc-lite, the ratio to
// gVisor on the same platform. Failures' full reasons follow the table.
func WriteTable(w io.Writer, res *Result) error {
	for _, line := range res.Machine.header() {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	names, columns := []string{"workload"}, []string{""}
	for _, r := range res.Runners {
		cols := res.columns(r)
		names = append(names, r.Name)
		names = append(names, make([]string, len(cols)-1)...)
		columns = append(columns, cols...)
	}
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	fmt.Fprintln(tw, strings.Join(columns, "\t"))
	for _, wl := range res.Workloads {
		row := []string{wl.Name}
		for _, r := range res.Runners {
			row = append(row, res.cells(wl.Name, r)...)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeTrimmed(w, buf.String()); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d rep(s)%s. micro workloads (%s): time per operation, timed inside the program;\n",
		res.Reps, map[bool]string{true: ", --quick", false: ""}[res.Quick], strings.Join(Names(res.of(Micro)), " "))
	fmt.Fprintln(w, "macro workloads: wall time of the whole command, sandbox start included.")
	fmt.Fprintln(w, "spread: (max-min)/median, or IQR/median with 4+ reps. x-native, x-gvisor: ratio of medians (lower is faster).")
	if err := writeCosts(w, res); err != nil {
		return err
	}
	if res.Machine.CompareIdle {
		if err := writeSlowdown(w, res); err != nil {
			return err
		}
	}
	writeFailures(w, res)
	return nil
}

// writeTrimmed writes a tabwriter's output without the padding it leaves
// after the last cell, for diffs and READMEs.
func writeTrimmed(w io.Writer, table string) error {
	for _, line := range strings.Split(strings.TrimSuffix(table, "\n"), "\n") {
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	return nil
}

// writeCosts writes the second table: per workload and runner, the micro
// workloads' latency percentiles and every command's CPU time beside its
// wall time (medians over the reps).
func writeCosts(w io.Writer, res *Result) error {
	fmt.Fprintln(w, "\nlatency per operation (micro: p50/p90/p99 within a run) and cost of the whole command (cpu/wall):")
	if err := writeGrid(w, res, res.costCell); err != nil {
		return err
	}
	fmt.Fprintf(w, "medians over the reps. cpu: user+system time of every process the command started (%s).\n", res.Machine.CPUSource)
	return nil
}

// writeGrid writes a table of one cell per workload and runner.
func writeGrid(w io.Writer, res *Result, cell func(Workload, Runner) string) error {
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	row := []string{"workload"}
	for _, r := range res.Runners {
		row = append(row, r.Name)
	}
	fmt.Fprintln(tw, strings.Join(row, "\t"))
	for _, wl := range res.Workloads {
		row := []string{wl.Name}
		for _, r := range res.Runners {
			row = append(row, cell(wl, r))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeTrimmed(w, buf.String())
}

// writeSlowdown writes the --compare-idle table: per workload and runner,
// the median with the busy loops paused, the median beside them, and
// their ratio; then, per runsc-lite runner with a gVisor peer, which of
// the two slowed down less on each workload.
func writeSlowdown(w io.Writer, res *Result) error {
	fmt.Fprintln(w, "\nslowdown beside the busy loops, in this run: idle median -> loaded median (loaded/idle); the idle reps ran with the loops paused:")
	if err := writeGrid(w, res, res.slowdownCell); err != nil {
		return err
	}
	for _, r := range res.Runners {
		peer, ok := res.GVisorPeer(r)
		if !ok || peer.Unavailable != "" {
			continue
		}
		var less, more []string
		for _, wl := range res.Workloads {
			ours, ok1 := res.Slowdown(wl.Name, r)
			theirs, ok2 := res.Slowdown(wl.Name, peer)
			if !ok1 || !ok2 {
				continue
			}
			item := fmt.Sprintf("%s (%s against %s)", wl.Name, FormatRatio(ours), FormatRatio(theirs))
			if ours <= theirs {
				less = append(less, item)
			} else {
				more = append(more, item)
			}
		}
		if len(less)+len(more) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s against %s: slowed down as much or less on %s; more on %s.\n", r.Name, peer.Name, listOrNone(less), listOrNone(more))
	}
	return nil
}

// slowdownCell formats the idle and loaded medians of workload under r and
// their ratio.
func (res *Result) slowdownCell(wl Workload, r Runner) string {
	idle, loaded := res.IdleCell(wl.Name, r), res.Cell(wl.Name, r)
	x, ok := slowdown(idle, loaded)
	if !ok {
		return "-"
	}
	return FormatNs(idle.Median) + " -> " + FormatNs(loaded.Median) + " (" + FormatRatio(x) + ")"
}

// listOrNone joins items with ", ", or says "none".
func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}

// costCell formats the percentiles and CPU/wall time of workload under r.
func (res *Result) costCell(wl Workload, r Runner) string {
	c := res.Cell(wl.Name, r)
	if !c.OK() {
		return "-"
	}
	var parts []string
	if wl.Kind == Micro && c.P50 > 0 {
		parts = append(parts, FormatNs(c.P50)+"/"+FormatNs(c.P90)+"/"+FormatNs(c.P99))
	}
	parts = append(parts, FormatNs(c.CPU)+"/"+FormatNs(c.Wall))
	return strings.Join(parts, " ")
}

// columns names r's columns.
func (res *Result) columns(r Runner) []string {
	cols := []string{"median", "spread"}
	if !r.IsNative() {
		cols = append(cols, "x-native")
	}
	if _, ok := res.GVisorPeer(r); ok {
		cols = append(cols, "x-gvisor")
	}
	return cols
}

// cells formats workload under r, one string per column of r.
func (res *Result) cells(workload string, r Runner) []string {
	out := make([]string, len(res.columns(r)))
	for i := range out {
		out[i] = "-"
	}
	c := res.Cell(workload, r)
	switch {
	case c.Unavailable != "":
		out[0] = c.Unavailable
		return out
	case !c.OK():
		out[0] = "failed: " + truncate(c.Err, failWidth)
		return out
	}
	out[0] = FormatNs(c.Median)
	out[1] = fmt.Sprintf("%.0f%%", 100*c.Spread())
	if c.Failed > 0 {
		out[1] += fmt.Sprintf(" (%d failed)", c.Failed)
	}
	if native, ok := res.Native(); ok && !r.IsNative() {
		out[2] = res.ratioText(workload, r, native)
	}
	if peer, ok := res.GVisorPeer(r); ok {
		out[3] = res.ratioText(workload, r, peer)
	}
	return out
}

func (res *Result) ratioText(workload string, r, base Runner) string {
	x, ok := res.Ratio(workload, r, base)
	if !ok {
		return "-"
	}
	return FormatRatio(x)
}

// of returns the workloads of kind k.
func (res *Result) of(k Kind) []Workload {
	var out []Workload
	for _, w := range res.Workloads {
		if w.Kind == k {
			out = append(out, w)
		}
	}
	return out
}

// writeFailures lists every workload and runner whose runs failed, with
// the first full reason.
func writeFailures(w io.Writer, res *Result) {
	first := true
	for _, wl := range res.Workloads {
		for _, r := range res.Runners {
			c := res.Cell(wl.Name, r)
			if c.Failed == 0 {
				continue
			}
			if first {
				fmt.Fprintln(w, "\nfailures:")
				first = false
			}
			fmt.Fprintf(w, "  %s on %s: %d of %d failed: %s\n", wl.Name, r.Name, c.Failed, c.Failed+c.N, c.Err)
		}
	}
}

// FormatNs formats a duration in ns with three significant digits.
func FormatNs(ns float64) string {
	units := []struct {
		scale float64
		name  string
	}{{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}, {1, "ns"}}
	for _, u := range units {
		if ns >= u.scale || u.scale == 1 {
			return sig3(ns/u.scale) + u.name
		}
	}
	return ""
}

// FormatRatio formats a ratio such as 12.3x.
func FormatRatio(x float64) string { return sig3(x) + "x" }

// sig3 formats v with three significant digits, without exponent.
func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 0.1 || v == 0:
		return fmt.Sprintf("%.2f", v)
	case v >= 0.01:
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.4f", v)
}
