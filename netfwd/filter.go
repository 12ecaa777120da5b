package netfwd

import (
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"

	"runsc-lite/precompiled"
	"runsc-lite/sentry/confine"
)

// CgoLinked reports whether this binary is linked with C.
func CgoLinked() bool { return confine.CgoLinked() }

// Filter builds the forwarder's seccomp program, for a binary linked with
// C (cgo) or without, for --network=sandbox or (host) --network=host:
// the Go runtime's calls (package confine's list) and what the mode
// needs; anything else kills the forwarder. Sandbox mode creates and
// connects Internet stream, datagram and ping (ICMP echo) sockets; host
// mode creates them (and NETLINK_ROUTE sockets) but connects nothing.
func Filter(cgo, host bool) ([]bpf.Instruction, error) {
	any := seccomp.AnyValue{}
	eq := func(v uintptr) seccomp.ValueMatcher { return seccomp.EqualTo(v) }
	flags := uintptr(unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC)
	var sockets seccomp.Or
	for _, family := range []uintptr{unix.AF_INET, unix.AF_INET6} {
		for _, typ := range []uintptr{unix.SOCK_STREAM, unix.SOCK_DGRAM} {
			sockets = append(sockets, seccomp.PerArg{eq(family), eq(typ | flags), eq(0), any, any, any})
		}
	}
	// Ping sockets (ICMP echo only: the kernel sends nothing else on
	// them), in both modes.
	sockets = append(sockets,
		seccomp.PerArg{eq(unix.AF_INET), eq(unix.SOCK_DGRAM | flags), eq(unix.IPPROTO_ICMP), any, any, any},
		seccomp.PerArg{eq(unix.AF_INET6), eq(unix.SOCK_DGRAM | flags), eq(unix.IPPROTO_ICMPV6), any, any, any})
	mode := map[uintptr]seccomp.SyscallRule{
		// Connected host sockets (the address is in memory a filter
		// cannot read: the policy is the forwarder's code,
		// Policy.Resolve).
		unix.SYS_CONNECT:    seccomp.MatchAll{},
		unix.SYS_GETSOCKOPT: seccomp.PerArg{any, eq(unix.SOL_SOCKET), eq(unix.SO_ERROR), any, any, any},
		unix.SYS_PPOLL:      seccomp.MatchAll{},
	}
	if host {
		sockets = append(sockets,
			seccomp.PerArg{eq(unix.AF_NETLINK), eq(unix.SOCK_RAW | flags), eq(unix.NETLINK_ROUTE), any, any, any})
		mode = map[uintptr]seccomp.SyscallRule{}
	}
	rules := confine.RuntimeRules(cgo)
	for nr, r := range mode {
		rules[nr] = r
	}
	for nr, r := range map[uintptr]seccomp.SyscallRule{
		// Host sockets: Internet stream, datagram and ping sockets only
		// (and, in host mode, NETLINK_ROUTE ones).
		unix.SYS_SOCKET: sockets,
		unix.SYS_CLOSE:  seccomp.MatchAll{},
		// The sentry's requests and the answers with their descriptor,
		// on the socket pair only.
		unix.SYS_RECVMSG: seccomp.PerArg{eq(controlFD), any, any, any, any, any},
		unix.SYS_SENDMSG: seccomp.PerArg{eq(controlFD), any, any, any, any, any},
		// The Go runtime's poller wakes through an eventfd (read, write);
		// a panic writes to stderr.
		unix.SYS_READ:  seccomp.MatchAll{},
		unix.SYS_WRITE: seccomp.MatchAll{},
	} {
		rules[nr] = r
	}
	p := seccomp.Program{
		RuleSets: []seccomp.RuleSet{{Rules: seccomp.MakeSyscallRules(rules), Action: seccomp.Allow}},
		Options: seccomp.ProgramOptions{
			DefaultAction: seccomp.KillProcess,
			BadArchAction: seccomp.KillProcess,
			HotSyscalls:   []uintptr{unix.SYS_FUTEX, unix.SYS_RECVMSG, unix.SYS_SENDMSG},
		},
	}
	insns, err := precompiled.Build(&p)
	if err != nil {
		return nil, fmt.Errorf("building the network forwarder's seccomp program: %w", err)
	}
	return insns, nil
}
