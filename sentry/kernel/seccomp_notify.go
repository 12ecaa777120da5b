package kernel

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// Seccomp user notification (seccomp_unotify(2)), as Linux 6.1's
// kernel/seccomp.c: a filter installed with SECCOMP_FILTER_FLAG_NEW_LISTENER
// comes with a listener descriptor; a syscall the filter answers with
// SECCOMP_RET_USER_NOTIF waits until a supervisor holding the listener
// receives it (SECCOMP_IOCTL_NOTIF_RECV) and answers it
// (SECCOMP_IOCTL_NOTIF_SEND: a return value, an error, or "run it"),
// possibly after giving the waiting task a descriptor of its own
// (SECCOMP_IOCTL_NOTIF_ADDFD). A signal ends the wait with ERESTARTSYS, so
// the syscall is made again, and notified again, after a handler with
// SA_RESTART; with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, once received
// only a fatal signal ends it. When the listener is closed every waiting
// syscall, and every later one the filter sends there, fails with ENOSYS.
//
// The supervisor installs a descriptor into the waiting task's table
// itself, where Linux has the task do it when it wakes: the result is the
// same, since the task waits until the answer anyway. Poll reports
// POLLHUP once no live task has the filter; Linux counts a zombie until it
// is reaped. SECCOMP_IOCTL_NOTIF_SET_FLAGS came in Linux 6.6: EINVAL, as
// every ioctl a listener does not know.
//
// Lock order (locks.go): Kernel.mu, then SeccompListener.mu (a new filter
// checks the chain's listeners), then the supervisor's memory and the
// waiting task's descriptor table; the queue's callbacks run with none.

// notifState is where a notification is in its life (Linux's enum
// notify_state).
type notifState int

const (
	notifInit    notifState = iota // waiting to be received
	notifSent                      // received, waiting for the answer
	notifReplied                   // answered
)

// seccompNotif is one syscall waiting for the supervisor.
type seccompNotif struct {
	id   uint64
	task *Task
	data linux.SeccompData

	// Guarded by the listener's mu.
	state notifState
	val   int64
	errno int32
	flags uint32

	sent    chan struct{} // closed when received
	replied chan struct{} // closed when answered
}

// SeccompListener is a filter's listener: both the inode and the file the
// supervisor holds ("anon_inode:seccomp notify").
type SeccompListener struct {
	k      *Kernel
	filter *seccompFilter // set once installed
	ino    uint64
	queue  vfs.Queue

	mu       sync.Mutex // guards the fields below
	detached bool       // the listener was closed
	nextID   uint64
	notifs   []*seccompNotif // not yet answered, oldest first
}

var (
	// listenerDev and lastListenerIno are the st_dev and st_ino of
	// listeners (Linux's single anonymous inode).
	listenerDev     = vfs.NewDeviceID()
	lastListenerIno atomic.Uint64
)

// newSeccompListener returns a listener not yet tied to a filter.
func newSeccompListener(k *Kernel) *SeccompListener {
	// Ids start anywhere, as Linux's (init_listener): a supervisor
	// cannot guess another listener's.
	return &SeccompListener{k: k, ino: lastListenerIno.Add(1), nextID: rand.Uint64()}
}

// hasListener reports whether a filter of chain has a listener still open
// (has_duplicate_listener).
func hasListener(chain *seccompFilter) bool {
	for f := chain; f != nil; f = f.prev {
		if l := f.listener; l != nil {
			l.mu.Lock()
			open := !l.detached
			l.mu.Unlock()
			if open {
				return true
			}
		}
	}
	return false
}

