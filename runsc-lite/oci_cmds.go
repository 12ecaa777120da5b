package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/subcommands"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/control"
	"runsc-lite/sentry/sandbox"
)

// globals are the command line's global flags, which the OCI verbs read.
var globals *globalFlags

// apply checks the global flags.
func (g *globalFlags) apply() error {
	if g.logFormat != "text" && g.logFormat != "json" {
		return fmt.Errorf("--log-format=%s: want text or json", g.logFormat)
	}
	if g.root == "" {
		return errors.New("--root: empty")
	}
	if !filepath.IsAbs(g.root) {
		abs, err := filepath.Abs(g.root)
		if err != nil {
			return fmt.Errorf("--root=%s: %w", g.root, err)
		}
		g.root = abs
	}
	return nil
}

// logError writes err to --log, in its format (containerd's shim reads
// the last error of a failed verb from there).
func (g *globalFlags) logError(msg string) {
	if g.log == "" {
		return
	}
	f, err := openAppend(g.log)
	if err != nil {
		return
	}
	defer f.Close()
	if g.logFormat == "json" {
		b, _ := json.Marshal(map[string]string{"level": "error", "msg": msg, "time": time.Now().Format(time.RFC3339Nano)})
		fmt.Fprintf(f, "%s\n", b)
		return
	}
	fmt.Fprintf(f, "time=%q level=error msg=%q\n", time.Now().Format(time.RFC3339Nano), msg)
}

// ociCmd is one OCI verb.
type ociCmd struct {
	name, synopsis, usage string
	flags                 func(f *flag.FlagSet)
	// run returns the exit status, or an error reported in one line (1).
	run func(args []string) (int, error)
}

func (c *ociCmd) Name() string     { return c.name }
func (c *ociCmd) Synopsis() string { return c.synopsis }
func (c *ociCmd) Usage() string {
	return manual{synopsis: c.name + " " + c.usage, about: c.synopsis + " (runc's command line: containerd's runc shim and Docker drive it).",
		exit: "0  done\n1  the container or its state is not as asked, or the sandbox failed\n2  a usage error"}.String()
}
func (c *ociCmd) SetFlags(f *flag.FlagSet) {
	if c.flags != nil {
		c.flags(f)
	}
}

func (c *ociCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if err := globals.apply(); err != nil {
		return fail(exitUsage, "%s: %v", c.name, err)
	}
	status, err := c.run(f.Args())
	if err != nil {
		msg := c.name + ": " + err.Error()
		globals.logError(msg)
		return fail(1, "%s", msg)
	}
	return subcommands.ExitStatus(status)
}

// lockedContainer names container args[0], locks its state and loads it;
// the caller runs unlock when done.
func lockedContainer(args []string) (id string, st *containerState, unlock func(), err error) {
	if id, err = oneID(args); err != nil {
		return "", nil, nil, err
	}
	if unlock, err = lockState(id); err != nil {
		return "", nil, nil, err
	}
	if st, err = loadState(id); err != nil {
		unlock()
		return "", nil, nil, err
	}
	return id, st, unlock, nil
}

// oneID returns the one container ID of args.
func oneID(args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("want one container ID, not %d arguments", len(args))
	}
	return args[0], checkID(args[0])
}

