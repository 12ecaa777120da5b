// Package unix implements Unix-domain sockets (AF_UNIX) inside the
// sandbox, as unix(7) describes them: SOCK_STREAM, SOCK_DGRAM and
// SOCK_SEQPACKET sockets, unnamed (socketpair), bound to a path of the
// sandbox's file system, or bound in the abstract namespace; data,
// SCM_RIGHTS (descriptors) and SCM_CREDENTIALS travel between tasks of
// the sandbox without any host socket.
//
// The sandbox has no network: the syscall layer refuses every other
// address family with EAFNOSUPPORT, so this package is the only kind of
// socket an application can make.
//
// Design decisions:
//
//   - One lock (mu) guards the state of every socket. Sending and
//     connecting change two sockets at once, and one lock cannot be taken
//     in the wrong order; no operation holds it for long. Readiness
//     notifications and the release of files (a descriptor in flight may
//     be the last reference to another socket) happen after it is
//     released, because both can come back into this package.
//   - Like pipes, sockets never block: operations fail with EAGAIN and
//     the caller waits on the socket's vfs.Queue (read and write through
//     the VFS, the socket syscalls through their own loop, which also
//     honours MSG_DONTWAIT and SO_RCVTIMEO/SO_SNDTIMEO).
//   - A message (one datagram or one write of a stream) is charged to
//     its sender's send buffer (SO_SNDBUF, 212992 bytes by default) with
//     a fixed overhead, until the receiver takes it, as Linux charges
//     sk_wmem_alloc. A datagram socket that is not its receiver's peer
//     also waits while the receiver holds more than maxDgramQueue
//     datagrams (net.unix.max_dgram_qlen, 10). The counts of bytes that
//     fit before EAGAIN therefore resemble Linux's without being equal.
//   - Paths: bind creates a socket node with mknod in the sandbox's VFS
//     (the memory overlay or a tmpfs, never the host) and registers the
//     socket under the node's identity (st_dev, st_ino), as FIFOs are;
//     connect resolves the path, checks it is a socket node the caller
//     may write, and finds the socket by that identity. A socket node
//     found on the host has no socket behind it: ECONNREFUSED.
//   - Credentials (SCM_CREDENTIALS, SO_PEERCRED) carry the caller's pid
//     and the uid and gid it acts with (the effective ones; Linux sends
//     the real ones, which differ only in set-ID programs).
//   - Descriptors in flight hold references to their files. Linux
//     collects cycles (a socket sent over itself, then closed) with a
//     garbage collector; this package does not, so such a cycle lives
//     until the sandbox ends, and at most maxInflight descriptors may be
//     in flight in a sandbox at once (ETOOMANYREFS beyond), which bounds
//     what a hostile program can pin.
//   - SO_PEEK_OFF as unix_set_peek_off and unix_*_recvmsg keep it: any
//     value is taken, a negative one is off; a stream's peek starts that
//     many bytes in, a datagram's passes over the whole messages within
//     it; peeks move it forward by what they copied, reads back (a
//     datagram's by its whole length).
//   - Signal-driven I/O (O_ASYNC, F_SETOWN) comes from the VFS's generic
//     hook on the socket's queue (vfs/async.go); AsyncReasons picks the
//     si_code as sock_wake_async does (POLL_OUT only after a send found no
//     room, POLL_HUP when the peer closed).
//   - MSG_OOB on stream sockets as Linux's CONFIG_AF_UNIX_OOB (oob.go);
//     datagram and seqpacket sockets refuse it (EOPNOTSUPP).
//   - Not supported: SCM_SECURITY, SO_PASSSEC.
package unix

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// Sizes and limits, as Linux's defaults.
const (
	// DefaultBuf is SO_SNDBUF and SO_RCVBUF of a new socket
	// (net.core.wmem_default and rmem_default).
	DefaultBuf = 212992
	// maxBuf is the most setsockopt gives (twice net.core.wmem_max).
	maxBuf = 2 * DefaultBuf
	// minSndBuf and minRcvBuf are the least setsockopt gives.
	minSndBuf = 4608
	minRcvBuf = 2304
	// msgOverhead is what each queued message costs beyond its bytes (an
	// sk_buff's truesize).
	msgOverhead = 256
	// maxDgramQueue is net.unix.max_dgram_qlen.
	maxDgramQueue = 10
	// MaxBacklog is net.core.somaxconn.
	MaxBacklog = 4096
	// MaxRights is SCM_MAX_FD: descriptors in one message.
	MaxRights = 253
	// maxInflight bounds the descriptors in flight in one sandbox.
	maxInflight = 1 << 16
	// dgramHeadroom is what a datagram's size must leave of SO_SNDBUF
	// (Linux: len > sk_sndbuf - 32 is EMSGSIZE).
	dgramHeadroom = 32
)

