package strace

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// stats are one syscall's counts for the summary (-c).
type stats struct {
	calls, errors int
	time          time.Duration
}

// writeSummary prints strace -c's table: per syscall the share of the
// time, the seconds, microseconds per call, calls and errors, by time.
// Times are wall-clock time in the sentry (strace -c -w).
func writeSummary(w io.Writer, byName map[string]*stats) {
	names := make([]string, 0, len(byName))
	var total stats
	for n, s := range byName {
		names = append(names, n)
		total.calls += s.calls
		total.errors += s.errors
		total.time += s.time
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := byName[names[i]], byName[names[j]]
		if a.time != b.time {
			return a.time > b.time
		}
		if a.calls != b.calls {
			return a.calls > b.calls
		}
		return names[i] < names[j]
	})
	const rule = "------ ----------- ----------- --------- --------- ----------------\n"
	fmt.Fprintf(w, "%% time     seconds  usecs/call     calls    errors syscall\n%s", rule)
	row := func(name string, s *stats) {
		pct := 0.0
		if total.time > 0 {
			pct = 100 * float64(s.time) / float64(total.time)
		}
		errs := ""
		if s.errors > 0 {
			errs = fmt.Sprint(s.errors)
		}
		fmt.Fprintf(w, "%6.2f %11.6f %11d %9d %9s %s\n", pct, s.time.Seconds(), s.time.Microseconds()/int64(max(s.calls, 1)), s.calls, errs, name)
	}
	for _, n := range names {
		row(n, byName[n])
	}
	fmt.Fprint(w, rule)
	row("total", &total)
}