// seccompUserNotif sends syscall data d to the listener of filter f and
// waits for the answer; it reports whether the syscall runs (the
// supervisor said SECCOMP_USER_NOTIF_FLAG_CONTINUE). Otherwise Rax holds
// what the caller sees.
func (t *Task) seccompUserNotif(f *seccompFilter, d *linux.SeccompData) bool {
	l := f.listener
	n, ok := l.add(t, d)
	if !ok {
		t.Regs.Rax = negErrno(unix.ENOSYS) // no listener
		return false
	}
	l.queue.Notify(unix.POLLIN | linux.POLLRDNORM)
	stop := t.Interrupted()
	var sent <-chan struct{}
	if f.waitKillable {
		sent = n.sent
	}
	for {
		select {
		case <-n.replied:
		case <-sent:
			// Received: from now on only a fatal signal ends the wait.
			stop, sent = t.Killed(), nil
			continue
		case <-stop:
		}
		break
	}
	val, errno, flags, answered := l.finish(n)
	switch {
	case !answered:
		t.Regs.Rax = negErrno(ErrRestartSys)
		t.restartErr = ErrRestartSys
		return false
	case flags&unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE != 0:
		return true
	case errno != 0:
		t.Regs.Rax = uint64(int64(errno)) // a negative errno
	default:
		t.Regs.Rax = uint64(val)
	}
	return false
}

// add queues a notification of t's syscall; false once the listener is
// closed.
func (l *SeccompListener) add(t *Task, d *linux.SeccompData) (*seccompNotif, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.detached {
		return nil, false
	}
	l.nextID++
	n := &seccompNotif{id: l.nextID, task: t, data: *d, sent: make(chan struct{}), replied: make(chan struct{})}
	l.notifs = append(l.notifs, n)
	return n, true
}

// finish takes n off the listener once its task stops waiting, with the
// answer if there is one.
func (l *SeccompListener) finish(n *seccompNotif) (val int64, errno int32, flags uint32, answered bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notifs = slices.DeleteFunc(l.notifs, func(o *seccompNotif) bool { return o == n })
	if n.state != notifReplied {
		return 0, 0, 0, false
	}
	return n.val, n.errno, n.flags, true
}

// find returns the notification id; l.mu is held.
func (l *SeccompListener) find(id uint64) *seccompNotif {
	for _, n := range l.notifs {
		if n.id == id {
			return n
		}
	}
	return nil
}

// replyLocked answers n; l.mu is held.
func replyLocked(n *seccompNotif, val int64, errno int32, flags uint32) {
	n.state, n.val, n.errno, n.flags = notifReplied, val, errno, flags
	close(n.replied)
}

// Ioctl implements vfs.Ioctler: the listener's ioctls; EINVAL for others
// (seccomp_notify_ioctl).
func (l *SeccompListener) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	switch cmd {
	case unix.SECCOMP_IOCTL_NOTIF_RECV:
		return 0, l.recv(ctx, mem, arg)
	case unix.SECCOMP_IOCTL_NOTIF_SEND:
		return 0, l.send(mem, arg)
	case unix.SECCOMP_IOCTL_NOTIF_ID_VALID, abi.SECCOMP_IOCTL_NOTIF_ID_VALID_WRONG_DIR:
		return 0, l.idValid(mem, arg)
	}
	// Extensible arguments: the size is the caller's.
	const sizeMask = 0x3fff << 16
	const dirMask = 3 << 30
	if cmd&^(sizeMask|dirMask) == unix.SECCOMP_IOCTL_NOTIF_ADDFD&^(sizeMask|dirMask) {
		return l.addFD(ctx, mem, arg, int(cmd&sizeMask>>16))
	}
	return 0, unix.EINVAL
}

