package linux

import (
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/mqueue"
	"runsc-lite/sentry/socket/netlink"
	"runsc-lite/sentry/vfs"
)

// POSIX message queues (package mqueue): mq_open, mq_unlink,
// mq_timedsend, mq_timedreceive, mq_notify, mq_getsetattr.

func registerMQueue(st *kernel.SyscallTable) {
	fd, path, hex, oct, i := kernel.ArgFD, kernel.ArgPath, kernel.ArgHex, kernel.ArgOct, kernel.ArgInt
	reg(st, unix.SYS_MQ_OPEN, "mq_open", mqOpen, path, hex, oct, hex)
	reg(st, unix.SYS_MQ_UNLINK, "mq_unlink", mqUnlink, path)
	reg(st, unix.SYS_MQ_TIMEDSEND, "mq_timedsend", mqTimedSend, fd, hex, i, i, hex)
	reg(st, unix.SYS_MQ_TIMEDRECEIVE, "mq_timedreceive", mqTimedReceive, fd, hex, i, hex, hex)
	reg(st, unix.SYS_MQ_NOTIFY, "mq_notify", mqNotify, fd, hex)
	reg(st, unix.SYS_MQ_GETSETATTR, "mq_getsetattr", mqGetSetAttr, fd, hex, hex)
}

// mqCaller is who t is to the queues.
func mqCaller(t *kernel.Task) *mqueue.Caller {
	c := t.Creds()
	return &mqueue.Caller{
		UID: c.UID.FS, GID: c.GID.FS, Groups: c.Groups,
		Resource: c.HasCap(linux.CAP_SYS_RESOURCE), Owner: c.HasCap(linux.CAP_DAC_OVERRIDE) || c.HasCap(linux.CAP_FOWNER),
		Interrupt: t.Interrupted(), Memory: t.MemoryAccount(),
	}
}

func mqOpen(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := int(a.Int(1))
	var attr *mqueue.Attr
	if flags&unix.O_CREAT != 0 && a.Pointer(3) != 0 {
		var ma linux.MqAttr
		if err := kernel.CopyIn(t, a.Pointer(3), &ma); err != nil {
			return 0, err
		}
		attr = &mqueue.Attr{MaxMsg: ma.MqMaxmsg, MsgSize: ma.MqMsgsize}
	}
	name, err := copyInPath(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	if err := t.FDs().Room(); err != nil {
		return 0, err
	}
	mode := a.Uint(2) &^ t.FS().Umask()
	f, err := t.IPCNS().MQ.Open(mqCaller(t), name, flags, mode, attr)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&unix.O_CLOEXEC != 0)
	return uintptr(fd), err
}

