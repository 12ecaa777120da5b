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

	"runsc-lite/cgroup"
	"runsc-lite/launch"
	"runsc-lite/sentry/fs/host"
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
	// straceFilter, straceTiming and straceSummary are strace's -e
	// trace=, -T and -c.
	straceFilter  string
	straceTiming  bool
	straceSummary bool
	debugLog      string
	network       string
	env           stringList
	clearEnv      bool
	memLimit      byteSize
	pidsLimit     int
	hostUID       int
	hostGID       int
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
host is unchanged afterwards. It reads host files as an unprivileged host
identity (uid and gid 65534 when runsc-lite runs as root, else the caller's
own): what that identity may not read stays unreadable inside, even to the
sandbox's root. /tmp and /dev/shm are empty in-memory file systems.

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
	f.StringVar(&c.straceFilter, "strace-filter", "", "show only the syscalls of `EXPR`, strace's -e trace= syntax: names and %file, %network, %process, %signal, %memory, %ipc, comma-separated; a leading ! negates")
	f.BoolVar(&c.straceTiming, "strace-timing", false, "show the time spent in each syscall, as strace -T")
	f.BoolVar(&c.straceSummary, "strace-summary", false, "count syscalls and print strace -c's table at the end instead of every call")
	f.StringVar(&c.debugLog, "debug-log", "", "write the sentry's debug log to `FILE`")
	f.StringVar(&c.network, "network", "none", "network: none (host networking is not supported)")
	f.Var(&c.env, "env", "set `KEY=VALUE` in the command's environment (repeatable)")
	f.BoolVar(&c.clearEnv, "clear-env", false, "start from an empty environment instead of the caller's")
	f.Var(&c.memLimit, "memory-limit", "the sandbox's memory in `BYTES` (k, m, g suffixes; 0: half of the host's RAM): mappings and memory files beyond fail with ENOMEM or ENOSPC")
	f.IntVar(&c.pidsLimit, "pids-limit", kernel.DefaultTaskLimit, "most tasks (threads) the sandbox holds; fork and clone fail with EAGAIN beyond")
	uid, gid := launch.Nobody, launch.Nobody
	if os.Geteuid() != 0 {
		uid, gid = os.Geteuid(), os.Getegid()
	}
	f.IntVar(&c.hostUID, "host-uid", uid, "host `UID` the sandbox reads host files as (root only; 65534 when run by root, else the caller's). DANGEROUS: --host-uid=0 lets the sandbox read every file root can")
	f.IntVar(&c.hostGID, "host-gid", gid, "host `GID` the sandbox reads host files as (root only; see --host-uid)")
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
	if c.hostUID < 0 || c.hostGID < 0 || int64(c.hostUID) >= 1<<32-1 || int64(c.hostGID) >= 1<<32-1 {
		return fail(1, "--host-uid=%d --host-gid=%d: want ids from 0 to 4294967294", c.hostUID, c.hostGID)
	}
	if err := launch.CheckIdentity(c.hostUID, c.hostGID); err != nil {
		return fail(1, "--host-uid=%d --host-gid=%d: %v", c.hostUID, c.hostGID, err)
	}
	if _, ok := sandbox.Platforms[c.platform]; !ok {
		return fail(1, "--platform=%s: unknown platform (have %s)", c.platform, sandbox.PlatformNames())
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
	cfg := sentryConfig{
		Root: c.root, Cwd: c.cwd, Platform: c.platform, Argv: argv, Env: env,
		MemoryLimit: uint64(c.memLimit), PidsLimit: c.pidsLimit, LogFile: -1, StraceFile: -1,
		Strace:       c.strace || c.straceLog != "" || c.straceFilter != "" || c.straceTiming || c.straceSummary,
		StraceFilter: c.straceFilter, StraceTiming: c.straceTiming, StraceSummary: c.straceSummary,
	}
	if cfg.MemoryLimit == 0 {
		cfg.MemoryLimit = usage.DefaultLimit()
	}
	cfg.CallerCwd, _ = os.Getwd()
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	add := func(f *os.File) int {
		files = append(files, f)
		return len(files) - 1
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if c.debugLog != "" {
		f, err := openAppend(c.debugLog)
		if err != nil {
			return fail(1, "%v", err)
		}
		cfg.LogFile = add(f)
		log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if c.straceLog != "" {
		f, err := openAppend(c.straceLog)
		if err != nil {
			return fail(1, "%v", err)
		}
		cfg.StraceFile = add(f)
	}
	root, err := host.OpenRoot(c.root)
	if err != nil {
		return fail(1, "--root=%s: %v", c.root, err)
	}
	cfg.RootFile = add(root)
	cg, why, err := cgroup.Create(cgroup.HostLimits(cfg.MemoryLimit, c.pidsLimit), log)
	if err != nil {
		return fail(1, "%v", err)
	}
	defer func() {
		if err := cg.Remove(); err != nil {
			log.Warn("the sandbox's cgroup", "err", err)
		}
	}()
	if cg == nil {
		log.Info("the sandbox has no cgroup: its limits are the sentry's only", "why", why)
	} else {
		log.Info("the sandbox's cgroup", "version", cg.Version, "dirs", cg.Dirs)
		cg.Prime() // for the forkserver's move, when the sentry has started it
		procs, err := cg.OpenProcs()
		if err != nil {
			return fail(1, "%v", err)
		}
		for _, f := range procs {
			cfg.CgroupFiles = append(cfg.CgroupFiles, add(f))
		}
	}
	s, err := launch.Start(launch.Options{HostUID: c.hostUID, HostGID: c.hostGID, Files: files, Config: cfg})
	if err != nil {
		return fail(1, "%v", err)
	}
	for _, f := range files {
		f.Close()
	}
	files = nil
	code, sig, err := s.Wait()
	switch {
	case err != nil:
		return fail(1, "%v", err)
	case sig == unix.SIGSYS:
		return fail(128+int(sig), "the sentry made a host syscall its seccomp filter forbids and was killed (the kernel log names it: audit type=1326)")
	case sig != 0:
		return subcommands.ExitStatus(128 + int(sig))
	}
	return subcommands.ExitStatus(code)
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

// openAppend opens path for appending, creating it if needed.
func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	return f, nil
}
