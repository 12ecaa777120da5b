package netfwd

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/seccomp"
)

// Arg0 is the argv[0] of the forwarder: runsc-lite runs Main when it is
// called so.
const Arg0 = "runsc-lite-netfwd"

// controlFD is the forwarder's end of its socket pair with the sentry.
const controlFD = 3

// connectTimeout bounds a TCP connect on the host. It is longer than
// Linux's own (about two minutes of SYN retries with the default
// tcp_syn_retries, 6), which decides: a connect the host gives up on is
// ETIMEDOUT for the sandbox too, whose own SYN retries (netstack's, also
// 6) run out at about the same time.
const connectTimeout = 3 * time.Minute

// maxInFlight bounds the connects the forwarder waits on at once; the
// others wait for a slot.
const maxInFlight = 64

// config is what Start passes the forwarder (as its argument, JSON).
type config struct {
	Policy Policy
	// Host is --network=host: OpSocket and OpNetlink, no OpConnect.
	Host bool
	// UID and GID are the identity it drops to when started as root.
	UID, GID int
	// Parent is the pid of the runsc-lite that started it.
	Parent int
}

// Forwarder is a forwarder, as its parent sees it. Its process starts
// when the sentry first asks it for something: until then the sentry's
// request waits in the socket pair, and the parent waits for it to arrive
// (startOnRequest). Most sandboxes never ask (a build, a test run, a
// shell script), and a start of the forwarder, the Go runtime's and its
// own, is about 30 ms of CPU on the 2-core VM, taken from the sandbox's
// own start (`perf stat` of `runsc-lite run /bin/true`: 84-102 ms when
// the forwarder started with every sandbox, 77-88 ms since). The first
// outbound connection of a sandbox waits for it instead.
type Forwarder struct {
	mine *os.File // the forwarder's end, non-blocking until the start
	cmd  *exec.Cmd
	done chan struct{} // closed when startOnRequest returns

	mu      sync.Mutex // guards started and stopped
	started bool       // cmd has started
	stopped bool       // Stop was called
}

// Start prepares a forwarder with policy p (host: for --network=host),
// dropping to uid:gid when this process is root, and returns it with the
// sentry's end of its socket pair (the caller passes it to the sentry,
// and closes it). The forwarder's process starts on the sentry's first
// request.
func Start(p Policy, host bool, uid, gid int) (*Forwarder, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("the network forwarder's socket pair: %w", err)
	}
	// Non-blocking, so that the runtime's poller waits for the first
	// request (startOnRequest makes it blocking again).
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("the network forwarder's socket pair: %w", err)
	}
	mine, sentry := os.NewFile(uintptr(fds[0]), "netfwd"), os.NewFile(uintptr(fds[1]), "netfwd-sentry")
	cfg, err := json.Marshal(config{Policy: p, Host: host, UID: uid, GID: gid, Parent: os.Getpid()})
	if err != nil {
		mine.Close()
		sentry.Close()
		return nil, nil, fmt.Errorf("the network forwarder's configuration: %w", err)
	}
	f := &Forwarder{mine: mine, done: make(chan struct{}), cmd: &exec.Cmd{
		Path: "/proc/self/exe",
		Args: []string{Arg0, string(cfg)},
		// No GOMAXPROCS updates: the Go runtime would re-read its cgroup's
		// CPU limit (pread) every second, a call the filter has no need for.
		Env:        []string{"GODEBUG=updatemaxprocs=0"},
		Stderr:     os.Stderr,
		ExtraFiles: []*os.File{mine},
		// A process group of its own: the terminal's signals (Ctrl-C,
		// Ctrl-\, Ctrl-Z) are for the sandbox, which the sentry forwards
		// them to, not for the forwarder.
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true},
	}}
	go f.startOnRequest()
	return f, sentry, nil
}