// Shutdown bits (Linux's RCV_SHUTDOWN and SEND_SHUTDOWN).
const (
	shutRcv  = 1
	shutSend = 2
	shutBoth = shutRcv | shutSend
)

// Events the package notifies.
const (
	readEvents  = sys.POLLIN | linux.POLLRDNORM
	writeEvents = sys.POLLOUT | linux.POLLWRNORM | linux.POLLWRBAND
	allEvents   = readEvents | writeEvents | sys.POLLHUP | sys.POLLERR | linux.POLLRDHUP
)

// mu guards the mutable state of every Socket and Namespace.
var mu sync.Mutex

var (
// dev is st_dev of sockets (Linux's sockfs).
)

// Namespace is the names of one sandbox: bound paths and abstract names,
// and the count of descriptors in flight.
type Namespace struct {
	names    map[string]*Socket // by key (PathKey, AbstractKey); guarded by mu
	inflight int                // guarded by mu
	nextAuto uint32             // guarded by mu

	// allMu guards all: taken after mu when both are held.
	allMu sync.Mutex
	// all are the sockets not released yet, for /proc/net/unix.
	all map[*Socket]struct{}
}

// NewNamespace returns an empty namespace.
func NewNamespace() *Namespace {
	return &Namespace{names: make(map[string]*Socket), all: make(map[*Socket]struct{})}
}

// PathKey is the key of a socket bound to the node (dev, ino).
func PathKey(dev, ino uint64) string { return fmt.Sprintf("path:%d:%d", dev, ino) }

// AbstractKey is the key of an abstract name (without its leading NUL)
// for sockets of type typ in network namespace net.
func AbstractKey(name []byte, net uint64, typ int) string {
	return fmt.Sprintf("abstract:%d:%d:%s", net, typ, name)
}

// Cred is a struct ucred.
type Cred struct {
	PID      int32
	UID, GID uint32
}

// noCred is what SO_PEERCRED reports without a peer (pid 0, ids -1).
var noCred = Cred{UID: ^uint32(0), GID: ^uint32(0)}

// credentialed is the calling task as a socket sees it (kernel.Task).
type credentialed interface {
	KernelPID() int
	EffectiveIDs() (uid, gid uint32)
}

// CallerCred returns the credentials of the task in ctx as SO_PEERCRED
// reports them: its process's kernel ID, which the reader's PID
// namespace shows (pid_vnr), and its effective IDs (zeros without a
// task).
func CallerCred(ctx context.Context) Cred {
	t, ok := vfs.TaskOf(ctx).(credentialed)
	if !ok {
		return Cred{}
	}
	uid, gid := t.EffectiveIDs()
	return Cred{PID: int32(t.KernelPID()), UID: uid, GID: gid}
}

type state int

const (
	unconnected state = iota
	listening
	connected
)

// message is one datagram, or one write of a stream, in a receive queue.
type message struct {
	data   []byte
	rights []*vfs.File // references owned by the message
	cred   Cred
	from   []byte  // the sender's address, nil if unnamed
	sender *Socket // charged for the message
	charge int
}

