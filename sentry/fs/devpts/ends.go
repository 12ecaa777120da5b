package devpts

import (
	"context"
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// master is an open master (/dev/ptmx): a vfs.Stream and vfs.Waitable.
type master struct {
	noOffsets
	p *pty
}

// slave is an open slave (pts/N); readable says whether it was opened
// for reading (TIOCSCTTY needs it).
type slave struct {
	noOffsets
	p        *pty
	readable bool
}

// noOffsets is the positional I/O of a terminal, which has no offsets.
type noOffsets struct{}

// ReadAt implements vfs.FileImpl.
func (noOffsets) ReadAt(ctx context.Context, b []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// WriteAt implements vfs.FileImpl.
func (noOffsets) WriteAt(ctx context.Context, b []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// openSlave opens the slave of p: EIO while it is locked (no unlockpt
// yet) or after the master closed. Without O_NOCTTY a session leader
// that has no controlling terminal gets it.
func (p *pty) openSlave(ctx context.Context, flags int) (vfs.FileImpl, error) {
	p.mu.Lock()
	if p.hungUp || p.locked {
		p.mu.Unlock()
		return nil, unix.EIO
	}
	p.slaves++
	p.slaveClosed = false
	p.mu.Unlock()
	if flags&unix.O_NOCTTY == 0 {
		p.term.Acquire(ctx)
	}
	return &slave{p: p, readable: flags&unix.O_ACCMODE != unix.O_WRONLY}, nil
}

// Read implements vfs.Stream: the slave's output, processed; in packet
// mode preceded by a TIOCPKT_DATA byte, or a pending control byte alone.
// EIO once no slave is open and nothing is left.
func (m *master) Read(ctx context.Context, b []byte) (int, error) {
	p := m.p
	p.mu.Lock()
	n, err := p.readOutput(b)
	p.mu.Unlock()
	if n > 0 {
		p.notify()
	}
	return n, err
}

func (p *pty) readOutput(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if p.packet && p.packetCtl != 0 {
		b[0], p.packetCtl = p.packetCtl, 0
		return 1, nil
	}
	if len(p.out) == 0 {
		if p.slaveClosed {
			return 0, unix.EIO
		}
		return 0, unix.EAGAIN
	}
	dst := b
	if p.packet {
		b[0] = linux.TIOCPKT_DATA
		dst = b[1:]
	}
	n := copy(dst, p.out)
	p.out = append(p.out[:0], p.out[n:]...)
	if p.packet {
		n++
	}
	return n, nil
}

// Write implements vfs.Stream: input for the slave, through the line
// discipline; EAGAIN (after what fit) when its buffer is full.
func (m *master) Write(ctx context.Context, b []byte) (int, error) {
	p := m.p
	p.mu.Lock()
	n, sigs := p.receive(b)
	p.mu.Unlock()
	p.sendSignals(sigs)
	p.notify()
	if n < len(b) {
		return n, unix.EAGAIN
	}
	return n, nil
}

// Readiness implements vfs.Readiness.
func (m *master) Readiness(mask int16) int16 {
	p := m.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var ev int16
	if len(p.out) > 0 || (p.packet && p.packetCtl != 0) {
		ev |= unix.POLLIN | linux.POLLRDNORM
	}
	if p.packet && p.packetCtl != 0 {
		ev |= unix.POLLPRI
	}
	if p.inputRoom() > 0 {
		ev |= unix.POLLOUT | linux.POLLWRNORM
	}
	if p.slaveClosed {
		ev |= unix.POLLHUP
	}
	return ev & (mask | unix.POLLHUP | unix.POLLERR)
}

// EventQueue implements vfs.Waitable.
func (m *master) EventQueue() *vfs.Queue { return &m.p.masterQ }

// Release implements vfs.FileImpl: the pair goes, and the slave hangs
// up.
func (m *master) Release() {
	p := m.p
	p.mu.Lock()
	p.masterOpen, p.hungUp = false, true
	p.mu.Unlock()
	p.fs.remove(p)
	p.term.HangUp()
	p.notify()
}

// Ioctl implements vfs.Ioctler: the multiplexer's ioctls, and the
// terminal ioctls, which act on the slave's settings as in Linux.
func (m *master) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	p := m.p
	switch cmd {
	case linux.TIOCGPTN:
		return 0, copyOutInt(mem, arg, int32(p.n))
	case linux.TIOCSPTLCK:
		v, err := copyInInt(mem, arg)
		if err != nil {
			return 0, err
		}
		p.mu.Lock()
		p.locked = v != 0
		p.mu.Unlock()
		return 0, nil
	case unix.TIOCGPTLCK:
		p.mu.Lock()
		locked := p.locked
		p.mu.Unlock()
		return 0, copyOutInt(mem, arg, boolInt(locked))
	case linux.TIOCPKT:
		v, err := copyInInt(mem, arg)
		if err != nil {
			return 0, err
		}
		p.mu.Lock()
		p.packet, p.packetCtl = v != 0, 0
		p.mu.Unlock()
		return 0, nil
	case linux.TIOCGPKT:
		p.mu.Lock()
		packet := p.packet
		p.mu.Unlock()
		return 0, copyOutInt(mem, arg, boolInt(packet))
	case unix.TIOCSIG:
		sig := int(arg)
		if sig <= 0 || sig > 64 {
			return 0, unix.EINVAL
		}
		p.term.SignalForeground(sig)
		return 0, nil
	case unix.TIOCGPGRP:
		pgrp := p.term.ForegroundGroup()
		if pgrp == 0 {
			// No foreground group: Linux answers with the null pid's
			// number, 0.
			return 0, copyOutInt(mem, arg, 0)
		}
		return 0, copyOutInt(mem, arg, int32(pgrp))
	case unix.TIOCINQ:
		p.mu.Lock()
		n := len(p.out)
		p.mu.Unlock()
		return 0, copyOutInt(mem, arg, int32(n))
	case unix.TIOCOUTQ:
		p.mu.Lock()
		n := len(p.in) + len(p.line)
		p.mu.Unlock()
		return 0, copyOutInt(mem, arg, int32(n))
	}
	return p.commonIoctl(ctx, mem, cmd, arg, true)
}

// Read implements vfs.Stream: the input, as the line discipline makes
// it readable; end of file after a hang-up. A background reader gets
// SIGTTIN first (job control).
func (s *slave) Read(ctx context.Context, b []byte) (int, error) {
	p := s.p
	if err := p.checkAccess(ctx, unix.SIGTTIN); err != nil {
		return 0, err
	}
	p.mu.Lock()
	if p.hungUp {
		p.mu.Unlock()
		return 0, nil
	}
	n, err := p.readInput(b)
	p.mu.Unlock()
	if n > 0 {
		p.notify()
	}
	return n, err
}

// Write implements vfs.Stream: output for the master; EIO after a
// hang-up, SIGTTOU first for a background writer under TOSTOP.
func (s *slave) Write(ctx context.Context, b []byte) (int, error) {
	p := s.p
	p.mu.Lock()
	hungUp, tostop := p.hungUp, p.lflag(linux.TOSTOP)
	p.mu.Unlock()
	if hungUp {
		return 0, unix.EIO
	}
	if tostop {
		if err := p.checkAccess(ctx, unix.SIGTTOU); err != nil {
			return 0, err
		}
	}
	p.mu.Lock()
	n := min(len(b), max(outputMax-len(p.out), 0))
	p.output(b[:n])
	p.mu.Unlock()
	if n > 0 {
		p.notify()
	}
	if n < len(b) {
		return n, unix.EAGAIN
	}
	return n, nil
}

// Readiness implements vfs.Readiness.
func (s *slave) Readiness(mask int16) int16 {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hungUp {
		// hung_up_tty_poll.
		return (unix.POLLIN | unix.POLLOUT | linux.POLLRDNORM | linux.POLLWRNORM | unix.POLLHUP | unix.POLLERR) & (mask | unix.POLLHUP | unix.POLLERR)
	}
	var ev int16
	if p.readableLocked() {
		ev |= unix.POLLIN | linux.POLLRDNORM
	}
	if len(p.out) < outputMax {
		ev |= unix.POLLOUT | linux.POLLWRNORM
	}
	return ev & mask
}

// EventQueue implements vfs.Waitable.
func (s *slave) EventQueue() *vfs.Queue { return &s.p.slaveQ }

// Release implements vfs.FileImpl: when the last slave closes, the
// master reads EIO.
func (s *slave) Release() {
	p := s.p
	p.mu.Lock()
	p.slaves--
	if p.slaves == 0 {
		p.slaveClosed = true
	}
	p.mu.Unlock()
	p.notify()
}

// Ioctl implements vfs.Ioctler: job control (the kernel's), then the
// terminal's settings.
func (s *slave) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	p := s.p
	if ret, handled, err := p.term.Ioctl(ctx, mem, cmd, arg, s.readable); handled {
		return ret, err
	}
	switch cmd {
	case unix.TIOCINQ:
		p.mu.Lock()
		n := p.inputQueued()
		p.mu.Unlock()
		return 0, copyOutInt(mem, arg, int32(n))
	case unix.TIOCOUTQ:
		p.mu.Lock()
		n := len(p.out)
		p.mu.Unlock()
		return 0, copyOutInt(mem, arg, int32(n))
	}
	return p.commonIoctl(ctx, mem, cmd, arg, false)
}

// commonIoctl answers the ioctls both sides share: settings, window
// size, flushing, and the line discipline's number.
func (p *pty) commonIoctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr, isMaster bool) (uintptr, error) {
	switch cmd {
	case unix.TCGETS:
		p.mu.Lock()
		t := p.termios.ToTermios()
		p.mu.Unlock()
		return 0, mem.CopyOut(arg, abi.AsBytes(&t)[:termiosSize])
	case unix.TCSETS, unix.TCSETSW, unix.TCSETSF:
		if !isMaster {
			if err := p.checkAccess(ctx, unix.SIGTTOU); err != nil {
				return 0, err
			}
		}
		var t linux.Termios
		if err := mem.CopyIn(arg, abi.AsBytes(&t)[:termiosSize]); err != nil {
			return 0, err
		}
		p.mu.Lock()
		kt := p.termios
		kt.FromTermios(t)
		if cmd == unix.TCSETSF {
			p.flushInput()
		}
		p.setTermios(kt)
		p.mu.Unlock()
		p.notify()
		return 0, nil
	case unix.TIOCGWINSZ:
		p.mu.Lock()
		w := p.winsize
		p.mu.Unlock()
		return 0, mem.CopyOut(arg, abi.AsBytes(&w))
	case unix.TIOCSWINSZ:
		var w linux.Winsize
		if err := mem.CopyIn(arg, abi.AsBytes(&w)); err != nil {
			return 0, err
		}
		p.mu.Lock()
		changed := p.winsize != w
		p.winsize = w
		p.mu.Unlock()
		if changed {
			p.term.SignalForeground(int(unix.SIGWINCH))
		}
		return 0, nil
	case unix.TCFLSH:
		p.mu.Lock()
		// The queues are named from the caller's side: the master's
		// input is the slave's output.
		in, out := p.flushInput, p.flushOutput
		if isMaster {
			in, out = out, in
		}
		switch arg {
		case unix.TCIFLUSH:
			in()
		case unix.TCOFLUSH:
			out()
		case unix.TCIOFLUSH:
			in()
			out()
		default:
			p.mu.Unlock()
			return 0, unix.EINVAL
		}
		p.mu.Unlock()
		p.notify()
		return 0, nil
	case unix.TCSBRK, unix.TCSBRKP, unix.TCXONC:
		// tcdrain, tcsendbreak, tcflow: output is never held back.
		return 0, nil
	case unix.TIOCGETD:
		return 0, copyOutInt(mem, arg, 0) // N_TTY
	case unix.TIOCSETD:
		v, err := copyInInt(mem, arg)
		if err != nil {
			return 0, err
		}
		if v != 0 {
			return 0, unix.EINVAL
		}
		return 0, nil
	}
	return 0, unix.ENOTTY
}

// termiosSize is sizeof(struct termios) of TCGETS and TCSETS.
const termiosSize = 36

func copyOutInt(mem vfs.Memory, arg uintptr, v int32) error {
	return mem.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(v)))
}

func copyInInt(mem vfs.Memory, arg uintptr) (int32, error) {
	var b [4]byte
	if err := mem.CopyIn(arg, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(b[:])), nil
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
