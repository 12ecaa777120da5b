package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/cgroup"
	"runsc-lite/interpose"
	"runsc-lite/launch"
	"runsc-lite/sentry/confine"
	"runsc-lite/sentry/control"
	"runsc-lite/sentry/fs/host"
	"runsc-lite/sentry/fs/rootfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/sandbox"
	"runsc-lite/sentry/socket/inet"
	"runsc-lite/stub"
)

// sentryConfig is what `run` sends the sentry it starts (package launch).
// *File fields index the descriptors sent with it; -1 is none.
type sentryConfig struct {
	Root      string // the host directory, for display
	RootFile  int
	Cwd       string
	CallerCwd string
	CwdFile   int // CallerCwd opened, mounted there if the root does not show it
	// RootWritable is --overlay=none; HostTmp --host-tmp.
	RootWritable bool
	HostTmp      bool
	// RootReadOnly is an OCI root.readonly: writes to / fail with EROFS.
	RootReadOnly bool
	// RootSwap: RootFile is an idmapped mount with root's and the
	// sentry's ids swapped (openRootfs).
	RootSwap *host.Swap
	// Mounts are the volumes and tmpfs mounts (mounts.go).
	Mounts      []mountConfig
	Platform    string
	NoPatch     bool
	Argv        []string
	Env         []string
	MemoryLimit uint64
	PidsLimit   int
	LogFile     int
	Strace      bool
	StraceFile  int
	// ProfileFile receives the sentry's CPU profile of the whole run
	// (--cpuprofile).
	ProfileFile int
	// TraceFile receives the sentry's Go execution trace of the whole run
	// (--trace).
	TraceFile int
	// StraceFilter, StraceTiming and StraceSummary are sandbox.Config's.
	StraceFilter  string
	StraceTiming  bool
	StraceSummary bool
	// CgroupFiles are the sandbox cgroup's cgroup.procs files, open for
	// writing, that its forkserver joins.
	CgroupFiles []int
	// NetFile is the network forwarder's socket (--network=sandbox, or
	// --network=host if NetHost); Published the --publish ports.
	NetFile   int
	NetHost   bool
	Published []publishConfig
	// Links are the interfaces of run --netns's namespace, LinkFiles
	// their packet sockets.
	Links     []inet.Link
	LinkFiles []int
	// OCI sandboxes (create): ControlFile is the control server's
	// listening socket, ReadyFile where the sentry writes "ok" once the
	// first process is created (or the error that stopped it), and the
	// first process waits for the start call.
	ControlFile int
	ReadyFile   int
	Hostname    string
	User        sandbox.User
	Rlimits     []sandbox.Rlimit
}

// seccompTrapEnv, set to 1 in runsc-lite's environment, has a forbidden
// host syscall crash the sentry with a Go traceback that names it, instead
// of killing it silently: for finding what the allow-list lacks.
const seccompTrapEnv = "RUNSC_LITE_SECCOMP_TRAP"

