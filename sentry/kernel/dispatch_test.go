package kernel_test

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
	unixsocket "runsc-lite/sentry/socket/unix"
)

// A syscall stop as the task's loop handles it: the table's handler runs
// with the registers' arguments, its result or -errno goes to rax, an
// interrupted call restarts or fails with EINTR as signal delivery
// decides, and EPIPE raises SIGPIPE.

const site = 0x401000 // the instruction after the application's syscall

// table returns a table with fn as read(2), write(2) and poll(2), and a
// registered name without a handler for getpid(2).
func table(fn kernel.SyscallFn) *kernel.SyscallTable {
	st := kernel.NewSyscallTable()
	for nr, name := range map[uintptr]string{unix.SYS_READ: "read", unix.SYS_WRITE: "write", unix.SYS_POLL: "poll"} {
		st.Register(nr, kernel.Syscall{Name: name, Fn: fn, Support: kernel.Full})
	}
	st.Register(unix.SYS_GETPID, kernel.Syscall{Name: "getpid"})
	return st
}

// stop runs syscall nr with arguments args as a syscall stop at site.
func stop(task *kernel.Task, nr uintptr, args ...uint64) int64 {
	task.Regs.OrigRax, task.Regs.Rax, task.Regs.Rip = uint64(nr), uint64(nr), site
	regs := []*uint64{&task.Regs.Rdi, &task.Regs.Rsi, &task.Regs.Rdx, &task.Regs.R10, &task.Regs.R8, &task.Regs.R9}
	for i, a := range args {
		*regs[i] = a
	}
	kernel.RunSyscall(task)
	return int64(task.Regs.Rax)
}

func TestDispatchResults(t *testing.T) {
	var got kernel.SyscallArguments
	task := kerneltest.NewTask(t, table(func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		got = a
		switch a[0] {
		case 1:
			return 0, unix.EBADF
		case 2:
			return 0, errors.New("a sentry failure")
		}
		return 42, nil
	}))
	if r := stop(task, unix.SYS_READ, 0, 2, 3, 4, 5, 6); r != 42 || got != (kernel.SyscallArguments{0, 2, 3, 4, 5, 6}) {
		t.Errorf("rax %d, arguments %v: want 42 and the six registers", r, got)
	}
	if r := stop(task, unix.SYS_READ, 1); r != -int64(unix.EBADF) {
		t.Errorf("an errno: rax %d, want -EBADF", r)
	}
	if r := stop(task, unix.SYS_READ, 2); r != -int64(unix.EIO) {
		t.Errorf("an error that is no errno: rax %d, want -EIO", r)
	}
	for _, nr := range []uintptr{unix.SYS_GETPID, 1000} {
		if r := stop(task, nr); r != -int64(unix.ENOSYS) {
			t.Errorf("syscall %d without a handler: rax %d, want -ENOSYS", nr, r)
		}
	}
}

func TestDispatchRestart(t *testing.T) {
	interrupted := func(*kernel.Task, kernel.SyscallArguments) (uintptr, error) { return 0, unix.EINTR }
	for _, c := range []struct {
		name    string
		nr      uintptr
		handler uint64 // 0: SIGUSR1 is ignored
		flags   uint64
		restart bool
	}{
		{"read, no handler", unix.SYS_READ, 0, 0, true},
		{"read, a handler with SA_RESTART", unix.SYS_READ, 0x5000, linux.SA_RESTART, true},
		{"read, a handler without SA_RESTART", unix.SYS_READ, 0x5000, 0, false},
		{"poll, no handler", unix.SYS_POLL, 0, 0, true},
		{"poll, a handler with SA_RESTART", unix.SYS_POLL, 0x5000, linux.SA_RESTART, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			task := kerneltest.NewTask(t, table(interrupted))
			const stackSize = 64 << 10
			task.Regs.Rsp = uint64(kerneltest.Map(t, task, stackSize) + stackSize)
			act := linux.SigAction{Handler: linux.SIG_IGN}
			if c.handler != 0 {
				act = linux.SigAction{Handler: c.handler, Flags: linux.SA_RESTORER | c.flags, Restorer: 0x6000}
			}
			task.TG.SetSigAction(int(unix.SIGUSR1), act)
			task.SetSigMask(bit(unix.SIGUSR1)) // queued while blocked, as if it came during the call
			task.SendSignal(userSignal(unix.SIGUSR1, 0))
			task.SetSigMask(0)
			stop(task, c.nr)
			kernel.DeliverSignals(task)
			// The frame of a handler saved the interrupted context.
			regs := task.Regs
			if c.handler != 0 {
				if regs.Rip != c.handler {
					t.Fatalf("rip %#x: the handler did not run", regs.Rip)
				}
				task.Regs.Rsp += 8
				if _, err := task.SigReturn(); err != nil {
					t.Fatal(err)
				}
				regs = task.Regs
			}
			if c.restart {
				if regs.Rip != site-2 || regs.Rax != uint64(c.nr) {
					t.Errorf("rip %#x rax %d: want the call restarted (rip %#x, rax %d)", regs.Rip, int64(regs.Rax), site-2, c.nr)
				}
			} else if regs.Rip != site || int64(regs.Rax) != -int64(unix.EINTR) {
				t.Errorf("rip %#x rax %d: want EINTR at %#x", regs.Rip, int64(regs.Rax), site)
			}
		})
	}
}

func TestDispatchSIGPIPE(t *testing.T) {
	var quiet bool
	task := kerneltest.NewTask(t, table(func(*kernel.Task, kernel.SyscallArguments) (uintptr, error) {
		if quiet {
			return 0, unixsocket.NoSignal(unix.EPIPE) // MSG_NOSIGNAL
		}
		return 0, unix.EPIPE
	}))
	task.SetSigMask(bit(unix.SIGPIPE))
	if r := stop(task, unix.SYS_READ); r != -int64(unix.EPIPE) || task.PendingSignals() != 0 {
		t.Errorf("EPIPE from read: rax %d, pending %#x; want -EPIPE and no signal", r, task.PendingSignals())
	}
	if r := stop(task, unix.SYS_WRITE); r != -int64(unix.EPIPE) || task.PendingSignals() != bit(unix.SIGPIPE) {
		t.Errorf("EPIPE from write: rax %d, pending %#x; want -EPIPE and SIGPIPE", r, task.PendingSignals())
	}
	task.Dequeue(bit(unix.SIGPIPE))
	quiet = true
	if r := stop(task, unix.SYS_WRITE); r != -int64(unix.EPIPE) || task.PendingSignals() != 0 {
		t.Errorf("EPIPE under MSG_NOSIGNAL: rax %d, pending %#x; want -EPIPE and no signal", r, task.PendingSignals())
	}
}
