package netfwd

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Client is the sentry's side of the forwarder: it sends Requests on its
// end of the socket pair and hands each Reply, with its descriptor, to the
// caller that asked.
type Client struct {
	f   *os.File
	log *slog.Logger

	mu      sync.Mutex // guards next, pending, gone
	next    uint32
	pending map[uint32]chan reply
	gone    bool
}

// reply is a Reply as the client received it: a host socket's descriptor
// (non-blocking, close-on-exec) or an error.
type reply struct {
	fd  int
	err error
}

// ErrGone: the forwarder is gone (runsc-lite is ending).
var ErrGone = errors.New("the network forwarder is gone")

// NewClient serves the sentry's end f of the forwarder's socket pair.
func NewClient(f *os.File, log *slog.Logger) *Client {
	c := &Client{f: f, log: log, pending: make(map[uint32]chan reply)}
	go c.readReplies()
	return c
}

// Dial returns a host socket of proto connected to dst, as the forwarder
// opened it (OpConnect).
func (c *Client) Dial(proto uint8, dst netip.AddrPort) (*os.File, error) {
	fd, err := c.ask(func(id uint32) Request { return NewRequest(id, proto, dst) })
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "outbound"), nil
}

// Socket returns the descriptor of a new host socket of proto, IPv4 or
// IPv6 (OpSocket), non-blocking and close-on-exec; the caller owns it.
func (c *Client) Socket(v4 bool, proto uint8) (int, error) {
	return c.ask(func(id uint32) Request { return NewSocketRequest(id, v4, proto) })
}

// Netlink returns the descriptor of a new host NETLINK_ROUTE socket
// (OpNetlink), non-blocking and close-on-exec; the caller owns it.
func (c *Client) Netlink() (int, error) {
	return c.ask(func(id uint32) Request { return Request{ID: id, Op: OpNetlink} })
}

// ask sends the request made for a fresh ID and waits for its reply.
func (c *Client) ask(request func(id uint32) Request) (int, error) {
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return -1, ErrGone
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	msg := Marshal(request(id))
	if err := unix.Sendmsg(int(c.f.Fd()), msg, nil, nil, 0); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return -1, fmt.Errorf("asking the network forwarder: %w", err)
	}
	r := <-ch
	return r.fd, r.err
}

// readReplies hands each reply to its request until the forwarder is
// gone. A descriptor that is not a socket is refused: the sentry acts on
// nothing else the forwarder might send.
func (c *Client) readReplies() {
	buf := make([]byte, 64)
	oob := make([]byte, unix.CmsgSpace(4*4))
	fd := int(c.f.Fd())
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break
		}
		var fds []int
		if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range cmsgs {
				if got, err := unix.ParseUnixRights(&m); err == nil {
					fds = append(fds, got...)
				}
			}
		}
		var rep Reply
		if Unmarshal(buf[:n], &rep) != nil {
			closeAll(fds)
			c.log.Error("the network forwarder sent a malformed reply")
			break
		}
		r := reply{fd: -1, err: unix.Errno(rep.Errno)}
		if rep.Errno == 0 {
			r.err = errors.New("the network forwarder sent no socket")
			if len(fds) == 1 && isSocket(fds[0]) && unix.SetNonblock(fds[0], true) == nil {
				r = reply{fd: fds[0]}
				fds = nil
			}
		}
		closeAll(fds)
		c.mu.Lock()
		ch, ok := c.pending[rep.ID]
		delete(c.pending, rep.ID)
		c.mu.Unlock()
		if !ok {
			if r.fd >= 0 {
				unix.Close(r.fd)
			}
			continue
		}
		ch <- r
	}
	c.mu.Lock()
	c.gone = true
	for id, ch := range c.pending {
		ch <- reply{fd: -1, err: ErrGone}
		delete(c.pending, id)
	}
	c.mu.Unlock()
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// isSocket reports whether fd is a socket.
func isSocket(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK
}
