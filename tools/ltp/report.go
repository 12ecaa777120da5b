package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report prints rn's counts next to the native outcomes of the same tests,
// the sentry's crashes, and, with before, the tests that regressed and
// improved since.
func Report(w io.Writer, rn *Run, tests []Test, native map[string]Outcome, before *Run) {
	nativeCounts := map[Outcome]int{}
	var lost []string // passes natively, not here
	for _, t := range tests {
		nativeCounts[native[t.Name]]++
		if native[t.Name] == Pass && rn.Results[t.Name].Outcome != Pass {
			lost = append(lost, t.Name)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "outcome\t%s\tnative\t\n", rn.Platform)
	for _, o := range Outcomes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", o, rn.Counts[o], nativeCounts[o])
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t\n", len(rn.Results), len(tests))
	tw.Flush()
	fmt.Fprintf(w, "%d tests, %.0fs; %d pass natively but not here\n", len(rn.Results), rn.DurationS, len(lost))
	crashes := names(rn.Results, func(r Result) bool { return r.SentryCrash })
	fmt.Fprintf(w, "sentry crashes: %d %s\n", len(crashes), strings.Join(crashes, " "))
	if before == nil {
		return
	}
	var regressed, improved []string
	for name, res := range rn.Results {
		old, ok := before.Results[name]
		switch {
		case !ok:
		case old.Outcome == Pass && res.Outcome != Pass:
			regressed = append(regressed, name+"("+string(res.Outcome)+")")
		case old.Outcome != Pass && res.Outcome == Pass:
			improved = append(improved, name)
		}
	}
	slices.Sort(regressed)
	slices.Sort(improved)
	fmt.Fprintf(w, "since %s (%s): %d regressed, %d improved\n", before.Started.Format("2006-01-02 15:04"), before.Platform, len(regressed), len(improved))
	if len(regressed) > 0 {
		fmt.Fprintf(w, "regressed: %s\n", strings.Join(regressed, " "))
	}
	if len(improved) > 0 {
		fmt.Fprintf(w, "improved: %s\n", strings.Join(improved, " "))
	}
}

func names(results map[string]Result, keep func(Result) bool) []string {
	var out []string
	for n, r := range results {
		if keep(r) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Failed reports whether a test that ended with res (natively: nat) belongs
// in the failing list: it failed or timed out, or it did not apply here
// where it passes on Linux.
func Failed(res Result, nat Outcome) bool {
	switch res.Outcome {
	case Fail, Timeout:
		return true
	case Conf, Missing:
		return nat == Pass
	}
	return false
}

// UpdateFailing rewrites the failing list at path for the tests run:
// those that now pass leave it, those that fail enter it with a reason
// taken from their output; the others keep their written reason.
func UpdateFailing(path string, tests []Test, results map[string]Result, native map[string]Outcome) error {
	fl := Failing{}
	if f, err := os.Open(path); err == nil {
		fl, err = ParseFailing(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	for _, t := range tests {
		res, ok := results[t.Name]
		switch {
		case !ok:
		case !Failed(res, native[t.Name]):
			delete(fl, t.Name)
		case fl[t.Name] == "":
			fl[t.Name] = Reason(res, native[t.Name])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fl.Format(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Reason is a first one-line reason for a failing result: the first line
// of LTP's output that says TFAIL or TBROK, or how it ended.
func Reason(res Result, nat Outcome) string {
	reason := ""
	switch res.Outcome {
	case Timeout:
		reason = "times out"
	case Missing:
		reason = "not built"
	case Conf:
		reason = "TCONF here, passes natively"
		for line := range strings.Lines(res.Tail) {
			if i := strings.Index(line, "TCONF: "); i >= 0 {
				reason = strings.TrimSpace(line[i:])
				break
			}
		}
	}
	if res.SentryCrash {
		reason = "the sentry crashes"
	}
	if reason == "" {
		reason = fmt.Sprintf("exit %d", res.Exit)
		for line := range strings.Lines(res.Tail) {
			if i := strings.Index(line, "TFAIL: "); i >= 0 {
				reason = strings.TrimSpace(line[i:])
				break
			}
			if i := strings.Index(line, "TBROK: "); i >= 0 && strings.HasPrefix(reason, "exit") {
				reason = strings.TrimSpace(line[i:])
			}
		}
	}
	if nat != Pass {
		reason = fmt.Sprintf("%s (native: %s)", reason, nat)
	}
	reason = strings.Join(strings.Fields(reason), " ")
	if len(reason) > 200 {
		reason = strings.ToValidUTF8(reason[:200], "")
	}
	return reason
}
