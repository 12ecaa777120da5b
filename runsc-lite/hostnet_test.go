package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNetHost: with --network=host the sandbox's sockets are the host's,
// on both platforms: python's http.server in the sandbox on 127.0.0.1:PORT
// is fetched from the host; a client in the sandbox reaches a host TCP
// listener and a host UDP echo on 127.0.0.1; `ip` prints the host's
// addresses, links and routes as natively; blocking calls, timeouts,
// signals and poll/select/epoll readiness behave as natively; port 80 is
// refused (EACCES), raw and packet sockets too (EPERM, not some other
// kind of socket): the host's answers to the sentry's unprivileged
// identity, whatever capabilities the application has inside. From the
// host: the sentry still runs as nobody with no capability, seccomp and
// namespaces of its own (its own network namespace too), and the
// forwarder is confined.
func TestNetHost(t *testing.T) {
	skipUnlessRunnable(t, "/usr/bin/python3")
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			script := netScript(t, "hostmode.py")
			port := freePort(t, "tcp")
			r := startSandbox(t, runscBin, nil, "--platform", platform, "--network=host",
				"--", "/usr/bin/python3", script, "serve", strconv.Itoa(port))
			if os.Geteuid() == 0 {
				checkAllConfined(t, r, 65534)
			}
			checkForwarderConfined(t, r.cmd.Process.Pid)
			client := http.Client{Timeout: runTimeout}
			resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
			if err != nil {
				t.Fatalf("GET from the host: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "Directory listing for /") {
				t.Errorf("GET from the host: %s %q", resp.Status, clip(string(body)))
			}

			// A client in the sandbox, the servers on the host.
			l, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			got := make(chan string, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					got <- err.Error()
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(runTimeout))
				fmt.Fprintf(c, "hello from the host\n")
				line, _ := bufio.NewReader(c).ReadString('\n')
				got <- line
			}()
			u, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			go func() {
				buf := make([]byte, 100)
				u.SetDeadline(time.Now().Add(runTimeout))
				n, from, err := u.ReadFrom(buf)
				if err == nil {
					u.WriteTo([]byte(strings.ToUpper(string(buf[:n]))), from)
				}
			}()
			res := runscLite(t, runOpts{}, "run", "--platform", platform, "--network=host", "--", "/usr/bin/python3", script, "client",
				strconv.Itoa(l.Addr().(*net.TCPAddr).Port), strconv.Itoa(u.LocalAddr().(*net.UDPAddr).Port))
			if want := "tcp hello from the host peer 127.0.0.1\nudp PING\n"; res.code != 0 || res.stdout != want {
				t.Errorf("the client in the sandbox: %v, want %q", res, want)
			}
			if line := <-got; line != "HELLO FROM THE HOST\n" {
				t.Errorf("the host's server got %q", line)
			}

			// The host's interfaces, addresses and routes through
			// NETLINK_ROUTE, as `ip` prints them natively; a change is
			// refused.
			if ip, err := exec.LookPath("ip"); err == nil {
				for _, args := range [][]string{{"-o", "addr"}, {"-o", "link"}, {"route"}, {"-6", "route"}} {
					native := runOut(t, runOpts{}, append([]string{ip}, args...)...)
					inside := runscLite(t, runOpts{}, append([]string{"run", "--platform", platform, "--network=host", "--", ip}, args...)...)
					if native.code != 0 || inside.code != 0 || inside.stdout != native.stdout {
						t.Errorf("ip %s: sandbox %v, native %v", strings.Join(args, " "), inside, native)
					}
				}
				res := runscLite(t, runOpts{}, "run", "--platform", platform, "--network=host", "--", ip, "addr", "add", "192.0.2.99/32", "dev", "lo")
				if res.code == 0 || !strings.Contains(res.stderr, "Operation not permitted") {
					t.Errorf("ip addr add: %v, want EPERM", res)
				}
			}

			// Waits on host sockets end as on Linux: timeouts, signals
			// (EINTR, SA_RESTART), readiness through poll, select and
			// epoll (edge-triggered too).
			native := runOut(t, runOpts{}, "/usr/bin/python3", script, "waits")
			inside := runscLite(t, runOpts{}, "run", "--platform", platform, "--network=host", "--", "/usr/bin/python3", script, "waits")
			if native.code != 0 || inside.code != 0 || inside.stdout != native.stdout {
				t.Errorf("waits: sandbox %v\nnative %v\n%s", inside, native, lineDiff(native.stdout, inside.stdout))
			}

			res = runscLite(t, runOpts{}, "run", "--platform", platform, "--network=host", "--", "/usr/bin/python3", script, "privileged")
			want := "bind 80: EACCES\nraw icmp: EPERM\nraw udp: EPERM\nraw ipv6 tcp: EPERM\npacket raw: EPERM\npacket dgram: EPERM\n"
			if res.stdout != want {
				t.Errorf("binding port 80, raw and packet sockets: %v, want %q", res, want)
			}
		})
	}
}

