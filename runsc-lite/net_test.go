package main

// Networking inside the sandbox (sentry/socket/inet, netstack): real
// programs serving and fetching over loopback, compared with their native
// runs, and the attack tests of the network's privacy: nothing on the
// host's loopback or addresses is reachable from inside, and no host
// interface is visible.

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// netScript copies testdata/net/NAME to a directory the sandbox can read.
func netScript(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "net", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(workDir(t, "net"), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// skipWithoutIPv6Loopback skips t when the host has no ::1 (IPv6 off):
// the native run of a program that uses it cannot be compared with the
// sandbox's, which always has ::1.
func skipWithoutIPv6Loopback(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("the host has no IPv6 loopback (%v): nothing to compare the sandbox's ::1 with", err)
	}
	l.Close()
}

// TestNetPrograms runs servers and their clients in one sandbox (python's
// http.server with urllib and curl, asyncio streams and a UDP echo,
// node's http), natively and in the sandbox: same output.
func TestNetPrograms(t *testing.T) {
	curl := "-"
	if p, err := exec.LookPath("curl"); err == nil {
		curl = p
	}
	cases := []struct {
		name, need, script string
		args               func(t *testing.T, dir string) []string
	}{
		{name: "python-http", need: "/usr/bin/python3", script: "httpd.py",
			args: func(t *testing.T, dir string) []string { return []string{curl, dir} }},
		{name: "python-asyncio-udp", need: "/usr/bin/python3", script: "asyncio_udp.py"},
		{name: "node-http", need: "/usr/bin/node", script: "node_http.js"},
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					skipUnlessRunnable(t, c.need)
					if c.name == "python-http" {
						skipWithoutIPv6Loopback(t) // it serves on ::1 too
					}
					script := netScript(t, c.script)
					nd, sd := workDir(t, "native"), workDir(t, "sandbox")
					argv := func(dir string) []string {
						a := []string{c.need, script}
						if c.args != nil {
							a = append(a, c.args(t, dir)...)
						}
						return a
					}
					native, _ := compareRunsArgs(t, platform, nd, sd, false, argv(nd), argv(sd))
					if native.code != 0 || native.stdout == "" {
						t.Errorf("the program fails natively: %v", native)
					}
				})
			}
		})
	}
}

// hostAddresses are the host's own non-loopback addresses.
func hostAddresses(t *testing.T) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		ip, _, err := net.ParseCIDR(a.String())
		if err != nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			continue
		}
		out = append(out, ip.String())
	}
	return out
}

// hostLoopbackListener listens on the host's 127.0.0.1 for the test's
// length: its port, and where the address of each peer it accepts goes.
func hostLoopbackListener(t *testing.T) (string, chan string) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan string, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c.RemoteAddr().String()
			c.Close()
		}
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), accepted
}

