// Command runsc-lite runs untrusted Linux programs in a sandbox whose kernel
// (the sentry) is a Go program: every syscall the program makes is answered
// by the sentry, never by the host kernel. See README.md and
// docs/architecture.md.
//
// The command line is runsc's: global flags before the verb (and, for
// convenience, after it), `help`, `--help` and `-h` anywhere exit 0, and a
// usage error is one line with a hint and exit status 2.
//
// Exit status: the program's own, or 128+N when signal N killed it, as a
// shell reports it; 127 when the command does not exist, 126 when it cannot
// be executed, 2 for a usage error, 1 for a sandbox error. Errors are one
// line on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/subcommands"

	"runsc-lite/launch"
	"runsc-lite/netfwd"
)

func main() {
	if launch.IsSentry() {
		os.Exit(sentryMain())
	}
	if launch.IsHolder() {
		os.Exit(launch.Hold())
	}
	if netfwd.IsForwarder() {
		os.Exit(netfwd.Main())
	}
	if len(os.Args) > 0 && os.Args[0] == sandboxArg0 {
		os.Exit(sandboxMain())
	}
	os.Exit(runMain(os.Args[1:]))
}

// Exit statuses of the command itself.
const (
	exitFailure = 1 // the sandbox could not be made or run
	exitUsage   = 2 // the command line is wrong
)

// Groups of verbs, in the order help lists them.
const (
	groupRunning    = "running"
	groupContainers = "containers"
	groupInspection = "inspection"
	groupBench      = "benchmarking"
	groupHelp       = "help"
)

var groupOrder = []string{groupRunning, groupContainers, groupInspection, groupBench, groupHelp}

// globalFlags are the flags runsc takes before the verb. Every verb also
// takes them after its name; a value given after wins.
type globalFlags struct {
	platform  string
	noPatch   bool
	network   string
	strace    bool
	straceLog string
	// straceFilter, straceTiming and straceSummary are strace's -e
	// trace=, -T and -c; each implies --strace.
	straceFilter  string
	straceTiming  bool
	straceSummary bool
	debugLog      string
	// runc's, which containerd passes before the OCI verbs (oci_cmds.go).
	root          string
	log           string
	logFormat     string
	debug         bool
	systemdCgroup bool
}

// register defines the global flags on f, with their current values as
// defaults (so that defining them again for a verb keeps what was given
// before it). A verb's own flag of the same name wins.
func (g *globalFlags) register(f *flag.FlagSet) {
	def := func(name string, define func()) {
		if f.Lookup(name) == nil {
			define()
		}
	}
	def("platform", func() {
		f.StringVar(&g.platform, "platform", g.platform, "how syscalls are trapped: `systrap` (seccomp traps) or ptrace")
	})
	def("no-patch", func() {
		f.BoolVar(&g.noPatch, "no-patch", g.noPatch, "systrap: never rewrite the application's syscall instructions into jumps to the stub (every syscall then traps with a signal)")
	})
	def("network", func() {
		f.StringVar(&g.network, "network", g.network, "the sandbox's network, `MODE`: sandbox (the sandbox's own TCP/IP stack with lo and eth0, whose connections and datagrams leave through host sockets a confined forwarder opens; the host's loopback refused), none (lo alone, nothing in or out), host (an explicit opt-in: the application's Internet sockets are host sockets on the host's network and loopback, which a confined forwarder creates)")
	})
	def("strace", func() { f.BoolVar(&g.strace, "strace", g.strace, "print every syscall: name, arguments, result") })
	def("strace-log", func() {
		f.StringVar(&g.straceLog, "strace-log", g.straceLog, "write the --strace output to `FILE` instead of stderr (implies --strace)")
	})
	def("strace-filter", func() {
		f.StringVar(&g.straceFilter, "strace-filter", g.straceFilter, "show only the syscalls of `EXPR`, strace's -e trace= syntax: names and %file, %network, %process, %signal, %memory, %ipc, comma-separated; a leading ! negates (implies --strace)")
	})
	def("strace-timing", func() {
		f.BoolVar(&g.straceTiming, "strace-timing", g.straceTiming, "show the time spent in each syscall, as strace -T (implies --strace)")
	})
	def("strace-summary", func() {
		f.BoolVar(&g.straceSummary, "strace-summary", g.straceSummary, "count syscalls and print strace -c's table at the end instead of every call (implies --strace)")
	})
	def("debug-log", func() {
		f.StringVar(&g.debugLog, "debug-log", g.debugLog, "write the sentry's debug log to `FILE`")
	})
	def("root", func() {
		f.StringVar(&g.root, "root", g.root, "`DIR` where containers' state lives (the OCI verbs)")
	})
	def("log", func() { f.StringVar(&g.log, "log", g.log, "write the OCI verbs' errors and log to `FILE`") })
	def("log-format", func() { f.StringVar(&g.logFormat, "log-format", g.logFormat, "format of --log: `text` or json") })
	def("debug", func() { f.BoolVar(&g.debug, "debug", g.debug, "log debug messages to --log") })
	def("systemd-cgroup", func() {
		f.BoolVar(&g.systemdCgroup, "systemd-cgroup", g.systemdCgroup, "accepted for runc's command line: linux.cgroupsPath is a path in every case")
	})
}

// newGlobalFlags returns the global flags at their defaults.
func newGlobalFlags() *globalFlags {
	return &globalFlags{platform: "systrap", network: "sandbox", root: defaultStateDir, logFormat: "text"}
}