// TestAttackHostNetworkSocket: with --network=host, a host socket's
// descriptor does network I/O and nothing else: no file operation on it
// reaches the host (it is no file there), options outside the allow-list
// (a socket filter, a device binding, a mark) are ENOPROTOOPT, changing
// the host's interfaces is EPERM, an Internet socket reaches no host Unix
// socket, and no descriptor passes over it (SCM_RIGHTS is ignored, as
// Linux ignores it on a TCP socket). The connection still works.
// TestNetHostProcNet: with --network=host, /proc/net describes the
// host's network as netlink does in that mode (the interfaces of dev,
// if_inet6, route) and lists the sandbox's own sockets in tcp, tcp6 and
// udp with the host sockets' addresses, states and queues; a program
// printing them prints what it prints natively (testdata/net/procnet_host.c).
func TestNetHostProcNet(t *testing.T) {
	prog := buildC(t, filepath.Join("testdata", "net", "procnet_host.c"), true)
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			nd, sd := workDir(t, "native"), workDir(t, "sandbox")
			native, _ := compareRunsFlags(t, platform, nd, sd, false, []string{"--network=host"}, []string{prog}, []string{prog})
			if native.code != 0 || !strings.Contains(native.stdout, "tcp listener: state 0A") {
				t.Errorf("the program fails natively: %v", native)
			}
		})
	}
}

func TestAttackHostNetworkSocket(t *testing.T) {
	skipUnlessRunnable(t, "/usr/bin/python3")
	want := map[string]string{
		"fchdir": "ENOTDIR", "mmap": "ENODEV", "pread": "ESPIPE", "ftruncate": "EINVAL", "getdents": "ENOTDIR",
		"SO_ATTACH_FILTER": "ENOPROTOOPT", "SO_BINDTODEVICE": "ENOPROTOOPT", "SO_MARK": "ENOPROTOOPT",
		"lo up": "1", "SIOCSIFFLAGS": "EPERM", "TIOCSTI": "ENOTTY",
		"connect AF_UNIX": "EAFNOSUPPORT", "bind AF_UNIX": "EAFNOSUPPORT", "SCM_RIGHTS over TCP": "ok",
		"data": "still works",
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			res := runscLite(t, runOpts{}, "run", "--platform", platform, "--network=host", "--",
				"/usr/bin/python3", netScript(t, "hostmode.py"), "misuse")
			if res.code != 0 {
				t.Fatalf("misuse: %v", res)
			}
			seen := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
				k, v, _ := strings.Cut(line, ": ")
				seen[k] = true
				if w, ok := want[k]; ok && v != w {
					t.Errorf("%s: %s, want %s", k, v, w)
				} else if !ok && v == "ok" {
					t.Errorf("%s succeeded on a host socket's descriptor", k)
				}
			}
			for k := range want {
				if !seen[k] {
					t.Errorf("%s: not reported (%v)", k, res)
				}
			}
		})
	}
}