// recv implements SECCOMP_IOCTL_NOTIF_RECV: it waits for a notification
// not yet received and copies it out. The caller's struct must be zeroed.
func (l *SeccompListener) recv(ctx context.Context, mem vfs.Memory, arg uintptr) error {
	var out linux.SeccompNotif
	buf := abi.AsBytes(&out)
	if err := mem.CopyIn(arg, buf); err != nil {
		return err
	}
	for _, b := range buf {
		if b != 0 {
			return unix.EINVAL
		}
	}
	w := vfs.NewWaiter()
	e := w.Entry(unix.POLLIN)
	l.queue.Add(e)
	defer l.queue.Remove(e)
	stop := vfs.Interrupt(ctx)
	for {
		l.mu.Lock()
		for _, n := range l.notifs {
			if n.state == notifInit {
				// The task as the supervisor's namespace has it
				// (task_pid_vnr of the reader), 0 outside it.
				pid := n.task.TID
				if r, ok := vfs.TaskOf(ctx).(*Task); ok {
					pid = r.TIDOf(n.task)
				}
				out = linux.SeccompNotif{ID: n.id, Pid: int32(pid), Data: n.data}
				if err := mem.CopyOut(arg, buf); err != nil {
					l.mu.Unlock()
					return err // it stays to be received
				}
				n.state = notifSent
				close(n.sent)
				l.mu.Unlock()
				l.queue.Notify(unix.POLLOUT | linux.POLLWRNORM)
				return nil
			}
		}
		l.mu.Unlock()
		select {
		case <-w.C():
		case <-stop:
			return unix.EINTR
		}
	}
}

