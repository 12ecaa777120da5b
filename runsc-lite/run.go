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
	"runsc-lite/netns"
	"runsc-lite/sentry/fs/host"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/sandbox"
	"runsc-lite/sentry/usage"
)

// runCmd is `run` and its alias `do`, as in runsc.
type runCmd struct {
	name      string
	rootfs    string
	overlay   string
	hostTmp   bool
	volumes   stringList
	tmpfs     stringList
	cwd       string
	g         *globalFlags
	env       stringList
	clearEnv  bool
	memLimit  byteSize
	pidsLimit int
	hostUID   int
	hostGID   int
	// allowHostLoopback and publish are the network's (network.go).
	allowHostLoopback bool
	publish           stringList
	// netns is --netns (oci_network.go).
	netns string
	// bundle, pidFile: runc's run (oci_cmds.go), `run --bundle DIR ID`.
	bundle, pidFile string
	// cpuProfile is where the sentry writes its CPU profile (--cpuprofile).
	cpuProfile string
	// trace is where the sentry writes its Go execution trace (--trace).
	trace string
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
	return manual{
		synopsis: c.name + " [flags] [--] CMD [ARGS...]",
		about: `Runs CMD in a new sandbox with the caller's stdin, stdout and stderr, and
exits with CMD's exit status. CMD is looked up in the sandbox's PATH when it
has no slash, as a shell does.

Files. The sandbox sees the host's file system below --rootfs (default /)
read-only: writes succeed but stay in memory (--overlay=memory), and the host
is unchanged afterwards; --overlay=none writes through to the --rootfs
directory instead. /tmp and /dev/shm are empty, private, in-memory file
systems (--host-tmp shows the host's /tmp instead); /dev, /proc and /sys are
the sandbox's own and describe it, never the host.

The working directory is the caller's, at the same path, when --rootfs is
the host's /: the sandbox shows it even where the sandbox replaces its
parent (a project under /tmp) or the sandbox's host identity cannot reach it,
read-only beneath a memory overlay like the rest of the root. That directory
is the one host directory the sandbox is given without asking; --cwd names
another (then nothing extra is shown). A directory that cannot be shown is an
error. With another --rootfs, the working directory is its /.

--volume HOST[:SANDBOX][:ro|rw] binds a host directory or file at SANDBOX
(default: the same path): rw (the default) writes through to the host, ro
refuses writes (EROFS). Lookups below it are confined as the root's are: no
"..", symlink or /proc magic link leads out of it. Files created through an
rw volume belong to the sandbox's host identity: the caller when runsc-lite
runs without root; --host-uid and --host-gid (65534 by default) under root.
--tmpfs PATH[:size=N] adds an empty memory file system.

Identity. Host files are read as an unprivileged host identity: uid and gid
65534 when runsc-lite runs as root, the caller otherwise. What it may not
read stays unreadable inside, even to the sandbox's root.

Network. The sandbox has its own TCP/IP stack: lo, and with
--network=sandbox (the default) eth0 (10.0.2.15), whose connections leave
through host sockets a confined forwarder process opens; DNS goes to the
host's resolver through 10.0.2.3. The host's loopback (10.0.2.2 inside),
link-local and own addresses are refused unless --allow-host-loopback.
--publish HOSTPORT:PORT lets the host reach a server in the sandbox.
--network=none: lo only. --network=host (an explicit opt-in): the
application's Internet sockets are host sockets, on the host's network and
loopback, created by the forwarder; the sentry stays confined, and ports
below 1024 are refused (EACCES) to its unprivileged identity.`,
		examples: `runsc-lite ` + c.name + ` -- /usr/bin/python3 -c 'print(1+1)'
runsc-lite ` + c.name + ` -- ./build.sh                          # in the current directory, writes kept in memory
runsc-lite ` + c.name + ` --volume ./out:/out -- sh -c 'make > /out/log'   # results kept on the host
runsc-lite ` + c.name + ` --volume /data:/data:ro --tmpfs /scratch:size=1g -- ./job
runsc-lite ` + c.name + ` --rootfs=/srv/rootfs --overlay=none -- /bin/sh   # a root file system to keep
runsc-lite ` + c.name + ` --publish 8080:8000 -- python3 -m http.server 8000   # curl http://127.0.0.1:8080/
runsc-lite --platform=ptrace --strace ` + c.name + ` -- /bin/true`,
		exit: `N      CMD exited with status N
128+N  CMD was killed by signal N
126    CMD cannot be executed (a directory, no permission, not an executable)
127    CMD was not found
2      usage error (a bad flag or argument)
1      the sandbox could not be made (a missing --rootfs, --volume or --cwd...)`,
	}.String()
}

