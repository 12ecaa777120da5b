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

// Entry is one socket as /proc/net/unix and sock_diag (package
// netlink) show it, which thereby agree.
type Entry struct {
	Type int
	// State is Linux's sk_state: TCP_LISTEN, TCP_ESTABLISHED (connected,
	// a datagram socket another one connected to, a connection queued
	// on a listener) or TCP_CLOSE.
	State uint32
	// ProcState is /proc/net/unix's SS_* state, Flags its __SO_ACCEPTCON.
	ProcState int
	Flags     int
	// Refs is Linux's count for a socket that has its file: 2, plus one
	// for each socket whose peer it is.
	Refs int
	// Ino is 0 for a connection queued on a listener: it has no file.
	Ino  uint64
	Addr []byte // the bound sockaddr_un, nil if unbound
	// HasPeer is set when the socket has a peer, PeerIno the peer's Ino.
	HasPeer  bool
	PeerIno  uint64
	Shutdown uint8 // sk_shutdown: RCV_SHUTDOWN 1, SEND_SHUTDOWN 2
	// RQueue and WQueue are UNIX_DIAG_RQLEN's: a listener's queued
	// connections and backlog, another's SIOCINQ and SIOCOUTQ.
	RQueue, WQueue int
}

// Entries are the sockets of network namespace net, in the order they
// were made.
func (ns *Namespace) Entries(net uint64) []Entry {
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
	shownIno := func(s *Socket) uint64 {
		if queued[s] {
			return 0
		}
		return s.ino
	}
	entries := make([]Entry, 0, len(socks))
	for _, s := range socks {
		entries = append(entries, s.entryLocked(refs[s], queued[s], shownIno))
	}
	return entries
}

// entryLocked describes s, which refs sockets have as their peer and
// which is queued on a listener or not; shownIno is a socket's Ino.
func (s *Socket) entryLocked(refs int, queued bool, shownIno func(*Socket) uint64) Entry {
	e := Entry{Type: s.typ, State: linux.TCP_CLOSE, ProcState: linux.SS_UNCONNECTED, Refs: 2 + refs,
		Ino: shownIno(s), Addr: s.addr, Shutdown: uint8(s.shutdown), RQueue: s.inqLocked(), WQueue: s.charged}
	switch {
	case s.state == listening:
		e.State, e.Flags = linux.TCP_LISTEN, acceptCon
		e.RQueue, e.WQueue = len(s.backlog), s.maxBacklog
	// unix_dgram_connect makes both ends ESTABLISHED.
	case s.state == connected || s.typ == sys.SOCK_DGRAM && refs > 0:
		e.State, e.ProcState = linux.TCP_ESTABLISHED, linux.SS_CONNECTED
	}
	if queued {
		e.ProcState = linux.SS_CONNECTING
	}
	if s.peer != nil && !s.peer.released {
		e.HasPeer, e.PeerIno = true, shownIno(s.peer)
	}
	return e
}

// ProcNetUnix returns /proc/net/unix: one line per socket of the
// namespace, as Linux's unix_seq_show prints them. The kernel address
// prints as zeros (as Linux prints it to the unprivileged). A connection
// queued on a listener and not yet accepted has no file: it is
// CONNECTING with inode 0. A datagram socket another one connected to
// is CONNECTED while that one lives (Linux leaves it so even after).
func (ns *Namespace) ProcNetUnix(net uint64) string {
	var b strings.Builder
	b.WriteString("Num       RefCount Protocol Flags    Type St Inode Path\n")
	for _, e := range ns.Entries(net) {
		fmt.Fprintf(&b, "%016x: %08X %08X %08X %04X %02X %5d", 0, e.Refs, 0, e.Flags, e.Type, e.ProcState, e.Ino)
		if p := procPath(e.Addr); p != "" {
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
