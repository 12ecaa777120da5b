// Command runsc-lite runs untrusted Linux programs in a sandbox whose kernel
// (the sentry) is a Go program: every syscall the program makes is answered
// by the sentry, never by the host kernel. See README.md and
// ../shared/DESIGN.md.
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

	"github.com/google/subcommands"
)

func main() {
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
	if err := fs.Parse(args); err != nil {
		return 1
	}
	status := int(cmdr.Execute(context.Background()))
	if status == int(subcommands.ExitUsageError) {
		return 1
	}
	return status
}

// fail prints a one-line error and returns the exit status to use.
func fail(status int, format string, args ...any) subcommands.ExitStatus {
	fmt.Fprintf(os.Stderr, "runsc-lite: "+format+"\n", args...)
	return subcommands.ExitStatus(status)
}