func (c *runCmd) SetFlags(f *flag.FlagSet) {
	if c.name == "run" {
		f.StringVar(&c.bundle, "bundle", "", "run the OCI bundle `DIR` as container ID (runc's run: create, start, wait, delete)")
		f.StringVar(&c.pidFile, "pid-file", "", "with --bundle: write the sandbox process's pid to `FILE`")
	}
	f.StringVar(&c.rootfs, "rootfs", "/", "host `DIR` that is the sandbox's /; one that is not the host's / is read with its root's files open to the sandbox's root (under root, beneath the overlay)")
	f.StringVar(&c.overlay, "overlay", "memory", "`memory`: writes to the root file system stay in memory; none: they reach the --rootfs directory on the host")
	f.BoolVar(&c.hostTmp, "host-tmp", false, "show the root's own /tmp (the host's, read-only under the overlay) instead of an empty private one")
	f.Var(&c.volumes, "volume", "bind a host directory or file, `HOST[:SANDBOX][:ro|rw]`, into the sandbox (SANDBOX defaults to HOST's path, the access to rw; repeatable)")
	f.Var(&c.tmpfs, "tmpfs", "mount an empty memory file system, `PATH[:size=N]` (tmpfs options after the colon; repeatable)")
	f.StringVar(&c.cwd, "cwd", "", "working `DIR` inside the sandbox (default: the current directory, shown at the same path, with the default --rootfs; / with another)")
	f.Var(&c.env, "env", "set `KEY=VALUE` in the command's environment (repeatable)")
	f.BoolVar(&c.clearEnv, "clear-env", false, "start from an empty environment instead of the caller's")
	f.Var(&c.memLimit, "memory-limit", "the sandbox's memory in `BYTES` (k, m, g suffixes; 0: half of the host's RAM): mappings and memory files beyond fail with ENOMEM or ENOSPC")
	f.IntVar(&c.pidsLimit, "pids-limit", kernel.DefaultTaskLimit, "most `N` tasks (threads) the sandbox holds; fork and clone fail with EAGAIN beyond")
	uid, gid := launch.Nobody, launch.Nobody
	if os.Geteuid() != 0 {
		uid, gid = os.Geteuid(), os.Getegid()
	}
	f.IntVar(&c.hostUID, "host-uid", uid, "host `UID` the sandbox reads host files as (root only; 65534 when run by root, else the caller's). DANGEROUS: --host-uid=0 lets the sandbox read every file root can")
	f.BoolVar(&c.allowHostLoopback, "allow-host-loopback", false, "let --network=sandbox reach the host's loopback (as 10.0.2.2), link-local and own addresses, which are refused by default")
	f.Var(&c.publish, "publish", "forward the host's `[HOSTIP:]HOSTPORT:PORT[/udp]` (HOSTIP 127.0.0.1 by default) to PORT in the sandbox, where a listener on 127.0.0.1, 0.0.0.0 or :: takes it (repeatable; --network=sandbox)")
	f.StringVar(&c.netns, "netns", "", "take the interfaces of the network namespace at `PATH` (/var/run/netns/NAME, /proc/PID/ns/net), as an OCI container takes its namespace's, instead of --network's eth0 (root; their addresses are removed from the namespace)")
	f.IntVar(&c.hostGID, "host-gid", gid, "host `GID` the sandbox reads host files as (root only; see --host-uid)")
	f.StringVar(&c.cpuProfile, "cpuprofile", "", "write the sentry's CPU profile for the whole run to `FILE` (runtime/pprof format: go tool pprof FILE)")
	f.StringVar(&c.trace, "trace", "", "write the sentry's Go execution trace for the whole run to `FILE`, as runsc's --trace (go tool trace FILE; go tool trace -pprof=sched FILE is where goroutines waited for a CPU)")
}

