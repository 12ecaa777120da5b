// Package mqueue is the sandbox's POSIX message queues (mq_overview(7)):
// a registry of named queues, each a list of messages ordered by
// priority, that mq_open's descriptors send to and receive from.
//
// Design decisions:
//
//   - A registry is one IPC namespace's mqueue filesystem
//     (kernel.IPCNamespace), kept in the sentry: a queue is never a
//     host object.
//     Its limits are Linux's defaults (/proc/sys/fs/mqueue: queues_max
//     256, msg_max 10, msgsize_max 8192), which the sandbox's root
//     (CAP_SYS_RESOURCE) may pass up to the hard limits, as in Linux.
//   - What queued messages hold counts against the sandbox's memory
//     limit as Linux counts it against RLIMIT_MSGQUEUE: a queue's
//     capacity (maxmsg * msgsize plus overhead) is reserved when it is
//     created, so a full queue never needs more.
//   - A descriptor is a vfs.File whose implementation is a Descriptor;
//     reading it gives the queue's status line as Linux's mqueue files
//     do. Blocking send and receive wait in this package, woken by any
//     change of the queue, the caller's interrupt or the deadline.
//   - Notification (mq_notify) is a callback the syscall layer builds
//     (a signal, or a cookie sent on a netlink socket for SIGEV_THREAD),
//     run once, when a message arrives on an empty queue that no
//     receiver is waiting on.
package mqueue

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// Limits (include/linux/ipc_namespace.h defaults).
const (
	QueuesMax  = linux.DFLT_QUEUESMAX
	MsgMax     = linux.DFLT_MSGMAX
	MsgSizeMax = linux.DFLT_MSGSIZEMAX
	// msgOverhead is what a message costs besides its text, for the
	// reservation (struct msg_msg and the priority tree's node).
	msgOverhead = 64
)

var (
	dev     = vfs.NewDeviceID()
	lastIno atomic.Uint64
)

// Caller is who opens, unlinks or uses a queue.
type Caller struct {
	UID, GID uint32 // filesystem IDs
	Groups   []uint32
	// Resource is CAP_SYS_RESOURCE (past the soft limits); Owner is
	// CAP_DAC_OVERRIDE (past the queue's permissions).
	Resource, Owner bool
	// Interrupt closes when a blocking operation must return EINTR.
	Interrupt <-chan struct{}
	// Memory is the sandbox's account a new queue's capacity is charged
	// to; nil charges nothing.
	Memory *usage.Memory
}

// Registry is the sandbox's named queues.
type Registry struct {
	mu     sync.Mutex
	queues map[string]*Queue // guarded by mu
	count  int               // queues alive, named or not; guarded by mu
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{queues: make(map[string]*Queue)} }

type message struct {
	prio uint32
	text []byte
}

// Queue is one message queue; it is the inode of its descriptors.
type Queue struct {
	r        *Registry
	name     string
	ino      uint64
	uid, gid uint32
	mode     uint32
	maxMsg   int64
	msgSize  int64
	mem      *usage.Memory // what charged is charged to
	charged  uint64
	events   vfs.Queue // poll and epoll waiters

	// mu guards the fields below.
	mu        sync.Mutex
	msgs      []message // highest priority first, FIFO within one
	bytes     int64
	receivers int           // tasks blocked in receive
	changed   chan struct{} // closed and replaced at every change
	notifier  *Notifier
	opens     int // descriptors open on it
	unlinked  bool
}

// Notifier is a registration of mq_notify.
type Notifier struct {
	Owner  any                                   // the registering process: only it may unregister
	PID    int                                   // NOTIFY_PID of the status line: the owner's kernel ID
	Signo  int32                                 // the signal, 0 for none
	Notify int32                                 // SIGEV_*
	Fire   func(senderPID int, senderUID uint32) // the sender's kernel IDs
	Remove func()                                // told when the registration goes without firing
}

// Attr are a new queue's limits (mq_attr's maxmsg and msgsize); nil
// gives the defaults.
type Attr struct{ MaxMsg, MsgSize int64 }

