package monitor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Both monitors start the program through a copy of this binary, the
// launcher (launcherEnv in its environment, read by this package's init):
// on its one locked thread it sets no_new_privs, installs the monitor's
// seccomp filter, and executes the program, which inherits the filter.
// Under unotify the filter's listener goes to the supervisor first (it
// takes it with pidfd_getfd; the launcher waits on descriptor 3 until it
// has, then closes its copy). Under ptrace the filter makes the policy's
// syscalls stop the traced launcher and program (SECCOMP_RET_TRACE); the
// launcher waits on descriptor 3 until the tracer has seized it.
const (
	launcherEnv      = "RUNSC_LITE_MONITOR_LAUNCHER" // MODE:SYSCALLS, SYSCALLS "all" or numbers
	launcherEnvArmed = "RUNSC_LITE_MONITOR_ARMED"    // set by the monitor: the launcher may run
)

func init() {
	if v, ok := os.LookupEnv(launcherEnv); ok && os.Getenv(launcherEnvArmed) == "1" {
		mode, list, _ := strings.Cut(v, ":")
		os.Exit(launch(mode, list))
	}
}

// launcherCommand is the command that starts the launcher for cfg's
// program at path under monitor mode, its syscalls (always execve: the
// monitor tells the launcher's calls from the program's by it) in its
// environment.
func launcherCommand(cfg Config, mode, path string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	nrs, all := cfg.policy()
	list := []string{strconv.Itoa(unix.SYS_EXECVE)}
	for _, nr := range nrs {
		list = append(list, strconv.FormatUint(uint64(nr), 10))
	}
	if all || len(list) > maxFilterSyscalls {
		// A long list costs more per call than stopping every call and
		// letting those the policy does not watch go on.
		list = []string{"all"}
	}
	cmd := exec.Command(self, append([]string{path}, cfg.Argv...)...)
	cmd.Args[0] = cfg.Argv[0]
	cmd.Env = append(append([]string(nil), cfg.Env...), launcherEnv+"="+mode+":"+strings.Join(list, ","), launcherEnvArmed+"=1")
	cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = cfg.Dir, cfg.Stdin, cfg.Stdout, cfg.Stderr
	return cmd, nil
}

// launch is the launcher: os.Args[1] is the program's path, the rest its
// argv.
func launch(mode, list string) int {
	// init runs on the main thread: locked, it is the thread the filter
	// goes on and the one that executes the program.
	runtime.LockOSThread()
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "runsc-lite trace: %v\n", err)
		return 126
	}
	if len(os.Args) < 3 {
		return fail(errors.New("launcher: no command"))
	}
	var nrs []uintptr
	all := list == "all"
	if !all {
		for _, f := range strings.Split(list, ",") {
			nr, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return fail(fmt.Errorf("launcher: bad syscall list %q", list))
			}
			nrs = append(nrs, uintptr(nr))
		}
	}
	action := map[string]uint32{"unotify": unix.SECCOMP_RET_USER_NOTIF, "ptrace": unix.SECCOMP_RET_TRACE}[mode]
	if action == 0 {
		return fail(fmt.Errorf("launcher: unknown monitor %q", mode))
	}
	prog, err := monitorFilter(nrs, all, action)
	if err != nil {
		return fail(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, launcherEnv+"=") && !strings.HasPrefix(kv, launcherEnvArmed+"=") {
			env = append(env, kv)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("no_new_privs: %w", err))
	}
	if mode == "unotify" {
		const sock = 3
		unix.CloseOnExec(sock)
		listener, err := installFilter(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
		if err != nil {
			return fail(fmt.Errorf("installing the seccomp filter: %w", err))
		}
		// The supervisor finds the listener in /proc and takes it; until
		// it says so, this read may itself wait for it (if read is
		// watched).
		var b [1]byte
		if n, err := unix.Read(sock, b[:]); n != 1 || err != nil {
			return fail(fmt.Errorf("the supervisor did not take the listener: %v", err))
		}
		unix.Close(listener)
		unix.Close(sock)
	} else {
		// The tracer seizes this thread, then says so: the filter's
		// stops need a tracer (without one a traced call fails).
		const sock = 3
		var b [1]byte
		if n, err := unix.Read(sock, b[:]); n != 1 || err != nil {
			return fail(fmt.Errorf("the tracer did not attach: %v", err))
		}
		unix.Close(sock)
		if _, err := installFilter(prog, 0); err != nil {
			return fail(fmt.Errorf("installing the seccomp filter: %w", err))
		}
	}
	err = unix.Exec(os.Args[1], os.Args[2:], env)
	fmt.Fprintf(os.Stderr, "runsc-lite trace: %s: %v\n", os.Args[1], err)
	if errors.Is(err, unix.ENOENT) {
		return 127
	}
	return 126
}
