// Command runsc-lite runs untrusted Linux programs in a sandbox whose kernel
// (the sentry) is a Go program: every syscall the program makes is answered
// by the sentry, never by the host kernel. See README.md and
// docs/architecture.md.
//
// Exit status: the program's own, or 128+N when signal N killed it, as a
// shell reports it; 127 when the command does not exist, 126 when it cannot
// be executed, 1 for a usage or sandbox error. Errors are one line on
// stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/google/subcommands"

	"runsc-lite/launch"
)

func main() {
	if launch.IsSentry() {
		os.Exit(sentryMain())
	}
	os.Exit(runMain(os.Args[1:]))
}

func runMain(args []string) int {
	fs := flag.NewFlagSet("runsc-lite", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	cmdr := subcommands.NewCommander(fs, "runsc-lite")
	cmdr.Register(cmdr.HelpCommand(), "")
	cmdr.Register(cmdr.FlagsCommand(), "")
	cmdr.Register(&runCmd{name: "run"}, "")
	cmdr.Register(&runCmd{name: "do"}, "")
	cmdr.Register(&syscallsCmd{}, "")
	cmdr.Register(&benchCmd{}, "")
	cmdr.Register(&traceCmd{}, "")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if name := fs.Arg(0); name != "" && !known(cmdr, name) {
		fmt.Fprintf(os.Stderr, "runsc-lite: unknown command %q; run 'runsc-lite help' for the list\n", name)
		return 1
	}
	status := int(cmdr.Execute(context.Background()))
	if helpAsked(args) && status == int(subcommands.ExitUsageError) {
		return 0
	}
	if usageError {
		// subcommands reports a bad flag as 2; a shell would say 1, and 2
		// must stay free for the program's own status.
		return 1
	}
	return status
}

// known reports whether name is a registered subcommand.
func known(cmdr *subcommands.Commander, name string) bool {
	found := false
	cmdr.VisitCommands(func(_ *subcommands.CommandGroup, c subcommands.Command) {
		found = found || c.Name() == name
	})
	return found
}

// oneLineFlagErrors makes f report a bad flag in one line ("runsc-lite:
// CMD: ...") and print the full usage only when help was asked for.
func oneLineFlagErrors(f *flag.FlagSet, cmd subcommands.Command) {
	// `runsc-lite help CMD` lists the flags of a throwaway PanicOnError set
	// to its own writer; only the set that parses the command line is ours.
	if f.ErrorHandling() != flag.ContinueOnError {
		return
	}
	f.SetOutput(prefixWriter{prefix: "runsc-lite: " + cmd.Name() + ": "})
	f.Usage = func() {
		if !helpAsked(os.Args[1:]) {
			return
		}
		fmt.Fprint(os.Stderr, cmd.Usage())
		f.SetOutput(os.Stderr)
		f.PrintDefaults()
	}
}

// helpAsked reports whether args ask for help before any "--".
func helpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
}

// usageError is set when a subcommand's flags failed to parse.
var usageError bool

// prefixWriter writes each line to stderr with a prefix. The flag package
// writes to it only to report a bad flag.
type prefixWriter struct{ prefix string }

func (w prefixWriter) Write(p []byte) (int, error) {
	usageError = true
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line != "" {
			fmt.Fprint(os.Stderr, w.prefix+line)
		}
	}
	return len(p), nil
}

// fail prints a one-line error and returns the exit status to use.
func fail(status int, format string, args ...any) subcommands.ExitStatus {
	fmt.Fprintf(os.Stderr, "runsc-lite: "+format+"\n", args...)
	return subcommands.ExitStatus(status)
}
