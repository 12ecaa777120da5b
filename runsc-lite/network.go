package main

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/netfwd"
	"runsc-lite/sentry/fs/rootfs"
)

// The sandbox's network, as `run` sets it up in the parent: --network,
// --allow-host-loopback and --publish. The parent starts the network
// forwarder (package netfwd) in the host's network namespace, opens the
// published ports' host sockets with the caller's rights, and makes the
// sandbox's /etc/resolv.conf, which the sentry mounts from its memory;
// the sentry gets descriptors and that file's contents only.

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
	fwd *netfwd.Forwarder
}

// close stops the forwarder.
func (n *sandboxNetwork) close() {
	if n.fwd != nil {
		n.fwd.Stop()
	}
}

// setUpNetwork starts the forwarder and makes the sandbox's
// /etc/resolv.conf (nameserver netfwd.DNS, which leads to the host's
// first resolver), returned as a mount of a read-only file of the
// sandbox's memory: never a host file, whose statfs would show the host
// disk that held it. add passes a descriptor to the sentry.
func setUpNetwork(cfg *sentryConfig, allowHostLoopback bool, uid, gid int, add func(*os.File) int) (*sandboxNetwork, *mountConfig, error) {
	dns, keep := resolvConf(hostResolvConfPath())
	fwd, sentryEnd, err := netfwd.Start(netfwd.Policy{AllowHostLoopback: allowHostLoopback, HostDNS: dns}, false, uid, gid)
	if err != nil {
		return nil, nil, err
	}
	cfg.NetFile = add(sentryEnd)
	n := &sandboxNetwork{fwd: fwd}
	if !dns.IsValid() {
		return n, nil, nil
	}
	content := "# made by runsc-lite from the host's " + hostResolvConf + "\nnameserver " + netfwd.DNS.String() + "\n"
	for _, l := range keep {
		content += l + "\n"
	}
	return n, &mountConfig{Dest: "/etc/resolv.conf", File: -1, Access: rootfs.ReadOnly, Content: []byte(content)}, nil
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