// Socket is one AF_UNIX socket. It is the inode and the vfs.FileImpl of
// its file.
type Socket struct {
	ns *Namespace
	// net is the network namespace it was made in (its /proc/PID/ns/net
	// inode number): abstract names and /proc/net/unix are per network
	// namespace, as in Linux; paths are the filesystem's.
	net   uint64
	typ   int
	ino   uint64
	queue vfs.Queue
	// noSpace is set when a send found no room, until the file's owner
	// is told of room again (SOCKWQ_ASYNC_NOSPACE, asyncReason).
	noSpace atomic.Bool

	// The rest is guarded by mu.
	state      state
	peer       *Socket
	addr       []byte // bound address (a sockaddr_un), nil if unbound
	key        string // where addr is registered in ns
	rcv        []*message
	oob        *message  // the out-of-band byte's message in rcv (oob.go), nil if none
	oobDropped int       // out-of-band bytes a read dropped, still in FIONREAD's count (oob.go)
	backlog    []*Socket // listening: connections not accepted yet
	maxBacklog int
	listenCred Cred
	peerCred   Cred
	shutdown   int
	err        sys.Errno // SO_ERROR
	released   bool
	charged    int // bytes of this socket's messages still queued
	opts       options
	// blocked are the sockets that wait for room in this socket's
	// receive queue or backlog; they are woken when it shrinks.
	blocked map[*Socket]struct{}
}

// newSocket returns an unconnected socket of type typ (SOCK_STREAM,
// SOCK_DGRAM or SOCK_SEQPACKET).
func newSocket(ns *Namespace, net uint64, typ int) *Socket {
	s := &Socket{ns: ns, net: net, typ: typ, ino: vfs.NewSockIno(), peerCred: noCred,
		opts: options{sndbuf: DefaultBuf, rcvbuf: DefaultBuf, peekOff: -1}}
	ns.allMu.Lock()
	ns.all[s] = struct{}{}
	ns.allMu.Unlock()
	return s
}

// Types checks a socket(2) type (without its flags): EINVAL beyond the
// known types, ESOCKTNOSUPPORT for types AF_UNIX lacks. SOCK_RAW is a
// datagram socket, as in Linux.
func Types(typ int) (int, error) {
	switch typ {
	case sys.SOCK_STREAM, sys.SOCK_DGRAM, sys.SOCK_SEQPACKET:
		return typ, nil
	case sys.SOCK_RAW:
		return sys.SOCK_DGRAM, nil
	}
	if typ < 0 || typ > sys.SOCK_PACKET {
		return 0, sys.EINVAL
	}
	return 0, sys.ESOCKTNOSUPPORT
}

// Net returns the network namespace the socket was made in.
func (s *Socket) Net() uint64 { return s.net }

// New implements socket(2): a file with one reference, in network
// namespace net. flags may hold SOCK_NONBLOCK (SOCK_CLOEXEC is for the
// caller's descriptor).
func New(ns *Namespace, net uint64, typ, flags int) *vfs.File {
	return NewFile(newSocket(ns, net, typ), flags)
}

// NewPair implements socketpair(2): two connected sockets, each with
// the caller's credentials as SO_PEERCRED.
func NewPair(ctx context.Context, ns *Namespace, net uint64, typ, flags int) (*vfs.File, *vfs.File) {
	a, b := newSocket(ns, net, typ), newSocket(ns, net, typ)
	cr := CallerCred(ctx)
	mu.Lock()
	a.peer, b.peer = b, a
	a.state, b.state = connected, connected
	a.peerCred, b.peerCred = cr, cr
	mu.Unlock()
	return NewFile(a, flags), NewFile(b, flags)
}

// NewFile returns a file with one reference for s (an accepted socket).
func NewFile(s *Socket, flags int) *vfs.File {
	return vfs.NewFile(nil, nil, s, s, sys.O_RDWR|flags&sys.O_NONBLOCK)
}

// FromFile returns the socket of f, or ENOTSOCK.
func FromFile(f *vfs.File) (*Socket, error) {
	s, ok := f.Impl().(*Socket)
	if !ok {
		return nil, sys.ENOTSOCK
	}
	return s, nil
}

// Type returns SO_TYPE.
func (s *Socket) Type() int { return s.typ }

