package devpts

import (
	"context"
	"encoding/binary"
	"strconv"
	"sync/atomic"
	"time"

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
	if n < len(b) {
		p.masterNoSpace.Store(true)
	}
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

// SignalDriven implements vfs.SignalDriven: a terminal may send SIGIO
// (tty_fasync).
func (m *master) SignalDriven() {}

// AsyncReasons implements vfs.AsyncReasoner as the master's n_tty sends
// its signals: POLL_IN when the slave's output (or an echo) came for
// it, POLL_OUT when the slave took input after a write of the master's
// found no room (n_tty_write_wakeup).
func (m *master) AsyncReasons(events int16) []int32 {
	return m.p.asyncReasons(m.p.newOut.Load(), &m.p.masterNoSpace, func(p *pty) bool { return p.inputRoom() > 0 })
}

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

// PeerPath is the slave's name in the sandbox (TIOCGPTPEER).
func (m *master) PeerPath() string { return "/dev/pts/" + strconv.Itoa(int(m.p.n)) }

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

// Read implements vfs.Stream: a read that does not wait (ReadWaiting).
func (s *slave) Read(ctx context.Context, b []byte) (int, error) {
	return s.ReadWaiting(ctx, b, true)
}

// ReadWaiting implements vfs.WaitingReader: the input, as the line
// discipline makes it readable (n_tty_read): in canonical mode a line; in
// raw mode bytes as they come until VMIN of them (or b is full), with
// VTIME as the timer between bytes, or, when VMIN is 0, as the wait for
// the first (0: none). End of file after a hang-up. A background reader
// gets SIGTTIN first (job control).
func (s *slave) ReadWaiting(ctx context.Context, b []byte, nonblock bool) (int, error) {
	p := s.p
	if err := p.checkAccess(ctx, unix.SIGTTIN); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	var w *vfs.Waiter
	if !nonblock {
		w = vfs.NewWaiter()
		e := w.Entry(unix.POLLIN)
		p.slaveQ.Add(e)
		defer p.slaveQ.Remove(e)
	}
	// minimum is the bytes that end a raw read; wait how long a read
	// waits for input (forever: -1); between the time a raw read waits
	// after each byte (0: as long as it takes).
	p.mu.Lock()
	minimum, wait, between := 0, time.Duration(-1), time.Duration(0)
	if !p.lflag(linux.ICANON) {
		minimum = int(p.cc(linux.VMIN))
		vtime := time.Duration(p.cc(linux.VTIME)) * 100 * time.Millisecond
		if minimum > 0 {
			between = vtime
		} else {
			wait, minimum = vtime, 1
		}
	}
	p.mu.Unlock()
	var deadline time.Time // of the wait under way (zero: none)
	if wait > 0 {
		deadline = time.Now().Add(wait)
	}
	n := 0
	for {
		p.mu.Lock()
		if p.hungUp {
			p.mu.Unlock()
			return n, nil
		}
		took, done := 0, false
		if p.lflag(linux.ICANON) {
			took, done = p.readLine(b[n:])
		} else {
			took = p.take(b[n:])
			done = n+took >= minimum || n+took == len(b)
			if took > 0 && between > 0 {
				wait, deadline = between, time.Now().Add(between)
			}
		}
		n += took
		p.mu.Unlock()
		if took > 0 {
			p.notify()
		}
		switch {
		case done:
			return n, nil
		case wait == 0:
			return n, nil
		case nonblock && n > 0:
			return n, nil
		case nonblock:
			return 0, unix.EAGAIN
		}
		if !s.await(ctx, w, deadline, &wait) {
			if n > 0 {
				return n, nil
			}
			return 0, unix.EINTR
		}
	}
}

// await waits for w, or, if there is one, until deadline passes, when
// it sets *wait to 0; false if the caller was interrupted.
func (s *slave) await(ctx context.Context, w *vfs.Waiter, deadline time.Time, wait *time.Duration) bool {
	var expired <-chan time.Time
	if !deadline.IsZero() {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case <-w.C():
	case <-expired:
		*wait = 0 // one more look, then the read ends
	case <-vfs.Interrupt(ctx):
		return false
	}
	return true
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
	if p.stopped {
		n = 0 // pty_write takes nothing while output is stopped
	}
	p.output(b[:n])
	p.mu.Unlock()
	if n < len(b) {
		p.slaveNoSpace.Store(true)
	}
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
	if len(p.out) < outputMax && !p.stopped {
		ev |= unix.POLLOUT | linux.POLLWRNORM
	}
	return ev & mask
}

// EventQueue implements vfs.Waitable.
func (s *slave) EventQueue() *vfs.Queue { return &s.p.slaveQ }

// SignalDriven implements vfs.SignalDriven: a terminal may send SIGIO
// (tty_fasync).
func (s *slave) SignalDriven() {}

// AsyncReasons implements vfs.AsyncReasoner as the slave's n_tty sends
// its signals: POLL_IN when input its reader can take was committed (a
// line in canonical mode, any byte otherwise), POLL_OUT when the master
// read after a write of the slave's found no room.
func (s *slave) AsyncReasons(events int16) []int32 {
	return s.p.asyncReasons(s.p.newIn.Load(), &s.p.slaveNoSpace, func(p *pty) bool { return len(p.out) < outputMax && !p.stopped })
}

// asyncReasons is a side's signals: POLL_IN for news (newData), POLL_OUT
// when noSpace is set and room says there is room now (clearing it);
// called without p.mu.
func (p *pty) asyncReasons(newData bool, noSpace *atomic.Bool, room func(*pty) bool) []int32 {
	var out []int32
	if newData {
		out = append(out, linux.POLL_IN)
	}
	if noSpace.Load() {
		p.mu.Lock()
		free := room(p)
		p.mu.Unlock()
		if free && noSpace.CompareAndSwap(true, false) {
			out = append(out, linux.POLL_OUT)
		}
	}
	return out
}

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
	case linux.TIOCGPTPEER:
		return 0, unix.EIO // ptm_open_peer: not a master
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
	case unix.TCGETA:
		p.mu.Lock()
		t := toTermio(p.termios)
		p.mu.Unlock()
		return 0, mem.CopyOut(arg, abi.AsBytes(&t))
	case unix.TCSETA, unix.TCSETAW, unix.TCSETAF:
		if !isMaster {
			if err := p.checkAccess(ctx, unix.SIGTTOU); err != nil {
				return 0, err
			}
		}
		var t abi.Termio
		if err := mem.CopyIn(arg, abi.AsBytes(&t)); err != nil {
			return 0, err
		}
		p.mu.Lock()
		if cmd == unix.TCSETAF {
			p.flushInput()
		}
		p.setTermios(fromTermio(p.termios, t))
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
	case unix.TCSBRK, unix.TCSBRKP:
		// tcdrain, tcsendbreak: output is never waiting for a line.
		return 0, nil
	case unix.TCXONC:
		return 0, p.flow(int(arg), isMaster)
	case linux.TIOCSTI:
		return 0, p.insertInput(ctx, mem, arg, isMaster)
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

// flow is tcflow (TCXONC, n_tty_ioctl_helper): TCOOFF and TCOON stop and
// start the slave's output, TCIOFF and TCION send the stop and start
// characters to the other side (tty_send_xchar), past a stop. On the
// master, whose own output (the slave's input) is never held, TCOOFF and
// TCOON do nothing, and the characters become the slave's input.
func (p *pty) flow(action int, isMaster bool) error {
	var sigs []int
	p.mu.Lock()
	switch action {
	case unix.TCOOFF, unix.TCOON:
		if isMaster {
			break
		}
		if action == unix.TCOOFF && !p.tcoStopped {
			p.stop()
			p.tcoStopped = true
		} else if action == unix.TCOON && p.tcoStopped {
			p.tcoStopped = false
			p.start()
		}
	case unix.TCIOFF, unix.TCION:
		c := p.cc(linux.VSTOP)
		if action == unix.TCION {
			c = p.cc(linux.VSTART)
		}
		switch {
		case c == 0: // disabled
		case isMaster:
			_, sigs = p.receive([]byte{c})
		default:
			p.out = append(p.out, c)
			p.outSeq++
		}
	default:
		p.mu.Unlock()
		return unix.EINVAL
	}
	p.mu.Unlock()
	p.sendSignals(sigs)
	p.notify()
	return nil
}

// insertInput is TIOCSTI: a byte that the terminal gets as if typed (the
// slave's input, processed; on the master, what the master reads). Only
// for a caller with CAP_SYS_ADMIN in the sandbox: Linux without
// CONFIG_LEGACY_TIOCSTI (dev.tty.legacy_tiocsti=0), the default that keeps
// a process from typing commands into the shell it runs under; EIO
// otherwise, as there.
func (p *pty) insertInput(ctx context.Context, mem vfs.Memory, arg uintptr, isMaster bool) error {
	c, ok := vfs.TaskOf(ctx).(interface{ FSCreds() vfs.Creds })
	if !ok || !c.FSCreds().HasCap(linux.CAP_SYS_ADMIN) {
		return unix.EIO
	}
	var b [1]byte
	if err := mem.CopyIn(arg, b[:]); err != nil {
		return err
	}
	var sigs []int
	p.mu.Lock()
	if isMaster {
		p.out = append(p.out, b[0])
		p.outSeq++
	} else {
		_, sigs = p.receive(b[:])
	}
	p.mu.Unlock()
	p.sendSignals(sigs)
	p.notify()
	return nil
}

// toTermio is kernel_termios_to_user_termio: the low 16 bits of each
// flag word, the line discipline, the first NCC control characters.
func toTermio(kt linux.KernelTermios) abi.Termio {
	t := abi.Termio{
		InputFlags:     uint16(kt.InputFlags),
		OutputFlags:    uint16(kt.OutputFlags),
		ControlFlags:   uint16(kt.ControlFlags),
		LocalFlags:     uint16(kt.LocalFlags),
		LineDiscipline: kt.LineDiscipline,
	}
	copy(t.ControlCharacters[:], kt.ControlCharacters[:abi.NCC])
	return t
}

// fromTermio is user_termio_to_kernel_termios: t replaces the low 16
// bits of each flag word of kt, its line discipline and first NCC
// control characters.
func fromTermio(kt linux.KernelTermios, t abi.Termio) linux.KernelTermios {
	low := func(w uint32, v uint16) uint32 { return w&0xffff0000 | uint32(v) }
	kt.InputFlags = low(kt.InputFlags, t.InputFlags)
	kt.OutputFlags = low(kt.OutputFlags, t.OutputFlags)
	kt.ControlFlags = low(kt.ControlFlags, t.ControlFlags)
	kt.LocalFlags = low(kt.LocalFlags, t.LocalFlags)
	kt.LineDiscipline = t.LineDiscipline
	copy(kt.ControlCharacters[:abi.NCC], t.ControlCharacters[:])
	return kt
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