func registerOCI(cmdr *subcommands.Commander) {
	var (
		bundle, pidFile, consoleSocket, format, processFile, cwd, user string
		force, all, detach, tty, stats, quiet                          bool
		interval                                                       time.Duration
		env                                                            stringList
	)
	bundleFlag := func(f *flag.FlagSet) {
		f.StringVar(&bundle, "bundle", ".", "the bundle `DIR`: config.json and the root file system")
		f.StringVar(&bundle, "b", ".", "short for --bundle")
	}
	cmds := []*ociCmd{
		{name: "spec", usage: "[--bundle DIR]", synopsis: "write a default config.json in the bundle",
			flags: bundleFlag, run: func(args []string) (int, error) { return 0, writeSpec(bundle) }},
		{name: "create", usage: "--bundle DIR [--pid-file F] [--console-socket S] ID", synopsis: "create a container: its sandbox runs, its process waits for start",
			flags: func(f *flag.FlagSet) {
				bundleFlag(f)
				f.StringVar(&pidFile, "pid-file", "", "write the sandbox process's pid to `FILE`")
				f.StringVar(&consoleSocket, "console-socket", "", "send the terminal's master to the Unix socket `PATH`")
			},
			run: func(args []string) (int, error) { return 0, create(args, bundle, pidFile, consoleSocket) }},
		{name: "start", usage: "ID", synopsis: "start a created container's process",
			run: func(args []string) (int, error) { return 0, start(args) }},
		{name: "state", usage: "ID", synopsis: "print a container's state (the OCI spec's JSON)",
			run: func(args []string) (int, error) {
				id, err := oneID(args)
				if err != nil {
					return 0, err
				}
				st, err := loadState(id)
				if err != nil {
					return 0, err
				}
				return 0, printJSON(st.spec())
			}},
		{name: "kill", usage: "[--all] ID [SIGNAL]", synopsis: "send a signal (default SIGTERM) to a container's process, or all its processes",
			flags: func(f *flag.FlagSet) {
				f.BoolVar(&all, "all", false, "signal every process")
				f.BoolVar(&all, "a", false, "short for --all")
			},
			run: func(args []string) (int, error) { return 0, kill(args, all) }},
		{name: "delete", usage: "[--force] ID", synopsis: "delete a container: its state, and its sandbox if --force",
			flags: func(f *flag.FlagSet) {
				f.BoolVar(&force, "force", false, "kill a running container first")
				f.BoolVar(&force, "f", false, "short for --force")
			},
			run: func(args []string) (int, error) { return 0, deleteContainer(args, force) }},
		{name: "exec", usage: "[--process FILE] [--tty] [--detach] [--pid-file F] ID [CMD...]", synopsis: "run a new process in a running container",
			flags: func(f *flag.FlagSet) {
				f.StringVar(&processFile, "process", "", "the process, an OCI process `JSON` file")
				f.StringVar(&processFile, "p", "", "short for --process")
				f.BoolVar(&detach, "detach", false, "return once the process has started")
				f.BoolVar(&detach, "d", false, "short for --detach")
				f.BoolVar(&tty, "tty", false, "give the process a terminal")
				f.BoolVar(&tty, "t", false, "short for --tty")
				f.StringVar(&pidFile, "pid-file", "", "write the pid of the process that stands for it to `FILE`")
				f.StringVar(&consoleSocket, "console-socket", "", "send the terminal's master to the Unix socket `PATH`")
				f.StringVar(&cwd, "cwd", "", "working `DIR`")
				f.StringVar(&user, "user", "", "`UID[:GID]`")
				f.StringVar(&user, "u", "", "short for --user")
				f.Var(&env, "env", "`KEY=VALUE` (repeatable)")
				f.Var(&env, "e", "short for --env")
			},
			run: func(args []string) (int, error) {
				return execProcess(args, execOptions{processFile: processFile, detach: detach, tty: tty, pidFile: pidFile,
					consoleSocket: consoleSocket, cwd: cwd, user: user, env: env})
			}},
		{name: "ps", usage: "[--format table|json] ID", synopsis: "list a container's processes",
			flags: func(f *flag.FlagSet) {
				f.StringVar(&format, "format", "table", "table or json (the pids)")
				f.StringVar(&format, "f", "table", "short for --format")
			},
			run: func(args []string) (int, error) { return 0, ps(args, format) }},
		{name: "events", usage: "[--stats] [--interval D] ID", synopsis: "print a container's events (stats, oom, exit) as JSON lines",
			flags: func(f *flag.FlagSet) {
				f.BoolVar(&stats, "stats", false, "print the stats once and exit")
				f.DurationVar(&interval, "interval", 5*time.Second, "between stats")
			},
			run: func(args []string) (int, error) { return 0, events(args, stats, interval) }},
		{name: "list", usage: "[--format table|json] [--quiet]", synopsis: "list the containers",
			flags: func(f *flag.FlagSet) {
				f.StringVar(&format, "format", "table", "table or json")
				f.StringVar(&format, "f", "table", "short for --format")
				f.BoolVar(&quiet, "quiet", false, "the IDs only")
				f.BoolVar(&quiet, "q", false, "short for --quiet")
			},
			run: func(args []string) (int, error) { return 0, list(format, quiet) }},
		{name: "pause", usage: "ID", synopsis: "stop every process of a container",
			run: func(args []string) (int, error) { return 0, pause(args, true) }},
		{name: "resume", usage: "ID", synopsis: "continue every process of a paused container",
			run: func(args []string) (int, error) { return 0, pause(args, false) }},
		{name: "features", usage: "", synopsis: "print what this runtime supports (the OCI features JSON)",
			run: func(args []string) (int, error) { return 0, features() }},
	}
	for _, c := range cmds {
		cmdr.Register(c, groupContainers)
	}
	cmdr.Register(newDebugCmd(), groupInspection)
}

func printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Printf("%s\n", b)
	return err
}

// create creates container args[0] from bundle.
func create(args []string, bundle, pidFile, consoleSocket string) error {
	id, err := oneID(args)
	if err != nil {
		return err
	}
	bundle, err = filepath.Abs(bundle)
	if err != nil {
		return err
	}
	s, err := loadSpec(bundle)
	if err != nil {
		return err
	}
	terminal := s.Process != nil && s.Process.Terminal
	if terminal != (consoleSocket != "") {
		return errors.New("config.json: process.terminal and --console-socket go together")
	}
	plan, err := planFromSpec(s, bundle, ociLog())
	if err != nil {
		return err
	}
	if plan.WriteThrough {
		dirs, files := plan.mountPoints()
		makeMountPoints(plan.Rootfs, dirs, files)
	}
	if err := os.MkdirAll(globals.root, 0o700); err != nil {
		return fmt.Errorf("--root=%s: %w", globals.root, err)
	}
	dir := stateDir(id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("container %q already exists", id)
		}
		return fmt.Errorf("container %q: %w", id, err)
	}
	st := &containerState{ID: id, Bundle: bundle, Created: time.Now().UTC(), Annotations: s.Annotations, Hooks: s.Hooks}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	b, err := json.Marshal(plan)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "boot.json"), b, 0o600); err != nil {
		return err
	}
	if err := st.save(); err != nil {
		return err
	}
	stdio := [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	if terminal {
		slave, err := newConsole(consoleSocket)
		if err != nil {
			return err
		}
		defer slave.Close()
		stdio = [3]*os.File{slave, slave, slave}
	}
	pid, err := startSandboxProcess(st, stdio)
	if err != nil {
		return err
	}
	st.Pid = pid
	if st.PidStart, err = procStart(pid); err != nil {
		unix.Kill(pid, unix.SIGKILL)
		return fmt.Errorf("the sandbox process: %w", err)
	}
	// Hooks run once the sandbox's namespaces exist, as runc runs them:
	// the pid they are given is the sentry's, whose namespaces (network
	// first) are the container's.
	if err := runHooks(st, "createRuntime", hooksOf(s.Hooks, func(h *specs.Hooks) []specs.Hook { return append(h.Prestart, h.CreateRuntime...) })); err != nil {
		unix.Kill(pid, unix.SIGKILL)
		return err
	}
	if err := takeNetwork(st, plan, ociLog()); err != nil {
		unix.Kill(pid, unix.SIGKILL)
		return err
	}
	if err := st.save(); err != nil {
		unix.Kill(pid, unix.SIGKILL)
		return err
	}
	if pidFile != "" {
		if err := writePidFile(pidFile, pid); err != nil {
			unix.Kill(pid, unix.SIGKILL)
			return err
		}
	}
	ok = true
	return nil
}

// procStart is field 22 of /proc/pid/stat.
func procStart(pid int) (uint64, error) {
	st := containerState{Pid: pid}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", st.Pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// writePidFile writes pid to path at once (runc writes and renames).
func writePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	return nil
}

// start starts container args[0].
func start(args []string) error {
	id, st, unlock, err := lockedContainer(args)
	if err != nil {
		return err
	}
	defer unlock()
	if s := st.status(); s != specs.StateCreated {
		return fmt.Errorf("container %q is %s, not created", id, s)
	}
	if _, err := st.client().Call(control.Request{Method: control.MethodStart}); err != nil {
		return err
	}
	st.Started = true
	if err := st.save(); err != nil {
		return err
	}
	if err := runHooks(st, "poststart", hooksOf(st.Hooks, func(h *specs.Hooks) []specs.Hook { return h.Poststart })); err != nil {
		ociLog().Warn("poststart hook", "err", err)
	}
	return nil
}