// TestAttackNetworkPrivacy: a sandboxed program cannot reach a service on
// the host's loopback (directly, or as 10.0.2.2), a link-local address nor
// the host's own addresses, and sees only its own interfaces with the
// sandbox's addresses: lo alone with --network=none, lo and eth0 with
// --network=sandbox, where those connections are refused by the network
// forwarder's policy.
func TestAttackNetworkPrivacy(t *testing.T) {
	skipUnlessRunnable(t, "/usr/bin/python3")
	port, accepted := hostLoopbackListener(t)
	hostAddrs := hostAddresses(t)
	script := netScript(t, "hostview.py")
	for _, mode := range []string{"none", "sandbox"} {
		for _, platform := range platforms {
			t.Run(mode+"/"+platform, func(t *testing.T) {
				r := runscLite(t, runOpts{}, append([]string{"run", "--network", mode, "--platform", platform, "--", "/usr/bin/python3", script, port}, hostAddrs...)...)
				if r.code != 0 {
					t.Fatalf("hostview failed: %v", r)
				}
				lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
				want := map[string]bool{"host-loopback ECONNREFUSED": true, "interface lo 127.0.0.1": true, "flags lo 0x49": true,
					"procnet-tcp own True": true, "procnet-tcp host False": true}
				unreachable := "ENETUNREACH"
				if mode == "none" {
					for _, l := range []string{"flags eth0 ENODEV", "procnet-dev lo", "if_nameindex [(1, 'lo')]", "sys-class-net ['lo']"} {
						want[l] = true
					}
				} else {
					unreachable = "ECONNREFUSED" // by the forwarder
					for _, l := range []string{"interface eth0 10.0.2.15", "flags eth0 0x1043", "procnet-dev lo eth0",
						"if_nameindex [(1, 'lo'), (2, 'eth0')]", "sys-class-net ['eth0', 'lo']"} {
						want[l] = true
					}
				}
				want["gateway "+unreachable] = true
				want["link-local "+unreachable] = true
				for _, a := range hostAddrs {
					want["host-address "+a+" "+unreachable] = true
				}
				for _, l := range lines {
					if !want[l] {
						t.Errorf("the sandbox sees %q", l)
					}
					delete(want, l)
				}
				for l := range want {
					t.Errorf("missing %q in the sandbox's view:\n%s", l, r.stdout)
				}
				for _, a := range hostAddrs {
					if strings.Contains(r.stdout+r.stderr, a+" ") && !strings.Contains(r.stdout, "host-address "+a+" "+unreachable) {
						t.Errorf("host address %s shows in the sandbox", a)
					}
				}
			})
		}
	}
	select {
	case from := <-accepted:
		t.Errorf("the host's loopback listener accepted a connection from %s", from)
	case <-time.After(100 * time.Millisecond):
	}
	// --allow-host-loopback opens exactly that way: 10.0.2.2 is the host's
	// 127.0.0.1.
	r := runscLite(t, runOpts{}, "run", "--allow-host-loopback", "--", "/usr/bin/python3", "-c",
		"import socket; s = socket.create_connection(('10.0.2.2', "+port+"), timeout=10); print('connected')")
	if r.code != 0 || r.stdout != "connected\n" {
		t.Fatalf("--allow-host-loopback: %v", r)
	}
	select {
	case from := <-accepted:
		t.Logf("with --allow-host-loopback the host's listener accepted %s", from)
	case <-time.After(10 * time.Second):
		t.Errorf("with --allow-host-loopback the host's listener saw no connection")
	}
}

// TestNetlinkIP runs iproute2's `ip addr` and `ip link` (NETLINK_ROUTE
// dumps) in the sandbox: they print what the host prints for its own lo,
// and nothing else; /sys/class/net/lo has the host lo's attributes.
func TestNetlinkIP(t *testing.T) {
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	skipWithoutIPv6Loopback(t) // the host's lo must be as the sandbox's
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			for _, what := range []string{"addr", "link"} {
				native := runOut(t, runOpts{}, ip, what, "show", "lo")
				r := runscLite(t, runOpts{}, "run", "--network=none", "--platform", platform, "--", ip, what)
				if r.code != 0 || r.stdout != native.stdout {
					t.Errorf("ip %s in the sandbox:\n%v\nthe host's lo:\n%s", what, r, native.stdout)
				}
			}
			// /sys/class/net/lo says the same as the host's.
			attrs := "cd /sys/class/net/lo && cat address mtu flags ifindex type operstate tx_queue_len"
			native := runOut(t, runOpts{}, "/bin/sh", "-c", attrs)
			r := runscLite(t, runOpts{}, "run", "--network=none", "--platform", platform, "--", "/bin/sh", "-c", attrs)
			if r.code != 0 || r.stdout != native.stdout {
				t.Errorf("/sys/class/net/lo in the sandbox:\n%v\nthe host's:\n%s", r, native.stdout)
			}
		})
	}
}

