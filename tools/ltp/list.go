package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Test is one line of a runtest file: a name and the command that runs it.
type Test struct {
	Name string
	Args []string // the command and its arguments
}

// ParseTests reads a runtest file: one test a line, its name then its
// command line; blank lines and lines starting with # are skipped.
func ParseTests(r io.Reader) ([]Test, error) {
	var tests []Test
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: %q has a name but no command", n, line)
		}
		if seen[f[0]] {
			return nil, fmt.Errorf("line %d: test %s listed twice", n, f[0])
		}
		seen[f[0]] = true
		tests = append(tests, Test{Name: f[0], Args: f[1:]})
	}
	return tests, sc.Err()
}

// ReadTests reads the runtest file at path.
func ReadTests(path string) ([]Test, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tests, err := ParseTests(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tests, nil
}

// ReadBaseline reads a native baseline: a JSON object from test name to
// outcome.
func ReadBaseline(path string) (map[string]Outcome, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]Outcome
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Failing is a list of failing tests with a one-line reason each.
type Failing map[string]string

// ParseFailing reads a failing list: one `name<TAB>reason` a line, sorted by
// name, each name once, the reason a non-empty line without tabs. Lines
// starting with # are comments.
func ParseFailing(r io.Reader) (Failing, error) {
	fl := Failing{}
	prev := ""
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, ok := strings.Cut(line, "\t")
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: %q is not name<TAB>reason", n, line)
		case name == "" || strings.ContainsAny(name, " \t"):
			return nil, fmt.Errorf("line %d: bad test name %q", n, name)
		case strings.TrimSpace(reason) == "" || strings.Contains(reason, "\t") || strings.TrimSpace(reason) != reason:
			return nil, fmt.Errorf("line %d: the reason of %s must be one trimmed line without tabs", n, name)
		case name <= prev:
			return nil, fmt.Errorf("line %d: %s is not after %s: keep the list sorted, each name once", n, name, prev)
		}
		fl[name] = reason
		prev = name
	}
	return fl, sc.Err()
}

// Format writes the list in the format ParseFailing reads, with a header
// comment.
func (fl Failing) Format(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# LTP syscall tests of safe.list that still fail in runsc-lite: name<TAB>reason, sorted.")
	fmt.Fprintln(bw, "# Rewritten by `go run ./tools/ltp ... -failing tools/ltp/failing.txt` after a full run; reasons are kept.")
	names := make([]string, 0, len(fl))
	for n := range fl {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(bw, "%s\t%s\n", n, fl[n])
	}
	return bw.Flush()
}
