package unix

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// acceptCon is __SO_ACCEPTCON, the Flags of a listening socket.
const acceptCon = 1 << 16

// ProcNetUnix returns /proc/net/unix: one line per socket of the
// namespace, as Linux's unix_seq_show prints them. The kernel address
// prints as zeros (as Linux prints it to the unprivileged); RefCount is
// Linux's count for a socket that has its file: 2, plus one for each
// socket whose peer it is. A connection queued on a listener and not
// yet accepted has no file: it is CONNECTING with inode 0. A datagram
// socket another one connected to is CONNECTED while that one lives
// (Linux leaves it so even after).
func (ns *Namespace) ProcNetUnix(net uint64) string {
	mu.Lock()
	defer mu.Unlock()
	ns.allMu.Lock()
	socks := make([]*Socket, 0, len(ns.all))
	for s := range ns.all {
		if s.net == net {
			socks = append(socks, s)
		}
	}
	ns.allMu.Unlock()
	refs := map[*Socket]int{}
	queued := map[*Socket]bool{}
	for _, s := range socks {
		if s.peer != nil && !s.peer.released {
			refs[s.peer]++
		}
		for _, c := range s.backlog {
			queued[c] = true
		}
	}
	sort.Slice(socks, func(i, j int) bool { return socks[i].ino < socks[j].ino })
	var b strings.Builder
	b.WriteString("Num       RefCount Protocol Flags    Type St Inode Path\n")
	for _, s := range socks {
		flags, st, ino := 0, linux.SS_UNCONNECTED, s.ino
		if s.state == listening {
			flags = acceptCon
		}
		// unix_dgram_connect makes both ends ESTABLISHED.
		if s.state == connected || s.typ == sys.SOCK_DGRAM && refs[s] > 0 {
			st = linux.SS_CONNECTED
		}
		if queued[s] {
			st, ino = linux.SS_CONNECTING, 0
		}
		fmt.Fprintf(&b, "%016x: %08X %08X %08X %04X %02X %5d", 0, 2+refs[s], 0, flags, s.typ, st, ino)
		if p := procPath(s.addr); p != "" {
			b.WriteString(" " + p)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// procPath is how /proc/net/unix shows a bound address: a path up to its
// NUL; an abstract name with @ for the leading NUL and for every NUL in
// it.
func procPath(addr []byte) string {
	if len(addr) <= 2 {
		return ""
	}
	name := addr[2:]
	if name[0] != 0 {
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		return string(name)
	}
	return string(bytes.ReplaceAll(name, []byte{0}, []byte{'@'}))
}