// TestNetlinkChanges changes the sandbox's network with ip (netlink's
// RTM_NEWLINK, RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE) as
// root inside it, and compares with the same script run natively in a
// network namespace the test makes (unshare --net: only its own lo), then
// checks that a user without CAP_NET_ADMIN gets EPERM.
func TestNetlinkChanges(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	if os.Geteuid() != 0 {
		t.Skip("the native run needs a network namespace (root)")
	}
	script := strings.Join([]string{
		"ip link set lo up",
		"ip link set lo down", "ip link show lo", "ip link set lo up", "ip link show lo",
		"ip addr add 10.1.2.3/24 dev lo", "ip -4 addr show lo",
		"ip addr add 127.0.0.1/8 dev lo", "ip addr add 10.1.2.3/24 dev nosuch",
		"ip route add 10.8.0.0/16 dev lo metric 5", "ip route add 10.9.0.0/16 dev lo",
		"ip route add 10.9.0.0/16 dev lo", "ip route add 10.7.0.0/16 via 10.99.0.1",
		"ip route add 10.6.0.1/16 dev lo", "ip route",
		"ip route del 10.9.0.0/16", "ip route del 10.9.0.0/16", "ip route",
		"ip addr del 10.1.2.3/24 dev lo", "ip addr del 10.1.2.3/24 dev lo", "ip -4 addr show lo",
	}, "; echo $?; ")
	script = "{ " + script + "; echo $?; } 2>&1"
	native := runOut(t, runOpts{}, "unshare", "--net", "/bin/sh", "-c", script)
	if native.code != 0 {
		t.Skipf("unshare --net: %v", native)
	}
	// ip prints Linux's extended acknowledgements ("Error: ...")
	// instead of the errno, which the sandbox does not send: the error
	// lines are compared as "error", the exit codes as they are.
	errLine := regexp.MustCompile(`(?m)^(Error: |RTNETLINK answers: ).*$`)
	want := errLine.ReplaceAllString(native.stdout, "error")
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			r := runscLite(t, runOpts{}, "run", "--network=none", "--platform", platform, "--", "/bin/sh", "-c", script)
			if r.code != 0 || errLine.ReplaceAllString(r.stdout, "error") != want {
				t.Errorf("in the sandbox:\n%v\nnatively:\n%s", r, native.stdout)
			}
			// Without CAP_NET_ADMIN (as nobody), every change is EPERM.
			drop := "import os,sys; os.setgroups([]); os.setgid(65534); os.setuid(65534); os.execvp('/bin/sh', ['sh', '-c', sys.argv[1]])"
			unpriv := "ip addr add 10.1.2.3/24 dev lo; ip route add 10.9.0.0/16 dev lo; ip link set lo down; ip -4 -o addr show lo | wc -l; ip route | wc -l"
			r = runscLite(t, runOpts{}, "run", "--network=none", "--platform", platform, "--", "python3", "-c", drop, "{ "+unpriv+"; } 2>&1")
			wantEPERM := strings.Repeat("RTNETLINK answers: Operation not permitted\n", 3) + "1\n0\n"
			if r.stdout != wantEPERM {
				t.Errorf("without CAP_NET_ADMIN:\n%v\nwant:\n%s", r, wantEPERM)
			}
		})
	}
}

// TestAttackNetNSPrivacy: a network namespace made inside the sandbox
// (CLONE_NEWNET, as root) has lo alone, whatever the --network mode
// (--network=host included: a new namespace is never the host's), reaches
// nothing of the host (its loopback, the gateway, link-local addresses,
// its own addresses), and a packet socket there hears only lo.
func TestAttackNetNSPrivacy(t *testing.T) {
	skipUnlessRunnable(t, "/usr/bin/python3")
	if os.Geteuid() != 0 {
		t.Skip("CLONE_NEWNET needs root in the sandbox, which runsc-lite gives its program as root")
	}
	port, accepted := hostLoopbackListener(t)
	hostAddrs := hostAddresses(t)
	script := netScript(t, "nsview.py")
	for _, mode := range []string{"none", "sandbox", "host"} {
		t.Run(mode, func(t *testing.T) {
			r := runscLite(t, runOpts{}, append([]string{"run", "--network", mode, "--", "/usr/bin/python3", script, port}, hostAddrs...)...)
			if r.code != 0 {
				t.Fatalf("nsview failed: %v", r)
			}
			want := map[string]bool{"if_nameindex [(1, 'lo')]": true, "procnet-dev lo": true, "procnet-route 0": true, "sysfs-class-net lo": true,
				"host-loopback ECONNREFUSED": true, "host-loopback6 ECONNREFUSED": true,
				"gateway ENETUNREACH": true, "link-local ENETUNREACH": true, "packets-from ['lo']": true}
			for _, a := range hostAddrs {
				want["host-address "+a+" ENETUNREACH"] = true
			}
			for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				if !want[l] {
					t.Errorf("the new namespace sees %q", l)
				}
				delete(want, l)
			}
			for l := range want {
				t.Errorf("missing %q in the new namespace's view:\n%s", l, r.stdout)
			}
		})
	}
	select {
	case from := <-accepted:
		t.Errorf("the host's loopback listener accepted a connection from %s", from)
	case <-time.After(100 * time.Millisecond):
	}
}
