package monitor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/interpose"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/strace"
)

// unotify is the supervisor's side.
type unotify struct {
	*monitorState
	listener int
	pid      int  // the launcher, then the program
	started  bool // the launcher's execve was seen; only serve's goroutine sets it, before any other handles
}

func runUnotify(cfg Config) (kernel.ExitStatus, error) {
	m, err := newMonitorState(cfg)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	path, err := exec.LookPath(cfg.Argv[0])
	if err != nil {
		return kernel.ExitStatus{}, fmt.Errorf("%s: %w", cfg.Argv[0], unix.ENOENT)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "supervisor"), os.NewFile(uintptr(fds[1]), "launcher")
	defer ours.Close()
	cmd, err := launcherCommand(cfg, "unotify", path)
	if err != nil {
		theirs.Close()
		return kernel.ExitStatus{}, err
	}
	cmd.ExtraFiles = []*os.File{theirs}
	if err := cmd.Start(); err != nil {
		theirs.Close()
		return kernel.ExitStatus{}, err
	}
	theirs.Close()
	u := &unotify{monitorState: m, pid: cmd.Process.Pid}
	exited := make(chan struct{})
	var status kernel.ExitStatus
	go func() {
		status = waitStatus(cmd.Wait())
		close(exited)
	}()
	u.listener, err = takeListener(u.pid, exited)
	if err != nil {
		cmd.Process.Kill()
		<-exited
		return kernel.ExitStatus{}, err
	}
	defer unix.Close(u.listener)
	if _, err := ours.Write([]byte{1}); err != nil {
		cmd.Process.Kill()
	}
	u.serve(exited)
	if m.watch.has(unix.SYS_EXIT_GROUP) {
		m.line(u.pid, strace.ExitLine(status))
	}
	return status, nil
}

// waitStatus turns what exec.Cmd.Wait returned into an exit status.
func waitStatus(err error) kernel.ExitStatus {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return kernel.ExitStatus{Signal: int(ws.Signal())}
		}
		return kernel.ExitStatus{Code: ee.ExitCode()}
	}
	return kernel.ExitStatus{}
}

// takeListener finds the launcher's listener in /proc/PID/fd and takes a
// copy of it with pidfd_getfd.
func takeListener(pid int, exited <-chan struct{}) (int, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd_open of the launcher: %w", err)
	}
	defer unix.Close(pidfd)
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return -1, errors.New("the launcher exited before installing its filter")
		default:
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if link, _ := os.Readlink(dir + "/" + e.Name()); link == "anon_inode:seccomp notify" {
				n, _ := strconv.Atoi(e.Name())
				fd, err := unix.PidfdGetfd(pidfd, n, 0)
				if err != nil {
					return -1, fmt.Errorf("pidfd_getfd of the listener: %w", err)
				}
				return fd, nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return -1, errors.New("the launcher did not install its filter within 10s")
}

// maxInFlight bounds the notifications handled at once.
const maxInFlight = 64

// serve answers notifications until the program has exited. Once the
// program runs, each is handled on a goroutine of its own (at most
// maxInFlight), so its threads' calls wait for their own hooks only, not
// for one another's.
func (u *unotify) serve(exited <-chan struct{}) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxInFlight)
	for {
		fds := []unix.PollFd{{Fd: int32(u.listener), Events: unix.POLLIN}}
		unix.Poll(fds, 50)
		select {
		case <-exited:
			return
		default:
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			if fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
				<-exited // no task holds the filter any more
				return
			}
			continue
		}
		var n linux.SeccompNotif
		if err := notifRecv(u.listener, &n); err != nil {
			continue // ENOENT: the task was interrupted meanwhile
		}
		if !u.started {
			u.handle(&n) // the launcher's calls, in order, up to its execve
			continue
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			u.handle(&n)
		}()
	}
}

// handle answers one notification.
func (u *unotify) handle(n *linux.SeccompNotif) {
	tid, nr := int(n.Pid), uintptr(n.Data.Nr)
	resp := linux.SeccompNotifResp{ID: n.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	if !u.started {
		// The launcher's own calls, up to and including its execve,
		// which is the program's first: that one the policy may watch.
		if tid != u.pid || nr != unix.SYS_EXECVE {
			notifSend(u.listener, &resp)
			return
		}
		u.started = true
	}
	if !u.watch.has(nr) {
		notifSend(u.listener, &resp) // execve, always notified
		return
	}
	valid := func() bool { return notifIDValid(u.listener, n.ID) }
	task, err := hostTask(tid)
	if err != nil || !valid() {
		return // the task is gone
	}
	var args [6]uintptr
	for i, a := range n.Data.Args {
		args[i] = uintptr(a)
	}
	c := &interpose.Call{Task: task, Nr: nr, Name: u.table.Name(nr), Args: args, Mem: hostMemory{tid: tid, valid: valid}}
	var enter string
	if u.cfg.Strace != nil {
		enter = u.dec.Enter(nr, args, 0, c.Mem)
	}
	start := time.Now()
	act := u.cfg.Hooks.RunBefore(c)
	r := interpose.Result{Unknown: true}
	if v, errno, ok := act.Answered(); ok {
		r = interpose.Result{Value: v, Errno: errno, Answered: true}
	} else if c.Args != args {
		u.cfg.Log.Warn("a hook changed arguments, which seccomp user notification cannot: the call fails with ENOSYS", "syscall", c.Name, "tid", tid)
		r = interpose.Result{Errno: unix.ENOSYS, Answered: true}
	}
	if r.Answered {
		r.Duration = time.Since(start)
		u.cfg.Hooks.RunAfter(c, &r)
		resp.Flags, resp.Val = 0, int64(r.Value)
		if r.Errno != 0 {
			resp.Val, resp.Error = 0, -int32(r.Errno)
		}
	}
	if err := notifSend(u.listener, &resp); err != nil {
		return // the task left the call (a signal, or killed)
	}
	if !r.Answered {
		r.Duration = time.Since(start)
		u.cfg.Hooks.RunAfter(c, &r)
	}
	if u.cfg.Strace != nil {
		if r.Answered {
			rest, result := u.dec.Exit(nr, args, c.Mem, r.Value, r.Errno, false)
			u.line(tid, callLine(enter, rest, result))
		} else {
			// The kernel runs it: what it fills and returns is not seen.
			if strings.HasSuffix(enter, ", ") {
				enter += "..."
			}
			u.line(tid, callLine(enter, ")", "? <run by the host kernel>"))
		}
	}
}