func (c *runCmd) Execute(ctx context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if c.bundle != "" {
		if err := globals.apply(); err != nil {
			return fail(exitUsage, "run: %v", err)
		}
		status, err := ociRun(f.Args(), c.bundle, c.pidFile)
		if err != nil {
			globals.logError("run: " + err.Error())
			return fail(exitFailure, "run: %v", err)
		}
		return subcommands.ExitStatus(status)
	}
	argv := f.Args()
	if len(argv) == 0 {
		return fail(exitUsage, "%s: missing command; usage: runsc-lite %s [flags] -- CMD [ARGS...]", c.name, c.name)
	}
	switch c.g.network {
	case networkSandbox, networkNone, networkHost:
	default:
		return fail(exitUsage, "--network=%s: want sandbox (the default), none or host", c.g.network)
	}
	publishes, err := parseEach(c.publish, parsePublish)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if c.g.network == networkNone && (len(publishes) > 0 || c.allowHostLoopback) {
		return fail(exitUsage, "--network=none: nothing goes in or out; --publish and --allow-host-loopback need --network=sandbox")
	}
	if c.netns != "" && (c.g.network != networkSandbox || len(publishes) > 0 || c.allowHostLoopback) {
		return fail(exitUsage, "--netns: the sandbox's network is the namespace's; not with --network=none or host, --publish or --allow-host-loopback")
	}
	if c.g.network == networkHost && (len(publishes) > 0 || c.allowHostLoopback) {
		return fail(exitUsage, "--network=host: the sandbox's sockets are the host's already; --publish and --allow-host-loopback are for --network=sandbox")
	}
	if c.pidsLimit < 1 {
		return fail(exitUsage, "--pids-limit=%d: want at least 1", c.pidsLimit)
	}
	if c.hostUID < 0 || c.hostGID < 0 || int64(c.hostUID) >= 1<<32-1 || int64(c.hostGID) >= 1<<32-1 {
		return fail(exitUsage, "--host-uid=%d --host-gid=%d: want ids from 0 to 4294967294", c.hostUID, c.hostGID)
	}
	if err := launch.CheckIdentity(c.hostUID, c.hostGID); err != nil {
		return fail(1, "--host-uid=%d --host-gid=%d: %v", c.hostUID, c.hostGID, err)
	}
	if _, ok := sandbox.Platforms[c.g.platform]; !ok {
		return fail(exitUsage, "--platform=%s: unknown platform (have %s)%s", c.g.platform, sandbox.PlatformNames(),
			didYouMean(c.g.platform, strings.Split(sandbox.PlatformNames(), ", "), ""))
	}
	env := os.Environ()
	if c.clearEnv {
		env = nil
	}
	for _, kv := range c.env {
		if !strings.Contains(kv, "=") {
			return fail(exitUsage, "--env %q: want KEY=VALUE", kv)
		}
		env = append(env, kv)
	}
	binds, err := parseEach(c.volumes, parseVolume)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	tmpfss, err := parseEach(c.tmpfs, parseTmpfs)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if c.overlay != "memory" && c.overlay != "none" {
		return fail(exitUsage, "--overlay=%s: want memory or none", c.overlay)
	}
	if c.overlay == "none" && launch.IsHostRoot(c.rootfs) {
		return fail(exitUsage, "--overlay=none: --rootfs is the host's /, which the sandbox would write to; name a root file system prepared for it")
	}
	cfg := sentryConfig{
		Root: c.rootfs, Cwd: c.cwd, RootWritable: c.overlay == "none", HostTmp: c.hostTmp, CwdFile: -1, NetFile: -1, Platform: c.g.platform, NoPatch: c.g.noPatch, Argv: argv, Env: env,
		MemoryLimit: uint64(c.memLimit), PidsLimit: c.pidsLimit, LogFile: -1, StraceFile: -1, ControlFile: -1, ReadyFile: -1, ProfileFile: -1, TraceFile: -1,
		Strace:       c.g.strace || c.g.straceLog != "" || c.g.straceFilter != "" || c.g.straceTiming || c.g.straceSummary,
		StraceFilter: c.g.straceFilter, StraceTiming: c.g.straceTiming, StraceSummary: c.g.straceSummary,
	}
	if cfg.MemoryLimit == 0 {
		cfg.MemoryLimit = usage.DefaultLimit()
	}
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
	if c.g.debugLog != "" {
		f, err := openAppend(c.g.debugLog)
		if err != nil {
			return fail(1, "%v", err)
		}
		cfg.LogFile = add(f)
		log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if c.g.straceLog != "" {
		f, err := openAppend(c.g.straceLog)
		if err != nil {
			return fail(1, "%v", err)
		}
		cfg.StraceFile = add(f)
	}
	if c.cpuProfile != "" {
		f, err := os.OpenFile(c.cpuProfile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return fail(1, "--cpuprofile: %v", err)
		}
		cfg.ProfileFile = add(f)
	}
	if c.trace != "" {
		f, err := os.OpenFile(c.trace, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return fail(1, "--trace: %v", err)
		}
		cfg.TraceFile = add(f)
	}
	root, swap, err := openRootfs(c.rootfs, cfg.RootWritable, c.hostUID, c.hostGID, log)
	if err != nil {
		return fail(1, "--rootfs=%s: %v", c.rootfs, err)
	}
	cfg.RootFile, cfg.RootSwap = add(root), swap
	var taken *netns.Taken
	if c.netns != "" {
		if taken, err = takeNetns(c.netns, &cfg, add); err != nil {
			return fail(1, "--netns=%s: %v", c.netns, err)
		}
		defer taken.Close()
	} else if c.g.network == networkHost {
		net, err := setUpHostNetwork(&cfg, c.hostUID, c.hostGID, add)
		if err != nil {
			return fail(1, "%v", err)
		}
		defer net.close()
	} else if c.g.network == networkSandbox {
		net, resolv, err := setUpNetwork(&cfg, c.allowHostLoopback, c.hostUID, c.hostGID, add)
		if err != nil {
			return fail(1, "%v", err)
		}
		defer net.close()
		if resolv != nil {
			cfg.Mounts = append(cfg.Mounts, *resolv) // first: a --volume may replace it
		}
		for _, p := range publishes {
			f, err := p.listen()
			if err != nil {
				return fail(1, "%v", err)
			}
			cfg.Published = append(cfg.Published, publishConfig{File: add(f), Proto: p.Proto, Port: p.Port})
		}
	}
	mounts, err := openMounts(binds, tmpfss, add)
	if err != nil {
		return fail(1, "%v", err)
	}
	cfg.Mounts = append(cfg.Mounts, mounts...)
	if c.cwd == "" && launch.IsHostRoot(c.rootfs) {
		// The caller's own directory, at the same path: shown through the
		// root, or mounted from this descriptor where the root does not
		// show it (below /tmp, or where the sentry's identity cannot go).
		wd, err := os.Getwd()
		if err != nil {
			return fail(1, "the current directory: %v (give --cwd)", err)
		}
		src, err := host.OpenSource(wd, false)
		if err != nil {
			return fail(1, "the current directory: %v (give --cwd)", err)
		}
		cfg.CallerCwd, cfg.CwdFile = wd, add(src.Dir)
	}
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
	if taken != nil {
		// The sentry has the sockets; its stack takes the addresses.
		if err := taken.Release(); err != nil {
			log.Warn("--netns", "err", err)
		}
	}
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

// openRootfs opens the host directory dir as the root of a sentry of host
// identity uid:gid: through an idmapped mount that shows root's files as
// the sentry's when it only reads it (launch.OpenImageRoot), with the Swap
// that undoes that, or plainly.
func openRootfs(dir string, writeThrough bool, uid, gid int, log *slog.Logger) (*os.File, *host.Swap, error) {
	if writeThrough {
		f, err := host.OpenRoot(dir)
		return f, nil, err
	}
	r, err := launch.OpenImageRoot(dir, uid, gid)
	if err != nil {
		return nil, nil, err
	}
	if r.Refused != nil {
		log.Info("the root's root-only files stay closed: no idmapped mount of it", "root", dir, "err", r.Refused)
	}
	if !r.Swapped {
		return r.File, nil, nil
	}
	return r.File, &host.Swap{UID: uint32(uid), GID: uint32(gid)}, nil
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
