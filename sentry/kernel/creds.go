package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// IDs are a real, effective, saved and filesystem user or group ID. The
// filesystem ID follows the effective one through every call of the
// setuid family, and only setfsuid and setfsgid set it apart.
type IDs struct{ Real, Effective, Saved, FS uint32 }

// Credentials are a process's identity inside the sandbox. The application
// starts as root of the sandbox (uid 0 with every capability), which gives
// it no power outside: nothing it does reaches the host as root. Privilege
// is the capabilities, as in Linux: the setuid family asks for CAP_SETUID
// and CAP_SETGID, and changes of user ID change the capabilities as
// capabilities(7) says (caps.go).
//
// The IDs are kernel IDs, which the syscall layer maps to and from the
// process's user namespace (userns.go); Caps are its capabilities in that
// namespace.
type Credentials struct {
	UID, GID IDs
	Groups   []uint32
	Caps     CapSets // caps.go
	// UserNS is the process's user namespace, nil for the sandbox's
	// initial one.
	UserNS *UserNamespace
}

// HasCap reports whether c holds cp in the sandbox's initial user
// namespace (Linux's capable()): the check for everything global. A
// process in a child user namespace holds no capability there.
func (c Credentials) HasCap(cp linux.Capability) bool {
	return c.UserNS == nil && c.HasOwnCap(cp)
}

// HasCapability reports whether t's process holds cp in the initial user
// namespace (HasCap).
func (t *Task) HasCapability(cp linux.Capability) bool { return t.Creds().HasCap(cp) }

// UserNS returns t's user namespace (nil: the initial one).
func (t *Task) UserNS() *UserNamespace {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	return t.TG.creds.UserNS
}

// FSCreds returns the credentials the VFS checks t against: its
// filesystem user and group IDs, supplementary groups and effective
// capabilities; in a child user namespace the capabilities count only
// over files whose owner and group the namespace maps
// (capable_wrt_inode_uidgid), and none of them globally.
func (t *Task) FSCreds() vfs.Creds {
	c := t.Creds()
	if c.UserNS != nil {
		return vfs.NewCreds(c.UID.FS, c.GID.FS, c.Groups, 0).InUserNS(c.Caps.Effective(), c.UserNS)
	}
	return vfs.NewCreds(c.UID.FS, c.GID.FS, c.Groups, c.Caps.Effective())
}

// AccessCreds returns the credentials access(2) and faccessat(2) without
// AT_EACCESS check with: the real user and group IDs, with the permitted
// capabilities if the real uid is 0 and none otherwise (do_faccessat's
// override of the caller's credentials).
func (t *Task) AccessCreds() vfs.Creds {
	c := t.Creds()
	var caps uint64
	if c.UID.Real == c.UserNS.rootUID() {
		caps = c.Caps.Permitted()
	}
	if c.UserNS != nil {
		return vfs.NewCreds(c.UID.Real, c.GID.Real, c.Groups, 0).InUserNS(caps, c.UserNS)
	}
	return vfs.NewCreds(c.UID.Real, c.GID.Real, c.Groups, caps)
}

// EffectiveIDs returns t's effective user and group IDs (what a Unix
// socket's peer sees, SO_PEERCRED).
func (t *Task) EffectiveIDs() (uid, gid uint32) {
	c := t.Creds()
	return c.UID.Effective, c.GID.Effective
}

// Creds returns a copy of the task's credentials.
func (t *Task) Creds() Credentials {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	c := t.TG.creds
	c.Groups = append([]uint32(nil), c.Groups...)
	return c
}

const noChange = ^uint32(0)

// changeCreds applies fn to the credentials as one change, and then the
// capability rules of a change of user IDs (cap_emulate_setxuid). The
// filesystem IDs follow the effective ones.
func (t *Task) changeCreds(fn func(c *Credentials) error) error {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	c := t.TG.creds
	if err := fn(&c); err != nil {
		return err
	}
	c.UID.FS, c.GID.FS = c.UID.Effective, c.GID.Effective
	capsAfterSetuid(t.TG.creds.UID, c.UID, c.UserNS.rootUID(), &c.Caps)
	if old := t.TG.creds; old.UID.Effective != c.UID.Effective || old.GID.Effective != c.GID.Effective ||
		old.UID.FS != c.UID.FS || old.GID.FS != c.GID.FS {
		// As Linux's commit_creds: a new identity forgets the parent-death
		// signal.
		t.SetPdeathSignal(0)
	}
	t.TG.creds = c
	return nil
}

// allowed reports whether an unprivileged process may switch to id.
func (ids IDs) allowed(id uint32) bool {
	return id == ids.Real || id == ids.Effective || id == ids.Saved
}

func setID(ids *IDs, privileged bool, id uint32) error {
	switch {
	case privileged:
		ids.Real, ids.Effective, ids.Saved = id, id, id
	case id == ids.Real || id == ids.Saved:
		ids.Effective = id
	default:
		return unix.EPERM
	}
	return nil
}