// Open implements mq_open(2) for name (without its leading slash):
// flags are open(2)'s, mode and attr used when it creates the queue.
func (r *Registry) Open(c *Caller, name string, flags int, mode uint32, attr *Attr) (*vfs.File, error) {
	switch {
	case name == "":
		return nil, unix.ENOENT
	case len(name) > unix.NAME_MAX:
		return nil, unix.ENAMETOOLONG
	case containsSlash(name):
		return nil, unix.EACCES
	case flags&unix.O_ACCMODE == unix.O_ACCMODE:
		return nil, unix.EINVAL
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.queues[name]
	switch {
	case q != nil && flags&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL:
		return nil, unix.EEXIST
	case q == nil && flags&unix.O_CREAT == 0:
		return nil, unix.ENOENT
	case q == nil:
		var err error
		if q, err = r.create(c, name, mode, attr); err != nil {
			return nil, err
		}
	default:
		if err := q.mayOpen(c, flags); err != nil {
			return nil, err
		}
	}
	q.mu.Lock()
	q.opens++
	q.mu.Unlock()
	return vfs.NewFile(nil, nil, q, &Descriptor{q: q}, flags&(unix.O_ACCMODE|unix.O_NONBLOCK)), nil
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

// create makes and names a queue; r.mu is held.
func (r *Registry) create(c *Caller, name string, mode uint32, attr *Attr) (*Queue, error) {
	a := Attr{MaxMsg: MsgMax, MsgSize: MsgSizeMax}
	if attr != nil {
		if attr.MaxMsg <= 0 || attr.MsgSize <= 0 {
			return nil, unix.EINVAL
		}
		if !c.Resource && (attr.MaxMsg > MsgMax || attr.MsgSize > MsgSizeMax) ||
			attr.MaxMsg > linux.HARD_MSGMAX || attr.MsgSize > linux.HARD_MSGSIZEMAX {
			return nil, unix.EINVAL
		}
		a = *attr
	}
	if r.count >= QueuesMax && !c.Resource {
		return nil, unix.ENOSPC
	}
	charge := uint64(a.MaxMsg) * uint64(a.MsgSize+msgOverhead)
	// Queued messages are kernel memory, counted with the other kernel
	// queue the account knows, pipes' data.
	if !c.Memory.Charge(usage.Pipes, charge) {
		return nil, unix.ENOMEM
	}
	q := &Queue{r: r, name: name, ino: lastIno.Add(1), uid: c.UID, gid: c.GID, mode: mode & 0o777, mem: c.Memory,
		maxMsg: a.MaxMsg, msgSize: a.MsgSize, charged: charge, changed: make(chan struct{})}
	r.queues[name] = q
	r.count++
	return q, nil
}

// permits reports whether c may access q for want (bits of 0o7).
func (q *Queue) permits(c *Caller, want uint32) bool {
	granted := q.mode
	switch {
	case c.UID == q.uid:
		granted >>= 6
	case c.GID == q.gid || inGroups(c.Groups, q.gid):
		granted >>= 3
	}
	return c.Owner || want&^granted&7 == 0
}

func inGroups(groups []uint32, g uint32) bool {
	for _, x := range groups {
		if x == g {
			return true
		}
	}
	return false
}

// mayOpen checks that c may open q with flags' access mode.
func (q *Queue) mayOpen(c *Caller, flags int) error {
	want := map[int]uint32{unix.O_RDONLY: 4, unix.O_WRONLY: 2, unix.O_RDWR: 6}[flags&unix.O_ACCMODE]
	if !q.permits(c, want) {
		return unix.EACCES
	}
	return nil
}

// Unlink implements mq_unlink(2): the name goes at once, the queue when
// its last descriptor closes. Removing a name needs write permission on
// the mqueue filesystem's root, which is world-writable and sticky as
// Linux mounts it: only the queue's owner (or CAP_FOWNER, Owner here)
// may.
func (r *Registry) Unlink(c *Caller, name string) error {
	switch {
	case name == "":
		return unix.ENOENT
	case len(name) > unix.NAME_MAX:
		return unix.ENAMETOOLONG
	case containsSlash(name):
		return unix.EACCES
	}
	r.mu.Lock()
	q := r.queues[name]
	if q == nil {
		r.mu.Unlock()
		return unix.ENOENT
	}
	if c.UID != q.uid && !c.Owner {
		r.mu.Unlock()
		return unix.EACCES
	}
	delete(r.queues, name)
	r.mu.Unlock()
	r.unlinked(q)
	return nil
}

// unlinked marks q as without a name, and frees it if nothing has it
// open either.
func (r *Registry) unlinked(q *Queue) {
	q.mu.Lock()
	q.unlinked = true
	gone := q.opens == 0
	q.mu.Unlock()
	if gone {
		r.free(q)
	}
}

// UnlinkAll removes every name, as the end of the IPC namespace whose
// mqueue file system r is does (put_ipc_ns unmounts it): a queue still
// open lives until its last descriptor closes.
func (r *Registry) UnlinkAll() {
	r.mu.Lock()
	queues := r.queues
	r.queues = make(map[string]*Queue)
	r.mu.Unlock()
	for _, q := range queues {
		r.unlinked(q)
	}
}

// free gives back a queue that has neither a name nor a descriptor.
func (r *Registry) free(q *Queue) {
	r.mu.Lock()
	r.count--
	r.mu.Unlock()
	q.mem.Uncharge(usage.Pipes, q.charged)
}

// Stat implements vfs.Inode.
func (q *Queue) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{Dev: dev, Ino: q.ino, Mode: unix.S_IFREG | q.mode, Nlink: 1, Uid: q.uid, Gid: q.gid, Blksize: 4096}, nil
}

// Open implements vfs.Inode: a queue is opened by mq_open only.
func (q *Queue) Open(ctx context.Context, flags int) (vfs.FileImpl, error) { return nil, unix.ENXIO }

// LinkName implements vfs.LinkNamer: /proc/PID/fd shows the queue's path
// in the mqueue filesystem.
func (q *Queue) LinkName() string { return "/" + q.name }

// Descriptor is an open queue: the implementation of an mq_open
// descriptor's file.
type Descriptor struct{ q *Queue }

// Of returns the queue f is open on, if it is one (EBADF otherwise, as
// Linux finds a descriptor of another kind).
func Of(f *vfs.File) (*Queue, error) {
	if d, ok := f.Impl().(*Descriptor); ok {
		return d.q, nil
	}
	return nil, unix.EBADF
}

// ReadAt implements vfs.FileImpl: the queue's status line.
func (d *Descriptor) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	s := d.q.status(ctx)
	if off >= int64(len(s)) {
		return 0, nil
	}
	return copy(p, s[off:]), nil
}

