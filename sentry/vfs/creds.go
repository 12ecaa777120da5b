package vfs

import (
	"context"
	"slices"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Creds are who a VFS operation acts for: the filesystem user and group
// IDs, the supplementary groups and the effective capabilities. Every
// operation that checks permissions takes them as an argument, never from
// a context, so that an operation without them does not compile. The
// zero value is uid 0 without any capability: the owner of root's files,
// no more. Privilege comes only from capabilities, as in Linux
// (capabilities(7)): NewCreds for a task, KernelCreds for the kernel
// itself.
type Creds struct {
	uid, gid uint32
	groups   []uint32
	caps     uint64 // bit n is capability n
	// ns and nsCaps are a task's user namespace, when it is not the
	// initial one, and its capabilities there: they count over an inode
	// whose owner and group ns maps (capableWrt), caps being those of
	// the initial namespace (none).
	ns     IDMapper
	nsCaps uint64
}

// NewCreds returns the credentials of a task: its filesystem user and
// group IDs, supplementary groups and effective capability set (bit n is
// capability n). groups is not copied; the caller does not change it.
func NewCreds(uid, gid uint32, groups []uint32, caps uint64) Creds {
	return Creds{uid: uid, gid: gid, groups: groups, caps: caps}
}

// allCaps is every capability Linux defines.
const allCaps = uint64(1)<<(linux.CAP_LAST_CAP+1) - 1

// IDMapper is a user namespace as the VFS sees it: which kernel user and
// group IDs it maps.
type IDMapper interface {
	MapsUID(uid uint32) bool
	MapsGID(gid uint32) bool
}

// InUserNS returns c for a task of the user namespace ns holding caps
// there (Linux's capable_wrt_inode_uidgid: those capabilities count over
// inodes whose owner and group ns maps, and only there).
func (c Creds) InUserNS(caps uint64, ns IDMapper) Creds {
	c.ns, c.nsCaps = ns, caps
	return c
}

// capableWrt reports whether c holds cp over an inode of st's owner and
// group (capable_wrt_inode_uidgid).
func (c Creds) capableWrt(cp linux.Capability, st *unix.Stat_t) bool {
	if c.HasCap(cp) {
		return true
	}
	return c.ns != nil && cp.Ok() && c.nsCaps&(1<<cp) != 0 && c.ns.MapsUID(st.Uid) && c.ns.MapsGID(st.Gid)
}

// KernelCreds are the kernel's own credentials: uid and gid 0 with every
// capability. Only operations the sentry makes for itself use them
// (mounting the sandbox's filesystems, finding and opening its first
// program before any task exists); grep for them to find each.
func KernelCreds() Creds { return Creds{caps: allCaps} }

// UID is the filesystem user ID: the owner of new files.
func (c Creds) UID() uint32 { return c.uid }

// GID is the filesystem group ID.
func (c Creds) GID() uint32 { return c.gid }

// InGroup reports whether gid is c's group or one of its supplementary
// groups (in_group_p).
func (c Creds) InGroup(gid uint32) bool { return c.gid == gid || slices.Contains(c.groups, gid) }

// HasCap reports whether c holds capability cp in the sandbox's initial
// user namespace (what global checks ask).
func (c Creds) HasCap(cp linux.Capability) bool { return cp.Ok() && c.caps&(1<<cp) != 0 }

// ownerOrCapable is inode_owner_or_capable: c owns st, or holds
// CAP_FOWNER.
func (c Creds) ownerOrCapable(st *unix.Stat_t) bool {
	return c.uid == st.Uid || c.capableWrt(linux.CAP_FOWNER, st)
}

// Access bits for permission (Linux's MAY_EXEC, MAY_WRITE, MAY_READ, the
// same bits as X_OK, W_OK and R_OK).
const (
	mayExec  = 1
	mayWrite = 2
	mayRead  = 4
)

// permission checks want (mayRead|mayWrite|mayExec) against st for c as
// generic_permission does: the owner's, the group's or the others' mode
// bits, then CAP_DAC_OVERRIDE (anything on a directory, read and write on
// anything, execution of a file with some execute bit) and
// CAP_DAC_READ_SEARCH (reading anything, searching directories).
func permission(c Creds, st *unix.Stat_t, want uint32) error {
	perm := st.Mode & 7
	switch {
	case st.Uid == c.uid:
		perm = st.Mode >> 6 & 7
	case c.InGroup(st.Gid):
		perm = st.Mode >> 3 & 7
	}
	if want&^perm == 0 {
		return nil
	}
	if IsDir(st.Mode) {
		if want&mayWrite == 0 && c.capableWrt(linux.CAP_DAC_READ_SEARCH, st) {
			return nil
		}
		if c.capableWrt(linux.CAP_DAC_OVERRIDE, st) {
			return nil
		}
		return unix.EACCES
	}
	if (want&mayExec == 0 || st.Mode&0o111 != 0) && c.capableWrt(linux.CAP_DAC_OVERRIDE, st) {
		return nil
	}
	if want == mayRead && c.capableWrt(linux.CAP_DAC_READ_SEARCH, st) {
		return nil
	}
	return unix.EACCES
}

// stickyDenies is check_sticky: in a sticky directory (dir), only the
// owner of the entry (victim), the owner of the directory or a holder of
// CAP_FOWNER may remove or rename it.
func stickyDenies(c Creds, dir, victim *unix.Stat_t) bool {
	if dir.Mode&unix.S_ISVTX == 0 {
		return false
	}
	return c.uid != victim.Uid && c.uid != dir.Uid && !c.capableWrt(linux.CAP_FOWNER, victim)
}

type taskKey struct{}

// WithTask returns ctx carrying the calling task (a *kernel.Task, opaque
// here), for filesystems whose contents depend on who asks (proc's
// /proc/self, the memory account of overlay files) and for blocking
// operations that a signal interrupts. It carries no credentials.
func WithTask(ctx context.Context, task any) context.Context {
	return context.WithValue(ctx, taskKey{}, task)
}

// TaskOf returns the task in ctx, nil if there is none.
func TaskOf(ctx context.Context) any { return ctx.Value(taskKey{}) }
