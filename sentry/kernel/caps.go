package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// AllCaps is every capability Linux defines (0 through
// CAP_CHECKPOINT_RESTORE, 40): what the sandbox's root holds, and what
// /proc/self/status reports as CapEff.
const AllCaps = uint64(1)<<41 - 1

// CapSets are a process's capability sets, stored as what was dropped so
// that the zero value is root's: every capability permitted, effective and
// in the bounding set, none inheritable or ambient. capset, prctl, setuid
// transitions and execve change them (capabilities(7)); permission checks
// ask for capabilities in the effective set (Credentials.HasCap, and
// vfs.Creds for files).
type CapSets struct {
	droppedEffective, droppedPermitted, droppedBounding uint64
	Inheritable                                         uint64
	// Ambient is the ambient set (PR_CAP_AMBIENT), kept within the
	// permitted and inheritable sets: what a non-root execve keeps.
	Ambient uint64
	// Securebits are prctl's PR_SET_SECUREBITS (SECBIT_*), whose
	// SECBIT_KEEP_CAPS is also PR_SET_KEEPCAPS.
	Securebits uint32
}

// The securebits (include/uapi/linux/securebits.h); each lock bit is the
// bit after its flag.
const (
	secNoRoot            = 1 << 0
	secNoSetuidFixup     = 1 << 2
	secKeepCaps          = 1 << 4
	secNoCapAmbientRaise = 1 << 6
	secAllBits           = secNoRoot | secNoSetuidFixup | secKeepCaps | secNoCapAmbientRaise
	secAllLocks          = secAllBits << 1
)

// Effective returns the effective set.
func (c CapSets) Effective() uint64 { return AllCaps &^ c.droppedEffective }

// Permitted returns the permitted set.
func (c CapSets) Permitted() uint64 { return AllCaps &^ c.droppedPermitted }

// Bounding returns the bounding set.
func (c CapSets) Bounding() uint64 { return AllCaps &^ c.droppedBounding }

// KeepCaps reports SECBIT_KEEP_CAPS: the permitted set survives every
// user ID leaving 0.
func (c CapSets) KeepCaps() bool { return c.Securebits&secKeepCaps != 0 }

// setPermitted sets the permitted and effective sets, and trims the
// ambient set to stay within permitted and inheritable.
func (c *CapSets) setPermitted(prm, eff uint64) {
	c.droppedPermitted, c.droppedEffective = AllCaps&^prm, AllCaps&^(eff&prm)
	c.Ambient &= prm & c.Inheritable
}

// SetCaps implements capset(2) for the caller's own process: the new
// effective set must lie within the new permitted one, which must lie
// within the old permitted one; the inheritable set may only gain what is
// permitted (anything with CAP_SETPCAP), and never what the bounding set
// lacks. The ambient set loses what is no longer both permitted and
// inheritable.
func (t *Task) SetCaps(eff, prm, inh uint64) error {
	return t.changeCreds(func(c *Credentials) error {
		old := c.Caps
		limit := old.Inheritable | old.Permitted()
		if c.HasOwnCap(unix.CAP_SETPCAP) {
			limit = old.Inheritable | AllCaps
		}
		// Bits above the last capability are dropped, as sys_capset does.
		eff, prm, inh = eff&AllCaps, prm&AllCaps, inh&AllCaps
		if prm&^old.Permitted() != 0 || eff&^prm != 0 || inh&^limit != 0 || inh&^(old.Inheritable|old.Bounding()) != 0 {
			return unix.EPERM
		}
		c.Caps.Inheritable = inh
		c.Caps.setPermitted(prm, eff)
		return nil
	})
}

// DropBounding implements prctl(PR_CAPBSET_DROP), which needs CAP_SETPCAP.
func (t *Task) DropBounding(cp linux.Capability) error {
	return t.changeCreds(func(c *Credentials) error {
		if !c.HasOwnCap(linux.CAP_SETPCAP) {
			return unix.EPERM
		}
		if !cp.Ok() {
			return unix.EINVAL
		}
		c.Caps.droppedBounding |= 1 << cp
		return nil
	})
}

// RaiseAmbient implements PR_CAP_AMBIENT_RAISE: cp must be permitted and
// inheritable, and SECBIT_NO_CAP_AMBIENT_RAISE clear.
func (t *Task) RaiseAmbient(cp linux.Capability) error {
	return t.changeCreds(func(c *Credentials) error {
		bit := uint64(1) << cp
		if c.Caps.Permitted()&c.Caps.Inheritable&bit == 0 || c.Caps.Securebits&secNoCapAmbientRaise != 0 {
			return unix.EPERM
		}
		c.Caps.Ambient |= bit
		return nil
	})
}

// LowerAmbient implements PR_CAP_AMBIENT_LOWER and, with all set,
// PR_CAP_AMBIENT_CLEAR_ALL.
func (t *Task) LowerAmbient(cp linux.Capability, all bool) {
	t.changeCreds(func(c *Credentials) error {
		if all {
			c.Caps.Ambient = 0
		} else {
			c.Caps.Ambient &^= 1 << cp
		}
		return nil
	})
}

