package main

// The sandbox's outbound and inbound traffic (--network=sandbox, the
// network forwarder of package netfwd, --publish) against a test host the
// test makes: a network namespace joined to the host's by a veth pair,
// with testdata/net/testhost.py serving HTTP, a UDP echo and DNS inside
// it. Traffic goes only to that namespace and to the host's loopback.

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testHost is a network namespace with a server: Addr is its address,
// HostSide the host's end of the veth pair.
type testHost struct {
	Addr, HostSide string
}

// makeTestHost makes a network namespace joined to the host's by a veth
// pair on a /24 of 10.213.0.0/16 and runs testhost.py in it, answering DNS
// A queries with dnsAnswer. Everything is removed when t ends.
func makeTestHost(t *testing.T, dnsAnswer string) testHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("making a network namespace needs root")
	}
	ipCmd, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	skipUnlessRunnable(t, "/usr/bin/python3")
	// A /24 no interface of the host has (another test run's, say).
	n := 0
	for try := 0; try < 20 && n == 0; try++ {
		c := 20 + rand.Intn(200)
		if out, err := exec.Command(ipCmd, "-o", "addr", "show", "to", fmt.Sprintf("10.213.%d.0/24", c)).Output(); err == nil && len(out) == 0 {
			n = c
		}
	}
	if n == 0 {
		t.Fatal("no free /24 in 10.213.0.0/16 for the test host")
	}
	ns := fmt.Sprintf("rl-test-%d", os.Getpid())
	hostVeth, nsVeth := fmt.Sprintf("rlh%d", os.Getpid()), fmt.Sprintf("rln%d", os.Getpid())
	th := testHost{Addr: fmt.Sprintf("10.213.%d.2", n), HostSide: fmt.Sprintf("10.213.%d.1", n)}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipCmd, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() {
		exec.Command(ipCmd, "link", "del", hostVeth).Run()
		exec.Command(ipCmd, "netns", "del", ns).Run()
	})
	ip("link", "add", hostVeth, "type", "veth", "peer", "name", nsVeth)
	ip("link", "set", nsVeth, "netns", ns)
	ip("addr", "add", th.HostSide+"/24", "dev", hostVeth)
	ip("link", "set", hostVeth, "up")
	ip("-n", ns, "addr", "add", th.Addr+"/24", "dev", nsVeth)
	ip("-n", ns, "link", "set", nsVeth, "up")
	ip("-n", ns, "link", "set", "lo", "up")
	srv := exec.Command(ipCmd, "netns", "exec", ns, "/usr/bin/python3", netScript(t, "testhost.py"), th.Addr, dnsAnswer)
	waitReady(t, srv)
	return th
}

// waitReady starts cmd in a process group of its own, waits for the line
// "ready" on its stdout, and kills the group when t ends.
func waitReady(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := sc.Scan() && sc.Text() == "ready"
		ready <- ok
		io.Copy(io.Discard, out)
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s did not start: %s", cmd.Args, stderr.String())
		}
	case <-time.After(runTimeout):
		t.Fatalf("%s did not start in %v", cmd.Args, runTimeout)
	}
}

// TestNetOutbound: with --network=sandbox, HTTP over TCP, a reset and a
// refused connection (each as the sandbox's own errno), a UDP echo and a
// DNS lookup through the sandbox's resolver (10.0.2.3, which the
// forwarder maps to the host's resolver: here the test host, named by a
// resolv.conf given for the host's) reach the test host; the test host
// sees the host's own address (the forwarder's socket). With
// --network=none nothing leaves.
func TestNetOutbound(t *testing.T) {
	th := makeTestHost(t, "192.0.2.7")
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver "+th.Addr+"\nsearch example\noptions timeout:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), resolvConfEnv+"="+resolv)
	script := netScript(t, "outbound.py")
	for _, platform := range platforms {
		t.Run("sandbox/"+platform, func(t *testing.T) {
			r := runscLite(t, runOpts{env: env}, "run", "--platform", platform, "--", "/usr/bin/python3", script, th.Addr)
			want := "http hello " + th.HostSide + "\nreset ECONNRESET\nrefused ECONNREFUSED\nudp PING " + th.Addr + "\ndns 192.0.2.7\nresolv nameserver 10.0.2.3 search example options timeout:2\n"
			if r.code != 0 || r.stdout != want {
				t.Errorf("outbound:\n%v\nwant:\n%s", r, want)
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		r := runscLite(t, runOpts{env: env}, "run", "--network=none", "--", "/usr/bin/python3", script, th.Addr)
		want := "http ENETUNREACH\nreset ENETUNREACH\nrefused ENETUNREACH\nudp ENETUNREACH\ndns gaierror\n"
		if r.code != 0 || !strings.HasPrefix(r.stdout, want) {
			t.Errorf("--network=none:\n%v\nwant:\n%s", r, want)
		}
	})
}

// freePort returns a port nothing listens on at 127.0.0.1 just now.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestNetPublish: --publish forwards the host's 127.0.0.1:HOSTPORT to a
// TCP server in the sandbox, and a UDP port to a UDP echo there.
func TestNetPublish(t *testing.T) {
	skipUnlessRunnable(t, "/usr/bin/python3")
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			tcpPort, udpPort := freePort(t, "tcp"), freePort(t, "udp")
			cmd := exec.Command(runscBin, "run", "--platform", platform,
				"--publish", strconv.Itoa(tcpPort)+":8000", "--publish", "127.0.0.1:"+strconv.Itoa(udpPort)+":9999/udp",
				"--", "/usr/bin/python3", netScript(t, "testhost.py"), "0.0.0.0", "192.0.2.7")
			waitReady(t, cmd)
			checkForwarderConfined(t, cmd.Process.Pid)
			c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(tcpPort), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
			c.SetDeadline(time.Now().Add(runTimeout))
			reply, err := io.ReadAll(c)
			c.Close()
			if err != nil || !strings.HasSuffix(string(reply), "\r\n\r\nhello 127.0.0.1\n") {
				t.Errorf("HTTP through --publish: %q, %v", reply, err)
			}
			u, err := net.Dial("udp4", "127.0.0.1:"+strconv.Itoa(udpPort))
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			u.SetDeadline(time.Now().Add(runTimeout))
			u.Write([]byte("ping"))
			buf := make([]byte, 16)
			n, err := u.Read(buf)
			if err != nil || string(buf[:n]) != "PING" {
				t.Errorf("UDP through --publish: %q, %v", buf[:n], err)
			}
			// Still there, and still confined, after the Go runtime's
			// periodic work (a GOMAXPROCS update re-read the cgroup's
			// files every second, which the filter killed).
			time.Sleep(2 * time.Second)
			checkForwarderConfined(t, cmd.Process.Pid)
		})
	}
}