// Stat implements vfs.Inode.
func (s *Socket) Stat(ctx context.Context) (sys.Stat_t, error) {
	return sys.Stat_t{Dev: vfs.SockDev, Ino: s.ino, Nlink: 1, Mode: sys.S_IFSOCK | 0o777, Blksize: 4096}, nil
}

// Open implements vfs.Inode: a socket cannot be opened by name.
func (s *Socket) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, sys.ENXIO
}

// LinkName implements vfs.LinkNamer.
func (s *Socket) LinkName() string { return fmt.Sprintf("socket:[%d]", s.ino) }

// EventQueue implements vfs.Waitable.
func (s *Socket) EventQueue() *vfs.Queue { return &s.queue }

// SignalDriven implements vfs.SignalDriven: every socket may send SIGIO
// (sock_fasync).
func (s *Socket) SignalDriven() {}

// AsyncReasons implements vfs.AsyncReasoner (asyncReason).
func (s *Socket) AsyncReasons(events int16) []int32 {
	if r := s.asyncReason(events); r != 0 {
		return []int32{r}
	}
	return nil
}

// asyncReason is the si_code of the signal a notification sends, as
// sock_wake_async is called: POLL_HUP once the socket is shut both ways
// (the peer closed, unix_release_sock), POLL_IN for data or a
// half-close, POLL_OUT only for room after a send found none
// (SOCK_WAKE_SPACE), POLL_ERR; 0 for none.
func (s *Socket) asyncReason(events int16) int32 {
	switch {
	case events&sys.POLLHUP != 0 && s.Readiness(sys.POLLHUP)&sys.POLLHUP != 0:
		return linux.POLL_HUP
	case events&(sys.POLLIN|linux.POLLRDNORM) != 0:
		return linux.POLL_IN
	case events&(sys.POLLOUT|linux.POLLWRNORM) != 0:
		if s.noSpace.CompareAndSwap(true, false) {
			return linux.POLL_OUT
		}
	case events&sys.POLLERR != 0:
		return linux.POLL_ERR
	}
	return 0
}

// ReadAt implements vfs.FileImpl: sockets have no offsets.
func (s *Socket) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, sys.ESPIPE
}

// WriteAt implements vfs.FileImpl: sockets have no offsets.
func (s *Socket) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, sys.ESPIPE
}

// Read implements vfs.Stream (read(2), readv(2)): recv without flags;
// descriptors that came with the data are closed, as Linux does.
func (s *Socket) Read(ctx context.Context, p []byte) (int, error) {
	r, err := s.Recv(p, false)
	r.Drop()
	return r.N, err
}

// Write implements vfs.Stream (write(2), writev(2)): send without flags
// to the peer.
func (s *Socket) Write(ctx context.Context, p []byte) (int, error) {
	return s.Send(ctx, p, nil, "", false)
}

// tx collects what to do once mu is released: readiness notifications
// and references to drop.
type tx struct {
	notes []note
	drop  []*vfs.File
}

type note struct {
	s  *Socket
	ev int16
}

func (t *tx) notify(s *Socket, ev int16) {
	if s != nil {
		t.notes = append(t.notes, note{s, ev})
	}
}

// lock takes mu for a change described by the returned tx.
func lock() *tx {
	mu.Lock()
	return &tx{}
}

// unlock releases mu, then notifies and drops references.
func (t *tx) unlock() {
	mu.Unlock()
	for _, n := range t.notes {
		n.s.queue.Notify(n.ev)
	}
	for _, f := range t.drop {
		f.DecRef()
	}
}

// Release implements vfs.FileImpl: the socket closes. Its peer sees the
// end of the connection (and ECONNRESET if this socket left data
// unread); connections waiting in its backlog are reset; its name is
// free again.
func (s *Socket) Release() {
	t := lock()
	defer t.unlock()
	s.releaseLocked(t, false)
}