// SetSecurebits implements prctl(PR_SET_SECUREBITS) (cap_prctl): it needs
// CAP_SETPCAP, knows only the bits of secAllBits and their locks, and may
// neither change a locked bit nor unlock one.
func (t *Task) SetSecurebits(bits uint64) error {
	return t.changeCreds(func(c *Credentials) error {
		old := uint64(c.Caps.Securebits)
		if (old&secAllLocks)>>1&(old^bits) != 0 || old&secAllLocks&^bits != 0 ||
			bits&^(secAllLocks|secAllBits) != 0 || !c.HasOwnCap(linux.CAP_SETPCAP) {
			return unix.EPERM
		}
		c.Caps.Securebits = uint32(bits)
		return nil
	})
}

// execCaps gives c the capabilities an execve of a file without file
// capabilities or set-ID bits leaves (cap_bprm_creds_from_file): root
// (unless SECBIT_NOROOT) is given its inheritable and bounding sets as
// permitted, and as effective too when it is the effective user; anyone
// else keeps only the ambient set, permitted and effective.
func (c *Credentials) execCaps() {
	caps := &c.Caps
	prm, eff := caps.Ambient, caps.Ambient
	root := c.UserNS.rootUID()
	if caps.Securebits&secNoRoot == 0 && (c.UID.Real == root || c.UID.Effective == root) {
		prm |= caps.Inheritable | caps.Bounding()
		if c.UID.Effective == root {
			eff = prm
		}
	}
	caps.droppedPermitted, caps.droppedEffective = AllCaps&^prm, AllCaps&^eff
	caps.Securebits &^= secKeepCaps
}

// ExecCaps applies execve's capability rules to t's process (execCaps);
// the sandbox applies them to a process it starts, as runc's execve of
// the container's program does.
func (t *Task) ExecCaps() {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	t.TG.creds.execCaps()
}

// fsCaps are the capabilities that follow the filesystem user ID
// (capabilities(7), Linux's CAP_FS_SET).
const fsCaps = uint64(1<<linux.CAP_CHOWN | 1<<linux.CAP_DAC_OVERRIDE | 1<<linux.CAP_DAC_READ_SEARCH | 1<<linux.CAP_FOWNER |
	1<<linux.CAP_FSETID | 1<<linux.CAP_LINUX_IMMUTABLE | 1<<linux.CAP_MAC_OVERRIDE | 1<<linux.CAP_MKNOD)

// capsAfterSetfsuid applies capabilities(7)'s rule for a change of the
// filesystem user ID, unless SECBIT_NO_SETUID_FIXUP: leaving 0 clears the filesystem capabilities from
// the effective set; returning to 0 raises those of them that are
// permitted.
func capsAfterSetfsuid(old, next, root uint32, caps *CapSets) {
	switch {
	case caps.Securebits&secNoSetuidFixup != 0:
	case old == root && next != root:
		caps.droppedEffective |= fsCaps
	case old != root && next == root:
		caps.droppedEffective &^= fsCaps &^ caps.droppedPermitted
	}
}

// capsAfterSetuid applies capabilities(7)'s rules for a change of user
// IDs (cap_emulate_setxuid), unless SECBIT_NO_SETUID_FIXUP: leaving uid 0
// in every one of real, effective and saved clears the permitted,
// effective and ambient sets (unless KeepCaps, which spares the permitted
// one); an effective uid leaving 0 clears the effective set, and one
// returning to 0 makes it the permitted set.
func capsAfterSetuid(old, next IDs, root uint32, caps *CapSets) {
	if caps.Securebits&secNoSetuidFixup != 0 {
		return
	}
	wasRoot := old.Real == root || old.Effective == root || old.Saved == root
	if wasRoot && next.Real != root && next.Effective != root && next.Saved != root {
		if !caps.KeepCaps() {
			caps.droppedPermitted, caps.droppedEffective = AllCaps, AllCaps
		}
		caps.Ambient = 0
	}
	switch {
	case old.Effective == root && next.Effective != root:
		caps.droppedEffective = AllCaps
	case old.Effective != root && next.Effective == root:
		caps.droppedEffective = caps.droppedPermitted
	}
}

// AssignCaps sets the capability sets of t's process as its creator says
// (an OCI runtime after it has set the identity, as runc does with
// PR_SET_KEEPCAPS), without capset(2)'s rules: for a process not yet
// started. The ambient set is kept within the permitted and inheritable
// ones, as PR_CAP_AMBIENT_RAISE would; ExecCaps follows.
func (t *Task) AssignCaps(eff, prm, inh, bounding, ambient uint64) {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	c := &t.TG.creds.Caps
	c.Inheritable, c.droppedBounding = inh&AllCaps, AllCaps&^bounding
	c.Ambient = ambient
	c.setPermitted(prm&AllCaps, eff)
}

// SetKeepCaps implements prctl(PR_SET_KEEPCAPS): EPERM once the bit is
// locked (SECBIT_KEEP_CAPS_LOCKED).
func (t *Task) SetKeepCaps(keep bool) error {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	c := &t.TG.creds.Caps
	if c.Securebits&(secKeepCaps<<1) != 0 {
		return unix.EPERM
	}
	if keep {
		c.Securebits |= secKeepCaps
	} else {
		c.Securebits &^= secKeepCaps
	}
	return nil
}
