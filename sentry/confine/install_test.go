package confine

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// sealedActions are what a process does after Install, in TestInstall's
// helper: allowed ones must work, forbidden ones must kill it.
var sealedActions = map[string]func() error{
	"allowed": func() error {
		// New threads (the Go runtime's clone), the sentry's /proc, memory,
		// a socketpair for a stub and a memfd.
		done := make(chan error)
		for i := 0; i < 4; i++ {
			go func() {
				runtime.LockOSThread() // exits with the goroutine: a new thread each time
				_, err := os.ReadFile("/proc/self/stat")
				done <- err
			}()
		}
		for i := 0; i < 4; i++ {
			if err := <-done; err != nil {
				return err
			}
		}
		if _, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		_, err := unix.MemfdCreate("x", unix.MFD_CLOEXEC)
		return err
	},
	"execve":     func() error { return syscall.Exec("/bin/true", []string{"true"}, nil) },
	"fork":       func() error { _, err := syscall.ForkExec("/bin/true", []string{"true"}, nil); return err },
	"socket":     func() error { _, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0); return err },
	"open-write": func() error { _, err := os.OpenFile("/proc/self/comm", os.O_WRONLY, 0); return err },
	"open-below": func() error { _, err := unix.Openat(0, "x", unix.O_RDONLY, 0); return err },
	"ptrace":     func() error { return unix.PtraceAttach(1) },
	"mount":      func() error { return unix.Mount("none", "/", "tmpfs", 0, "") },
	"unshare":    func() error { return unix.Unshare(unix.CLONE_NEWUSER) },
	"exec-map": func() error {
		_, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		return err
	},
}

// TestInstall installs the sentry's systrap program in a child process,
// which then does one thing: what the sentry does works, anything else
// kills the process with SIGSYS (SECCOMP_RET_KILL_PROCESS).
func TestInstall(t *testing.T) {
	if action := os.Getenv("CONFINE_TEST_ACTION"); action != "" {
		insns, err := Filter("systrap", false, false)
		if err == nil {
			err = Install(insns)
		}
		if err != nil {
			os.Stderr.WriteString("install: " + err.Error() + "\n")
			os.Exit(3)
		}
		if err := sealedActions[action](); err != nil {
			os.Stderr.WriteString(action + ": " + err.Error() + "\n")
			os.Exit(2)
		}
		os.Exit(0)
	}
	for action := range sealedActions {
		t.Run(action, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestInstall$")
			cmd.Env = append(os.Environ(), "CONFINE_TEST_ACTION="+action)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			switch {
			case action == "allowed":
				if err != nil {
					t.Errorf("allowed calls after Install: %v\n%s", err, out)
				}
			case errors.As(err, &ee):
				ws := ee.Sys().(syscall.WaitStatus)
				if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
					t.Errorf("%s after Install: %v, want death by SIGSYS\n%s", action, err, out)
				}
			default:
				t.Errorf("%s after Install: %v, want death by SIGSYS\n%s", action, err, out)
			}
		})
	}
}
