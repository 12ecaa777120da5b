package strace

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/interpose"
)

// sendmsg and recvmsg show their struct msghdr (recvmsg's once filled,
// with the data it received and its control messages); getsockopt and
// setsockopt their level and option by name and an int value as [N].
func init() {
	formats[unix.SYS_SENDMSG] = format{args: []arg{aFD, in(func(c *call, v uintptr) string {
		return msghdr(c.mem, v, ^uint64(0), true)
	}), aFlagsOf(msgFlags, "0")}}
	formats[unix.SYS_RECVMSG] = format{args: []arg{aFD, out(func(c *call, v uintptr) string {
		if c.failed() {
			// strace shows what the call was given: the name's room.
			h, err := interpose.Read[abi.MsgHdr](c.mem, v)
			if err != nil {
				return pointer(v)
			}
			return "{msg_namelen=" + strconv.FormatUint(uint64(h.NameLen), 10) + "}"
		}
		return msghdr(c.mem, v, uint64(c.ret), false)
	}), aFlagsOf(msgFlags, "0")}}
	formats[unix.SYS_SETSOCKOPT] = format{args: []arg{aFD, in(sockoptLevel), in(sockoptName),
		in(func(c *call, v uintptr) string { return sockoptValue(c.mem, v, uint64(c.args[4])) }), aInt}}
	formats[unix.SYS_GETSOCKOPT] = format{args: []arg{aFD, in(sockoptLevel), in(sockoptName),
		out(func(c *call, v uintptr) string {
			if c.failed() {
				return pointer(v)
			}
			n, err := interpose.Read[uint32](c.mem, c.args[4])
			if err != nil {
				return pointer(v)
			}
			return sockoptValue(c.mem, v, uint64(n))
		}), aSocklenOut}}
}

// msghdr shows a struct msghdr as strace does; total bounds the data
// shown of its iovecs (what recvmsg returned), sending says the control
// messages are the sender's.
func msghdr(mem interpose.Memory, addr uintptr, total uint64, sending bool) string {
	h, err := interpose.Read[abi.MsgHdr](mem, addr)
	if err != nil {
		return pointer(addr)
	}
	var b strings.Builder
	b.WriteString("{msg_name=")
	if h.Name == 0 {
		b.WriteString("NULL")
	} else {
		b.WriteString(sockaddr(mem, uintptr(h.Name), uint64(h.NameLen)))
	}
	fmt.Fprintf(&b, ", msg_namelen=%d, msg_iov=%s, msg_iovlen=%d", h.NameLen,
		iovecs(mem, uintptr(h.Iov), h.IovLen, total, true), h.IovLen)
	if h.ControlLen > 0 {
		b.WriteString(", msg_control=" + cmsgs(mem, uintptr(h.Control), h.ControlLen))
	}
	fmt.Fprintf(&b, ", msg_controllen=%d, msg_flags=%s}", h.ControlLen, flags(msgFlags, uint64(uint32(h.Flags)), "0"))
	return b.String()
}

// cmsgTypes are the SOL_SOCKET control messages' types.
var cmsgTypes = map[uint64]string{linux.SCM_RIGHTS: "SCM_RIGHTS", linux.SCM_CREDENTIALS: "SCM_CREDENTIALS"}

