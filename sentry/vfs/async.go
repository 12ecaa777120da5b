package vfs

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Signal-driven I/O (fcntl(2) F_SETOWN, F_SETSIG and O_ASYNC; Linux's
// fs/fcntl.c): an open file description may have an owner, a thread, a
// process or a process group, to which the file's SIGIO (or the F_SETSIG
// signal) goes when the file becomes readable or writable while O_ASYNC
// is on, and a socket's SIGURG when urgent data arrives, O_ASYNC or not.
//
// The VFS hooks it once, generically, on the readiness queue the file
// already notifies for poll: while the file has an owner or is armed for
// O_ASYNC, one entry of the file's own sits on its queue and turns each
// notification into a signal (send_sigio). Only file types that implement
// SignalDriven take part, as only Linux's files with an f_op->fasync do
// (pipes, sockets, terminals, inotify); an eventfd or a timerfd never
// signals. The owner itself is the kernel's (Owner): the VFS knows neither
// tasks nor process groups.
//
// As in Linux, O_ASYNC given to open(2) shows in F_GETFL but arms
// nothing (do_dentry_open never calls fasync); F_SETFL and FIOASYNC arm
// or disarm only when they change the flag, and the flag then follows
// the arming (fasync_helper sets and clears FASYNC, setfl does not): a
// file that cannot signal never shows O_ASYNC set by F_SETFL, and one
// opened with O_ASYNC keeps it and can never be armed. si_fd is the
// descriptor the file was armed through. Linux sends its signals from each file type's own code, so
// which event gives which si_code differs a little from type to type;
// here a notification's events decide it: input (POLLIN) is POLL_IN,
// else output (POLLOUT) POLL_OUT, else POLLPRI, POLLERR, POLLHUP. A
// notification only counts for the directions the file was opened for
// (a pipe's write end hears of space, its read end of data), and every
// notification signals. A file type whose Linux code decides otherwise
// says so (AsyncReasoner): sockets signal a hang-up as POLL_HUP, an error
// as POLL_ERR and room to write only after a send found none, as
// sock_wake_async; a terminal signals input its reader can take (a
// line in canonical mode), and room only after a write found none, as
// n_tty. A notification is one signal; a file type that would notify
// less often than Linux signals makes up for it itself (a UDP socket
// empties netstack's queue at each notification, so that each datagram
// notifies, as each is one sock_def_readable in Linux).

// EventUrgent is a notification, never a readiness event, that urgent
// data arrived (a TCP segment with the urgent pointer): the file's owner
// gets SIGURG (sk_send_sigurg). The bit is POLLFREE's, which Linux too
// keeps out of what poll reports.
const EventUrgent int16 = 0x4000

// SignalDriven is implemented by the files that may send SIGIO: those
// whose Linux counterparts have f_op->fasync.
type SignalDriven interface {
	Waitable
	// SignalDriven marks the implementation; it does nothing.
	SignalDriven()
}

// AsyncReasoner is implemented by SignalDriven files whose Linux
// counterparts choose their signals' si_code otherwise than asyncReason
// does (sockets: sock_wake_async; terminals: n_tty): it returns the
// POLL_* of the signals a notification's events send, in order, none
// for no signal (a TCP FIN that closes both ways is POLL_HUP then
// POLL_IN, as tcp_fin and sk_data_ready send them).
type AsyncReasoner interface {
	AsyncReasons(events int16) []int32
}

// Owner is the target of a file's signals (f_owner), the kernel's.
type Owner interface {
	// ID returns the owner's kind (linux.F_OWNER_TID, F_OWNER_PID or
	// F_OWNER_PGRP) and its ID, 0 once no task answers to it (f_getown).
	ID() (typ, id int32)
	// Signal sends si to the owner's tasks that the setter of the owner
	// may signal (sigio_perm); it must not block.
	Signal(si linux.SignalInfo)
}

// asyncState is a file's owner and O_ASYNC registration.
type asyncState struct {
	mu    sync.Mutex // guards the fields below
	owner Owner      // nil until F_SETOWN
	sig   int32      // F_SETSIG: 0 is SIGIO without siginfo
	armed bool       // O_ASYNC was turned on by F_SETFL or FIOASYNC
	fd    int32      // the descriptor it was armed through (si_fd)
	entry *Entry     // on the file's queue while armed or owned
}

// bandTable is the si_band of each POLL_* reason (band_table).
var bandTable = map[int32]int64{
	linux.POLL_IN:  unix.POLLIN | linux.POLLRDNORM,
	linux.POLL_OUT: unix.POLLOUT | linux.POLLWRNORM | linux.POLLWRBAND,
	linux.POLL_MSG: unix.POLLIN | linux.POLLRDNORM | linux.POLLMSG,
	linux.POLL_ERR: unix.POLLERR,
	linux.POLL_PRI: unix.POLLPRI | linux.POLLRDBAND,
	linux.POLL_HUP: unix.POLLHUP | unix.POLLERR,
}

// Owner returns the file's owner, nil if it has none.
func (f *File) Owner() Owner {
	f.async.mu.Lock()
	defer f.async.mu.Unlock()
	return f.async.owner
}

// SetOwner makes o the file's owner (F_SETOWN, F_SETOWN_EX).
func (f *File) SetOwner(o Owner) {
	f.async.mu.Lock()
	defer f.async.mu.Unlock()
	f.async.owner = o
	f.updateAsyncLocked()
}

// SetDefaultOwner makes o the file's owner unless an owner with an ID
// is set (f_modown without force: a lease makes its taker the owner).
func (f *File) SetDefaultOwner(o Owner) {
	f.async.mu.Lock()
	defer f.async.mu.Unlock()
	if f.async.owner != nil {
		if _, id := f.async.owner.ID(); id != 0 {
			return
		}
	}
	f.async.owner = o
	f.updateAsyncLocked()
}

// SignalOwner sends the owner SIGIO, or the F_SETSIG signal for reason
// (a POLL_*) with si_fd fd, as send_sigio does; nothing without an
// owner. A lease break sends POLL_MSG this way.
func (f *File) SignalOwner(reason, fd int32) {
	f.async.mu.Lock()
	owner, sig := f.async.owner, f.async.sig
	f.async.mu.Unlock()
	if owner != nil {
		owner.Signal(ioSignal(sig, reason, fd))
	}
}

// Sig returns the F_SETSIG signal, 0 for plain SIGIO.
func (f *File) Sig() int32 {
	f.async.mu.Lock()
	defer f.async.mu.Unlock()
	return f.async.sig
}

// SetSig sets the signal of the file's I/O events (F_SETSIG): 0 is SIGIO
// without siginfo, anything past the last signal EINVAL (valid_signal).
func (f *File) SetSig(sig int32) error {
	if sig < 0 || sig > linux.SignalMaximum {
		return unix.EINVAL
	}
	f.async.mu.Lock()
	defer f.async.mu.Unlock()
	f.async.sig = sig
	return nil
}

// SetStatusFlagsFD is F_SETFL through descriptor fd: SetStatusFlags,
// and a change of O_ASYNC arms or disarms the file's signals as Linux's
// setfl calls f_op->fasync (SetAsync); a file that cannot signal keeps
// O_ASYNC as it was, without an error.
func (f *File) SetStatusFlagsFD(ctx context.Context, creds Creds, flags int, fd int32) error {
	if err := f.SetStatusFlags(ctx, creds, flags); err != nil {
		return err
	}
	if err := f.SetAsync(flags&unix.O_ASYNC != 0, fd); err != unix.ENOTTY {
		return err
	}
	return nil
}

// SetAsync arms (on) or disarms the file's SIGIO through descriptor fd
// when on differs from its O_ASYNC flag (FIOASYNC, F_SETFL): ENOTTY for
// a file that cannot signal (ioctl_fioasync). As fasync_helper does, the
// flag follows the arming: O_ASYNC given to open, which armed nothing,
// stays when turned off, and so the file can never be armed.
func (f *File) SetAsync(on bool, fd int32) error {
	f.async.mu.Lock()
	defer f.async.mu.Unlock()
	if on == (f.Flags()&unix.O_ASYNC != 0) {
		return nil
	}
	if _, ok := f.impl.(SignalDriven); !ok {
		return unix.ENOTTY
	}
	if !on && !f.async.armed {
		return nil
	}
	f.async.armed, f.async.fd = on, fd
	f.mu.Lock()
	f.flags &^= unix.O_ASYNC
	if on {
		f.flags |= unix.O_ASYNC
	}
	f.mu.Unlock()
	f.updateAsyncLocked()
	return nil
}

// updateAsyncLocked puts the file's entry on its queue while the file
// is armed or owned, and takes it off otherwise; f.async.mu is held.
func (f *File) updateAsyncLocked() {
	sd, ok := f.impl.(SignalDriven)
	if !ok {
		return
	}
	want := f.async.armed || f.async.owner != nil
	switch {
	case want && f.async.entry == nil:
		f.async.entry = NewEntry(f.asyncMask(), f.asyncNotify)
		sd.EventQueue().Add(f.async.entry)
	case !want && f.async.entry != nil:
		sd.EventQueue().Remove(f.async.entry)
		f.async.entry = nil
	}
}

// asyncMask is the events that signal: those of the directions the file
// was opened for, priority data, and urgent data.
func (f *File) asyncMask() int16 {
	mask := unix.POLLPRI | EventUrgent
	if f.readable() {
		mask |= unix.POLLIN | linux.POLLRDNORM | linux.POLLRDBAND
	}
	if f.writable() {
		mask |= unix.POLLOUT | linux.POLLWRNORM | linux.POLLWRBAND
	}
	return mask
}

// releaseAsync takes the file's entry off its queue (__fput's fasync).
func (f *File) releaseAsync() {
	f.async.mu.Lock()
	defer f.async.mu.Unlock()
	f.async.armed, f.async.owner = false, nil
	f.updateAsyncLocked()
}

// asyncNotify turns a notification into the owner's signals: SIGURG for
// urgent data (and the F_SETSIG signal with POLL_PRI when armed, as
// kill_fasync with SIGURG), SIGIO or the F_SETSIG signal for the rest
// when armed (send_sigio).
func (f *File) asyncNotify(events int16) {
	f.async.mu.Lock()
	owner, sig, armed, fd := f.async.owner, f.async.sig, f.async.armed, f.async.fd
	f.async.mu.Unlock()
	if owner == nil {
		return
	}
	if events&EventUrgent != 0 {
		owner.Signal(linux.SignalInfo{Signo: int32(unix.SIGURG), Code: linux.SI_KERNEL})
		if armed && sig != 0 {
			owner.Signal(ioSignal(sig, linux.POLL_PRI, fd))
		}
		// The data that came with it signals as data (a Unix
		// socket's queue_oob then sk_data_ready).
		if events &^= EventUrgent | unix.POLLPRI | linux.POLLRDBAND; events == 0 {
			return
		}
	}
	if !armed {
		return
	}
	r, ok := f.impl.(AsyncReasoner)
	if !ok {
		owner.Signal(ioSignal(sig, asyncReason(events), fd))
		return
	}
	for _, reason := range r.AsyncReasons(events) {
		owner.Signal(ioSignal(sig, reason, fd))
	}
}

// asyncReason is the POLL_* si_code of a notification's events.
func asyncReason(events int16) int32 {
	switch {
	case events&(unix.POLLIN|linux.POLLRDNORM) != 0:
		return linux.POLL_IN
	case events&(unix.POLLOUT|linux.POLLWRNORM|linux.POLLWRBAND) != 0:
		return linux.POLL_OUT
	case events&(unix.POLLPRI|linux.POLLRDBAND) != 0:
		return linux.POLL_PRI
	case events&unix.POLLERR != 0:
		return linux.POLL_ERR
	}
	return linux.POLL_HUP
}

// ioSignal is the siginfo of an I/O event (send_sigio_to_task): plain
// SIGIO from the kernel when no F_SETSIG signal is set, else that signal
// with the reason, the band and the descriptor; SI_SIGIO replaces the
// reason for the signals whose si_codes mean something else
// (sig_specific_sicodes).
func ioSignal(sig, reason int32, fd int32) linux.SignalInfo {
	if sig == 0 {
		return linux.SignalInfo{Signo: int32(unix.SIGIO), Code: linux.SI_KERNEL}
	}
	si := linux.SignalInfo{Signo: sig, Code: reason}
	switch sig {
	case int32(unix.SIGILL), int32(unix.SIGFPE), int32(unix.SIGSEGV), int32(unix.SIGBUS),
		int32(unix.SIGTRAP), int32(unix.SIGCHLD), int32(unix.SIGSYS):
		si.Code = linux.SI_SIGIO
	}
	si.SetBand(bandTable[reason])
	si.SetFD(uint32(fd))
	// The application sees POLL_* without the kernel's __SI_POLL.
	si.FixSignalCodeForUser()
	return si
}
