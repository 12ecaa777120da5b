package vfs

import (
	"context"

	"golang.org/x/sys/unix"
)

// Terminal is the kernel's side of a terminal (kernel.TTY): the session
// it controls, its foreground process group and the job control rules.
// Files of terminals (an imported host terminal, a pseudo-terminal's
// slave) ask it before they act; the rules live once, in the kernel.
type Terminal interface {
	// CheckAccess is asked before a read (SIGTTIN), a write with TOSTOP
	// or a change of the terminal's settings (SIGTTOU): nil, EIO, or a
	// restart error after the caller's group was sent sig.
	CheckAccess(ctx context.Context, sig unix.Signal) error
	// Ioctl answers TIOCGPGRP, TIOCSPGRP, TIOCGSID, TIOCSCTTY and
	// TIOCNOTTY; handled is false for other commands. readable says
	// whether the file was opened for reading.
	Ioctl(ctx context.Context, mem Memory, cmd uint32, arg uintptr, readable bool) (ret uintptr, handled bool, err error)
	// SignalForeground sends sig to the foreground process group (the
	// line discipline's ISIG characters, a window size change); false
	// if there is none.
	SignalForeground(sig int) bool
	// ForegroundGroup is the foreground process group (0: none), as the
	// master side of a pseudo-terminal asks it.
	ForegroundGroup() int
	// Acquire makes the terminal the controlling terminal of the
	// caller's session when the caller leads a session that has none
	// and no session has the terminal (an open without O_NOCTTY).
	Acquire(ctx context.Context)
	// HangUp is the hang-up of the terminal (its pseudo-terminal master
	// closed): the session leader gets SIGHUP and SIGCONT and the
	// session loses the terminal.
	HangUp()
}

// TerminalMaker is implemented by the calling task (vfs.TaskOf): it makes
// the kernel's side of a new terminal of device number rdev, which reopen
// opens again (/dev/tty).
type TerminalMaker interface {
	NewTerminalControl(rdev uint64, reopen func(flags int) (FileImpl, error)) Terminal
}
