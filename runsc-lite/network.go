package main

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/netfwd"
	"runsc-lite/sentry/fs/host"
	"runsc-lite/sentry/fs/rootfs"
)

// The sandbox's network, as `run` sets it up in the parent: --network,
// --allow-host-loopback and --publish. The parent starts the network
// forwarder (package netfwd) in the host's network namespace, opens the
// published ports' host sockets with the caller's rights, and writes the
// sandbox's /etc/resolv.conf; the sentry gets descriptors only.

// Network modes.
const (
	networkSandbox = "sandbox"
	networkNone    = "none"
	networkHost    = "host"
)

// hostResolvConf is the host's resolver configuration.
const hostResolvConf = "/etc/resolv.conf"

// publish is one --publish [HOSTIP:]HOSTPORT:PORT[/udp].
type publish struct {
	Host  netip.AddrPort
	Port  uint16
	Proto uint8 // netfwd.TCP or UDP
}

// publishConfig is one published port in the sentry's configuration.
type publishConfig struct {
	File  int // the host socket, listening (TCP) or bound (UDP)
	Proto uint8
	Port  uint16
}

// parsePublish parses --publish [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]. The
// host address defaults to 127.0.0.1: a published port is the host's
// own unless the caller names another address (0.0.0.0: every one).
func parsePublish(s string) (publish, error) {
	bad := func(why string) (publish, error) {
		return publish{}, fmt.Errorf("--publish %q: %s (want [HOSTIP:]HOSTPORT:PORT[/udp])", s, why)
	}
	p := publish{Proto: netfwd.TCP}
	spec, proto, _ := strings.Cut(s, "/")
	switch proto {
	case "", "tcp":
	case "udp":
		p.Proto = netfwd.UDP
	default:
		return bad("unknown protocol " + strconv.Quote(proto))
	}
	i := strings.LastIndex(spec, ":")
	if i < 0 {
		return bad("no PORT")
	}
	hostPart, portPart := spec[:i], spec[i+1:]
	port, err := strconv.ParseUint(portPart, 10, 16)
	if err != nil || port == 0 {
		return bad("bad PORT " + strconv.Quote(portPart))
	}
	p.Port = uint16(port)
	ip := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	hostPort := hostPart
	if j := strings.LastIndex(hostPart, ":"); j >= 0 {
		if ip, err = netip.ParseAddr(strings.Trim(hostPart[:j], "[]")); err != nil {
			return bad("bad HOSTIP " + strconv.Quote(hostPart[:j]))
		}
		hostPort = hostPart[j+1:]
	}
	hp, err := strconv.ParseUint(hostPort, 10, 16)
	if err != nil || hp == 0 {
		return bad("bad HOSTPORT " + strconv.Quote(hostPort))
	}
	p.Host = netip.AddrPortFrom(ip, uint16(hp))
	return p, nil
}

// listen opens p's host socket: listening for TCP, bound for UDP.
func (p publish) listen() (*os.File, error) {
	family := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(p.Host.Port()), Addr: p.Host.Addr().As4()}
	if p.Host.Addr().Is6() {
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(p.Host.Port()), Addr: p.Host.Addr().As16()}
	}
	typ := unix.SOCK_STREAM
	if p.Proto == netfwd.UDP {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--publish %s: %w", p.Host, err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("--publish %s: %w", p.Host, err)
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.Listen(fd, 128); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("--publish %s: %w", p.Host, err)
		}
	}
	return os.NewFile(uintptr(fd), "publish"), nil
}

// resolvConf reads a resolv.conf: its first nameserver, and the lines
// the sandbox's copy keeps (search, domain, options).
func resolvConf(path string) (netip.Addr, []string) {
	f, err := os.Open(path)
	if err != nil {
		return netip.Addr{}, nil
	}
	defer f.Close()
	var ns netip.Addr
	var keep []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(fields[1]); err == nil && !ns.IsValid() {
				ns = a.Unmap()
			}
		case "search", "domain", "options":
			keep = append(keep, strings.Join(fields, " "))
		}
	}
	return ns, keep
}