// send implements SECCOMP_IOCTL_NOTIF_SEND: the answer to a received
// notification, once.
func (l *SeccompListener) send(mem vfs.Memory, arg uintptr) error {
	var resp linux.SeccompNotifResp
	if err := mem.CopyIn(arg, abi.AsBytes(&resp)); err != nil {
		return err
	}
	if resp.Flags&^unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE != 0 {
		return unix.EINVAL
	}
	if resp.Flags&unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE != 0 && (resp.Error != 0 || resp.Val != 0) {
		return unix.EINVAL
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.find(resp.ID)
	if n == nil {
		return unix.ENOENT
	}
	if n.state != notifSent {
		return unix.EINPROGRESS
	}
	replyLocked(n, resp.Val, resp.Error, resp.Flags)
	return nil
}

// idValid implements SECCOMP_IOCTL_NOTIF_ID_VALID: whether a received
// notification still waits for its answer.
func (l *SeccompListener) idValid(mem vfs.Memory, arg uintptr) error {
	var id uint64
	if err := mem.CopyIn(arg, abi.AsBytes(&id)); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.find(id); n != nil && n.state == notifSent {
		return nil
	}
	return unix.ENOENT
}

// addFD implements SECCOMP_IOCTL_NOTIF_ADDFD: a descriptor of the
// supervisor's installed in the waiting task's table; with
// SECCOMP_ADDFD_FLAG_SEND, also the answer, whose value is the number.
func (l *SeccompListener) addFD(ctx context.Context, mem vfs.Memory, arg uintptr, size int) (uintptr, error) {
	var a abi.SeccompNotifAddFD
	if size < abi.SECCOMP_NOTIFY_ADDFD_SIZE_VER0 || size >= abi.PageSize {
		return 0, unix.EINVAL
	}
	if err := CopyInExtensible(mem, arg, size, &a); err != nil {
		return 0, err
	}
	setFD := a.Flags&unix.SECCOMP_ADDFD_FLAG_SETFD != 0
	switch {
	case a.NewFDFlags&^unix.O_CLOEXEC != 0,
		a.Flags&^(unix.SECCOMP_ADDFD_FLAG_SETFD|unix.SECCOMP_ADDFD_FLAG_SEND) != 0,
		a.NewFD != 0 && !setFD:
		return 0, unix.EINVAL
	}
	sup, ok := vfs.TaskOf(ctx).(*Task)
	if !ok {
		return 0, unix.EBADF
	}
	f, err := sup.FDs().Get(int32(a.SrcFD))
	if err != nil {
		return 0, unix.EBADF
	}
	defer f.DecRef()
	closeOld := func() {}
	defer func() { closeOld() }() // after l.mu: a close may release any file
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.find(a.ID)
	if n == nil {
		return 0, unix.ENOENT
	}
	if n.state != notifSent {
		return 0, unix.EINPROGRESS
	}
	// Under l.mu, so that the task, which takes it to stop waiting, sees
	// the descriptor and the answer together.
	cloexec := a.NewFDFlags&unix.O_CLOEXEC != 0
	fd := int32(a.NewFD)
	if setFD {
		var c func()
		if c, err = n.task.FDs().InstallAt(f, fd, cloexec); err == nil {
			closeOld = c
		}
	} else {
		fd, err = n.task.FDs().Install(f, 0, cloexec)
	}
	if a.Flags&unix.SECCOMP_ADDFD_FLAG_SEND != 0 {
		// Answered whatever the install gave, as Linux does: the
		// notification was marked answered before the install.
		var val int64
		if err == nil {
			val = int64(fd)
		}
		replyLocked(n, val, 0, 0)
	}
	if err != nil {
		return 0, err
	}
	return uintptr(fd), nil
}

// Readiness implements vfs.Readiness: POLLIN while a notification waits
// to be received, POLLOUT while one waits for its answer, POLLHUP once no
// live task has the filter (seccomp_notify_poll).
func (l *SeccompListener) Readiness(mask int16) int16 {
	var ev int16
	l.mu.Lock()
	for _, n := range l.notifs {
		switch n.state {
		case notifInit:
			ev |= unix.POLLIN | linux.POLLRDNORM
		case notifSent:
			ev |= unix.POLLOUT | linux.POLLWRNORM
		}
	}
	l.mu.Unlock()
	if !l.used() {
		ev |= unix.POLLHUP
	}
	return ev
}

// used reports whether a live task has the listener's filter.
func (l *SeccompListener) used() bool {
	if l.filter == nil {
		return false
	}
	k := l.k
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, t := range k.tasks {
		if s := t.seccomp.Load(); s != nil && chainHas(s.last, l.filter) {
			return true
		}
	}
	return false
}

// chainHas reports whether chain holds f.
func chainHas(chain, f *seccompFilter) bool {
	for c := chain; c != nil; c = c.prev {
		if c == f {
			return true
		}
	}
	return false
}

// seccompExited tells the listeners of the task's filters that it is
// gone, once it is no longer among the kernel's tasks: their poll may
// report POLLHUP.
func (t *Task) seccompExited() {
	s := t.seccomp.Load()
	if s == nil {
		return
	}
	for f := s.last; f != nil; f = f.prev {
		if f.listener != nil {
			f.listener.queue.Notify(unix.POLLHUP)
		}
	}
}

// EventQueue implements vfs.Waitable.
func (l *SeccompListener) EventQueue() *vfs.Queue { return &l.queue }

// Release implements vfs.FileImpl: every syscall waiting on the listener
// fails with ENOSYS, and so does every later one its filter sends here
// (seccomp_notify_detach).
func (l *SeccompListener) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.detached = true
	for _, n := range l.notifs {
		if n.state != notifReplied {
			replyLocked(n, 0, -int32(unix.ENOSYS), 0)
		}
	}
}

// ReadAt implements vfs.FileImpl: a listener is not read.
func (l *SeccompListener) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EINVAL
}

// WriteAt implements vfs.FileImpl: a listener is not written.
func (l *SeccompListener) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EINVAL
}

// Stat implements vfs.Inode: an anonymous inode, mode 0600 without a
// file type, as Linux shows it.
func (l *SeccompListener) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{Dev: listenerDev, Ino: l.ino, Nlink: 1, Mode: 0o600, Blksize: 4096}, nil
}

// Open implements vfs.Inode: a listener cannot be reopened by name.
func (l *SeccompListener) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, unix.ENXIO
}

// LinkName implements vfs.LinkNamer.
func (l *SeccompListener) LinkName() string { return "anon_inode:seccomp notify" }
