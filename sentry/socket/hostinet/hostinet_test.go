package hostinet

import (
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/netfwd"
	"runsc-lite/sentry/socket/inet"
	"runsc-lite/sentry/vfs"
)

// newTestStack returns a host-mode stack whose forwarder is a goroutine
// of the test answering OpSocket as netfwd does in host mode (in the
// test's own network namespace).
func newTestStack(t *testing.T) *Stack {
	t.Helper()
	fds, err := sys.Socketpair(sys.AF_UNIX, sys.SOCK_SEQPACKET|sys.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fwd := os.NewFile(uintptr(fds[1]), "fwd")
	t.Cleanup(func() { sys.Close(fds[0]); fwd.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, _, _, err := sys.Recvmsg(fds[0], buf, nil, 0)
			if err != nil || n == 0 {
				return
			}
			var req netfwd.Request
			if netfwd.Unmarshal(buf[:n], &req) != nil {
				return
			}
			fam := sys.AF_INET6
			if req.V4 == 1 {
				fam = sys.AF_INET
			}
			typ, _ := netfwd.SocketType(req.Proto)
			sock, err := sys.Socket(fam, typ|sys.SOCK_NONBLOCK|sys.SOCK_CLOEXEC, 0)
			rep := netfwd.Reply{ID: req.ID}
			var rights []byte
			if err != nil {
				rep.Errno = uint32(err.(sys.Errno))
			} else {
				rights = sys.UnixRights(sock)
			}
			sys.Sendmsg(fds[0], netfwd.Marshal(rep), rights, nil, 0)
			if err == nil {
				sys.Close(sock)
			}
		}
	}()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return NewStack(netfwd.NewClient(fwd, log), log)
}

func loopback4(port uint16) []byte {
	a := linux.SockAddrInet{Family: sys.AF_INET, Addr: [4]byte{127, 0, 0, 1}}
	a.Port = port<<8 | port>>8
	return append([]byte(nil), abi.AsBytes(&a)...)
}

// waitFor waits until s is ready for events, through its queue.
func waitFor(t *testing.T, s *Socket, events int16) {
	t.Helper()
	w := vfs.NewWaiter()
	e := w.Entry(events)
	s.EventQueue().Add(e)
	defer s.EventQueue().Remove(e)
	deadline := time.After(10 * time.Second)
	for s.Readiness(events) == 0 {
		select {
		case <-w.C():
		case <-deadline:
			t.Fatalf("not ready for %#x", events)
		}
	}
}

// TestStreamOverHostLoopback: a listener and a client, both host sockets,
// over the host's 127.0.0.1: the calls never block (EAGAIN), the poller's
// notifications end the waits, the peer address comes back, a stream's
// partial reads and its end are Linux's.
func TestStreamOverHostLoopback(t *testing.T) {
	st := newTestStack(t)
	lf, err := st.New(sys.AF_INET, sys.SOCK_STREAM, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.DecRef()
	l, _ := FromFile(lf)
	if err := l.Bind(loopback4(0)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(-1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Accept(0); err != sys.EAGAIN {
		t.Fatalf("accept with nothing queued: %v, want EAGAIN", err)
	}
	name := l.Name()
	cf, err := st.New(sys.AF_INET, sys.SOCK_STREAM, sys.IPPROTO_TCP, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cf.DecRef()
	c, _ := FromFile(cf)
	if err := c.Connect(name); err != nil && err != sys.EINPROGRESS {
		t.Fatal(err)
	}
	waitFor(t, c, sys.POLLOUT)
	if err := c.ConnectResult(name); err != nil {
		t.Fatalf("connect: %v", err)
	}
	waitFor(t, l, sys.POLLIN)
	af, peer, err := l.Accept(sys.O_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer af.DecRef()
	a, _ := FromFile(af)
	if string(peer) != string(c.Name()) {
		t.Errorf("accepted peer %x, the client is %x", peer, c.Name())
	}
	buf := make([]byte, 3)
	if _, err := a.Recv(buf, false, false); err != sys.EAGAIN {
		t.Errorf("recv with nothing sent: %v, want EAGAIN", err)
	}
	if n, err := c.Send([]byte("hello"), nil, inet.SendOptions{}); n != 5 || err != nil {
		t.Fatalf("send: %d, %v", n, err)
	}
	waitFor(t, a, sys.POLLIN)
	if r, err := a.Recv(buf, true, false); err != nil || r.N != 3 || string(buf) != "hel" {
		t.Errorf("peek: %+v %q %v", r, buf, err)
	}
	if r, err := a.Recv(buf, false, false); err != nil || r.N != 3 || string(buf) != "hel" {
		t.Errorf("recv: %+v %q %v", r, buf, err)
	}
	if err := c.Shutdown(sys.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a, linux.POLLRDHUP)
	if r, err := a.Recv(buf, false, false); err != nil || r.N != 2 || string(buf[:2]) != "lo" {
		t.Errorf("recv the rest: %+v %q %v", r, buf, err)
	}
	if r, err := a.Recv(buf, false, false); err != nil || r.N != 0 {
		t.Errorf("recv at the end: %+v %v", r, err)
	}
	if err := c.Shutdown(7); err != sys.EINVAL {
		t.Errorf("shutdown(7): %v, want EINVAL", err)
	}
}

// TestOptions: the allow-list passes options to the host; others are
// ENOPROTOOPT; the timeouts are the sentry's; IP_RECVERR reaches the
// host socket, whose error queue MSG_ERRQUEUE drains (RecvError).
func TestOptions(t *testing.T) {
	st := newTestStack(t)
	f, err := st.New(sys.AF_INET, sys.SOCK_DGRAM, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	s, _ := FromFile(f)
	one := []byte{1, 0, 0, 0}
	if err := s.SetOption(sys.SOL_SOCKET, sys.SO_BROADCAST, one); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetOption(sys.SOL_SOCKET, sys.SO_BROADCAST, 4); err != nil || string(v) != string(one) {
		t.Errorf("SO_BROADCAST: %x %v", v, err)
	}
	if v, err := s.GetOption(sys.SOL_SOCKET, sys.SO_TYPE, 4); err != nil || v[0] != sys.SOCK_DGRAM {
		t.Errorf("SO_TYPE: %x %v", v, err)
	}
	for _, name := range []int{sys.SO_ATTACH_FILTER, sys.SO_BINDTODEVICE, sys.SO_MARK, sys.SO_PEERCRED} {
		if err := s.SetOption(sys.SOL_SOCKET, name, one); err == nil || err.Error() != sys.ENOPROTOOPT.Error() {
			t.Errorf("setsockopt %d: %v, want ENOPROTOOPT", name, err)
		}
	}
	tv := sys.Timeval{Usec: 250000}
	if err := s.SetOption(sys.SOL_SOCKET, sys.SO_RCVTIMEO, abi.AsBytes(&tv)); err != nil {
		t.Fatal(err)
	}
	if rcv, snd := s.Timeouts(); rcv != 250*time.Millisecond || snd != 0 {
		t.Errorf("timeouts %v %v", rcv, snd)
	}
	if err := s.SetOption(sys.SOL_IP, sys.IP_RECVERR, one); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetOption(sys.SOL_IP, sys.IP_RECVERR, 4); err != nil || string(v) != string(one) {
		t.Errorf("IP_RECVERR: %x %v", v, err)
	}
	if v, _ := sys.GetsockoptInt(s.fd, sys.SOL_IP, sys.IP_RECVERR); v != 1 {
		t.Errorf("IP_RECVERR did not reach the host socket")
	}
	if _, err := s.RecvError(make([]byte, 8)); err != sys.EAGAIN {
		t.Errorf("RecvError on an empty queue: %v, want EAGAIN", err)
	}
}