// startOnRequest waits until the sentry's first request arrives (not
// taking it) and starts the forwarder's process with its end, or returns
// when the sentry's end closes or Stop closes this one.
func (f *Forwarder) startOnRequest() {
	defer close(f.done)
	defer f.mine.Close() // the forwarder has its own copy

	rc, err := f.mine.SyscallConn()
	if err != nil {
		return
	}
	request := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		if err == unix.EAGAIN || err == unix.EINTR {
			return false
		}
		request = err == nil && n > 0
		return true
	})
	if err != nil || !request {
		return
	}
	// The forwarder's reads block (O_NONBLOCK is the open file's, which
	// it shares).
	var blockErr error
	if err := rc.Control(func(fd uintptr) { blockErr = unix.SetNonblock(int(fd), false) }); err != nil || blockErr != nil {
		fmt.Fprintf(os.Stderr, "runsc-lite: starting the network forwarder: %v\n", errors.Join(err, blockErr))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	if err := f.cmd.Start(); err != nil {
		// The sentry's requests then fail (the forwarder is gone).
		fmt.Fprintf(os.Stderr, "runsc-lite: starting the network forwarder: %v\n", err)
		return
	}
	f.started = true
}

// Stop ends the forwarder: kills its process if it started (it would end
// by itself once the sentry's end of its socket pair closes), and waits
// for it.
func (f *Forwarder) Stop() {
	f.mu.Lock()
	f.stopped = true
	started := f.started
	f.mu.Unlock()
	if !started {
		f.mine.Close() // ends startOnRequest's wait, if it still waits
	}
	<-f.done
	f.mu.Lock()
	started = f.started
	f.mu.Unlock()
	if started {
		f.cmd.Process.Kill()
		f.cmd.Wait()
	}
}

// IsForwarder reports whether this process was started as a forwarder.
func IsForwarder() bool { return len(os.Args) > 0 && os.Args[0] == Arg0 }

// Main is the forwarder: it confines itself and serves the sentry until
// the sentry's end closes. It returns the exit status.
func Main() int {
	runtime.LockOSThread() // the parent-death signal is the thread's
	signal.Ignore(unix.SIGINT, unix.SIGQUIT, unix.SIGTSTP, unix.SIGHUP, unix.SIGTTOU, unix.SIGTTIN)
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "runsc-lite: network forwarder: %v\n", err)
		return 1
	}
	var cfg config
	if len(os.Args) != 2 {
		return fail(errors.New("want 1 argument"))
	}
	if err := json.Unmarshal([]byte(os.Args[1]), &cfg); err != nil {
		return fail(err)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return fail(fmt.Errorf("the host's addresses: %w", err))
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				cfg.Policy.HostAddrs = append(cfg.Policy.HostAddrs, ip.Unmap())
			}
		}
	}
	if err := dropPrivileges(cfg); err != nil {
		return fail(err)
	}
	serve(controlFD, &cfg)
	return 0
}

// dropPrivileges drops the forwarder's privileges: an unprivileged identity
// (which clears every capability on every thread), the parent-death
// signal again (an identity change clears it), no_new_privs and the
// seccomp allow-list.
func dropPrivileges(cfg config) error {
	if os.Geteuid() == 0 {
		// syscall's set*id change every thread of the process.
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("dropping groups: %w", err)
		}
		if err := syscall.Setresgid(cfg.GID, cfg.GID, cfg.GID); err != nil {
			return fmt.Errorf("setresgid %d: %w", cfg.GID, err)
		}
		if err := syscall.Setresuid(cfg.UID, cfg.UID, cfg.UID); err != nil {
			return fmt.Errorf("setresuid %d: %w", cfg.UID, err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("parent-death signal: %w", err)
	}
	if os.Getppid() != cfg.Parent {
		return errors.New("runsc-lite ended while the forwarder started")
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("not dumpable: %w", err)
	}
	insns, err := Filter(CgoLinked(), cfg.Host)
	if err != nil {
		return err
	}
	if err := seccomp.SetFilter(insns); err != nil {
		return fmt.Errorf("installing the forwarder's seccomp program: %w", err)
	}
	return nil
}

// serve answers the sentry's requests on fd until it closes.
func serve(fd int, cfg *config) {
	slots := make(chan struct{}, maxInFlight)
	buf := make([]byte, 64)
	for {
		n, _, _, _, err := unix.Recvmsg(fd, buf, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return // the sentry is gone
		}
		var req Request
		if Unmarshal(buf[:n], &req) != nil {
			return // not our sentry
		}
		slots <- struct{}{}
		go func() {
			defer func() { <-slots }()
			sock, errno := answer(cfg, req)
			reply := Marshal(Reply{ID: req.ID, Errno: uint32(errno)})
			var rights []byte
			if errno == 0 {
				rights = unix.UnixRights(sock)
			}
			unix.Sendmsg(fd, reply, rights, nil, 0) // a sentry gone ends serve
			if errno == 0 {
				unix.Close(sock)
			}
		}()
	}
}

// answer opens the host socket req asks for, if the mode allows it.
func answer(cfg *config, req Request) (int, unix.Errno) {
	switch {
	case req.Op == OpConnect && !cfg.Host:
		return dial(&cfg.Policy, req)
	case req.Op == OpSocket && cfg.Host:
		return newSocket(req)
	case req.Op == OpNetlink && cfg.Host:
		return newNetlink()
	}
	return -1, unix.EPERM
}

// SocketType is the socket type an OpSocket for proto makes: TCP is a
// stream, UDP and ICMP echo are datagrams.
func SocketType(proto uint8) (int, bool) {
	switch proto {
	case TCP:
		return unix.SOCK_STREAM, true
	case UDP, ICMP, ICMPv6:
		return unix.SOCK_DGRAM, true
	}
	return 0, false
}

// newSocket creates the unbound, unconnected socket an OpSocket asks for
// (non-blocking, close-on-exec): whether the host lets this identity have
// it (an ICMP echo socket needs net.ipv4.ping_group_range) is the host's
// answer.
func newSocket(req Request) (int, unix.Errno) {
	family := unix.AF_INET6
	if req.V4 == 1 {
		family = unix.AF_INET
	}
	typ, ok := SocketType(req.Proto)
	if !ok || (req.Proto == ICMP && family != unix.AF_INET) || (req.Proto == ICMPv6 && family != unix.AF_INET6) {
		return -1, unix.EPROTONOSUPPORT
	}
	protocol := 0 // TCP and UDP: the type's own
	if req.Proto == ICMP || req.Proto == ICMPv6 {
		protocol = int(req.Proto)
	}
	sock, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, protocol)
	if err != nil {
		return -1, errnoOf(err)
	}
	return sock, 0
}

