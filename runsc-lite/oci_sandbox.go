package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/cgroup"
	"runsc-lite/launch"
	"runsc-lite/sentry/control"
)

// readyFD is the descriptor on which a sandbox process (and an exec
// --detach child) says "ok" or why it failed.
const readyFD = 3

// startSandboxProcess starts the sandbox process of st (create) with
// stdio, and waits until it says the first process is created. It returns
// the process's pid.
func startSandboxProcess(st *containerState, stdio [3]*os.File) (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{sandboxArg0, stateDir(st.ID)},
		Env:         os.Environ(),
		Stdin:       stdio[0],
		Stdout:      stdio[1],
		Stderr:      stdio[2],
		ExtraFiles:  []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, fmt.Errorf("starting the sandbox: %w", err)
	}
	w.Close()
	line, _ := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "ok" {
		pid := cmd.Process.Pid
		cmd.Process.Release() // the shim (a subreaper) or init reaps it
		return pid, nil
	}
	cmd.Process.Kill()
	cmd.Wait()
	if line == "" {
		line = "the sandbox ended while it started"
	}
	return 0, errors.New(line)
}

// sandboxMain is the sandbox process (see the design at oci_state.go): it
// starts the sentry with the boot plan of the state directory os.Args[1]
// and exits with the first process's status.
func sandboxMain() int {
	ready := os.NewFile(readyFD, "ready")
	unix.CloseOnExec(readyFD)
	fail := func(format string, args ...any) int {
		fmt.Fprintf(ready, format+"\n", args...)
		return 1
	}
	if len(os.Args) != 2 {
		return fail("the sandbox process takes its state directory")
	}
	dir := os.Args[1]
	var plan bootPlan
	b, err := os.ReadFile(filepath.Join(dir, "boot.json"))
	if err == nil {
		err = json.Unmarshal(b, &plan)
	}
	if err != nil {
		return fail("the sandbox's boot plan: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
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
	cfg := sentryConfig{
		Root: plan.Rootfs, Cwd: plan.Cwd, Platform: plan.Platform, Argv: plan.Argv, Env: plan.Env,
		MemoryLimit: plan.MemoryLimit, PidsLimit: plan.PidsLimit, LogFile: -1, StraceFile: -1, CwdFile: -1, NetFile: -1, ProfileFile: -1, TraceFile: -1,
		Hostname: plan.Hostname, User: plan.User, Rlimits: plan.Rlimits, Strace: plan.Strace,
		// root.readonly: false is a memory overlay over root.path, or
		// root.path itself with the root-overlay annotation none (see
		// rootOverlayAnnotation); true refuses writes.
		RootWritable: plan.WriteThrough, RootReadOnly: plan.Readonly,
	}
	if plan.DebugLog != "" {
		f, err := openAppend(plan.DebugLog)
		if err != nil {
			return fail("%v", err)
		}
		cfg.LogFile = add(f)
		log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if plan.CgroupsPath != "" && os.Geteuid() == 0 {
		dirs, err := cgroup.Place(plan.CgroupsPath)
		if err != nil {
			log.Warn("the container's cgroup", "err", err)
		}
		if err := recordCgroups(dir, dirs); err != nil {
			return fail("%v", err)
		}
	}
	root, swap, err := openRootfs(plan.Rootfs, plan.WriteThrough, plan.HostUID, plan.HostGID, log)
	if err != nil {
		return fail("root %s: %v", plan.Rootfs, err)
	}
	cfg.RootFile, cfg.RootSwap = add(root), swap
	if cfg.Mounts, err = openMounts(plan.Binds, plan.Tmpfs, add); err != nil {
		return fail("%v", err)
	}
	ln, err := listenControl(dir)
	if err != nil {
		return fail("%v", err)
	}
	cfg.ControlFile = add(ln)
	cfg.ReadyFile = add(ready)
	cg, why, err := cgroup.Create(cgroup.HostLimits(cfg.MemoryLimit, cfg.PidsLimit), log)
	if err != nil {
		return fail("%v", err)
	}
	defer func() {
		if err := cg.Remove(); err != nil {
			log.Warn("the sandbox's cgroup", "err", err)
		}
	}()
	if cg == nil {
		log.Info("the sandbox has no cgroup: its limits are the sentry's only", "why", why)
	} else {
		cg.Prime()
		procs, err := cg.OpenProcs()
		if err != nil {
			return fail("%v", err)
		}
		for _, f := range procs {
			cfg.CgroupFiles = append(cfg.CgroupFiles, add(f))
		}
	}
	s, err := launch.Start(launch.Options{HostUID: plan.HostUID, HostGID: plan.HostGID, Files: files, Config: cfg})
	if err != nil {
		return fail("%v", err)
	}
	for _, f := range files {
		f.Close()
	}
	files = nil
	code, sig, err := s.Wait()
	os.Remove(filepath.Join(dir, control.SocketName))
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "runsc-lite: %v\n", err)
		return 1
	case sig != 0:
		return 128 + int(sig)
	}
	return code
}

// recordCgroups adds the cgroupsPath directories to the state, for
// delete to remove.
func recordCgroups(dir string, dirs []string) error {
	if len(dirs) == 0 {
		return nil
	}
	b, err := json.Marshal(dirs)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "cgroups.json"), b, 0o600)
}

// listenControl binds and listens on the control socket in dir, mode
// 0600. The socket is bound by a name relative to dir (this process's
// working directory then), which a long state path cannot make too long
// for a socket address.
func listenControl(dir string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("the control socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "control")
	if err := os.Chdir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("the control socket: %w", err)
	}
	defer os.Chdir("/")
	old := unix.Umask(0o177)
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: control.SocketName})
	unix.Umask(old)
	if err == nil {
		err = os.Chmod(control.SocketName, 0o600)
	}
	if err == nil {
		err = unix.Listen(fd, 64)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("the control socket in %s: %w", dir, err)
	}
	return f, nil
}

// waitGone waits up to d for the sandbox process of st to end.
func waitGone(st *containerState, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if !st.alive() {
			return true
		}
	}
	return !st.alive()
}