// parseSignal reads a signal as a number or a name (TERM, SIGTERM).
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal %d: want 1 to 64", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// kill signals container args[0].
func kill(args []string, all bool) error {
	if len(args) < 1 || len(args) > 2 {
		return fmt.Errorf("want ID [SIGNAL], not %d arguments", len(args))
	}
	if err := checkID(args[0]); err != nil {
		return err
	}
	sig := unix.SIGTERM
	if len(args) == 2 {
		var err error
		if sig, err = parseSignal(args[1]); err != nil {
			return err
		}
	}
	st, err := loadState(args[0])
	if err != nil {
		return err
	}
	switch st.status() {
	case specs.StateStopped:
		if all {
			return nil // nothing left to signal, as runc
		}
		return fmt.Errorf("container %q is not running", st.ID)
	case specs.StateCreating:
		return fmt.Errorf("container %q is being created", st.ID)
	}
	_, err = st.client().Call(control.Request{Method: control.MethodSignal, Signal: int(sig), All: all})
	if err != nil && sig == unix.SIGKILL {
		// The sentry does not answer: its process goes, and it with it.
		return unix.Kill(st.Pid, unix.SIGKILL)
	}
	return err
}

// deleteContainer deletes container args[0].
func deleteContainer(args []string, force bool) error {
	id, err := oneID(args)
	if err != nil {
		return err
	}
	unlock, err := lockState(id)
	if err != nil {
		if force {
			return nil // runc delete --force of a missing container succeeds
		}
		return err
	}
	defer unlock()
	st, err := loadState(id)
	if err != nil {
		if !force {
			return err
		}
		// Damaged state: remove what is there.
		return os.RemoveAll(stateDir(id))
	}
	switch s := st.status(); s {
	case specs.StateRunning, "paused":
		if !force {
			return fmt.Errorf("container %q is %s: stop it first, or delete --force", id, s)
		}
	}
	if err := st.destroy(); err != nil {
		return err
	}
	if err := runHooks(st, "poststop", hooksOf(st.Hooks, func(h *specs.Hooks) []specs.Hook { return h.Poststop })); err != nil {
		ociLog().Warn("poststop hook", "err", err)
	}
	return nil
}

// execOptions are exec's flags.
type execOptions struct {
	processFile, pidFile, consoleSocket, cwd, user string
	detach, tty                                    bool
	env                                            []string
}

// execChildEnv marks the child that exec --detach starts: it runs the
// process and waits for it, and says "ok" on readyFD once it runs.
const execChildEnv = "RUNSC_LITE_EXEC_CHILD"

// execProcess runs a process in container args[0].
func execProcess(args []string, o execOptions) (int, error) {
	if len(args) < 1 {
		return 0, errors.New("missing container ID")
	}
	if err := checkID(args[0]); err != nil {
		return 0, err
	}

	st, err := loadState(args[0])
	if err != nil {
		return 0, err
	}
	if s := st.status(); s != specs.StateRunning {
		return 0, fmt.Errorf("container %q is %s, not running", st.ID, s)
	}
	var p sandbox.Process
	if o.processFile != "" {
		b, err := os.ReadFile(o.processFile)
		if err != nil {
			return 0, fmt.Errorf("--process: %w", err)
		}
		var sp specs.Process
		if err := json.Unmarshal(b, &sp); err != nil {
			return 0, fmt.Errorf("--process %s: %v", o.processFile, err)
		}
		o.tty = o.tty || sp.Terminal
		if p, err = processFromSpec(&sp); err != nil {
			return 0, fmt.Errorf("--process: %w", err)
		}
	} else {
		if len(args) < 2 {
			return 0, errors.New("missing command (or --process)")
		}
		p.Argv = args[1:]
		p.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, o.env...)
		p.Cwd = o.cwd
		if o.user != "" {
			u, g, _ := strings.Cut(o.user, ":")
			uid, err1 := strconv.ParseUint(u, 10, 32)
			gid, err2 := strconv.ParseUint(g, 10, 32)
			if g == "" {
				gid, err2 = 0, nil
			}
			if err1 != nil || err2 != nil {
				return 0, fmt.Errorf("--user %q: want UID[:GID]", o.user)
			}
			p.User.UID, p.User.GID = uint32(uid), uint32(gid)
		}
	}
	if o.tty != (o.consoleSocket != "") {
		return 0, errors.New("--tty (or the process's terminal) and --console-socket go together")
	}
	stdio := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	if o.tty {
		// The terminal is made here, before a --detach child, which
		// inherits it as its stdio.
		slave, err := newConsole(o.consoleSocket)
		if err != nil {
			return 0, err
		}
		defer slave.Close()
		stdio = []*os.File{slave, slave, slave}
	}
	if o.detach {
		return 0, execDetached(st, p, o.pidFile, stdio)
	}
	resp, err := st.client().Call(control.Request{Method: control.MethodExec, Process: &p}, stdio...)
	if err != nil {
		return 0, err
	}
	if o.pidFile != "" {
		if err := writePidFile(o.pidFile, os.Getpid()); err != nil {
			return 0, err
		}
	}
	if os.Getenv(execChildEnv) == "1" {
		ready := os.NewFile(readyFD, "ready")
		fmt.Fprintln(ready, "ok")
		ready.Close()
	}
	return waitExec(st, resp.PID)
}