// WriteAt implements vfs.FileImpl: the status is not writable.
func (d *Descriptor) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EINVAL
}

// Release implements vfs.FileImpl: the last descriptor of a queue ends
// its notification; of an unlinked queue, frees it.
func (d *Descriptor) Release() {
	q := d.q
	q.mu.Lock()
	q.opens--
	gone := q.opens == 0 && q.unlinked
	var dropped *Notifier
	if q.opens == 0 {
		// Its owner closed its descriptors (mqueue_flush_file).
		dropped, q.notifier = q.notifier, nil
	}
	q.mu.Unlock()
	if dropped != nil && dropped.Remove != nil {
		dropped.Remove()
	}
	if gone {
		q.r.free(q)
	}
}

// Readiness implements vfs.Readiness: readable with a message queued,
// writable with room.
func (d *Descriptor) Readiness(mask int16) int16 {
	q := d.q
	q.mu.Lock()
	defer q.mu.Unlock()
	var ev int16
	if len(q.msgs) > 0 {
		ev |= unix.POLLIN | linux.POLLRDNORM
	}
	if int64(len(q.msgs)) < q.maxMsg {
		ev |= unix.POLLOUT | linux.POLLWRNORM
	}
	return ev & mask
}

// EventQueue implements vfs.Waitable.
func (d *Descriptor) EventQueue() *vfs.Queue { return &d.q.events }

// pidViewer is the reading task (kernel.Task): it shows a kernel ID as
// its PID namespace has it.
type pidViewer interface{ IDOf(kid int) int }

// status is the text a read of a descriptor gives (mqueue_read_file),
// NOTIFY_PID as the reader's PID namespace has it (0 outside it).
func (q *Queue) status(ctx context.Context) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	notify, signo, pid := 0, 0, 0
	if n := q.notifier; n != nil {
		notify, pid = int(n.Notify), n.PID
		if n.Notify == linux.SIGEV_SIGNAL {
			signo = int(n.Signo)
		}
	}
	if v, ok := vfs.TaskOf(ctx).(pidViewer); ok && pid != 0 {
		pid = v.IDOf(pid)
	}
	return fmt.Sprintf("QSIZE:%-10d NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n", q.bytes, notify, signo, pid)
}