// TestNetworkFlags: the network's bad flags are one-line usage errors.
func TestNetworkFlags(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"--network=host --publish 8080:80", "--network=host: the sandbox's sockets are the host's already"},
		{"--network=host --allow-host-loopback", "--network=host: the sandbox's sockets are the host's already"},
		{"--network=bogus", "--network=bogus: want sandbox"},
		{"--network=none --publish 8080:80", "--network=none: nothing goes in or out"},
		{"--publish 8080", "--publish \"8080\": no PORT"},
		{"--publish 8080:0", "bad PORT"},
		{"--publish 8080:80/sctp", "unknown protocol"},
		{"--publish nohost:8080:80", "bad HOSTIP"},
	} {
		r := runscLite(t, runOpts{}, append(append([]string{"run"}, strings.Fields(c.args)...), "--", "/bin/true")...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("run %s: %v, want exit %d and one line with %q", c.args, r, exitUsage, c.want)
		}
	}
}

// checkForwarderConfined finds the network forwarder that runsc-lite
// (pid parent) started and checks, from the host, that it runs as
// nobody with no capability, no_new_privs, its seccomp program and in the
// host's network namespace (where its sockets must be).
func checkForwarderConfined(t *testing.T, parent int) {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, _ := os.ReadFile(d + "/cmdline")
		if !strings.HasPrefix(string(cmdline), "runsc-lite-netfwd\x00") {
			continue
		}
		status, err := os.ReadFile(d + "/status")
		if err != nil || !strings.Contains(string(status), fmt.Sprintf("\nPPid:\t%d\n", parent)) {
			continue
		}
		for _, want := range []string{"\nUid:\t65534\t65534\t65534\t65534\n", "\nGid:\t65534\t65534\t65534\t65534\n",
			"\nCapEff:\t0000000000000000\n", "\nCapPrm:\t0000000000000000\n", "\nNoNewPrivs:\t1\n", "\nSeccomp:\t2\n"} {
			if !strings.Contains(string(status), want) {
				t.Errorf("the network forwarder's status lacks %q:\n%s", want, status)
			}
		}
		mine, _ := os.Readlink("/proc/self/ns/net")
		its, err := os.Readlink(d + "/ns/net")
		if err == nil && its != mine {
			t.Errorf("the network forwarder is in network namespace %s, not the host's %s", its, mine)
		}
		return
	}
	t.Errorf("no network forwarder is a child of runsc-lite (pid %d)", parent)
}

// TestNetLoopbackResolver: a host resolver on the host's loopback (as
// systemd-resolved's 127.0.0.53) answers the sandbox through 10.0.2.3
// without --allow-host-loopback, on port 53 only: that one path.
func TestNetLoopbackResolver(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the test resolver binds port 53")
	}
	skipUnlessRunnable(t, "/usr/bin/python3")
	const resolver = "127.0.0.77"
	waitReady(t, exec.Command("/usr/bin/python3", netScript(t, "testhost.py"), resolver, "192.0.2.8"))
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver "+resolver+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `import errno, socket
print("dns", socket.gethostbyname("resolver.example"))
s = socket.socket()
try:
    s.connect(("10.0.2.3", 8000))
    print("10.0.2.3:8000 connected")
except OSError as e:
    print("10.0.2.3:8000", errno.errorcode[e.errno])
`
	r := runscLite(t, runOpts{env: append(os.Environ(), resolvConfEnv+"="+resolv)}, "run", "--", "/usr/bin/python3", "-c", script)
	if want := "dns 192.0.2.8\n10.0.2.3:8000 ECONNREFUSED\n"; r.code != 0 || r.stdout != want {
		t.Errorf("through a loopback resolver:\n%v\nwant:\n%s", r, want)
	}
}

// TestStaleNetDirs: the resolv.conf directory of a runsc-lite that is gone
// (killed with SIGKILL, it could not remove it) is removed by the next
// start; a live one's stays.
func TestStaleNetDirs(t *testing.T) {
	dead := filepath.Join(os.TempDir(), netDirPrefix+"4194305-test") // above any pid_max
	live := filepath.Join(os.TempDir(), netDirPrefix+strconv.Itoa(os.Getppid())+"-test")
	for _, d := range []string{dead, live} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(d)
	}
	removeStaleNetDirs()
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("%s stays: %v", dead, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("%s was removed: %v", live, err)
	}
}
