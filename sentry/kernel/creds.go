package kernel

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// IDs are a real, effective and saved user or group ID.
type IDs struct{ Real, Effective, Saved uint32 }

// Credentials are a process's identity inside the sandbox. The application
// starts as root of the sandbox (uid 0), which gives it no power outside:
// nothing it does reaches the host as root. The setuid family follows
// setuid(2)'s rules, with "privileged" meaning effective uid 0 (the sandbox
// has no capability model yet).
type Credentials struct {
	UID, GID IDs
	Groups   []uint32
	Caps     CapSets // caps.go
}

// FSCreds returns the credentials the VFS checks t against: its
// filesystem user and group IDs (which follow the effective ones),
// supplementary groups and effective capabilities.
func (t *Task) FSCreds() vfs.Creds {
	c := t.Creds()
	return vfs.NewCreds(c.UID.Effective, c.GID.Effective, c.Groups, c.Caps.Effective())
}

// AccessCreds returns the credentials access(2) and faccessat(2) without
// AT_EACCESS check with: the real user and group IDs, with the permitted
// capabilities if the real uid is 0 and none otherwise (do_faccessat's
// override of the caller's credentials).
func (t *Task) AccessCreds() vfs.Creds {
	c := t.Creds()
	var caps uint64
	if c.UID.Real == 0 {
		caps = c.Caps.Permitted()
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

func (t *Task) changeCreds(fn func(c *Credentials) error) error {
	t.TG.mu.Lock()
	defer t.TG.mu.Unlock()
	c := t.TG.creds
	if err := fn(&c); err != nil {
		return err
	}
	capsAfterSetuid(t.TG.creds.UID, c.UID, &c.Caps)
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
		*ids = IDs{id, id, id}
	case id == ids.Real || id == ids.Saved:
		ids.Effective = id
	default:
		return unix.EPERM
	}
	return nil
}

// SetUID implements setuid(2).
func (t *Task) SetUID(uid uint32) error {
	if uid == noChange {
		return unix.EINVAL
	}
	return t.changeCreds(func(c *Credentials) error { return setID(&c.UID, c.UID.Effective == 0, uid) })
}

// SetGID implements setgid(2).
func (t *Task) SetGID(gid uint32) error {
	if gid == noChange {
		return unix.EINVAL
	}
	return t.changeCreds(func(c *Credentials) error { return setID(&c.GID, c.UID.Effective == 0, gid) })
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

// SetRESUID implements setresuid(2).
func (t *Task) SetRESUID(r, e, s uint32) error {
	return t.changeCreds(func(c *Credentials) error { return setRES(&c.UID, c.UID.Effective == 0, r, e, s) })
}

// SetRESGID implements setresgid(2).
func (t *Task) SetRESGID(r, e, s uint32) error {
	return t.changeCreds(func(c *Credentials) error { return setRES(&c.GID, c.UID.Effective == 0, r, e, s) })
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
	return t.changeCreds(func(c *Credentials) error { return setRE(&c.UID, c.UID.Effective == 0, r, e) })
}

// SetREGID implements setregid(2).
func (t *Task) SetREGID(r, e uint32) error {
	return t.changeCreds(func(c *Credentials) error { return setRE(&c.GID, c.UID.Effective == 0, r, e) })
}

// SetGroups implements setgroups(2).
func (t *Task) SetGroups(groups []uint32) error {
	return t.changeCreds(func(c *Credentials) error {
		if c.UID.Effective != 0 {
			return unix.EPERM
		}
		c.Groups = groups
		return nil
	})
}