// Attr returns the queue's attributes (mq_getattr): flags are the
// descriptor's, the caller's business.
func (q *Queue) Attr() linux.MqAttr {
	q.mu.Lock()
	defer q.mu.Unlock()
	return linux.MqAttr{MqMaxmsg: q.maxMsg, MqMsgsize: q.msgSize, MqCurmsgs: int64(len(q.msgs))}
}

// MsgSize is the largest message the queue takes.
func (q *Queue) MsgSize() int64 { return q.msgSize }

// changedLocked wakes the queue's waiters; q.mu is held.
func (q *Queue) changedLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// wait releases q.mu until the queue changes, c is interrupted (EINTR) or
// deadline passes (ETIMEDOUT); it returns with q.mu held.
func (q *Queue) wait(c *Caller, deadline <-chan time.Time) error {
	ch := q.changed
	q.mu.Unlock()
	var err error
	select {
	case <-ch:
	case <-c.Interrupt:
		err = unix.EINTR
	case <-deadline:
		err = unix.ETIMEDOUT
	}
	q.mu.Lock()
	return err
}

// Send implements mq_timedsend(2) once its arguments are checked and
// read: it waits while the queue is full unless nonblock (EAGAIN), up to
// deadline (nil: none). A message arriving on an empty queue no receiver
// waits on fires the notification.
func (q *Queue) Send(c *Caller, text []byte, prio uint32, nonblock bool, deadline <-chan time.Time, senderPID int) error {
	q.mu.Lock()
	for int64(len(q.msgs)) >= q.maxMsg {
		if nonblock {
			q.mu.Unlock()
			return unix.EAGAIN
		}
		if err := q.wait(c, deadline); err != nil {
			q.mu.Unlock()
			return err
		}
	}
	i := sort.Search(len(q.msgs), func(i int) bool { return q.msgs[i].prio < prio })
	q.msgs = append(q.msgs, message{})
	copy(q.msgs[i+1:], q.msgs[i:])
	q.msgs[i] = message{prio: prio, text: text}
	q.bytes += int64(len(text))
	var fire *Notifier
	if len(q.msgs) == 1 && q.receivers == 0 && q.notifier != nil {
		fire, q.notifier = q.notifier, nil
	}
	q.changedLocked()
	q.mu.Unlock()
	q.events.Notify(unix.POLLIN | linux.POLLRDNORM)
	if fire != nil {
		fire.Fire(senderPID, c.UID)
	}
	return nil
}

// Receive implements mq_timedreceive(2) once its arguments are checked:
// the oldest message of the highest priority, waiting while there is
// none unless nonblock (EAGAIN), up to deadline.
func (q *Queue) Receive(c *Caller, nonblock bool, deadline <-chan time.Time) ([]byte, uint32, error) {
	q.mu.Lock()
	for len(q.msgs) == 0 {
		if nonblock {
			q.mu.Unlock()
			return nil, 0, unix.EAGAIN
		}
		q.receivers++
		err := q.wait(c, deadline)
		q.receivers--
		if err != nil {
			q.mu.Unlock()
			return nil, 0, err
		}
	}
	m := q.msgs[0]
	q.msgs = q.msgs[1:]
	q.bytes -= int64(len(m.text))
	q.changedLocked()
	q.mu.Unlock()
	q.events.Notify(unix.POLLOUT | linux.POLLWRNORM)
	return m.text, m.prio, nil
}

// SetNotifier implements mq_notify(2): n registers (EBUSY if another
// process is registered), nil removes the caller's registration (owner);
// a registration of another process stays.
func (q *Queue) SetNotifier(n *Notifier, owner any) error {
	q.mu.Lock()
	old := q.notifier
	if n == nil {
		if old != nil && old.Owner == owner {
			q.notifier = nil
		} else {
			old = nil
		}
		q.mu.Unlock()
		if old != nil && old.Remove != nil {
			old.Remove()
		}
		return nil
	}
	if old != nil {
		q.mu.Unlock()
		return unix.EBUSY
	}
	q.notifier = n
	q.mu.Unlock()
	return nil
}