// waitExec waits for exec'd process pid and returns its status; SIGTERM
// and SIGINT that this process gets are passed on to it.
func waitExec(st *containerState, pid int) (int, error) {
	sigs := make(chan os.Signal, 4)
	signalNotify(sigs)
	go func() {
		for s := range sigs {
			st.client().Call(control.Request{Method: control.MethodSignal, PID: pid, Signal: int(s.(syscall.Signal))})
		}
	}()
	resp, err := st.client().Call(control.Request{Method: control.MethodWait, PID: pid})
	if err != nil {
		return 0, err
	}
	return resp.Exit.Status(), nil
}

// execDetached starts a child `exec` (without --detach) that runs p and
// waits for it, and returns once p runs; the child's pid, whose exit status
// is p's, goes to pidFile, as containerd's shim expects.
func execDetached(st *containerState, p sandbox.Process, pidFile string, stdio []*os.File) error {
	dir, err := os.MkdirTemp("", "runsc-lite-exec")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	spec := specs.Process{Args: p.Argv, Env: p.Env, Cwd: p.Cwd, User: specs.User{UID: p.User.UID, GID: p.User.GID, AdditionalGids: p.User.Groups}}
	b, _ := json.Marshal(spec)
	pf := filepath.Join(dir, "process.json")
	if err := os.WriteFile(pf, b, 0o600); err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	args := []string{"runsc-lite", "--root", globals.root}
	if globals.log != "" {
		args = append(args, "--log", globals.log, "--log-format", globals.logFormat)
	}
	args = append(args, "exec", "--process", pf, st.ID)
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: args, Env: append(os.Environ(), execChildEnv+"=1"),
		Stdin: stdio[0], Stdout: stdio[1], Stderr: stdio[2], ExtraFiles: []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := cmd.Start(); err != nil {
		w.Close()
		return err
	}
	w.Close()
	line, _ := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if strings.TrimSpace(line) != "ok" {
		cmd.Process.Kill()
		cmd.Wait()
		return errors.New("the process did not start")
	}
	if pidFile != "" {
		if err := writePidFile(pidFile, cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			return err
		}
	}
	cmd.Process.Release()
	return nil
}

// ps lists container args[0]'s processes.
func ps(args []string, format string) error {
	id, err := oneID(args)
	if err != nil {
		return err
	}
	st, err := loadState(id)
	if err != nil {
		return err
	}
	if format != "table" && format != "json" {
		return fmt.Errorf("--format=%s: want table or json", format)
	}
	var procs []control.ProcessInfo
	if st.status() != specs.StateStopped {
		resp, err := st.client().Call(control.Request{Method: control.MethodPs})
		if err != nil {
			return err
		}
		procs = resp.Processes
	}
	if format == "json" {
		pids := []int{}
		for _, p := range procs {
			pids = append(pids, p.PID)
		}
		return printJSON(pids)
	}
	printProcesses(os.Stdout, procs)
	return nil
}

// printProcesses prints processes as a table.
func printProcesses(w io.Writer, procs []control.ProcessInfo) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	fmt.Fprintln(tw, "PID\tPPID\tUID\tSTAT\tTHREADS\tTIME\tVSZ\tCMD")
	for _, p := range procs {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%d\t%s\t%d\t%s\n", p.PID, p.PPID, p.UID, p.State, p.Threads,
			p.CPU.Round(time.Millisecond), p.Memory/1024, p.Cmd)
	}
	tw.Flush()
}

// ociEvent is one line of `events`, in runc's shape.
type ociEvent struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// events prints container args[0]'s events.
func events(args []string, once bool, interval time.Duration) error {
	id, err := oneID(args)
	if err != nil {
		return err
	}
	st, err := loadState(id)
	if err != nil {
		return err
	}
	if st.status() == specs.StateStopped {
		return fmt.Errorf("container %q is not running", id)
	}
	enc := json.NewEncoder(os.Stdout)
	if once {
		resp, err := st.client().Call(control.Request{Method: control.MethodUsage})
		if err != nil {
			return err
		}
		return enc.Encode(ociEvent{Type: "stats", ID: id, Data: resp.Usage})
	}
	if interval <= 0 {
		return fmt.Errorf("--interval=%v: want a positive duration", interval)
	}
	return st.client().Events(interval, func(ev control.Event) bool {
		var data any = ev.Usage
		if ev.Exit != nil {
			data = ev.Exit
		}
		return enc.Encode(ociEvent{Type: ev.Type, ID: id, Data: data}) == nil
	})
}

