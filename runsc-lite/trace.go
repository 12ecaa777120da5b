package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/google/subcommands"
	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/monitor"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/strace"
	"runsc-lite/sentry/syscalls/linux"
)

// traceCmd runs a program on the host kernel under a syscall monitor
// (package monitor), not in a sandbox.
type traceCmd struct {
	monitor   string
	strace    bool
	straceLog string
	syscalls  string
	deny      listFlag
	answer    listFlag
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, strings.Split(v, ",")...)
	return nil
}

func (*traceCmd) Name() string { return "trace" }
func (*traceCmd) Synopsis() string {
	return "run a program on the host kernel under a syscall monitor (seccomp unotify or ptrace); NOT a sandbox"
}
func (*traceCmd) Usage() string {
	return `trace --monitor=unotify|ptrace [--strace] [--syscalls=EXPR] [--deny=NAME:ERRNO] [--answer=NAME:VALUE] -- CMD [ARGS...]

Runs CMD on the host kernel, with runsc-lite's own privileges, and stops
the syscalls EXPR names (strace's -e trace= syntax; default: those of
--deny and --answer, or all with --strace) in a monitor: seccomp user
notification (unotify) or ptrace, as sandbox2's two monitors. --strace
shows them as --strace does; --deny fails a syscall with an errno, and
--answer returns a value without the kernel running it. This isolates
nothing: see package monitor's documentation for what it cannot do.
`
}

func (c *traceCmd) SetFlags(f *flag.FlagSet) {
	f.StringVar(&c.monitor, "monitor", "unotify", "the monitor: unotify (seccomp user notification) or ptrace")
	f.BoolVar(&c.strace, "strace", false, "show the stopped syscalls as strace does, on stderr")
	f.StringVar(&c.straceLog, "strace-log", "", "write the --strace output to `FILE` instead of stderr")
	f.StringVar(&c.syscalls, "syscalls", "", "the syscalls to stop, strace's -e trace= `EXPR` (names, %file, %network, ...)")
	f.Var(&c.deny, "deny", "fail syscall `NAME:ERRNO` (EACCES, or a number) without running it (repeatable, comma-separated)")
	f.Var(&c.answer, "answer", "answer syscall `NAME:VALUE` with VALUE without running it (repeatable, comma-separated)")
}

func (c *traceCmd) Execute(ctx context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	argv := f.Args()
	if len(argv) == 0 {
		return fail(exitUsage, "trace: missing command; usage: runsc-lite trace [flags] -- CMD [ARGS...]")
	}
	if _, ok := monitor.Monitors[c.monitor]; !ok {
		return fail(exitUsage, "--monitor=%s: unknown monitor (have ptrace, unotify)", c.monitor)
	}
	table, err := linux.NewTable()
	if err != nil {
		return fail(1, "%v", err)
	}
	hooks, err := policyHooks(table, c.deny, c.answer)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	cfg := monitor.Config{Monitor: c.monitor, Argv: argv, Env: os.Environ(), Hooks: hooks,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if c.syscalls != "" {
		set, err := strace.ParseFilter(c.syscalls, table)
		if err != nil {
			return fail(exitUsage, "--syscalls=%s: %v", c.syscalls, err)
		}
		for nr := range set {
			cfg.Watch = append(cfg.Watch, nr)
		}
		if len(cfg.Watch) == 0 {
			return fail(exitUsage, "--syscalls=%s: names no syscall", c.syscalls)
		}
	}
	if c.strace || c.straceLog != "" {
		var w io.Writer = os.Stderr
		if c.straceLog != "" {
			lf, err := openAppend(c.straceLog)
			if err != nil {
				return fail(1, "--strace-log=%s: %v", c.straceLog, err)
			}
			defer lf.Close()
			w = lf
		}
		cfg.Strace = w
	}
	st, err := monitor.Run(cfg)
	if err != nil {
		return fail(exitCodeFor(err), "%v", err)
	}
	if st.Signal != 0 {
		return subcommands.ExitStatus(128 + st.Signal)
	}
	return subcommands.ExitStatus(st.Code)
}

// policyHooks are the hooks of --deny and --answer.
func policyHooks(table *kernel.SyscallTable, deny, answer []string) (*interpose.Hooks, error) {
	byName := map[string]uintptr{}
	for nr, s := range table.Entries {
		byName[s.Name] = nr
	}
	h := &interpose.Hooks{}
	for _, d := range deny {
		name, val, _ := strings.Cut(d, ":")
		nr, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("--deny=%s: no syscall %q", d, name)
		}
		errno := errnoByName(val)
		if n, err := strconv.Atoi(val); err == nil && n > 0 && n < 4096 {
			errno = unix.Errno(n)
		}
		if errno == 0 {
			return nil, fmt.Errorf("--deny=%s: want NAME:ERRNO, an errno name such as EACCES or a number", d)
		}
		h.Before(nr, func(*interpose.Call) interpose.Action { return interpose.Deny(errno) })
	}
	for _, a := range answer {
		name, val, _ := strings.Cut(a, ":")
		nr, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("--answer=%s: no syscall %q", a, name)
		}
		v, err := strconv.ParseInt(val, 0, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("--answer=%s: want NAME:VALUE, a value of 0 or more", a)
		}
		h.Before(nr, func(*interpose.Call) interpose.Action { return interpose.Return(uintptr(v)) })
	}
	return h, nil
}

// errnoByName is the errno named name (EACCES), or 0.
func errnoByName(name string) unix.Errno {
	for e := unix.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == name {
			return e
		}
	}
	return 0
}
