package devpts

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// The line discipline of a pair, Linux's n_tty (drivers/tty/n_tty.c):
// what the master writes is input, processed (ICRNL, ISIG, ICANON's
// editing, echo) into what the slave reads; what the slave writes is
// output, processed (OPOST, ONLCR) into what the master reads. Echoes go
// to the output.

const (
	// inputMax is N_TTY_BUF_SIZE: the input the slave has not read; in
	// canonical mode a line holds at most inputMax-1 characters, the
	// rest are dropped as n_tty drops them.
	inputMax = 4096
	// outputMax bounds the output the master has not read; a slave's
	// write waits beyond it.
	outputMax = 64 << 10
)

// pty is a pseudo-terminal pair.
type pty struct {
	fs  *FS
	n   uint32
	uid uint32
	// term is the kernel's side: job control; set once by ptmx.Open.
	term vfs.Terminal

	// masterQ is told of the master's readiness, slaveQ of the slave's.
	masterQ, slaveQ vfs.Queue

	mu      sync.Mutex
	termios linux.KernelTermios // guarded by mu
	winsize linux.Winsize       // guarded by mu
	locked  bool                // TIOCSPTLCK; guarded by mu
	packet  bool                // TIOCPKT; guarded by mu
	// packetCtl are the TIOCPKT_* events not read yet; guarded by mu.
	packetCtl byte
	// in is the input the slave may read; in canonical mode ends are
	// the ends of its complete lines (an end equal to the previous one
	// is an end of file, ^D on an empty line), and line is the line
	// being edited. Guarded by mu.
	in   []byte
	ends []int
	line []byte
	// lnext: the next character is taken literally (VLNEXT); guarded by mu.
	lnext bool
	// out is the output the master may read; guarded by mu.
	out []byte
	// slaves counts the open slave files, masterOpen whether the
	// master is open; slaveClosed is set when the last slave closed
	// (the master then reads EIO), hungUp when the master closed.
	// Guarded by mu.
	slaves      int
	masterOpen  bool
	slaveClosed bool
	hungUp      bool
}

func newPair(fs *FS, n uint32, uid uint32) *pty {
	return &pty{fs: fs, n: n, uid: uid, termios: linux.DefaultReplicaTermios,
		locked: true, masterOpen: true}
}

func (p *pty) rdev() uint64 { return unix.Mkdev(linux.UNIX98_PTY_REPLICA_MAJOR, p.n) }

func (p *pty) lflag(f uint32) bool { return p.termios.LocalFlags&f != 0 }
func (p *pty) iflag(f uint32) bool { return p.termios.InputFlags&f != 0 }
func (p *pty) oflag(f uint32) bool { return p.termios.OutputFlags&f != 0 }
func (p *pty) cc(i int) byte       { return p.termios.ControlCharacters[i] }

// isCC reports whether c is control character i (a zero disables it).
func (p *pty) isCC(c byte, i int) bool { return c != 0 && p.cc(i) == c }

// notify tells both sides' waiters that readiness may have changed;
// called without p.mu.
func (p *pty) notify() {
	p.masterQ.Notify(unix.POLLIN | unix.POLLOUT | linux.POLLRDNORM | linux.POLLWRNORM | unix.POLLHUP)
	p.slaveQ.Notify(unix.POLLIN | unix.POLLOUT | linux.POLLRDNORM | linux.POLLWRNORM | unix.POLLHUP)
}

// inputRoom is the input the slave's buffer can still take.
func (p *pty) inputRoom() int { return inputMax - len(p.in) - len(p.line) }

// receive processes input written by the master (n_tty_receive_buf):
// it takes what fits and returns how many bytes, and the signals the
// ISIG characters raise, which the caller sends after p.mu.
func (p *pty) receive(b []byte) (n int, sigs []int) {
	for n = 0; n < len(b); n++ {
		if !p.lflag(linux.ICANON) && p.inputRoom() <= 0 {
			break
		}
		if p.lflag(linux.ICANON) && len(p.in) >= inputMax {
			break
		}
		if sig := p.receiveChar(b[n]); sig != 0 {
			sigs = append(sigs, sig)
		}
	}
	return n, sigs
}

