package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/google/subcommands"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/syscalls/linux"
)

// syscallsCmd lists every syscall number and how much of it the sentry
// implements.
type syscallsCmd struct{ only string }

func (*syscallsCmd) Name() string     { return "syscalls" }
func (*syscallsCmd) Synopsis() string { return "list every syscall: implemented, partial, or not" }
func (*syscallsCmd) Usage() string {
	return manual{
		synopsis: "syscalls [--only=full|partial|unimplemented]",
		about: `Prints one line per x86-64 syscall number: number, name, support, and what
is missing for partial ones, then the counts. Unimplemented syscalls return
ENOSYS inside the sandbox.`,
		examples: `runsc-lite syscalls --only=unimplemented
runsc-lite syscalls | grep -w openat`,
		exit: "0  the list was printed\n2  a bad --only",
	}.String()
}

func (c *syscallsCmd) SetFlags(f *flag.FlagSet) {
	f.StringVar(&c.only, "only", "", "show only syscalls with this support: full, partial or unimplemented")
}

func (c *syscallsCmd) Execute(ctx context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	switch c.only {
	case "", "full", "partial", "unimplemented":
	default:
		return fail(exitUsage, "--only=%s: want full, partial or unimplemented", c.only)
	}
	st, err := linux.NewTable()
	if err != nil {
		return fail(1, "%v", err)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	counts := map[kernel.Support]int{}
	for _, nr := range st.Numbers() {
		s := st.Entries[nr]
		counts[s.Support]++
		if c.only != "" && s.Support.String() != c.only {
			continue
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", nr, s.Name, s.Support, s.Note)
	}
	w.Flush()
	fmt.Printf("%d full, %d partial, %d unimplemented\n", counts[kernel.Full], counts[kernel.Partial], counts[kernel.Unimplemented])
	return subcommands.ExitSuccess
}