func mqUnlink(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	name, err := copyInPath(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	return 0, t.IPCNS().MQ.Unlink(mqCaller(t), name)
}

// mqDeadline reads an absolute CLOCK_REALTIME timeout (none at address
// 0): EFAULT when it cannot be read, EINVAL when it is not a valid time.
// The channel fires when it passes.
func mqDeadline(t *kernel.Task, addr uintptr) (<-chan time.Time, *time.Timer, error) {
	if addr == 0 {
		return nil, nil, nil
	}
	var ts linux.Timespec
	if err := kernel.CopyIn(t, addr, &ts); err != nil {
		return nil, nil, err
	}
	if !ts.Valid() {
		return nil, nil, unix.EINVAL
	}
	now, _ := t.K.Clocks.Now(unix.CLOCK_REALTIME)
	timer := time.NewTimer(clocks.HostWait(timespecDuration(ts) - now))
	return timer.C, timer, nil
}

// mqFile returns the queue open at fd and its file, which the caller
// releases: EBADF if fd is not an mq descriptor open for writing (or
// reading).
func mqFile(t *kernel.Task, fd int32, write bool) (*vfs.File, *mqueue.Queue, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	q, err := mqueue.Of(f)
	if err == nil && (write && !f.Writable() || !write && !f.Readable()) {
		err = unix.EBADF
	}
	if err != nil {
		f.DecRef()
		return nil, nil, err
	}
	return f, q, nil
}

// mqTimedSend: the timeout is read first (EFAULT), then the priority
// (EINVAL), the timeout's value, the descriptor and the size, as
// do_mq_timedsend checks them.
func mqTimedSend(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	msg, size, prio := a.Pointer(1), uint64(a.Pointer(2)), uint32(a.Uint(3))
	var ts linux.Timespec
	if a.Pointer(4) != 0 {
		if err := kernel.CopyIn(t, a.Pointer(4), &ts); err != nil {
			return 0, err
		}
	}
	if uint64(a.Pointer(3)) >= linux.MQ_PRIO_MAX {
		return 0, unix.EINVAL
	}
	deadline, timer, err := mqDeadline(t, a.Pointer(4))
	if err != nil {
		return 0, err
	}
	if timer != nil {
		defer timer.Stop()
	}
	f, q, err := mqFile(t, a.Int(0), true)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if size > uint64(q.MsgSize()) {
		return 0, unix.EMSGSIZE
	}
	text := make([]byte, size)
	if err := kernel.CopyInSlice(t, msg, text); err != nil {
		return 0, err
	}
	return 0, q.Send(mqCaller(t), text, prio, f.Flags()&unix.O_NONBLOCK != 0, deadline, t.KernelPID())
}

func mqTimedReceive(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	msg, size, prioAddr := a.Pointer(1), uint64(a.Pointer(2)), a.Pointer(3)
	deadline, timer, err := mqDeadline(t, a.Pointer(4))
	if err != nil {
		return 0, err
	}
	if timer != nil {
		defer timer.Stop()
	}
	f, q, err := mqFile(t, a.Int(0), false)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if size < uint64(q.MsgSize()) {
		return 0, unix.EMSGSIZE
	}
	text, prio, err := q.Receive(mqCaller(t), f.Flags()&unix.O_NONBLOCK != 0, deadline)
	if err != nil {
		return 0, err
	}
	if err := kernel.CopyOutSlice(t, msg, text); err != nil {
		return 0, err
	}
	if prioAddr != 0 {
		if err := kernel.CopyOut(t, prioAddr, &prio); err != nil {
			return 0, err
		}
	}
	return uintptr(len(text)), nil
}

// mqNotify: the sigevent is checked before the descriptor (EINVAL before
// EBADF), as do_mq_notify does. SIGEV_THREAD is the C library's: it
// names a netlink socket, which gets the 32-byte cookie when the
// notification fires (last byte NOTIFY_WOKENUP) or is removed
// (NOTIFY_REMOVED).
func mqNotify(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var n *mqueue.Notifier
	if a.Pointer(1) != 0 {
		var ev linux.Sigevent
		if err := kernel.CopyIn(t, a.Pointer(1), &ev); err != nil {
			return 0, err
		}
		var err error
		if n, err = mqNotifier(t, ev); err != nil {
			return 0, err
		}
	}
	f, q, err := mqFile(t, a.Int(0), false)
	if err == unix.EBADF {
		// Any mq descriptor will do, whatever its access mode.
		if f, err = getFile(t, a.Int(0)); err == nil {
			q, err = mqueue.Of(f)
			if err != nil {
				f.DecRef()
			}
		}
	}
	if err != nil {
		if n != nil && n.Remove != nil {
			n.Remove()
		}
		return 0, err
	}
	defer f.DecRef()
	if err := q.SetNotifier(n, t.TG); err != nil {
		if n.Remove != nil {
			n.Remove()
		}
		return 0, err
	}
	return 0, nil
}

// mqNotifier builds the registration ev asks for.
func mqNotifier(t *kernel.Task, ev linux.Sigevent) (*mqueue.Notifier, error) {
	n := &mqueue.Notifier{Owner: t.TG, PID: t.KernelPID(), Signo: ev.Signo, Notify: ev.Notify}
	switch ev.Notify {
	case linux.SIGEV_NONE:
		n.Fire = func(int, uint32) {}
	case linux.SIGEV_SIGNAL:
		if ev.Signo < 0 || ev.Signo > linux.SignalMaximum {
			return nil, unix.EINVAL
		}
		tg, sig, value := t.TG, ev.Signo, ev.Value
		n.Fire = func(pid int, uid uint32) {
			if sig == 0 {
				return
			}
			// The sender as the owner's PID namespace has it.
			si := kernel.NewSigInfo(sig, linux.SI_MESGQ, t.IDOf(pid), uid)
			si.SetSigval(value)
			tg.SendSignal(si)
		}
	case linux.SIGEV_THREAD:
		cookie := make([]byte, linux.NOTIFY_COOKIE_LEN)
		if err := kernel.CopyInSlice(t, uintptr(ev.Value), cookie); err != nil {
			return nil, err
		}
		sf, err := t.FDs().Get(ev.Signo)
		if err != nil {
			return nil, err
		}
		sock, ok := netlink.FromFile(sf)
		if !ok {
			sf.DecRef()
			if st, err := sf.Stat(); err == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK {
				return nil, unix.EINVAL
			}
			return nil, unix.ENOTSOCK
		}
		send := func(code byte) {
			c := append([]byte(nil), cookie...)
			c[linux.NOTIFY_COOKIE_LEN-1] = code
			sock.Deliver(c)
			sf.DecRef()
		}
		n.Fire = func(int, uint32) { send(linux.NOTIFY_WOKENUP) }
		n.Remove = func() { send(linux.NOTIFY_REMOVED) }
	default:
		return nil, unix.EINVAL
	}
	return n, nil
}

func mqGetSetAttr(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var set linux.MqAttr
	if a.Pointer(1) != 0 {
		if err := kernel.CopyIn(t, a.Pointer(1), &set); err != nil {
			return 0, err
		}
		if set.MqFlags&^unix.O_NONBLOCK != 0 {
			return 0, unix.EINVAL
		}
	}
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	q, err := mqueue.Of(f)
	if err != nil {
		return 0, err
	}
	old := q.Attr()
	old.MqFlags = int64(f.Flags() & unix.O_NONBLOCK)
	if a.Pointer(1) != 0 {
		flags := f.Flags()&^unix.O_NONBLOCK | int(set.MqFlags)
		if err := f.SetStatusFlags(t.Ctx(), t.FSCreds(), flags); err != nil {
			return 0, err
		}
	}
	if a.Pointer(2) != 0 {
		return 0, kernel.CopyOut(t, a.Pointer(2), &old)
	}
	return 0, nil
}
