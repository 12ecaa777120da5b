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
// that the zero value is root's: every capability permitted and effective,
// none inheritable. Only capget/capset and setuid transitions change them;
// permission checks ask for capabilities in the effective set
// (Credentials.HasCap, and vfs.Creds for files).
type CapSets struct {
	droppedEffective, droppedPermitted uint64
	Inheritable                        uint64
	// KeepCaps is the SECBIT_KEEP_CAPS securebit (prctl's
	// PR_SET_KEEPCAPS): the permitted set survives every user ID leaving
	// 0. Execve clears it.
	KeepCaps bool
}

// Effective returns the effective set.
func (c CapSets) Effective() uint64 { return AllCaps &^ c.droppedEffective }

// Permitted returns the permitted set.
func (c CapSets) Permitted() uint64 { return AllCaps &^ c.droppedPermitted }

// SetCaps implements capset(2) for the caller's own process: the new
// effective set must lie within the new permitted one, which must lie
// within the old permitted one; the inheritable set may only gain what is
// permitted (or in the bounding set, all of AllCaps, with CAP_SETPCAP).
func (t *Task) SetCaps(eff, prm, inh uint64) error {
	return t.changeCreds(func(c *Credentials) error {
		old := c.Caps
		limit := old.Inheritable | old.Permitted()
		if old.Effective()&(1<<unix.CAP_SETPCAP) != 0 {
			limit = old.Inheritable | AllCaps
		}
		// Bits above the last capability are dropped, as sys_capset does.
		eff, prm, inh = eff&AllCaps, prm&AllCaps, inh&AllCaps
		if prm&^old.Permitted() != 0 || eff&^prm != 0 || inh&^limit != 0 {
			return unix.EPERM
		}
		c.Caps = CapSets{droppedEffective: AllCaps &^ eff, droppedPermitted: AllCaps &^ prm, Inheritable: inh}
		return nil
	})
}

// fsCaps are the capabilities that follow the filesystem user ID
// (capabilities(7), Linux's CAP_FS_SET).
const fsCaps = uint64(1<<linux.CAP_CHOWN | 1<<linux.CAP_DAC_OVERRIDE | 1<<linux.CAP_DAC_READ_SEARCH | 1<<linux.CAP_FOWNER |
	1<<linux.CAP_FSETID | 1<<linux.CAP_LINUX_IMMUTABLE | 1<<linux.CAP_MAC_OVERRIDE | 1<<linux.CAP_MKNOD)

// capsAfterSetfsuid applies capabilities(7)'s rule for a change of the
// filesystem user ID: leaving 0 clears the filesystem capabilities from
// the effective set; returning to 0 raises those of them that are
// permitted.
func capsAfterSetfsuid(old, next uint32, caps *CapSets) {
	switch {
	case old == 0 && next != 0:
		caps.droppedEffective |= fsCaps
	case old != 0 && next == 0:
		caps.droppedEffective &^= fsCaps &^ caps.droppedPermitted
	}
}

// capsAfterSetuid applies capabilities(7)'s rules for a change of user
// IDs (cap_emulate_setxuid): leaving uid 0 in every one of real,
// effective and saved clears the permitted and effective sets (unless
// KeepCaps); an effective uid leaving 0 clears the effective set, and one
// returning to 0 makes it the permitted set.
func capsAfterSetuid(old, next IDs, caps *CapSets) {
	wasRoot := old.Real == 0 || old.Effective == 0 || old.Saved == 0
	if wasRoot && next.Real != 0 && next.Effective != 0 && next.Saved != 0 && !caps.KeepCaps {
		caps.droppedPermitted, caps.droppedEffective = AllCaps, AllCaps
	}
	switch {
	case old.Effective == 0 && next.Effective != 0:
		caps.droppedEffective = AllCaps
	case old.Effective != 0 && next.Effective == 0:
		caps.droppedEffective = caps.droppedPermitted
	}
}

// AssignCaps sets the capability sets of t's process as its creator says
// (an OCI runtime after it has set the identity, as runc does with
// PR_SET_KEEPCAPS), without capset(2)'s rules: for a process not yet
// started.
func (t *Task) AssignCaps(eff, prm, inh uint64) {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	prm &= AllCaps
	t.TG.creds.Caps = CapSets{droppedEffective: AllCaps &^ (eff & prm), droppedPermitted: AllCaps &^ prm, Inheritable: inh & AllCaps}
}

// SetKeepCaps implements prctl(PR_SET_KEEPCAPS).
func (t *Task) SetKeepCaps(keep bool) {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	t.TG.creds.Caps.KeepCaps = keep
}