// sentryMain is the sentry: it confines itself and runs the sandbox. Its
// exit status is the one `run` exits with.
func sentryMain() int {
	// The parent-death signal is set on the main thread
	// (confine.Entered.Resume): the thread group's leader, it lives as
	// long as the sentry. Locked only until then: a goroutine locked to a
	// thread makes every other that it waits for hand the CPU over through
	// the kernel.
	runtime.LockOSThread()
	start := time.Now()
	// Files the sandbox creates on the host (read-write volumes, the root
	// with --overlay=none) get the mode the sandbox asked for, its own
	// umask already applied by the sentry.
	unix.Umask(0)
	id, stage, err := launch.Args()
	if err != nil {
		fmt.Fprintf(os.Stderr, "runsc-lite: %v\n", err)
		return 1
	}
	cid := confine.Identity{UID: id.UID, GID: id.GID, Setgroups: id.Setgroups}
	if stage != launch.StageEnter {
		fmt.Fprintf(os.Stderr, "runsc-lite: the sentry's stage %q is not %q\n", stage, launch.StageEnter)
		return 1
	}
	entered, err := confine.Enter(cid)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runsc-lite: %v\n", err)
		return 1
	}
	var cfg sentryConfig
	child, err := launch.Receive(&cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runsc-lite: %v\n", err)
		return 1
	}
	file := func(i int) *os.File {
		if i < 0 || i >= len(child.Files) {
			return nil
		}
		return child.Files[i]
	}
	level := new(slog.LevelVar)
	level.Set(slog.LevelError)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if f := file(cfg.LogFile); f != nil {
		level.Set(slog.LevelDebug)
		log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: level}))
	}
	if err := entered.Resume(); err != nil {
		fmt.Fprintf(os.Stderr, "runsc-lite: %v\n", err)
		return 1
	}
	runtime.UnlockOSThread()
	if child.ParentGone() {
		return 1 // runsc-lite was killed while the sentry started
	}
	conf := stub.Confinement{Namespaces: true, UID: id.UID, GID: id.GID}
	var procs []*os.File
	for _, i := range cfg.CgroupFiles {
		if f := file(i); f != nil {
			procs = append(procs, f)
		}
	}
	if len(procs) > 0 {
		conf.Cgroup = func(pid int) error {
			defer func() {
				for _, f := range procs {
					f.Close()
				}
			}()
			return cgroup.Join(procs, pid)
		}
	}
	mounts, err := toRootfs(cfg.Mounts, file, cfg.MemoryLimit)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runsc-lite: %v\n", err)
		return 1
	}
	var cwdSource *host.Source
	if f := file(cfg.CwdFile); f != nil {
		cwdSource = &host.Source{Dir: f}
	}
	sc := sandbox.Config{
		Root: cfg.Root, RootFile: file(cfg.RootFile), Cwd: cfg.Cwd, CallerCwd: cfg.CallerCwd, CwdSource: cwdSource,
		FS:       rootfs.Options{RootWritable: cfg.RootWritable, RootReadOnly: cfg.RootReadOnly, RootSwap: cfg.RootSwap, HostTmp: cfg.HostTmp, Mounts: mounts},
		Platform: cfg.Platform, NoPatch: cfg.NoPatch, Argv: cfg.Argv, Env: cfg.Env, Log: log,
		MemoryLimit: cfg.MemoryLimit, PidsLimit: cfg.PidsLimit, Confinement: &conf,
		Hostname: cfg.Hostname, User: cfg.User, Rlimits: cfg.Rlimits,
		Net: inet.Options{Forwarder: file(cfg.NetFile), Host: cfg.NetHost},
		Lockdown: func(platform string) error {
			insns, err := confine.Filter(platform, cfg.NetHost, os.Getenv(seccompTrapEnv) == "1")
			if err != nil {
				return err
			}
			if err := entered.Seal(insns); err != nil {
				return err
			}
			if !entered.AllThreads {
				log.Warn("cgo build: the bounding set, and the capabilities of a sentry of uid 0, are dropped on one thread only")
			}
			log.Debug("the sentry is confined", "uid", id.UID, "gid", id.GID,
				"host syscalls", len(confine.Syscalls(platform, cfg.NetHost)), "after", time.Since(start))
			return nil
		},
	}
	sc.Net.Links = cfg.Links
	for _, i := range cfg.LinkFiles {
		sc.Net.LinkFiles = append(sc.Net.LinkFiles, file(i))
	}
	for _, p := range cfg.Published {
		if f := file(p.File); f != nil {
			sc.Net.Published = append(sc.Net.Published, inet.Published{Host: f, Proto: p.Proto, Port: p.Port})
		}
	}
	if cfg.Strace {
		sc.StraceFilter, sc.StraceTiming, sc.StraceSummary = cfg.StraceFilter, cfg.StraceTiming, cfg.StraceSummary
		sc.Strace = os.Stderr
		if f := file(cfg.StraceFile); f != nil {
			sc.Strace = f
		}
	}
	if f := file(cfg.ProfileFile); f != nil {
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "runsc-lite: --cpuprofile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if f := file(cfg.TraceFile); f != nil {
		if err := trace.Start(f); err != nil {
			fmt.Fprintf(os.Stderr, "runsc-lite: --trace: %v\n", err)
			return 1
		}
		defer trace.Stop()
	}
	var status int
	if ln := file(cfg.ControlFile); ln != nil {
		status = serveSandbox(sc, ln, file(cfg.ReadyFile), log, level)
	} else {
		status = exitStatus(sandbox.Run(sc))
	}
	// The lifeline's descriptor stays open until the end: the garbage
	// collector would close it, and its number be reused, otherwise.
	runtime.KeepAlive(child)
	return status
}

// exitStatus turns what sandbox.Run returned into the sentry's exit status,
// printing the error if there is one.
func exitStatus(status kernel.ExitStatus, err error) int {
	var execErr *sandbox.ExecError
	switch {
	case errors.As(err, &execErr):
		fmt.Fprintf(os.Stderr, "runsc-lite: %v\n", err)
		return exitCodeFor(execErr.Err)
	case err != nil:
		fmt.Fprintf(os.Stderr, "runsc-lite: %v\n", err)
		return 1
	}
	if status.Signal != 0 {
		return 128 + status.Signal
	}
	return status.Code
}

// serveSandbox is the sentry of an OCI sandbox: it builds the sandbox and
// creates its first process, says so on ready, serves the control socket
// ln, and runs the first process once a start call comes, to its end.
func serveSandbox(sc sandbox.Config, ln, ready *os.File, log *slog.Logger, level *slog.LevelVar) int {
	say := func(msg string) {
		if ready != nil {
			fmt.Fprintln(ready, msg)
			ready.Close()
			ready = nil
		}
	}
	// An empty hook set, for clients that attach hooks through the
	// control socket (control.Client.Attach); empty, it costs one load
	// per syscall.
	sc.Hooks = &interpose.Hooks{}
	s, err := sandbox.Boot(sc)
	if err != nil {
		// create reports it, in one line.
		say(err.Error())
		var execErr *sandbox.ExecError
		if errors.As(err, &execErr) {
			return exitCodeFor(execErr.Err)
		}
		return 1
	}
	defer s.Close()
	straceOut := sc.Strace
	if straceOut == nil {
		straceOut = os.Stderr
	}
	srv, err := control.NewServer(s, log, level, straceOut, sc.PidsLimit)
	if err != nil {
		say(err.Error())
		return 1
	}
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Error("the control server stopped", "err", err)
		}
	}()
	say("ok")
	st := s.Wait()
	if st.Signal != 0 {
		return 128 + st.Signal
	}
	return st.Code
}
