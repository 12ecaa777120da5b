package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"runsc-lite/cgroup"
	"runsc-lite/sentry/control"
)

// The OCI runtime (runc's command line, which containerd's runc shim and
// Docker drive). Design:
//
//   - A sandbox's state lives in STATE-DIR/ID (--root, default
//     /run/runsc-lite), mode 0700: state.json (the spec's state and what the
//     runtime needs besides), boot.json (what the sandbox is started with,
//     from config.json) and control.sock, the control server's socket
//     (package control), mode 0600.
//   - create leaves the sandbox running detached, as runc leaves the
//     container's init created and blocked: it starts a sandbox process
//     (runsc-lite itself, argv[0] sandboxArg0, in a session of its own)
//     and returns once the sentry that process starts (package launch,
//     its namespaces and seccomp as for run) has built the sandbox and
//     created its first process, blocked until start. The sandbox process
//     binds the control socket and hands it to the sentry, moves itself
//     into config.json's cgroupsPath, waits for the sentry and exits with
//     its status: its pid is the container's pid (--pid-file), the process
//     containerd's shim, a subreaper, inherits when create exits and reaps
//     for the container's exit status. The sentry dies with it
//     (parent-death signal), so no sandbox outlives the process that
//     stands for it.
//   - Every other verb talks to the sentry through the control socket:
//     start, kill, exec, ps, events, pause, resume, debug.
//   - The state is derived, never trusted blindly: a sandbox whose
//     process (pid and start time, against pid reuse) is gone is stopped,
//     whatever state.json said, so a crashed or killed sandbox reads as
//     stopped and delete cleans up after it (its state, its cgroups).

// defaultStateDir is where sandboxes' state lives without --root.
const defaultStateDir = "/run/runsc-lite"

// sandboxArg0 is the argv[0] of a sandbox process that create starts.
const sandboxArg0 = "runsc-lite-sandbox"

// validID is what a container ID may be: runc's rule.
var validID = regexp.MustCompile(`^[\w+.-]+$`)

// containerState is state.json.
type containerState struct {
	ID          string
	Bundle      string
	Pid         int    // the sandbox process
	PidStart    uint64 // its start time (/proc/PID/stat field 22)
	Created     time.Time
	Started     bool
	Paused      bool
	Annotations map[string]string `json:",omitempty"`
	// CgroupDirs are the cgroupsPath directories the sandbox process made.
	CgroupDirs []string `json:",omitempty"`
	// Hooks are config.json's hooks, run by start and delete.
	Hooks *specs.Hooks `json:",omitempty"`
}

// stateDir is the directory of container id.
func stateDir(id string) string { return filepath.Join(globals.root, id) }

// checkID checks a container ID from the command line.
func checkID(id string) error {
	if id == "" {
		return errors.New("missing container ID")
	}
	if !validID.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("container ID %q: want letters, digits, _, +, . and -", id)
	}
	return nil
}

// loadState reads container id's state.
func loadState(id string) (*containerState, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(stateDir(id), "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %q does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	var st containerState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("container %q: its state is damaged: %w", id, err)
	}
	return &st, nil
}

// save writes the state, replacing the file at once.
func (st *containerState) save() error {
	b, err := json.MarshalIndent(st, "", "\t")
	if err != nil {
		return err
	}
	dir := stateDir(st.ID)
	tmp := filepath.Join(dir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("saving the state of %q: %w", st.ID, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "state.json")); err != nil {
		return fmt.Errorf("saving the state of %q: %w", st.ID, err)
	}
	return nil
}

// alive reports whether the sandbox process still runs (not a zombie,
// and the same process: pid and start time).
func (st *containerState) alive() bool {
	if st.Pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return false
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	return err == nil && start == st.PidStart
}

// status is the container's status as the spec names it.
func (st *containerState) status() specs.ContainerState {
	switch {
	case st.Pid == 0:
		return specs.StateCreating
	case !st.alive():
		return specs.StateStopped
	case st.Paused:
		return "paused"
	case st.Started:
		return specs.StateRunning
	}
	return specs.StateCreated
}

// spec returns the state as the OCI runtime spec says `state` prints it.
func (st *containerState) spec() specs.State {
	s := specs.State{Version: specs.Version, ID: st.ID, Status: st.status(), Bundle: st.Bundle, Annotations: st.Annotations}
	if s.Status != specs.StateStopped {
		s.Pid = st.Pid
	}
	return s
}

// client returns the control client of the sandbox.
func (st *containerState) client() control.Client { return control.Client{Dir: stateDir(st.ID)} }

// lock takes an exclusive lock on the container's state directory until
// the returned function is called: verbs that change a container take it
// in turn.
func lockState(id string) (func(), error) {
	fd, err := unix.Open(stateDir(id), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("container %q does not exist", id)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("locking container %q: %w", id, err)
	}
	return func() { unix.Close(fd) }, nil
}

// destroy ends the sandbox (SIGKILL to its process, whose sentry dies
// with it), waits for it to go, and removes what it left: its cgroups
// and its state.
func (st *containerState) destroy() error {
	if st.alive() {
		unix.Kill(st.Pid, unix.SIGKILL)
		for i := 0; i < 500 && st.alive(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if st.alive() {
			return fmt.Errorf("container %q: its sandbox process %d does not end", st.ID, st.Pid)
		}
	}
	var errs []error
	if b, err := os.ReadFile(filepath.Join(stateDir(st.ID), "cgroups.json")); err == nil {
		json.Unmarshal(b, &st.CgroupDirs)
	}
	if err := cgroup.RemoveDirs(st.CgroupDirs); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(stateDir(st.ID)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