// cmsgs shows the control messages in n bytes at addr: descriptors and
// credentials decoded, other data in hex.
func cmsgs(mem interpose.Memory, addr uintptr, n uint64) string {
	hdrSize := uint64(linux.SizeOfControlMessageHeader)
	var parts []string
	for off := uint64(0); off+hdrSize <= n; {
		if len(parts) == maxString {
			parts = append(parts, "...")
			break
		}
		h, err := interpose.Read[linux.ControlMessageHeader](mem, addr+uintptr(off))
		if err != nil {
			return pointer(addr)
		}
		if h.Length < hdrSize || h.Length > n-off {
			break
		}
		level := value(sockoptLevels, uint64(uint32(h.Level)), "SOL")
		typ := strconv.Itoa(int(h.Type))
		if h.Level == linux.SOL_SOCKET {
			typ = value(cmsgTypes, uint64(uint32(h.Type)), "SCM")
		}
		data := addr + uintptr(off+hdrSize)
		dataLen := h.Length - hdrSize
		var shown string
		switch {
		case h.Level == linux.SOL_SOCKET && h.Type == linux.SCM_RIGHTS:
			var fds []string
			for i := uint64(0); i+4 <= dataLen; i += 4 {
				fd, err := interpose.Read[int32](mem, data+uintptr(i))
				if err != nil {
					return pointer(addr)
				}
				fds = append(fds, strconv.Itoa(int(fd)))
			}
			shown = "[" + strings.Join(fds, ", ") + "]"
		case h.Level == linux.SOL_SOCKET && h.Type == linux.SCM_CREDENTIALS && dataLen >= 12:
			cr, err := interpose.Read[linux.ControlMessageCredentials](mem, data)
			if err != nil {
				return pointer(addr)
			}
			shown = fmt.Sprintf("{pid=%d, uid=%d, gid=%d}", cr.PID, cr.UID, cr.GID)
		default:
			shown = hexBuffer(mem, data, dataLen)
		}
		parts = append(parts, fmt.Sprintf("{cmsg_len=%d, cmsg_level=%s, cmsg_type=%s, cmsg_data=%s}", h.Length, level, typ, shown))
		off += (h.Length + 7) &^ 7
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// sockoptLevels are the levels by the names strace gives them.
var sockoptLevels = map[uint64]string{
	linux.SOL_IP: "SOL_IP", linux.SOL_SOCKET: "SOL_SOCKET", linux.SOL_TCP: "SOL_TCP", linux.SOL_UDP: "SOL_UDP",
	linux.SOL_IPV6: "SOL_IPV6", linux.SOL_ICMPV6: "SOL_ICMPV6", linux.SOL_RAW: "SOL_RAW",
	linux.SOL_PACKET: "SOL_PACKET", linux.SOL_NETLINK: "SOL_NETLINK",
}

// sockoptNames are the options of each level strace names.
var sockoptNames = map[uint64]map[uint64]string{
	linux.SOL_SOCKET: {
		linux.SO_DEBUG: "SO_DEBUG", linux.SO_REUSEADDR: "SO_REUSEADDR", linux.SO_TYPE: "SO_TYPE", linux.SO_ERROR: "SO_ERROR",
		linux.SO_DONTROUTE: "SO_DONTROUTE", linux.SO_BROADCAST: "SO_BROADCAST", linux.SO_SNDBUF: "SO_SNDBUF",
		linux.SO_RCVBUF: "SO_RCVBUF", linux.SO_KEEPALIVE: "SO_KEEPALIVE", linux.SO_OOBINLINE: "SO_OOBINLINE",
		linux.SO_NO_CHECK: "SO_NO_CHECK", linux.SO_PRIORITY: "SO_PRIORITY", linux.SO_LINGER: "SO_LINGER",
		linux.SO_BSDCOMPAT: "SO_BSDCOMPAT", linux.SO_REUSEPORT: "SO_REUSEPORT", linux.SO_PASSCRED: "SO_PASSCRED",
		linux.SO_PEERCRED: "SO_PEERCRED", linux.SO_RCVLOWAT: "SO_RCVLOWAT", linux.SO_SNDLOWAT: "SO_SNDLOWAT",
		linux.SO_RCVTIMEO: "SO_RCVTIMEO_OLD", linux.SO_SNDTIMEO: "SO_SNDTIMEO_OLD", linux.SO_BINDTODEVICE: "SO_BINDTODEVICE",
		linux.SO_ATTACH_FILTER: "SO_ATTACH_FILTER", linux.SO_DETACH_FILTER: "SO_DETACH_FILTER",
		linux.SO_PEERNAME: "SO_PEERNAME", linux.SO_TIMESTAMP: "SO_TIMESTAMP_OLD", linux.SO_ACCEPTCONN: "SO_ACCEPTCONN",
		linux.SO_PEERSEC: "SO_PEERSEC", linux.SO_SNDBUFFORCE: "SO_SNDBUFFORCE", linux.SO_RCVBUFFORCE: "SO_RCVBUFFORCE",
		linux.SO_PASSSEC: "SO_PASSSEC", linux.SO_TIMESTAMPNS: "SO_TIMESTAMPNS_OLD", linux.SO_MARK: "SO_MARK",
		linux.SO_TIMESTAMPING: "SO_TIMESTAMPING_OLD", linux.SO_PROTOCOL: "SO_PROTOCOL", linux.SO_DOMAIN: "SO_DOMAIN",
		linux.SO_RXQ_OVFL: "SO_RXQ_OVFL", linux.SO_PEEK_OFF: "SO_PEEK_OFF", linux.SO_BUSY_POLL: "SO_BUSY_POLL",
		linux.SO_INCOMING_CPU: "SO_INCOMING_CPU", linux.SO_COOKIE: "SO_COOKIE", linux.SO_PEERGROUPS: "SO_PEERGROUPS",
		linux.SO_ZEROCOPY: "SO_ZEROCOPY", linux.SO_PASSPIDFD: "SO_PASSPIDFD", linux.SO_PEERPIDFD: "SO_PEERPIDFD",
	},
	linux.SOL_TCP: {
		linux.TCP_NODELAY: "TCP_NODELAY", linux.TCP_MAXSEG: "TCP_MAXSEG", linux.TCP_CORK: "TCP_CORK",
		linux.TCP_KEEPIDLE: "TCP_KEEPIDLE", linux.TCP_KEEPINTVL: "TCP_KEEPINTVL", linux.TCP_KEEPCNT: "TCP_KEEPCNT",
		linux.TCP_SYNCNT: "TCP_SYNCNT", linux.TCP_DEFER_ACCEPT: "TCP_DEFER_ACCEPT", linux.TCP_WINDOW_CLAMP: "TCP_WINDOW_CLAMP",
		linux.TCP_INFO: "TCP_INFO", linux.TCP_QUICKACK: "TCP_QUICKACK", linux.TCP_CONGESTION: "TCP_CONGESTION",
		linux.TCP_USER_TIMEOUT: "TCP_USER_TIMEOUT", linux.TCP_FASTOPEN: "TCP_FASTOPEN",
		linux.TCP_NOTSENT_LOWAT: "TCP_NOTSENT_LOWAT", linux.TCP_FASTOPEN_CONNECT: "TCP_FASTOPEN_CONNECT",
		linux.TCP_ULP: "TCP_ULP", linux.TCP_INQ: "TCP_INQ",
	},
	linux.SOL_IP: {
		unix.IP_TOS: "IP_TOS", unix.IP_TTL: "IP_TTL", unix.IP_HDRINCL: "IP_HDRINCL", unix.IP_OPTIONS: "IP_OPTIONS",
		unix.IP_RECVERR: "IP_RECVERR", unix.IP_MTU_DISCOVER: "IP_MTU_DISCOVER", unix.IP_MULTICAST_TTL: "IP_MULTICAST_TTL",
		unix.IP_MULTICAST_LOOP: "IP_MULTICAST_LOOP", unix.IP_ADD_MEMBERSHIP: "IP_ADD_MEMBERSHIP", unix.IP_PKTINFO: "IP_PKTINFO",
	},
	linux.SOL_IPV6: {
		unix.IPV6_V6ONLY: "IPV6_V6ONLY", unix.IPV6_UNICAST_HOPS: "IPV6_UNICAST_HOPS", unix.IPV6_RECVERR: "IPV6_RECVERR",
		unix.IPV6_MULTICAST_HOPS: "IPV6_MULTICAST_HOPS", unix.IPV6_MULTICAST_LOOP: "IPV6_MULTICAST_LOOP",
		unix.IPV6_RECVPKTINFO: "IPV6_RECVPKTINFO", unix.IPV6_TCLASS: "IPV6_TCLASS",
	},
}

// sockoptPrefixes name unknown options of a level: 0x63 /* SO_??? */.
var sockoptPrefixes = map[uint64]string{linux.SOL_SOCKET: "SO", linux.SOL_TCP: "TCP", linux.SOL_IP: "IP", linux.SOL_IPV6: "IPV6"}

func sockoptLevel(_ *call, v uintptr) string { return value(sockoptLevels, uint64(uint32(v)), "SOL") }

func sockoptName(c *call, v uintptr) string {
	level := uint64(uint32(c.args[1]))
	names, ok := sockoptNames[level]
	if !ok {
		return strconv.Itoa(int(int32(v)))
	}
	return value(names, uint64(uint32(v)), sockoptPrefixes[level])
}

// sockoptValue shows an option's value of n bytes: an int as [N], other
// sizes as their bytes.
func sockoptValue(mem interpose.Memory, addr uintptr, n uint64) string {
	if addr == 0 {
		return "NULL"
	}
	if n == 4 {
		v, err := interpose.Read[int32](mem, addr)
		if err != nil {
			return pointer(addr)
		}
		return "[" + strconv.Itoa(int(v)) + "]"
	}
	return hexBuffer(mem, addr, n)
}
