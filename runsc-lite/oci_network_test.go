package main

// An OCI container's network namespace (oci_network.go, package netns):
// the container, given a namespace with a veth, serves on the veth's
// address and reaches the host's end of it, from that address. Traffic
// goes only to namespaces the test makes.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hostListener serves "from-host" over HTTP on addr:0 and records the
// peers it served.
type hostListener struct {
	ln    net.Listener
	peers chan string
}

func newHostListener(t *testing.T, addr string) *hostListener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	h := &hostListener{ln: ln, peers: make(chan string, 16)}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		select {
		case h.peers <- host:
		default:
		}
		io.WriteString(w, "from-host\n")
	}))
	t.Cleanup(func() { ln.Close() })
	return h
}

// ociNetBundle is a busybox bundle whose process fetches url, prints it,
// then serves /www (index.html: "from-container") on port 8080.
func ociNetBundle(t *testing.T, url string, edit func(*specs.Spec)) string {
	t.Helper()
	bundle := ociBundle(t)
	root := filepath.Join(bundle, "rootfs")
	for _, n := range []string{"wget", "httpd", "ip"} {
		os.Symlink("busybox", filepath.Join(root, "bin", n))
	}
	if err := os.MkdirAll(filepath.Join(root, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "www", "index.html"), []byte("from-container\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "wget -qO- " + url + "; exec httpd -f -p 8080 -h /www"}
		edit(s)
	})
	return bundle
}

// setNetNS gives s's network namespace path (or none, "").
func setNetNS(s *specs.Spec, path string) {
	for i, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			s.Linux.Namespaces[i].Path = path
			return
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: path})
}

// checkServes creates and starts container id from bundle and checks it
// on addr: its fetch from the host listener h came from addr, its server
// answers on addr:8080, and exec `ip` inside shows iface with mac and
// addr/24, and no other interface but lo.
func checkServes(t *testing.T, bundle, id, addr, iface, mac string, h *hostListener) {
	t.Helper()
	stateDir := workDir(t, "state")
	out := filepath.Join(stateDir, "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(runscBin, "--root", stateDir, "create", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out)
		t.Fatalf("create: %v: %s", err, b)
	}
	t.Cleanup(func() { oci(t, stateDir, "delete", "--force", id) })
	if r := oci(t, stateDir, "start", id); r.code != 0 {
		t.Fatalf("start: %v", r)
	}
	select {
	case peer := <-h.peers:
		if peer != addr {
			t.Errorf("the host listener's peer is %s, want the container's %s", peer, addr)
		}
	case <-time.After(runTimeout):
		b, _ := os.ReadFile(out)
		t.Fatalf("the container never reached the host listener: %s", b)
	}
	client := http.Client{Timeout: 5 * time.Second}
	var body string
	for end := time.Now().Add(runTimeout); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get("http://" + net.JoinHostPort(addr, "8080") + "/")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		break
	}
	if body != "from-container\n" {
		b, _ := os.ReadFile(out)
		t.Errorf("GET from the container's server: %q, want from-container; its output: %s", body, b)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "from-host\n") {
		t.Errorf("the container's output %q lacks what the host listener sent", b)
	}
	r := oci(t, stateDir, "exec", id, "ip", "-o", "addr")
	if r.code != 0 {
		t.Fatalf("exec ip: %v", r)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || (f[1] != "lo" && f[1] != iface) {
			t.Errorf("ip -o addr inside: %q, want only lo and %s", l, iface)
		}
	}
	found := false
	for _, l := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(l)
		found = found || len(f) >= 4 && f[1] == iface && f[2] == "inet" && f[3] == addr+"/24"
	}
	if !found {
		t.Errorf("ip -o addr inside:\n%s\nwant %s with %s/24", r.stdout, iface, addr)
	}
	// By name: busybox's ip asks SIOCGIFINDEX of an AF_UNIX socket
	// (glibc's if_nametoindex), which Linux answers on any socket.
	r = oci(t, stateDir, "exec", id, "ip", "-o", "link", "show", iface)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "2: "+iface+":") || !strings.Contains(r.stdout, "link/ether "+mac+" ") {
		t.Errorf("ip -o link show %s inside: %v, want index 2 and MAC %s", iface, r, mac)
	}
}

// nsMAC is the MAC of interface dev in namespace ns ("": the host's).
func nsMAC(t *testing.T, ipCmd, ns, dev string) string {
	t.Helper()
	args := []string{"-o", "link", "show", dev}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	b, err := exec.Command(ipCmd, args...).Output()
	if err != nil {
		t.Fatalf("ip %s: %v", args, err)
	}
	f := strings.Fields(string(b))
	for i := range f[:len(f)-1] {
		if f[i] == "link/ether" {
			return f[i+1]
		}
	}
	t.Fatalf("no MAC in %q", b)
	return ""
}

