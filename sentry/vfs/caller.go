package vfs

import (
	"context"
	"slices"

	"golang.org/x/sys/unix"
)

// Creds are the identity permission checks use.
type Creds struct {
	UID, GID uint32
	Groups   []uint32
}

// Caller is who performs an operation.
type Caller struct {
	Creds Creds
	// Task is the calling task (a *kernel.Task), opaque here; proc uses it
	// to answer /proc/self.
	Task any
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerOf returns the caller in ctx; without one, root.
func CallerOf(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// inGroup reports whether c is a member of gid.
func (c Creds) inGroup(gid uint32) bool { return c.GID == gid || slices.Contains(c.Groups, gid) }

// Access bits for mayAccess.
const (
	mayExec  = 1
	mayWrite = 2
	mayRead  = 4
)

// mayAccess checks want (mayRead|mayWrite|mayExec) against st for c as
// generic_permission does, with uid 0 as the only privileged identity.
func mayAccess(c Creds, st *unix.Stat_t, want uint32) error {
	if c.UID == 0 {
		if want&mayExec != 0 && !IsDir(st.Mode) && st.Mode&0o111 == 0 {
			return unix.EACCES
		}
		return nil
	}
	perm := st.Mode & 7
	switch {
	case st.Uid == c.UID:
		perm = st.Mode >> 6 & 7
	case c.inGroup(st.Gid):
		perm = st.Mode >> 3 & 7
	}
	if want&^perm != 0 {
		return unix.EACCES
	}
	return nil
}