// releaseLocked closes s; reset says its peer must see ECONNRESET even
// without unread data (a connection never accepted).
func (s *Socket) releaseLocked(t *tx, reset bool) {
	s.released = true
	s.ns.allMu.Lock()
	delete(s.ns.all, s)
	s.ns.allMu.Unlock()
	if s.key != "" && s.ns.names[s.key] == s {
		delete(s.ns.names, s.key)
	}
	reset = reset || len(s.rcv) > 0
	for _, m := range s.rcv {
		s.dropLocked(t, m)
	}
	s.rcv = nil
	for _, c := range s.backlog {
		c.releaseLocked(t, true)
	}
	s.backlog = nil
	s.wakeBlockedLocked(t)
	if p := s.peer; p != nil && s.typ != sys.SOCK_DGRAM {
		p.shutdown = shutBoth
		if reset {
			p.err = sys.ECONNRESET
		}
		t.notify(p, allEvents)
	}
	s.peer = nil
}

// dropLocked forgets a queued message that will not be read: its sender
// gets the room back and its descriptors are closed.
func (s *Socket) dropLocked(t *tx, m *message) {
	s.uncharge(t, m)
	s.ns.inflight -= len(m.rights)
	t.drop = append(t.drop, m.rights...)
	m.rights = nil
}

// uncharge gives a taken message's room back to its sender.
func (s *Socket) uncharge(t *tx, m *message) {
	m.sender.charged -= m.charge
	m.charge = 0
	t.notify(m.sender, writeEvents)
}

// wakeBlockedLocked wakes the sockets waiting for room in s.
func (s *Socket) wakeBlockedLocked(t *tx) {
	for b := range s.blocked {
		t.notify(b, writeEvents)
	}
	s.blocked = nil
}

// block records that b waits for room in s.
func (s *Socket) block(b *Socket) {
	if s.blocked == nil {
		s.blocked = make(map[*Socket]struct{})
	}
	s.blocked[b] = struct{}{}
}

// Readiness implements vfs.Readiness, as Linux's unix_poll and
// unix_dgram_poll.
func (s *Socket) Readiness(mask int16) int16 {
	mu.Lock()
	defer mu.Unlock()
	var ev int16
	if s.err != 0 {
		ev |= sys.POLLERR
	}
	if s.shutdown == shutBoth {
		ev |= sys.POLLHUP
	}
	if s.shutdown&shutRcv != 0 {
		ev |= linux.POLLRDHUP | readEvents
	}
	if len(s.rcv) > 0 || len(s.backlog) > 0 {
		ev |= readEvents
	}
	if s.oob != nil {
		ev |= sys.POLLPRI
	}
	if s.typ != sys.SOCK_DGRAM && s.state == unconnected {
		ev |= sys.POLLHUP
	}
	if s.writableLocked() {
		ev |= writeEvents
	}
	return ev
}

// writableLocked is Linux's unix_writable, plus a datagram socket's wait
// for room in its peer's queue.
func (s *Socket) writableLocked() bool {
	if s.state == listening || s.charged*4 > s.opts.sndbuf {
		return false
	}
	p := s.peer
	return s.typ != sys.SOCK_DGRAM || p == nil || p.peer == s || !p.dgramQueueFull()
}

// dgramQueueFull reports whether s holds too many datagrams for senders
// that are not its peer.
func (s *Socket) dgramQueueFull() bool { return len(s.rcv) > maxDgramQueue }

// inqLocked is SIOCINQ: the bytes queued to read (a datagram socket's
// next datagram's).
func (s *Socket) inqLocked() int {
	n := 0
	for i, m := range s.rcv {
		if s.typ == sys.SOCK_DGRAM && i > 0 {
			break
		}
		n += len(m.data)
	}
	return n + s.oobDropped
}

// Ioctl implements vfs.Ioctler: SIOCINQ (FIONREAD) and SIOCOUTQ.
func (s *Socket) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	mu.Lock()
	var n int
	switch cmd {
	case sys.SIOCINQ:
		if s.state == listening {
			mu.Unlock()
			return 0, sys.EINVAL
		}
		n = s.inqLocked()
	case sys.SIOCOUTQ:
		n = s.charged
	case sys.SIOCATMARK:
		n = int(boolInt(s.atMarkLocked()))
	default:
		mu.Unlock()
		return 0, sys.ENOTTY
	}
	mu.Unlock()
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
	return 0, mem.CopyOut(arg, b)
}
