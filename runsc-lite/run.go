package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/google/subcommands"
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/sandbox"
	"runsc-lite/sentry/usage"
)

// runCmd is `run` and its alias `do`, as in runsc.
type runCmd struct {
	name      string
	root      string
	cwd       string
	platform  string
	strace    bool
	straceLog string
	debugLog  string
	network   string
	env       stringList
	clearEnv  bool
	memLimit  byteSize
	pidsLimit int
}

// byteSize is a flag of bytes with an optional k, m or g suffix.
type byteSize uint64

func (b *byteSize) String() string { return strconv.FormatUint(uint64(*b), 10) }
func (b *byteSize) Set(s string) error {
	n, err := usage.ParseSize(s)
	*b = byteSize(n)
	return err
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func (c *runCmd) Name() string { return c.name }

func (c *runCmd) Synopsis() string {
	if c.name == "do" {
		return "run a command in a new sandbox (alias of run)"
	}
	return "run a command in a new sandbox"
}

func (c *runCmd) Usage() string {
	return c.name + ` [flags] [--] CMD [ARGS...]

Runs CMD in a new sandbox with the host's stdin, stdout and stderr, and exits
with CMD's exit status (128+N when signal N killed it). CMD is looked up in
the sandbox's PATH when it has no slash. The sandbox sees the host's file
system below --root, read-only: writes succeed but stay in memory, and the
host is unchanged afterwards. /tmp and /dev/shm are empty in-memory file
systems.

Flags:
`
}

func (c *runCmd) SetFlags(f *flag.FlagSet) {
	oneLineFlagErrors(f, c)
	f.StringVar(&c.root, "root", "/", "host `DIR` that is the sandbox's /")
	f.StringVar(&c.cwd, "cwd", "", "working `DIR` inside the sandbox (default: the current directory if it exists there, else /)")
	f.StringVar(&c.platform, "platform", "systrap", "how syscalls are trapped: systrap or ptrace")
	f.BoolVar(&c.strace, "strace", false, "print every syscall: name, arguments, result")
	f.StringVar(&c.straceLog, "strace-log", "", "write the --strace output to `FILE` instead of stderr")
	f.StringVar(&c.debugLog, "debug-log", "", "write the sentry's debug log to `FILE`")
	f.StringVar(&c.network, "network", "none", "network: none (host networking is not supported)")
	f.Var(&c.env, "env", "set `KEY=VALUE` in the command's environment (repeatable)")
	f.BoolVar(&c.clearEnv, "clear-env", false, "start from an empty environment instead of the caller's")
	f.Var(&c.memLimit, "memory-limit", "the sandbox's memory in `BYTES` (k, m, g suffixes; 0: half of the host's RAM): mappings and memory files beyond fail with ENOMEM or ENOSPC")
	f.IntVar(&c.pidsLimit, "pids-limit", kernel.DefaultTaskLimit, "most tasks (threads) the sandbox holds; fork and clone fail with EAGAIN beyond")
}

func (c *runCmd) Execute(ctx context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	argv := f.Args()
	if len(argv) == 0 {
		return fail(1, "%s: missing command; usage: runsc-lite %s [flags] -- CMD [ARGS...]", c.name, c.name)
	}
	if c.network != "none" {
		return fail(1, "--network=%s: only --network=none is supported", c.network)
	}
	if c.pidsLimit < 1 {
		return fail(1, "--pids-limit=%d: want at least 1", c.pidsLimit)
	}
	env := os.Environ()
	if c.clearEnv {
		env = nil
	}
	for _, kv := range c.env {
		if !strings.Contains(kv, "=") {
			return fail(1, "--env %q: want KEY=VALUE", kv)
		}
		env = append(env, kv)
	}
	log, closeLog, err := openLog(c.debugLog)
	if err != nil {
		return fail(1, "%v", err)
	}
	defer closeLog()
	cfg := sandbox.Config{
		Root: c.root, Cwd: c.cwd, Platform: c.platform,
		Argv: argv, Env: env, Log: log, MemoryLimit: uint64(c.memLimit), PidsLimit: c.pidsLimit,
	}
	if c.strace || c.straceLog != "" {
		w, closeTrace, err := openOutput(c.straceLog, os.Stderr)
		if err != nil {
			return fail(1, "%v", err)
		}
		defer closeTrace()
		cfg.Strace = w
	}
	status, err := sandbox.Run(cfg)
	var execErr *sandbox.ExecError
	switch {
	case errors.As(err, &execErr):
		return fail(exitCodeFor(execErr.Err), "%v", err)
	case err != nil:
		return fail(1, "%v", err)
	}
	if status.Signal != 0 {
		return subcommands.ExitStatus(128 + status.Signal)
	}
	return subcommands.ExitStatus(status.Code)
}

// exitCodeFor maps a failure to start the command to a shell's status.
func exitCodeFor(err error) int {
	switch {
	case errors.Is(err, unix.ENOENT):
		return 127
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.ENOEXEC), errors.Is(err, unix.EISDIR), errors.Is(err, unix.ENOTDIR),
		// A damaged executable: headers cut short (EIO) or segments no
		// mmap could map (EINVAL), as Linux's ELF loader says.
		errors.Is(err, unix.EIO), errors.Is(err, unix.EINVAL):
		return 126
	}
	return 1
}

// openOutput opens path for appending, or returns def if path is empty.
func openOutput(path string, def io.Writer) (io.Writer, func(), error) {
	if path == "" {
		return def, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("opening log: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// openLog returns the sentry's logger: debug level to --debug-log, or
// errors only to stderr.
func openLog(path string) (*slog.Logger, func(), error) {
	if path == "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), func() {}, nil
	}
	w, closeFn, err := openOutput(path, nil)
	if err != nil {
		return nil, nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), closeFn, nil
}