// SetUID implements setuid(2): with CAP_SETUID every user ID, else the
// effective one to the real or saved one.
func (t *Task) SetUID(uid uint32) error {
	if uid == noChange {
		return unix.EINVAL
	}
	return t.changeCreds(func(c *Credentials) error { return setID(&c.UID, c.HasOwnCap(linux.CAP_SETUID), uid) })
}

// SetGID implements setgid(2), with CAP_SETGID as its privilege.
func (t *Task) SetGID(gid uint32) error {
	if gid == noChange {
		return unix.EINVAL
	}
	return t.changeCreds(func(c *Credentials) error { return setID(&c.GID, c.HasOwnCap(linux.CAP_SETGID), gid) })
}

func setRES(ids *IDs, privileged bool, r, e, s uint32) error {
	next := *ids
	for _, p := range []struct {
		v   uint32
		dst *uint32
	}{{r, &next.Real}, {e, &next.Effective}, {s, &next.Saved}} {
		if p.v == noChange {
			continue
		}
		if !privileged && !ids.allowed(p.v) {
			return unix.EPERM
		}
		*p.dst = p.v
	}
	*ids = next
	return nil
}

// SetRESUID implements setresuid(2): without CAP_SETUID each ID may only
// become one of the current real, effective and saved ones.
func (t *Task) SetRESUID(r, e, s uint32) error {
	return t.changeCreds(func(c *Credentials) error { return setRES(&c.UID, c.HasOwnCap(linux.CAP_SETUID), r, e, s) })
}

// SetRESGID implements setresgid(2), with CAP_SETGID as its privilege.
func (t *Task) SetRESGID(r, e, s uint32) error {
	return t.changeCreds(func(c *Credentials) error { return setRES(&c.GID, c.HasOwnCap(linux.CAP_SETGID), r, e, s) })
}

// setRE implements the setreuid(2) rules: the saved ID follows the new
// effective one when the real ID is set or the effective one changes to
// something other than the old real ID.
func setRE(ids *IDs, privileged bool, r, e uint32) error {
	next := *ids
	if r != noChange {
		if !privileged && r != ids.Real && r != ids.Effective {
			return unix.EPERM
		}
		next.Real = r
	}
	if e != noChange {
		if !privileged && !ids.allowed(e) {
			return unix.EPERM
		}
		next.Effective = e
	}
	if r != noChange || (e != noChange && e != ids.Real) {
		next.Saved = next.Effective
	}
	*ids = next
	return nil
}

// SetREUID implements setreuid(2).
func (t *Task) SetREUID(r, e uint32) error {
	return t.changeCreds(func(c *Credentials) error { return setRE(&c.UID, c.HasOwnCap(linux.CAP_SETUID), r, e) })
}

// SetREGID implements setregid(2).
func (t *Task) SetREGID(r, e uint32) error {
	return t.changeCreds(func(c *Credentials) error { return setRE(&c.GID, c.HasOwnCap(linux.CAP_SETGID), r, e) })
}

// SetGroups implements setgroups(2), which needs CAP_SETGID and, in a
// child user namespace, a written gid map and setgroups allowed
// (may_setgroups). groups are kernel IDs.
func (t *Task) SetGroups(groups []uint32) error {
	return t.changeCreds(func(c *Credentials) error {
		if !c.HasOwnCap(linux.CAP_SETGID) || !c.UserNS.SetgroupsAllowed() {
			return unix.EPERM
		}
		c.Groups = groups
		return nil
	})
}

// setFS applies setfsuid's rule to the filesystem ID of ids: it may
// become the real, effective, saved or current filesystem ID, or anything
// with privilege; -1 (an invalid ID) only asks. It returns the previous
// filesystem ID, whether or not it changed, as Linux does.
func setFS(ids *IDs, privileged bool, id uint32) uint32 {
	old := ids.FS
	if id != noChange && (privileged || ids.allowed(id)) {
		ids.FS = id
	}
	return old
}

// SetFSUID implements setfsuid(2), with CAP_SETUID as its privilege, and
// returns the previous filesystem uid. A filesystem uid leaving 0 drops
// the filesystem capabilities from the effective set, and one returning
// to 0 raises those that are permitted (capabilities(7)).
func (t *Task) SetFSUID(uid uint32) uint32 {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	c := &t.TG.creds
	old := setFS(&c.UID, c.HasOwnCap(linux.CAP_SETUID), uid)
	capsAfterSetfsuid(old, c.UID.FS, c.UserNS.rootUID(), &c.Caps)
	if c.UID.FS != old {
		t.SetPdeathSignal(0)
	}
	return old
}

// SetFSGID implements setfsgid(2), with CAP_SETGID as its privilege, and
// returns the previous filesystem gid.
func (t *Task) SetFSGID(gid uint32) uint32 {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	old := setFS(&t.TG.creds.GID, t.TG.creds.HasOwnCap(linux.CAP_SETGID), gid)
	if t.TG.creds.GID.FS != old {
		t.SetPdeathSignal(0)
	}
	return old
}
