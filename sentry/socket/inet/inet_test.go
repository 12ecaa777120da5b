package inet

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// waitFor retries op until it stops saying EAGAIN, waiting on s's queue
// for events between tries, as the syscall layer does.
func waitFor[T any](t *testing.T, s *Socket, events int16, op func() (T, error)) T {
	t.Helper()
	w := vfs.NewWaiter()
	e := w.Entry(events)
	s.EventQueue().Add(e)
	defer s.EventQueue().Remove(e)
	deadline := time.After(10 * time.Second)
	for {
		v, err := op()
		if err != sys.EAGAIN {
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		select {
		case <-w.C():
		case <-deadline:
			t.Fatal("no readiness notification within 10s")
		}
	}
}

func newSock(t *testing.T, st *Stack, fam, typ, proto int) *Socket {
	t.Helper()
	f, err := st.New(fam, typ, proto, 0, 0)
	if err != nil {
		t.Fatalf("socket(%d, %d, %d): %v", fam, typ, proto, err)
	}
	t.Cleanup(f.DecRef)
	s, _ := FromFile(f)
	return s
}

// TestPing sends ICMP echo requests from ping sockets ("ping" datagram
// sockets, as iputils' ping without privileges) to 127.0.0.1 and ::1: the
// stack answers with echo replies.
func TestPing(t *testing.T) {
	st := new(Stack)
	for _, c := range []struct {
		fam, proto     int
		to             []byte
		request, reply byte
	}{
		{sys.AF_INET, sys.IPPROTO_ICMP, encodeAddressBytes(sys.AF_INET, []byte{127, 0, 0, 1}), 8, 0},
		{sys.AF_INET6, sys.IPPROTO_ICMPV6, encodeAddressBytes(sys.AF_INET6, append(make([]byte, 15), 1)), 128, 129},
	} {
		s := newSock(t, st, c.fam, sys.SOCK_DGRAM, c.proto)
		req := []byte{c.request, 0, 0, 0, 0, 0, 0, 7, 'p', 'i', 'n', 'g'}
		if n, err := s.Send(req, c.to, SendOptions{}); err != nil || n != len(req) {
			t.Fatalf("family %d: send = %d, %v", c.fam, n, err)
		}
		buf := make([]byte, 64)
		r := waitFor(t, s, sys.POLLIN, func() (Received, error) { return s.Recv(buf, false, false) })
		if r.N != len(req) || buf[0] != c.reply || buf[7] != 7 || string(buf[8:12]) != "ping" {
			t.Errorf("family %d: reply %x (%d bytes), want type %d, sequence 7, the payload", c.fam, buf[:r.N], r.N, c.reply)
		}
		if len(r.From) == 0 {
			t.Errorf("family %d: reply without a source address", c.fam)
		}
	}
}

// encodeAddressBytes is a socket address for ip, port 0.
func encodeAddressBytes(fam int, ip []byte) []byte {
	raw := unspecifiedName(fam)
	if fam == sys.AF_INET {
		copy(raw[4:8], ip)
	} else {
		copy(raw[8:24], ip)
	}
	return raw
}

// TestTypes checks socket(2)'s answers for types and protocols, as
// inet_create gives them.
func TestTypes(t *testing.T) {
	for _, c := range []struct {
		fam, typ, proto int
		want            error
	}{
		{sys.AF_INET, sys.SOCK_STREAM, 0, nil},
		{sys.AF_INET, sys.SOCK_STREAM, sys.IPPROTO_TCP, nil},
		{sys.AF_INET, sys.SOCK_STREAM, sys.IPPROTO_UDP, sys.EPROTONOSUPPORT},
		{sys.AF_INET, sys.SOCK_DGRAM, sys.IPPROTO_ICMPV6, sys.EPROTONOSUPPORT},
		{sys.AF_INET6, sys.SOCK_DGRAM, sys.IPPROTO_ICMP, sys.EPROTONOSUPPORT},
		{sys.AF_INET6, sys.SOCK_DGRAM, sys.IPPROTO_ICMPV6, nil},
		{sys.AF_INET, sys.SOCK_SEQPACKET, 0, sys.ESOCKTNOSUPPORT},
	} {
		if err := CheckType(c.fam, c.typ, c.proto); err != c.want {
			t.Errorf("socket(%d, %d, %d) = %v, want %v", c.fam, c.typ, c.proto, err, c.want)
		}
	}
}

// TestProcNet checks that /proc/net/tcp lists a listener with its port
// and state, and that the socket leaves the table when it is released.
func TestProcNet(t *testing.T) {
	st := new(Stack)
	f, err := st.New(sys.AF_INET, sys.SOCK_STREAM, 0, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := FromFile(f)
	listenLoopback(t, s, 0x90) // port 8080
	text, _ := st.ProcNet("tcp")
	want := "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 "
	if !containsLine(text, want) {
		t.Errorf("/proc/net/tcp lacks %q:\n%s", want, text)
	}
	f.DecRef()
	if text, _ := st.ProcNet("tcp"); containsLine(text, "   0:") {
		t.Errorf("a released socket is still listed:\n%s", text)
	}
	if text, _ := st.ProcNet("if_inet6"); text != "00000000000000000000000000000001 01 80 10 80       lo\n" {
		t.Errorf("/proc/net/if_inet6 = %q", text)
	}
}

// listenLoopback makes s listen on 127.0.0.1, port 0x1f00+low, with a
// backlog of 5, and returns that address.
func listenLoopback(t *testing.T, s *Socket, low byte) []byte {
	t.Helper()
	addr := encodeAddressBytes(sys.AF_INET, []byte{127, 0, 0, 1})
	addr[2], addr[3] = 0x1f, low
	if err := s.Bind(addr); err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(5); err != nil {
		t.Fatal(err)
	}
	return addr
}

func containsLine(text, prefix string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// TestMembership joins and leaves a group on lo with IP_ADD_MEMBERSHIP
// (struct ip_mreqn) on UDP, as Linux keys memberships: once per socket
// and interface.
func TestMembership(t *testing.T) {
	st := new(Stack)
	s := newSock(t, st, sys.AF_INET, sys.SOCK_DGRAM, 0)
	mreq := []byte{239, 1, 2, 4, 0, 0, 0, 0, LoopbackNIC, 0, 0, 0}
	for i, want := range []error{nil, sys.EADDRINUSE} {
		if err := s.SetOption(sys.SOL_IP, sys.IP_ADD_MEMBERSHIP, mreq); err != want {
			t.Errorf("join %d: %v, want %v", i, err, want)
		}
	}
	for i, want := range []error{nil, sys.EADDRNOTAVAIL} {
		if err := s.SetOption(sys.SOL_IP, sys.IP_DROP_MEMBERSHIP, mreq); err != want {
			t.Errorf("leave %d: %v, want %v", i, err, want)
		}
	}
}

// TestAddrForm follows LTP's connect02: an AF_INET6 TCP socket accepted
// from an IPv4 client becomes AF_INET with IPV6_ADDRFORM, is reset with
// connect(AF_UNSPEC), then binds an IPv4 address, listens and accepts.
func TestAddrForm(t *testing.T) {
	st := new(Stack)
	l := newSock(t, st, sys.AF_INET6, sys.SOCK_STREAM, 0)
	if err := l.Bind(unspecifiedName(sys.AF_INET6)); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(4); err != nil {
		t.Fatal(err)
	}
	port := l.Name()[2:4]
	to := encodeAddressBytes(sys.AF_INET, []byte{127, 0, 0, 1})
	copy(to[2:4], port)
	c := newSock(t, st, sys.AF_INET, sys.SOCK_STREAM, 0)
	if err := c.Connect(to); err != nil && err != sys.EINPROGRESS {
		t.Fatal(err)
	}
	f := waitFor(t, l, sys.POLLIN, func() (*vfs.File, error) { f, _, err := l.Accept(0); return f, err })
	defer f.DecRef()
	s, _ := FromFile(f)
	af := intBytes(sys.AF_INET)
	if err := s.SetOption(sys.SOL_IPV6, sys.IPV6_ADDRFORM, intBytes(sys.AF_INET6)); err != sys.EINVAL {
		t.Errorf("IPV6_ADDRFORM to AF_INET6: %v, want EINVAL", err)
	}
	if err := l.SetOption(sys.SOL_IPV6, sys.IPV6_ADDRFORM, af); err != sys.ENOTCONN {
		t.Errorf("IPV6_ADDRFORM on a listener: %v, want ENOTCONN", err)
	}
	if err := s.SetOption(sys.SOL_IPV6, sys.IPV6_ADDRFORM, af); err != nil {
		t.Fatalf("IPV6_ADDRFORM: %v", err)
	}
	if peer, err := s.PeerName(); err != nil || len(peer) != sockaddrInLen || family(peer) != sys.AF_INET {
		t.Errorf("getpeername after IPV6_ADDRFORM: %x, %v; want a sockaddr_in", peer, err)
	}
	if err := s.Connect([]byte{sys.AF_UNSPEC, 0}); err != nil {
		t.Fatalf("connect(AF_UNSPEC): %v", err)
	}
	if err := s.Bind(unspecifiedName(sys.AF_INET)); err != nil {
		t.Fatalf("bind(0.0.0.0) after the reset: %v", err)
	}
	if err := s.Listen(4); err != nil {
		t.Fatalf("listen after the reset: %v", err)
	}
	to2 := encodeAddressBytes(sys.AF_INET, []byte{127, 0, 0, 1})
	copy(to2[2:4], s.Name()[2:4])
	c2 := newSock(t, st, sys.AF_INET, sys.SOCK_STREAM, 0)
	if err := c2.Connect(to2); err != nil && err != sys.EINPROGRESS {
		t.Fatal(err)
	}
	f2 := waitFor(t, s, sys.POLLIN, func() (*vfs.File, error) { f, _, err := s.Accept(0); return f, err })
	f2.DecRef()
}

// TestPeekOffKinds checks which sockets have SO_PEEK_OFF, as Linux's
// proto_ops give it: TCP, UDP and ping sockets do (-1 until set), raw
// sockets do not (EOPNOTSUPP, for getting and setting).
func TestPeekOffKinds(t *testing.T) {
	st := new(Stack)
	for _, c := range []struct {
		typ, proto int
		err        error
	}{
		{sys.SOCK_STREAM, sys.IPPROTO_TCP, nil},
		{sys.SOCK_DGRAM, sys.IPPROTO_UDP, nil},
		{sys.SOCK_DGRAM, sys.IPPROTO_ICMP, nil},
		{sys.SOCK_RAW, sys.IPPROTO_ICMP, sys.EOPNOTSUPP},
	} {
		s := newSock(t, st, sys.AF_INET, c.typ, c.proto)
		v, err := s.GetOption(sys.SOL_SOCKET, sys.SO_PEEK_OFF, 4)
		if err != c.err || err == nil && int32(le.Uint32(v)) != -1 {
			t.Errorf("type %d protocol %d: getsockopt(SO_PEEK_OFF) = %v, %v; want -1 or %v", c.typ, c.proto, v, err, c.err)
		}
		if err := s.SetOption(sys.SOL_SOCKET, sys.SO_PEEK_OFF, le.AppendUint32(nil, 5)); err != c.err {
			t.Errorf("type %d protocol %d: setsockopt(SO_PEEK_OFF, 5) = %v, want %v", c.typ, c.proto, err, c.err)
		}
		if c.err == nil {
			if v, _ := s.GetOption(sys.SOL_SOCKET, sys.SO_PEEK_OFF, 4); le.Uint32(v) != 5 {
				t.Errorf("type %d protocol %d: SO_PEEK_OFF reads %v after setting 5", c.typ, c.proto, v)
			}
		}
	}
}

var le = binary.LittleEndian

// TestAcceptQueueEntries checks that a listener's queued connections are
// counted (its RxQueue, as sk_ack_backlog) and listed as Linux lists
// them: the listener's uid, no inode.
func TestAcceptQueueEntries(t *testing.T) {
	st := new(Stack)
	l := newSock(t, st, sys.AF_INET, sys.SOCK_STREAM, 0)
	addr := listenLoopback(t, l, 0x91) // port 8081
	c1, c2 := newSock(t, st, sys.AF_INET, sys.SOCK_STREAM, 0), newSock(t, st, sys.AF_INET, sys.SOCK_STREAM, 0)
	for _, c := range []*Socket{c1, c2} {
		if err := c.Connect(addr); err != nil && err != sys.EINPROGRESS {
			t.Fatal(err)
		}
	}
	a := waitFor(t, l, sys.POLLIN, func() (*vfs.File, error) { f, _, err := l.Accept(0); return f, err })
	defer a.DecRef()
	// Either connection may be the one accepted: the other is queued.
	e1, _ := c1.sockEntry()
	e2, _ := c2.sockEntry()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var listener, queued *SockEntry
		for _, e := range st.SockEntries(sys.AF_INET, sys.SOCK_STREAM) {
			switch {
			case e.State == linux.TCP_LISTEN:
				listener = &e
			case e.Ino == 0 && e.LocalPort == 8081 && (e.RemotePort == e1.LocalPort || e.RemotePort == e2.LocalPort):
				queued = &e
			}
		}
		if listener != nil && queued != nil {
			if listener.RxQueue != 1 || listener.Backlog != 5 || queued.UID != l.uid {
				t.Errorf("listener %+v, queued %+v", *listener, *queued)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no queued connection listed: listener %v", listener)
		}
	}
}
