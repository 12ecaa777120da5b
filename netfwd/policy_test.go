package netfwd

import (
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPolicy: where each destination goes, with and without
// AllowHostLoopback.
func TestPolicy(t *testing.T) {
	host := netip.MustParseAddr("192.168.7.9")
	for _, c := range []struct {
		dst   string
		allow bool
		want  string // "" is refused
	}{
		{"93.184.216.34:80", false, "93.184.216.34:80"},
		{"[2001:db8::1]:443", false, "[2001:db8::1]:443"},
		{"10.0.2.2:8080", false, ""},
		{"10.0.2.2:8080", true, "127.0.0.1:8080"},
		{"10.0.2.3:53", false, "127.0.0.53:53"},
		{"10.0.2.3:80", true, ""},
		{"10.0.2.99:80", true, ""},
		{"127.0.0.1:22", false, ""},
		{"127.1.2.3:22", false, ""},
		{"[::1]:22", false, ""},
		{"[::ffff:127.0.0.1]:22", false, ""},
		{"169.254.169.254:80", false, ""},
		{"[fe80::1]:80", false, ""},
		{"192.168.7.9:22", false, ""},
		{"[::ffff:192.168.7.9]:22", false, ""},
		{"192.168.7.9:22", true, "192.168.7.9:22"},
		{"127.0.0.1:22", true, "127.0.0.1:22"},
		{"0.0.0.0:80", true, ""},
		{"[::]:80", true, ""},
		{"224.0.0.1:80", true, ""},
		{"255.255.255.255:80", true, ""},
		{"0.1.2.3:80", true, ""},
		{"93.184.216.34:0", false, ""},
		{"[fd00::2:2]:8080", false, ""},
		{"[fd00::2:2]:8080", true, "[::1]:8080"},
		{"[fd00::2:3]:53", true, ""},
		{"[fd00::99]:80", true, ""},
		{"[fd00:1::2]:80", false, "[fd00:1::2]:80"},
	} {
		p := Policy{AllowHostLoopback: c.allow, HostDNS: netip.MustParseAddr("127.0.0.53"), HostAddrs: []netip.Addr{host}}
		got, err := p.Resolve(netip.MustParseAddrPort(c.dst))
		switch {
		case c.want == "" && !errors.Is(err, ErrRefused):
			t.Errorf("%s (allow %t): %v, %v; want refused", c.dst, c.allow, got, err)
		case c.want != "" && (err != nil || got.String() != c.want):
			t.Errorf("%s (allow %t): %v, %v; want %s", c.dst, c.allow, got, err, c.want)
		}
	}
}

// TestMessages: requests and replies survive their encoding.
func TestMessages(t *testing.T) {
	for _, dst := range []string{"10.1.2.3:80", "[2001:db8::1]:53", "[::ffff:10.1.2.3]:80"} {
		d := netip.MustParseAddrPort(dst)
		var r Request
		if err := Unmarshal(Marshal(NewRequest(7, UDP, d)), &r); err != nil {
			t.Fatal(err)
		}
		if r.ID != 7 || r.Proto != UDP || r.Dest() != netip.AddrPortFrom(d.Addr().Unmap(), d.Port()) {
			t.Errorf("%s came back as %+v (%s)", dst, r, r.Dest())
		}
	}
	if err := Unmarshal(make([]byte, 3), new(Reply)); err == nil {
		t.Error("a short reply was accepted")
	}
}

// TestAnswerModes: sandbox mode connects and creates nothing else; host
// mode creates unbound, unconnected sockets (Internet and NETLINK_ROUTE)
// and connects nothing.
func TestAnswerModes(t *testing.T) {
	sandbox, host := &config{}, &config{Host: true}
	for _, tc := range []struct {
		name string
		cfg  *config
		req  Request
		want unix.Errno
	}{
		{"socket in sandbox mode", sandbox, NewSocketRequest(1, true, TCP), unix.EPERM},
		{"netlink in sandbox mode", sandbox, Request{ID: 1, Op: OpNetlink}, unix.EPERM},
		{"connect in host mode", host, NewRequest(1, TCP, netip.MustParseAddrPort("127.0.0.1:1")), unix.EPERM},
		{"unknown op", host, Request{ID: 1, Op: 9}, unix.EPERM},
		{"TCP socket", host, NewSocketRequest(1, true, TCP), 0},
		{"UDP6 socket", host, NewSocketRequest(1, false, UDP), 0},
		{"ICMPv6 on IPv4", host, NewSocketRequest(1, true, ICMPv6), unix.EPROTONOSUPPORT},
		{"SCTP", host, NewSocketRequest(1, true, unix.IPPROTO_SCTP), unix.EPROTONOSUPPORT},
		{"netlink", host, Request{ID: 1, Op: OpNetlink}, 0},
	} {
		fd, errno := answer(tc.cfg, tc.req)
		if errno != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, errno, tc.want)
		}
		if fd < 0 {
			continue
		}
		if sa, err := unix.Getpeername(fd); err == nil && tc.req.Op != OpNetlink { // netlink's peer is the kernel
			t.Errorf("%s: connected to %v", tc.name, sa)
		}
		if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); fl&unix.O_NONBLOCK == 0 {
			t.Errorf("%s: blocking", tc.name)
		}
		unix.Close(fd)
	}
}