// newNetlink creates a NETLINK_ROUTE socket, for the host's interfaces,
// addresses and routes (OpNetlink).
func newNetlink() (int, unix.Errno) {
	sock, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return -1, errnoOf(err)
	}
	return sock, 0
}

// dial opens the host socket a request asks for, as the policy allows,
// and returns it connected (non-blocking), or an errno.
func dial(p *Policy, req Request) (int, unix.Errno) {
	var dst netip.AddrPort
	var err error
	switch req.Proto {
	case TCP, UDP:
		dst, err = p.Resolve(req.Dest())
	case Echo:
		var a netip.Addr
		a, err = p.ResolveEcho(req.Dest().Addr())
		dst = netip.AddrPortFrom(a, 0)
	default:
		return -1, unix.EPROTONOSUPPORT
	}
	if err != nil {
		return -1, unix.ECONNREFUSED
	}
	family, typ, proto := unix.AF_INET6, unix.SOCK_STREAM, 0
	var sa unix.Sockaddr = &unix.SockaddrInet6{Port: int(dst.Port()), Addr: dst.Addr().As16()}
	if dst.Addr().Is4() {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(dst.Port()), Addr: dst.Addr().As4()}
	}
	switch req.Proto {
	case UDP:
		typ = unix.SOCK_DGRAM
	case Echo:
		// A ping socket: the kernel allows it to the groups of
		// net.ipv4.ping_group_range (EACCES otherwise), and sets the
		// echo's identifier itself.
		typ, proto = unix.SOCK_DGRAM, unix.IPPROTO_ICMP
		if family == unix.AF_INET6 {
			proto = unix.IPPROTO_ICMPV6
		}
	}
	sock, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, errnoOf(err)
	}
	err = unix.Connect(sock, sa)
	if err == unix.EINPROGRESS {
		err = waitConnected(sock)
	}
	if err != nil {
		unix.Close(sock)
		return -1, errnoOf(err)
	}
	return sock, 0
}

// waitConnected waits for a non-blocking connect on sock to finish.
func waitConnected(sock int) error {
	deadline := time.Now().Add(connectTimeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return unix.ETIMEDOUT
		}
		ts := unix.NsecToTimespec(left.Nanoseconds())
		fds := []unix.PollFd{{Fd: int32(sock), Events: unix.POLLOUT}}
		n, err := unix.Ppoll(fds, &ts, nil)
		if err == unix.EINTR || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			return err
		}
		soErr, err := unix.GetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if soErr != 0 {
			return unix.Errno(soErr)
		}
		return nil
	}
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}