// sandboxNetwork is what the parent made for the sandbox's network.
type sandboxNetwork struct {
	fwd    *netfwd.Forwarder
	tmpDir string // holds the sandbox's resolv.conf
}

// close stops the forwarder and removes the resolv.conf.
func (n *sandboxNetwork) close() {
	if n.fwd != nil {
		n.fwd.Stop()
	}
	if n.tmpDir != "" {
		os.RemoveAll(n.tmpDir)
	}
}

// setUpNetwork starts the forwarder and writes the sandbox's
// /etc/resolv.conf (nameserver netfwd.DNS, which leads to the host's
// first resolver), returned as a read-only bind mount. add passes a
// descriptor to the sentry.
func setUpNetwork(cfg *sentryConfig, allowHostLoopback bool, uid, gid int, add func(*os.File) int) (*sandboxNetwork, *mountConfig, error) {
	n := &sandboxNetwork{}
	dns, keep := resolvConf(hostResolvConfPath())
	fwd, sentryEnd, err := netfwd.Start(netfwd.Policy{AllowHostLoopback: allowHostLoopback, HostDNS: dns}, false, uid, gid)
	if err != nil {
		return nil, nil, err
	}
	n.fwd = fwd
	cfg.NetFile = add(sentryEnd)
	if !dns.IsValid() {
		return n, nil, nil
	}
	removeStaleNetDirs()
	if n.tmpDir, err = os.MkdirTemp("", netDirPrefix+strconv.Itoa(os.Getpid())+"-"); err != nil {
		n.close()
		return nil, nil, fmt.Errorf("the sandbox's resolv.conf: %w", err)
	}
	content := "# made by runsc-lite from the host's " + hostResolvConf + "\nnameserver " + netfwd.DNS.String() + "\n"
	for _, l := range keep {
		content += l + "\n"
	}
	file := filepath.Join(n.tmpDir, "resolv.conf")
	if err := os.Chmod(n.tmpDir, 0o755); err == nil {
		err = os.WriteFile(file, []byte(content), 0o644)
	}
	if err != nil {
		n.close()
		return nil, nil, fmt.Errorf("the sandbox's resolv.conf: %w", err)
	}
	src, err := host.OpenSource(file, false)
	if err != nil {
		n.close()
		return nil, nil, fmt.Errorf("the sandbox's resolv.conf: %w", err)
	}
	return n, &mountConfig{Dest: "/etc/resolv.conf", File: add(src.Dir), Access: rootfs.ReadOnly}, nil
}

// setUpHostNetwork starts the forwarder for --network=host, which
// creates the application's host sockets; the sandbox reads the host's
// own /etc/resolv.conf.
func setUpHostNetwork(cfg *sentryConfig, uid, gid int, add func(*os.File) int) (*sandboxNetwork, error) {
	fwd, sentryEnd, err := netfwd.Start(netfwd.Policy{}, true, uid, gid)
	if err != nil {
		return nil, err
	}
	cfg.NetFile, cfg.NetHost = add(sentryEnd), true
	return &sandboxNetwork{fwd: fwd}, nil
}

// resolvConfEnv names another resolv.conf for the host's, for tests
// whose resolver is a test host of theirs.
const resolvConfEnv = "RUNSC_LITE_TEST_RESOLV_CONF"

func hostResolvConfPath() string {
	if p := os.Getenv(resolvConfEnv); p != "" {
		return p
	}
	return hostResolvConf
}

// netDirPrefix names the directories that hold a sandbox's resolv.conf:
// runsc-lite-net-PID-RANDOM in the temporary directory.
const netDirPrefix = "runsc-lite-net-"

// removeStaleNetDirs removes the resolv.conf directories of runsc-lite
// processes that are gone: one killed (SIGKILL) could not remove its own.
func removeStaleNetDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), netDirPrefix+"*"))
	for _, d := range dirs {
		pidPart, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), netDirPrefix), "-")
		pid, err := strconv.Atoi(pidPart)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if unix.Kill(pid, 0) == unix.ESRCH {
			os.RemoveAll(d)
		}
	}
}
