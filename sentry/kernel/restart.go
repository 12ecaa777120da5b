package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Restarting syscalls interrupted by signals, as Linux does
// (arch/x86/kernel/signal.c): a blocking syscall that a signal interrupts
// returns one of the internal errnos below; before the task returns to
// the application, signal delivery decides what the application sees.
// When a handler runs, ERESTARTSYS becomes EINTR unless the handler has
// SA_RESTART, ERESTARTNOHAND and ERESTART_RESTARTBLOCK always become
// EINTR; without a handler (the signal was ignored, taken by another
// thread, or stopped and continued the process) every one of them is
// restarted. A restart rewinds rip over the 2-byte syscall instruction
// and puts the syscall number back in rax, so the frame of a handler
// saves a context that re-enters the syscall on rt_sigreturn.
// ERESTART_RESTARTBLOCK re-enters through restart_syscall instead, which
// finishes the call with what it saved (the time left of a sleep).
const (
	ErrRestartSys     = unix.Errno(512) // ERESTARTSYS
	ErrRestartNoIntr  = unix.Errno(513) // ERESTARTNOINTR: always restarted
	ErrRestartNoHand  = unix.Errno(514) // ERESTARTNOHAND
	ErrRestartBlock   = unix.Errno(516) // ERESTART_RESTARTBLOCK
	syscallInsnLength = 2
)

func isRestart(e unix.Errno) bool {
	return e == ErrRestartSys || e == ErrRestartNoIntr || e == ErrRestartNoHand || e == ErrRestartBlock
}

// ErrIntrNoRestart is an EINTR that stays EINTR, whatever the signal's
// handler: what Linux's syscalls that settle it themselves return (select
// under STICKY_TIMEOUTS, poll_select_finish).
var ErrIntrNoRestart error = intrNoRestart{}

type intrNoRestart struct{}

func (intrNoRestart) Error() string { return "interrupted, not to be restarted" }
func (intrNoRestart) Unwrap() error { return unix.EINTR }

// interruptedErrno is what an interrupted syscall nr returns in Linux,
// for handlers that report the interruption as EINTR. signal(7) lists
// the calls that never restart after a handler (ERESTARTNOHAND) and those
// that fail with EINTR even without one; everything else that blocks
// restarts under SA_RESTART (ERESTARTSYS).
func interruptedErrno(nr uintptr) unix.Errno {
	switch nr {
	case unix.SYS_POLL, unix.SYS_PPOLL, unix.SYS_SELECT, unix.SYS_PSELECT6,
		unix.SYS_RT_SIGSUSPEND, unix.SYS_PAUSE, unix.SYS_IO_PGETEVENTS:
		return ErrRestartNoHand
	case unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2, unix.SYS_RT_SIGTIMEDWAIT,
		unix.SYS_SEMOP, unix.SYS_SEMTIMEDOP, unix.SYS_MSGRCV, unix.SYS_MSGSND,
		unix.SYS_IO_GETEVENTS:
		return unix.EINTR
	}
	return ErrRestartSys
}

// SetRestartBlock records how restart_syscall finishes the current
// syscall, which returns ErrRestartBlock (Linux's restart_block).
func (t *Task) SetRestartBlock(fn SyscallFn) { t.restartBlock = fn }

// RestartSyscall implements restart_syscall(2): it runs the function the
// interrupted syscall saved, or fails with EINTR if there is none.
func (t *Task) RestartSyscall() (uintptr, error) {
	fn := t.restartBlock
	t.restartBlock = nil
	if fn == nil {
		return 0, unix.EINTR
	}
	return fn(t, SyscallArguments{})
}

// restartAfterSignal settles the result of a syscall interrupted by a
// signal, once the task knows whether a handler runs (handled, with its
// sigaction flags).
func (t *Task) restartAfterSignal(handled bool, flags uint64) {
	e := t.restartErr
	if e == 0 {
		return
	}
	t.restartErr = 0
	restart := false
	switch e {
	case ErrRestartNoIntr:
		restart = true
	case ErrRestartSys:
		restart = !handled || flags&linux.SA_RESTART != 0
	case ErrRestartNoHand, ErrRestartBlock:
		restart = !handled
	}
	if !restart {
		eintr := unix.EINTR
		t.Regs.Rax = uint64(-int64(eintr))
		return
	}
	t.Regs.Rip -= syscallInsnLength
	t.Regs.Rax = t.Regs.OrigRax
	if e == ErrRestartBlock {
		t.Regs.Rax = unix.SYS_RESTART_SYSCALL
	}
}
