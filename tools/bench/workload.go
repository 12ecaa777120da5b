package bench

import (
	"fmt"
	"regexp"
	"strings"
)

// Kind says how a workload's value is measured.
type Kind int

const (
	// Micro workloads time themselves and print ns per operation.
	Micro Kind = iota
	// Macro workloads are timed from outside: the wall time of the command.
	Macro
)

// Unit is the unit of a workload's values, as written in JSON.
func (k Kind) Unit() string {
	if k == Micro {
		return "ns/op"
	}
	return "ns"
}

// Workload is one thing to measure.
type Workload struct {
	Name string
	Kind Kind
	// Desc says what one operation is, or what the command does.
	Desc string
	// prepare builds what the workload needs (binaries, input files) in
	// env.Dir and returns the command to run.
	prepare func(env *Env) (Command, error)
}

// Command is a prepared workload: what to run, the same for every runner.
type Command struct {
	Argv []string
	// Stdin is a file fed on standard input; empty means /dev/null.
	Stdin string
}

// Env is what workloads are prepared with.
type Env struct {
	// Dir holds binaries and inputs. It must not be under /tmp: sandboxes
	// see the host's files read-only but have a /tmp of their own.
	Dir string
	// Quick selects small iteration counts.
	Quick bool
}

// Workloads returns every workload: micro ones first, then macro ones.
func Workloads() []Workload {
	return append(microWorkloads(), macroWorkloads()...)
}

// Select returns the workloads pattern names: a comma-separated list of
// workload names, or else a regular expression matched against each name;
// an empty pattern selects all. It is an error for the pattern to be
// invalid or to select nothing.
func Select(all []Workload, pattern string) ([]Workload, error) {
	if pattern == "" {
		return all, nil
	}
	if list, ok := selectList(all, pattern); ok {
		return list, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("--only=%q: neither a list of workloads nor a regular expression: %v", pattern, err)
	}
	var out []Workload
	for _, w := range all {
		if re.MatchString(w.Name) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--only=%q matches no workload; workloads: %s", pattern, strings.Join(Names(all), " "))
	}
	return out, nil
}

// selectList returns the workloads named by a comma-separated list, in the
// order of all, if every item of the list names one.
func selectList(all []Workload, list string) ([]Workload, bool) {
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		want[strings.TrimSpace(name)] = true
	}
	var out []Workload
	for _, w := range all {
		if want[w.Name] {
			out = append(out, w)
		}
	}
	return out, len(out) == len(want)
}

// Names returns the names of ws.
func Names(ws []Workload) []string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Name
	}
	return names
}
