package platform

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// What every platform does the same way around running a thread: the start
// of Context.Switch, Interrupt's flag, and the checks that keep the
// application's mapping changes out of the range a platform reserves.

// SwitchGate is the state Switch and Interrupt share on every platform:
// whether the context is inside Switch, and an interrupt not yet
// delivered. The zero value is ready.
type SwitchGate struct {
	interrupted atomic.Bool
	running     atomic.Bool
}

// Interrupt records an interrupt and reports whether the context is inside
// Switch, where the platform must also make the running thread stop.
func (g *SwitchGate) Interrupt() (running bool) {
	g.interrupted.Store(true)
	return g.running.Load()
}

// Delivered drops the pending interrupt: the stop it caused is being
// returned as EventInterrupted.
func (g *SwitchGate) Delivered() { g.interrupted.Store(false) }

// Running reports whether the context is inside Switch.
func (g *SwitchGate) Running() bool { return g.running.Load() }

// Leave marks the end of Switch.
func (g *SwitchGate) Leave() { g.running.Store(false) }

// Holder is an address space that can be held in use.
type Holder interface {
	// Enter holds the address space in use, so that it is not released
	// under the caller; false if it is released already.
	Enter() bool
	// Leave ends a use Enter began.
	Leave()
}

// InUse is a platform's address space as Switch holds it.
type InUse interface {
	comparable
	Holder
}

// Bindable is a context that runs in one address space at a time.
type Bindable[A InUse] interface {
	// Bound is the address space the context runs in (the zero A if none).
	Bound() A
	// Rebind leaves that address space, if any, for as.
	Rebind(as A) error
}

// EnterSwitch is the start of Context.Switch on every platform: pas must be
// the platform's own kind of address space A; it is held in use (the
// caller defers as.Leave() when err is nil), c is rebound to it if it ran
// elsewhere, and g marks c running (the caller defers g.Leave()).
// interrupted reports an Interrupt that came first: Switch then returns
// EventInterrupted without running the thread.
func EnterSwitch[A InUse](c Bindable[A], g *SwitchGate, pas AddressSpace) (as A, interrupted bool, err error) {
	as, ok := pas.(A)
	if !ok {
		return as, false, fmt.Errorf("a context of %T switched into a %T", c, pas)
	}
	if !as.Enter() {
		return as, false, fmt.Errorf("address space released: %w", ErrContextDead)
	}
	if c.Bound() != as {
		if err := c.Rebind(as); err != nil {
			as.Leave()
			return as, false, err
		}
	}
	g.running.Store(true)
	return as, g.interrupted.Swap(false), nil
}

// CheckMmap refuses a fixed mapping over reserved (ENOMEM). A hint inside
// it is the platform's to check after the host chose an address.
func CheckMmap(reserved Range, addr, length uintptr, flags int) error {
	if flags&(unix.MAP_FIXED|unix.MAP_FIXED_NOREPLACE) != 0 && reserved.Overlaps(addr, length) {
		return unix.ENOMEM
	}
	return nil
}

// CheckMunmap refuses to unmap any of reserved (EINVAL).
func CheckMunmap(reserved Range, addr, length uintptr) error {
	if reserved.Overlaps(addr, length) {
		return unix.EINVAL
	}
	return nil
}

// CheckMprotect refuses to change the protection of any of reserved
// (ENOMEM, as for an unmapped range).
func CheckMprotect(reserved Range, addr, length uintptr) error {
	if reserved.Overlaps(addr, length) {
		return unix.ENOMEM
	}
	return nil
}
