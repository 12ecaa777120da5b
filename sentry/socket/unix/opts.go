package unix

import (
	"encoding/binary"
	"math"
	"time"

	sys "golang.org/x/sys/unix"

	"runsc-lite/abi"
)

// options are the SOL_SOCKET options a socket keeps.
type options struct {
	sndbuf, rcvbuf     int
	passcred           bool
	rcvlowat           int32
	rcvtimeo, sndtimeo time.Duration // 0: none
	// flags are the boolean and integer options that change nothing for
	// a Unix socket but are accepted and reported back, as Linux does.
	flags  map[int]int32
	linger sys.Linger
	// peekOff is SO_PEEK_OFF: where MSG_PEEK starts reading, negative
	// for the queue's start (peekoff.go).
	peekOff int32
}

// kept are the options stored in options.flags.
var kept = map[int]bool{
	sys.SO_REUSEADDR: true, sys.SO_KEEPALIVE: true, sys.SO_BROADCAST: true,
	sys.SO_OOBINLINE: true, sys.SO_DONTROUTE: true, sys.SO_PRIORITY: true,
}

// boolean are the kept options whose value is 0 or 1.
var boolean = map[int]bool{
	sys.SO_REUSEADDR: true, sys.SO_KEEPALIVE: true, sys.SO_BROADCAST: true,
	sys.SO_OOBINLINE: true, sys.SO_DONTROUTE: true,
}

func intBytes(v int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// GetOption implements getsockopt(2) at SOL_SOCKET: the option's value,
// which the caller truncates to the application's length.
// ENOPROTOOPT for options Unix sockets do not have.
func (s *Socket) GetOption(name int) ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	switch name {
	case sys.SO_TYPE:
		return intBytes(int32(s.typ)), nil
	case sys.SO_DOMAIN:
		return intBytes(sys.AF_UNIX), nil
	case sys.SO_PROTOCOL:
		return intBytes(0), nil
	case sys.SO_ERROR:
		err := s.err
		s.err = 0
		return intBytes(int32(err)), nil
	case sys.SO_SNDBUF:
		return intBytes(int32(s.opts.sndbuf)), nil
	case sys.SO_RCVBUF:
		return intBytes(int32(s.opts.rcvbuf)), nil
	case sys.SO_PASSCRED:
		return intBytes(boolInt(s.opts.passcred)), nil
	case sys.SO_ACCEPTCONN:
		return intBytes(boolInt(s.state == listening)), nil
	case sys.SO_RCVLOWAT:
		return intBytes(max(s.opts.rcvlowat, 1)), nil
	case sys.SO_SNDLOWAT:
		return intBytes(1), nil
	case sys.SO_PEERCRED:
		return abi.Encode(sys.Ucred{Pid: s.peerCred.PID, Uid: s.peerCred.UID, Gid: s.peerCred.GID}), nil
	case sys.SO_LINGER:
		return abi.Encode(s.opts.linger), nil
	case sys.SO_PEEK_OFF:
		return intBytes(s.opts.peekOff), nil
	case sys.SO_RCVTIMEO:
		return timeval(s.opts.rcvtimeo), nil
	case sys.SO_SNDTIMEO:
		return timeval(s.opts.sndtimeo), nil
	}
	if kept[name] {
		return intBytes(s.opts.flags[name]), nil
	}
	return nil, sys.ENOPROTOOPT
}

// SetOption implements setsockopt(2) at SOL_SOCKET with the value the
// application passed: EINVAL when it is too short, ENOPROTOOPT for
// options Unix sockets do not have or that cannot be set.
func (s *Socket) SetOption(name int, v []byte) error {
	switch name {
	case sys.SO_LINGER:
		if len(v) < sys.SizeofLinger {
			return sys.EINVAL
		}
	case sys.SO_RCVTIMEO, sys.SO_SNDTIMEO:
		return s.setTimeout(name, v)
	default:
		if len(v) < 4 {
			return sys.EINVAL
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var val int32
	if len(v) >= 4 {
		val = int32(binary.LittleEndian.Uint32(v))
	}
	switch name {
	case sys.SO_SNDBUF:
		s.opts.sndbuf = bufSize(val, minSndBuf)
	case sys.SO_RCVBUF:
		s.opts.rcvbuf = bufSize(val, minRcvBuf)
	case sys.SO_PASSCRED:
		s.opts.passcred = val != 0
	case sys.SO_RCVLOWAT:
		s.opts.rcvlowat = max(val, 0)
	case sys.SO_PEEK_OFF:
		s.opts.peekOff = val // unix_set_peek_off: any value
	case sys.SO_LINGER:
		abi.Decode(v, &s.opts.linger)
		if s.opts.linger.Onoff != 0 {
			s.opts.linger.Onoff = 1 // l_onoff is stored as a boolean
		}
	default:
		if !kept[name] {
			return sys.ENOPROTOOPT
		}
		if boolean[name] && val != 0 {
			val = 1
		}
		if s.opts.flags == nil {
			s.opts.flags = make(map[int]int32)
		}
		s.opts.flags[name] = val
	}
	return nil
}

// bufSize is what SO_SNDBUF and SO_RCVBUF store for a request: twice
// it, within Linux's bounds.
func bufSize(val int32, least int) int {
	n := int(max(val, 0))
	return max(min(n, maxBuf/2)*2, least)
}

// setTimeout sets SO_RCVTIMEO or SO_SNDTIMEO from a struct timeval, as
// Linux's sock_set_timeout.
func (s *Socket) setTimeout(name int, v []byte) error {
	var tv sys.Timeval
	if !abi.Decode(v, &tv) {
		return sys.EINVAL
	}
	sec, usec := tv.Sec, tv.Usec
	if usec < 0 || usec >= 1e6 {
		return sys.EDOM
	}
	var d time.Duration
	switch {
	case sec < 0:
		d = time.Microsecond // Linux: an immediate timeout
	case sec >= math.MaxInt64/int64(time.Second)-1:
		d = 0
	default:
		d = time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
	}
	mu.Lock()
	defer mu.Unlock()
	if name == sys.SO_RCVTIMEO {
		s.opts.rcvtimeo = d
	} else {
		s.opts.sndtimeo = d
	}
	return nil
}

// timeval encodes d as a struct timeval, the microseconds cut.
func timeval(d time.Duration) []byte {
	return abi.Encode(sys.Timeval{Sec: int64(d / time.Second), Usec: int64(d % time.Second / time.Microsecond)})
}

// Timeouts returns SO_RCVTIMEO and SO_SNDTIMEO (0: wait forever).
func (s *Socket) Timeouts() (rcv, snd time.Duration) {
	mu.Lock()
	defer mu.Unlock()
	return s.opts.rcvtimeo, s.opts.sndtimeo
}

// PassCred reports SO_PASSCRED.
func (s *Socket) PassCred() bool {
	mu.Lock()
	defer mu.Unlock()
	return s.opts.passcred
}