// TestOCINetwork: a container whose config.json names a network
// namespace with a veth (CNI's and containerd's way) serves on the
// veth's address and connects out from it; the namespace's kernel no
// longer holds the address (netstack does).
func TestOCINetwork(t *testing.T) {
	vn := makeVethNamespace(t)
	h := newHostListener(t, vn.HostSide)
	url := "http://" + h.ln.Addr().String() + "/"
	bundle := ociNetBundle(t, url, func(s *specs.Spec) { setNetNS(s, vn.Path) })
	mac := nsMAC(t, vn.ip, vn.Name, vn.Veth)
	checkServes(t, bundle, "net1", vn.Addr, vn.Veth, mac, h)
	if b, err := exec.Command(vn.ip, "-n", vn.Name, "-o", "-4", "addr", "show", "dev", vn.Veth).Output(); err != nil || len(b) != 0 {
		t.Errorf("the namespace's %s still has %q (%v), want no IPv4 address", vn.Veth, b, err)
	}
}

// TestOCINetworkHook: Docker's way: config.json asks for a new network
// namespace and a createRuntime hook (Docker's libnetwork-setkey) moves
// a veth into the namespace of the pid it is given and configures it;
// create takes what the hook put there.
func TestOCINetworkHook(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a veth pair needs root")
	}
	ipCmd, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("nsenter is not installed")
	}
	// A pair with both ends on the host: the hook moves one into the
	// container's namespace.
	n := freeSubnet(t, ipCmd)
	hostAddr, ctrAddr := fmt.Sprintf("10.213.%d.1", n), fmt.Sprintf("10.213.%d.2", n)
	hostVeth, ctrTmp, ctrVeth := vethName("rlk"), vethName("rlc"), "eth7"
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipCmd, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("link", "add", hostVeth, "type", "veth", "peer", "name", ctrTmp)
	t.Cleanup(func() { exec.Command(ipCmd, "link", "del", hostVeth).Run() })
	run("addr", "add", hostAddr+"/24", "dev", hostVeth)
	run("link", "set", hostVeth, "up")
	mac := nsMAC(t, ipCmd, "", ctrTmp)
	h := newHostListener(t, hostAddr)
	hook := filepath.Join(workDir(t, "hook"), "setkey.sh")
	script := fmt.Sprintf(`#!/bin/sh
set -e
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
%[1]s link set %[2]s netns "$pid" name %[3]s
nsenter -t "$pid" -n %[1]s addr add %[4]s/24 dev %[3]s
nsenter -t "$pid" -n %[1]s link set %[3]s up
nsenter -t "$pid" -n %[1]s link set lo up
`, ipCmd, ctrTmp, ctrVeth, ctrAddr)
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	url := "http://" + h.ln.Addr().String() + "/"
	bundle := ociNetBundle(t, url, func(s *specs.Spec) {
		setNetNS(s, "")
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: hook}}}
	})
	checkServes(t, bundle, "net2", ctrAddr, ctrVeth, mac, h)
}

// TestRunNetns: `run --netns PATH` takes the namespace's veth as an OCI
// container does: a fetch from the host's end comes from the veth's
// address, which the namespace no longer holds. Bad uses are one line.
func TestRunNetns(t *testing.T) {
	vn := makeVethNamespace(t)
	h := newHostListener(t, vn.HostSide)
	url := "http://" + h.ln.Addr().String() + "/"
	r := runscLite(t, runOpts{}, "run", "--netns", vn.Path, "--", "/bin/busybox", "sh", "-c", "/bin/busybox wget -qO- "+url+" && /bin/busybox ip -o -4 addr show dev "+vn.Veth)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "from-host\n") || !strings.Contains(r.stdout, " inet "+vn.Addr+"/24 ") {
		t.Errorf("run --netns: %v, want from-host and %s on %s", r, vn.Addr, vn.Veth)
	}
	select {
	case peer := <-h.peers:
		if peer != vn.Addr {
			t.Errorf("the host listener's peer is %s, want %s", peer, vn.Addr)
		}
	default:
		t.Error("the host listener saw no request")
	}
	if b, err := exec.Command(vn.ip, "-n", vn.Name, "-o", "-4", "addr", "show", "dev", vn.Veth).Output(); err != nil || len(b) != 0 {
		t.Errorf("the namespace's %s still has %q (%v), want no IPv4 address", vn.Veth, b, err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--netns", "/proc/self/ns/net"}, 1, "host's"},
		{[]string{"--netns", "/etc/passwd"}, 1, "not a network namespace"},
		{[]string{"--netns", "netns"}, 1, "absolute"},
		{[]string{"--netns", vn.Path}, 1, "no interface with an address"},
		{[]string{"--network=none", "--netns", vn.Path}, 2, "--netns"},
		{[]string{"--netns", vn.Path, "--publish", "8080:80"}, 2, "--netns"},
	} {
		r := runscLite(t, runOpts{}, append(append([]string{"run"}, c.args...), "--", "/bin/true")...)
		if r.code != c.code || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("run %s: %v, want exit %d and one line naming %q", c.args, r, c.code, c.want)
		}
	}
}