// receiveChar processes one input character; it returns the signal an
// ISIG character raises (0: none).
func (p *pty) receiveChar(c byte) int {
	if p.iflag(linux.ISTRIP) {
		c &= 0x7f
	}
	if p.lnext {
		p.lnext = false
		p.echoChar(c)
		p.put(c)
		return 0
	}
	switch {
	case c == '\r' && p.iflag(linux.IGNCR):
		return 0
	case c == '\r' && p.iflag(linux.ICRNL):
		c = '\n'
	case c == '\n' && p.iflag(linux.INLCR):
		c = '\r'
	}
	if p.lflag(linux.ISIG) {
		sig := 0
		switch {
		case p.isCC(c, linux.VINTR):
			sig = int(unix.SIGINT)
		case p.isCC(c, linux.VQUIT):
			sig = int(unix.SIGQUIT)
		case p.isCC(c, linux.VSUSP):
			sig = int(unix.SIGTSTP)
		}
		if sig != 0 {
			if !p.lflag(linux.NOFLSH) {
				p.flushInput()
				p.flushOutput()
			}
			p.echoChar(c)
			return sig
		}
	}
	if p.lflag(linux.ICANON) {
		if p.editChar(c) {
			return 0
		}
	}
	if p.lflag(linux.ICANON) && p.lflag(linux.IEXTEN) && p.isCC(c, linux.VLNEXT) {
		p.lnext = true
		if p.lflag(linux.ECHO) && p.lflag(linux.ECHOCTL) {
			p.output([]byte("^\b"))
		}
		return 0
	}
	if p.lflag(linux.ECHO) || (c == '\n' && p.lflag(linux.ECHONL) && p.lflag(linux.ICANON)) {
		p.echoChar(c)
	}
	p.put(c)
	return 0
}

// editChar handles the canonical editing characters (erase, word erase,
// kill, end of file); true if c was one.
func (p *pty) editChar(c byte) bool {
	switch {
	case p.isCC(c, linux.VERASE):
		p.erase(1)
	case p.isCC(c, linux.VWERASE) && p.lflag(linux.IEXTEN):
		n := len(p.line)
		for n > 0 && p.line[n-1] == ' ' {
			n--
		}
		for n > 0 && p.line[n-1] != ' ' {
			n--
		}
		p.erase(len(p.line) - n)
	case p.isCC(c, linux.VKILL):
		if p.lflag(linux.ECHO) && p.lflag(linux.ECHOK) && !p.lflag(linux.ECHOKE) {
			p.echoChar(c)
			p.output([]byte("\n"))
			p.line = p.line[:0]
			return true
		}
		p.erase(len(p.line))
	case p.isCC(c, linux.VEOF):
		p.endLine()
	default:
		return false
	}
	return true
}

// erase removes the last n characters of the line being edited, echoing
// their erasure.
func (p *pty) erase(n int) {
	for ; n > 0 && len(p.line) > 0; n-- {
		c := p.line[len(p.line)-1]
		p.line = p.line[:len(p.line)-1]
		if !p.lflag(linux.ECHO) {
			continue
		}
		if !p.lflag(linux.ECHOE) {
			p.echoChar(p.cc(linux.VERASE))
			continue
		}
		w := 1
		if (c < ' ' || c == 0x7f) && c != '\t' && p.lflag(linux.ECHOCTL) {
			w = 2
		}
		for i := 0; i < w; i++ {
			p.output([]byte("\b \b"))
		}
	}
}

// put adds c to the input: to the line in canonical mode (a line end
// completes it), else to what the slave reads.
func (p *pty) put(c byte) {
	if !p.lflag(linux.ICANON) {
		p.in = append(p.in, c)
		return
	}
	if c == '\n' || p.isCC(c, linux.VEOL) || (p.lflag(linux.IEXTEN) && p.isCC(c, linux.VEOL2)) {
		p.line = append(p.line, c)
		p.endLine()
		return
	}
	if len(p.line) < inputMax-1 {
		p.line = append(p.line, c)
	}
}

// endLine completes the line being edited.
func (p *pty) endLine() {
	p.in = append(p.in, p.line...)
	p.ends = append(p.ends, len(p.in))
	p.line = p.line[:0]
}

// echoChar echoes c: control characters as ^X with ECHOCTL.
func (p *pty) echoChar(c byte) {
	if !p.lflag(linux.ECHO) && c != '\n' {
		return
	}
	if (c < ' ' || c == 0x7f) && c != '\t' && c != '\n' && p.lflag(linux.ECHOCTL) {
		p.output([]byte{'^', c ^ 0x40})
		return
	}
	p.output([]byte{c})
}

