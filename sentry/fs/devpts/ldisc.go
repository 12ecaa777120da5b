package devpts

import (
	"context"
	"sync"
	"sync/atomic"

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
	gid uint32
	// term is the kernel's side: job control; set once by ptmx.Open.
	term vfs.Terminal

	// masterQ is told of the master's readiness, slaveQ of the slave's.
	masterQ, slaveQ vfs.Queue

	// Signal-driven I/O (async.go): inSeq and outSeq count the times
	// input was committed for the slave's reader and output for the
	// master's (guarded by mu); notify compares them with what it last
	// told (inTold, outTold, guarded by mu) and leaves in newIn and
	// newOut whether the notification it makes carries news for each
	// side. masterNoSpace and slaveNoSpace are set when a write found
	// no room (TTY_DO_WRITE_WAKEUP).
	inSeq, outSeq, inTold, outTold uint64
	newIn, newOut                  atomic.Bool
	masterNoSpace, slaveNoSpace    atomic.Bool

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
	// stopped: output is held (IXON's stop character, or tcflow's
	// TCOOFF, which also sets tcoStopped): the slave's writes wait, and
	// echoes gather in held until output starts again. Guarded by mu.
	stopped, tcoStopped bool
	held                []byte
	// slaves counts the open slave files, masterOpen whether the
	// master is open; slaveClosed is set when the last slave closed
	// (the master then reads EIO), hungUp when the master closed.
	// Guarded by mu.
	slaves      int
	masterOpen  bool
	slaveClosed bool
	hungUp      bool
}

func newPair(fs *FS, n uint32, uid, gid uint32) *pty {
	return &pty{fs: fs, n: n, uid: uid, gid: gid, termios: linux.DefaultReplicaTermios,
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
	p.mu.Lock()
	p.newIn.Store(p.inSeq != p.inTold)
	p.newOut.Store(p.outSeq != p.outTold)
	p.inTold, p.outTold = p.inSeq, p.outSeq
	p.mu.Unlock()
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
		p.restartOnAny()
		p.echoChar(c)
		p.put(c)
		return 0
	}
	if p.iflag(linux.IXON) && (p.isCC(c, linux.VSTART) || p.isCC(c, linux.VSTOP)) {
		// Flow control (n_tty_receive_char_flow_ctrl): never input.
		if p.isCC(c, linux.VSTART) {
			p.start()
		} else {
			p.stop()
		}
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
			if p.iflag(linux.IXON) {
				p.start()
			}
			p.echoChar(c)
			return sig
		}
	}
	p.restartOnAny()
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

// restartOnAny restarts output stopped by the stop character when any
// input character comes, under IXANY.
func (p *pty) restartOnAny() {
	if p.stopped && !p.tcoStopped && p.iflag(linux.IXON) && p.iflag(linux.IXANY) {
		p.start()
	}
}

// stop holds output (stop_tty).
func (p *pty) stop() { p.stopped = true }

// start lets output go again (start_tty): the echoes held meanwhile
// first. TCOOFF's stop ends only with TCOON (which clears tcoStopped
// first).
func (p *pty) start() {
	if p.tcoStopped {
		return
	}
	p.stopped = false
	if len(p.held) > 0 {
		p.outSeq++
	}
	p.out = append(p.out, p.held...)
	p.held = p.held[:0]
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
		p.inSeq++
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
	p.inSeq++
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

// output adds b to what the master reads, processed as OPOST says; while
// output is stopped (only echoes come then), to what is held.
func (p *pty) output(b []byte) {
	dst := &p.out
	if p.stopped {
		dst = &p.held
	} else if len(b) > 0 {
		p.outSeq++
	}
	if !p.oflag(linux.OPOST) {
		*dst = append(*dst, b...)
		return
	}
	for _, c := range b {
		switch {
		case c == '\n' && p.oflag(linux.ONLCR):
			*dst = append(*dst, '\r', '\n')
		case c == '\r' && p.oflag(linux.ONOCR):
			// A carriage return at column 0 is dropped; columns are not
			// tracked, so it is kept unless the output is empty.
			if len(*dst) > 0 && (*dst)[len(*dst)-1] != '\n' {
				*dst = append(*dst, c)
			}
		case c == '\r' && p.oflag(linux.OCRNL):
			*dst = append(*dst, '\n')
		case c >= 'a' && c <= 'z' && p.oflag(linux.OLCUC):
			*dst = append(*dst, c-'a'+'A')
		default:
			*dst = append(*dst, c)
		}
	}
}

// readableLocked reports whether a read of the slave finds input, as
// poll asks it (input_available_p with poll set): in raw mode VMIN bytes
// when VTIME is 0, else one.
func (p *pty) readableLocked() bool {
	if p.lflag(linux.ICANON) {
		return len(p.ends) > 0
	}
	amt := 1
	if p.cc(linux.VTIME) == 0 && p.cc(linux.VMIN) > 0 {
		amt = int(p.cc(linux.VMIN))
	}
	return len(p.in) >= amt
}

// readLine takes the first complete line of canonical input into b (a
// short b leaves the rest of it): ok is false if there is none; n is 0
// for an end of file.
func (p *pty) readLine(b []byte) (n int, ok bool) {
	if len(p.ends) == 0 {
		return 0, false
	}
	end := p.ends[0]
	if end == 0 {
		p.ends = p.ends[1:]
		return 0, true
	}
	n = copy(b, p.in[:end])
	p.consume(n)
	if p.ends[0] == 0 {
		p.ends = p.ends[1:]
	}
	return n, true
}

// take takes raw input into b, as much as there is.
func (p *pty) take(b []byte) int {
	n := copy(b, p.in)
	p.consume(n)
	p.ends = p.ends[:0]
	return n
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
