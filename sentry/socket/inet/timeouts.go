package inet

import (
	"sync"
	"time"

	sys "golang.org/x/sys/unix"

	"runsc-lite/abi"
)

// SockTimeouts are a socket's SO_RCVTIMEO and SO_SNDTIMEO, which the
// sentry keeps for every kind of socket: the waits are the syscall
// layer's, the sockets never block. The zero value is no timeout.
type SockTimeouts struct {
	mu       sync.Mutex    // guards rcv, snd
	rcv, snd time.Duration // 0: none
}

// Timeouts returns SO_RCVTIMEO and SO_SNDTIMEO (0: none).
func (t *SockTimeouts) Timeouts() (rcv, snd time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rcv, t.snd
}

// IsTimeoutOption reports whether level and name are SO_RCVTIMEO or
// SO_SNDTIMEO.
func IsTimeoutOption(level, name int) bool {
	return level == sys.SOL_SOCKET && (name == sys.SO_RCVTIMEO || name == sys.SO_SNDTIMEO)
}

// GetTimeout answers getsockopt of SO_RCVTIMEO or SO_SNDTIMEO (name): a
// struct timeval.
func (t *SockTimeouts) GetTimeout(name int) []byte {
	rcv, snd := t.Timeouts()
	d := rcv
	if name == sys.SO_SNDTIMEO {
		d = snd
	}
	tv := sys.NsecToTimeval(d.Nanoseconds())
	return append([]byte(nil), abi.AsBytes(&tv)...)
}

// SetTimeout answers setsockopt of SO_RCVTIMEO or SO_SNDTIMEO (name)
// with value v, read as TimeoutOption reads it.
func (t *SockTimeouts) SetTimeout(name int, v []byte) error {
	d, err := TimeoutOption(v)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if name == sys.SO_RCVTIMEO {
		t.rcv = d
	} else {
		t.snd = d
	}
	return nil
}