// output adds b to what the master reads, processed as OPOST says.
func (p *pty) output(b []byte) {
	if !p.oflag(linux.OPOST) {
		p.out = append(p.out, b...)
		return
	}
	for _, c := range b {
		switch {
		case c == '\n' && p.oflag(linux.ONLCR):
			p.out = append(p.out, '\r', '\n')
		case c == '\r' && p.oflag(linux.ONOCR):
			// A carriage return at column 0 is dropped; columns are not
			// tracked, so it is kept unless the output is empty.
			if len(p.out) > 0 && p.out[len(p.out)-1] != '\n' {
				p.out = append(p.out, c)
			}
		case c == '\r' && p.oflag(linux.OCRNL):
			p.out = append(p.out, '\n')
		case c >= 'a' && c <= 'z' && p.oflag(linux.OLCUC):
			p.out = append(p.out, c-'a'+'A')
		default:
			p.out = append(p.out, c)
		}
	}
}

// readableLocked reports whether a read of the slave finds input.
func (p *pty) readableLocked() bool {
	if p.lflag(linux.ICANON) {
		return len(p.ends) > 0
	}
	return len(p.in) >= max(int(p.cc(linux.VMIN)), 1) || (p.cc(linux.VMIN) == 0 && len(p.in) > 0)
}

// readInput is the slave's read of the input (n_tty_read): a line in
// canonical mode (0 at an end of file), else what there is once VMIN
// bytes are there.
func (p *pty) readInput(b []byte) (int, error) {
	if p.lflag(linux.ICANON) {
		if len(p.ends) == 0 {
			return 0, unix.EAGAIN
		}
		end := p.ends[0]
		if end == 0 {
			p.ends = p.ends[1:]
			return 0, nil
		}
		n := copy(b, p.in[:end])
		p.consume(n)
		if p.ends[0] == 0 {
			p.ends = p.ends[1:]
		}
		return n, nil
	}
	vmin := int(p.cc(linux.VMIN))
	if len(p.in) == 0 && vmin == 0 {
		return 0, nil
	}
	if len(p.in) == 0 || len(p.in) < min(vmin, len(b)) {
		return 0, unix.EAGAIN
	}
	n := copy(b, p.in)
	p.consume(n)
	p.ends = p.ends[:0]
	return n, nil
}

// consume drops the first n bytes of the input.
func (p *pty) consume(n int) {
	p.in = append(p.in[:0], p.in[n:]...)
	for i := range p.ends {
		p.ends[i] -= n
	}
}

// inputQueued is FIONREAD on the slave: in canonical mode the bytes of
// complete lines.
func (p *pty) inputQueued() int {
	if p.lflag(linux.ICANON) {
		if len(p.ends) == 0 {
			return 0
		}
		return p.ends[len(p.ends)-1]
	}
	return len(p.in)
}

func (p *pty) flushInput() {
	p.in, p.ends, p.line = p.in[:0], p.ends[:0], p.line[:0]
	if p.packet {
		p.packetCtl |= linux.TIOCPKT_FLUSHREAD
	}
}

func (p *pty) flushOutput() {
	p.out = p.out[:0]
	if p.packet {
		p.packetCtl |= linux.TIOCPKT_FLUSHWRITE
	}
}

// setTermios changes the settings (TCSETS*): leaving canonical mode
// makes the line being edited readable, as n_tty_set_termios does.
func (p *pty) setTermios(t linux.KernelTermios) {
	wasCanon := p.lflag(linux.ICANON)
	p.termios = t
	if wasCanon && !p.lflag(linux.ICANON) {
		p.in = append(p.in, p.line...)
		p.line, p.ends = p.line[:0], p.ends[:0]
	}
	if !wasCanon && p.lflag(linux.ICANON) && len(p.in) > 0 {
		// Raw input already there counts as complete, as n_tty's
		// canon_head does.
		p.ends = append(p.ends[:0], len(p.in))
	}
}

// sendSignals sends the signals of ISIG characters to the foreground
// group; called without p.mu.
func (p *pty) sendSignals(sigs []int) {
	for _, s := range sigs {
		p.term.SignalForeground(s)
	}
}

// checkAccess applies job control to the caller (a slave's reader or
// writer, or a change of settings).
func (p *pty) checkAccess(ctx context.Context, sig unix.Signal) error {
	return p.term.CheckAccess(ctx, sig)
}