// list lists the containers of the state directory.
func list(format string, quiet bool) error {
	if format != "table" && format != "json" {
		return fmt.Errorf("--format=%s: want table or json", format)
	}
	ents, err := os.ReadDir(globals.root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--root=%s: %w", globals.root, err)
	}
	type entry struct {
		specs.State
		Created time.Time `json:"created"`
	}
	var out []entry
	for _, e := range ents {
		if !e.IsDir() || checkID(e.Name()) != nil {
			continue
		}
		st, err := loadState(e.Name())
		if err != nil {
			continue
		}
		out = append(out, entry{State: st.spec(), Created: st.Created})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	switch {
	case quiet:
		for _, e := range out {
			fmt.Println(e.ID)
		}
	case format == "json":
		if out == nil {
			out = []entry{}
		}
		return printJSON(out)
	default:
		tw := tabwriter.NewWriter(os.Stdout, 0, 8, 1, ' ', 0)
		fmt.Fprintln(tw, "ID\tPID\tSTATUS\tBUNDLE\tCREATED")
		for _, e := range out {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", e.ID, e.Pid, e.Status, e.Bundle, e.Created.Format(time.RFC3339))
		}
		tw.Flush()
	}
	return nil
}

// pause stops (or, !stop, continues) every process of container args[0].
func pause(args []string, stop bool) error {
	id, st, unlock, err := lockedContainer(args)
	if err != nil {
		return err
	}
	defer unlock()
	want, method := specs.ContainerState(specs.StateRunning), control.MethodPause
	if !stop {
		want, method = "paused", control.MethodResume
	}
	if s := st.status(); s != want {
		return fmt.Errorf("container %q is %s, not %s", id, s, want)
	}
	if _, err := st.client().Call(control.Request{Method: method}); err != nil {
		return err
	}
	st.Paused = stop
	return st.save()
}

// features prints the OCI features document.
func features() error {
	f := map[string]any{
		"ociVersionMin": "1.0.0",
		"ociVersionMax": specs.Version,
		"hooks":         []string{"prestart", "createRuntime", "poststart", "poststop"},
		"mountOptions":  []string{},
		"linux": map[string]any{
			"namespaces":   []string{"cgroup", "ipc", "mount", "network", "pid", "user", "uts"},
			"capabilities": capList(),
			"cgroup":       map[string]any{"v1": true, "v2": true, "systemd": false},
		},
		"annotations": map[string]string{"org.opencontainers.runc.version": "runsc-lite"},
	}
	return printJSON(f)
}

func capList() []string {
	var l []string
	for n := range capNames {
		l = append(l, n)
	}
	sort.Strings(l)
	return l
}

// writeSpec writes a default config.json in bundle, as runc spec does.
func writeSpec(bundle string) error {
	path := filepath.Join(bundle, "config.json")
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists", path)
	}
	s := specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "runsc-lite",
		Process: &specs.Process{
			Args: []string{"sh"}, Cwd: "/",
			Env:             []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"}, {Type: "network"}}},
	}
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ociRun is runc's run: create container args[0] from bundle, start it,
// wait for it and delete it; its status is the container's.
func ociRun(args []string, bundle, pidFile string) (int, error) {
	id, err := oneID(args)
	if err != nil {
		return 0, err
	}
	if err := create(args, bundle, pidFile, ""); err != nil {
		return 0, err
	}
	defer func() {
		if st, err := loadState(id); err == nil {
			st.destroy()
		}
	}()
	if err := start(args); err != nil {
		return 0, err
	}
	st, err := loadState(id)
	if err != nil {
		return 0, err
	}
	// Signals to this process go to the container, as runc's run passes
	// them on.
	sigs := make(chan os.Signal, 4)
	signalNotify(sigs)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			st.client().Call(control.Request{Method: control.MethodSignal, Signal: int(s.(syscall.Signal))})
		}
	}()
	// The sandbox process is this process's child (create started it),
	// and exits with the container's status.
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(st.Pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("waiting for the sandbox: %w", err)
		}
		break
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}