// cli is the command line: the verbs and the global flags.
type cli struct {
	cmdr    *subcommands.Commander
	globals *globalFlags
	top     *flag.FlagSet
	stdout  io.Writer
	stderr  io.Writer
}

// newCLI registers every verb.
func newCLI(stdout, stderr io.Writer) *cli {
	c := &cli{globals: newGlobalFlags(), stdout: stdout, stderr: stderr}
	c.top = flag.NewFlagSet("runsc-lite", flag.ContinueOnError)
	c.globals.register(c.top)
	c.cmdr = subcommands.NewCommander(c.top, "runsc-lite")
	// After NewCommander, which sets its own: errors are ours to print.
	c.top.SetOutput(io.Discard)
	c.top.Usage = func() {}
	c.cmdr.Register(&runCmd{name: "run", g: c.globals}, groupRunning)
	c.cmdr.Register(&runCmd{name: "do", g: c.globals}, groupRunning)
	c.cmdr.Register(&traceCmd{}, groupRunning)
	c.cmdr.Register(&syscallsCmd{}, groupInspection)
	c.cmdr.Register(&versionCmd{}, groupInspection)
	c.cmdr.Register(&benchCmd{}, groupBench)
	registerOCI(c.cmdr)
	globals = c.globals
	c.cmdr.Register(&helpCmd{c: c}, groupHelp)
	c.cmdr.Register(&flagsCmd{c: c}, groupHelp)
	c.cmdr.Register(&completionCmd{c: c}, groupHelp)
	return c
}

func runMain(args []string) int {
	return newCLI(os.Stdout, os.Stderr).run(args)
}

// run parses args and runs the verb they name.
func (c *cli) run(args []string) int {
	if err := c.top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.explain(c.stdout)
			return 0
		}
		return c.usageError("", c.flagError(err, c.top)+"; 'runsc-lite flags' lists the global flags")
	}
	if c.top.NArg() == 0 {
		c.explain(c.stderr)
		return exitUsage
	}
	name := c.top.Arg(0)
	cmd := c.command(name)
	if cmd == nil {
		return c.usageError("", fmt.Sprintf("unknown command %q%s; 'runsc-lite help' lists them", name, didYouMean(name, c.commandNames(), "")))
	}
	f := c.flagSet(cmd)
	if err := f.Parse(c.top.Args()[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.explainCommand(c.stdout, cmd)
			return 0
		}
		return c.usageError(name, c.flagError(err, f)+fmt.Sprintf("; 'runsc-lite help %s' lists the flags", name))
	}
	return int(cmd.Execute(context.Background(), f))
}

// flagSet returns the flags of cmd: its own, then the global ones.
func (c *cli) flagSet(cmd subcommands.Command) *flag.FlagSet {
	f := flag.NewFlagSet(cmd.Name(), flag.ContinueOnError)
	f.SetOutput(io.Discard)
	f.Usage = func() {}
	cmd.SetFlags(f)
	c.globals.register(f)
	return f
}

// usageError prints one line and returns the usage error status.
func (c *cli) usageError(verb, msg string) int {
	if verb != "" {
		msg = verb + ": " + msg
	}
	fmt.Fprintf(c.stderr, "runsc-lite: %s\n", msg)
	return exitUsage
}

// flagError rewords an error of the flag package for one line, with a
// hint for a flag that does not exist.
func (c *cli) flagError(err error, f *flag.FlagSet) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var names []string
		f.VisitAll(func(fl *flag.Flag) { names = append(names, fl.Name) })
		return fmt.Sprintf("unknown flag --%s%s", name, didYouMean(name, names, "--"))
	}
	// The flag package names flags with one dash; runsc-lite's help uses two.
	msg = strings.Replace(msg, "flag -", "flag --", 1)
	msg = strings.Replace(msg, "argument: -", "argument: --", 1)
	return msg
}

// command returns the verb called name, nil if there is none.
func (c *cli) command(name string) subcommands.Command {
	var found subcommands.Command
	c.cmdr.VisitCommands(func(_ *subcommands.CommandGroup, cmd subcommands.Command) {
		if cmd.Name() == name {
			found = cmd
		}
	})
	return found
}

// commandNames lists the verbs.
func (c *cli) commandNames() []string {
	var names []string
	c.cmdr.VisitCommands(func(_ *subcommands.CommandGroup, cmd subcommands.Command) { names = append(names, cmd.Name()) })
	return names
}

// didYouMean returns " (did you mean PREFIX+X?)" for the candidate closest
// to name, if one is close enough to be a typo (one edit for short names,
// two for longer ones, or a prefix), else "".
func didYouMean(name string, candidates []string, prefix string) string {
	best, bestDist := "", 2
	if len(name) >= 5 {
		bestDist = 3
	}
	for _, cand := range candidates {
		d := editDistance(name, cand)
		if strings.HasPrefix(cand, name) && len(name) >= 2 {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = cand, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s%s?)", prefix, best)
}

// editDistance is the number of insertions, deletions, substitutions
// and swaps of neighbours that turn a into b (optimal string alignment).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// fail prints a one-line error and returns the exit status to use.
func fail(status int, format string, args ...any) subcommands.ExitStatus {
	fmt.Fprintf(os.Stderr, "runsc-lite: "+format+"\n", args...)
	return subcommands.ExitStatus(status)
}
