package proc

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// /proc/PID/mounts and /proc/PID/mountinfo are the sandbox's mount table
// as the sandbox set it up (SetMounts), then the mounts the application
// made with mount(2) (vfs.VFS.Mounted), with the sandbox's names only: the
// root is an overlay with no host path, whatever host directory is below
// it, and every device number is the one stat shows for the mount's files.
// Mount IDs are the VFS's (vfs.MountID: from 1 in mount order, which
// statx and fdinfo show too); the root is its own parent.

// Mount is one mount of the sandbox.
type Mount struct {
	Source, Path, Type string
	// Flags are the mount's options, "rw" or "ro" first ("rw,nosuid");
	// Data the filesystem's ("mode=755"), "" for none.
	Flags, Data string
	// Dev is st_dev of the mount's files.
	Dev uint64
	// Root is the path in its filesystem of the mount's root: "/", or a
	// bind mount's directory; "" is "/".
	Root string
	// ID and ParentID are the mount's vfs.MountID and the one of the
	// mount it is on.
	ID, ParentID int
}

// SetMounts sets the mount table that /proc/PID/mounts and mountinfo show.
func (fs *FileSystem) SetMounts(mounts []Mount) {
	fs.table.mu.Lock()
	defer fs.table.mu.Unlock()
	fs.table.mounts = append([]Mount(nil), mounts...)
}

// mounts returns the mounts of t's mount namespace: the sandbox's own
// (or their copies) as SetMounts described them, with the mount's own
// ID, parent and path, and mount(2)'s.
func (fs *FileSystem) mounts(t *kernel.Task) []Mount {
	v := fs.k.VFS
	if v == nil {
		return nil
	}
	fs.table.mu.Lock()
	own := slices.Clone(fs.table.mounts)
	fs.table.mu.Unlock()
	return describeMounts(own, v.Mounts(context.Background(), t.MountNS().VFS))
}

// describeMounts describes a namespace's mounts: those of mount(2) by
// their options, those of the sandbox (or their copies and bind mounts)
// by the row of own with the ID of the mount they copy.
func describeMounts(own []Mount, infos []vfs.MountInfo) []Mount {
	byID := make(map[int]Mount, len(own))
	for _, m := range own {
		byID[m.ID] = m
	}
	var table []Mount
	for _, m := range infos {
		e, ok := byID[m.Origin]
		switch {
		case m.Type != "":
			// mount(2)'s, or a copy or bind mount of one.
			e = Mount{Source: m.Source, Type: m.Type, Flags: mountFlags(m.Flags), Data: m.Data}
		case !ok:
			continue // not published yet: the sandbox is being built
		default:
			// The sandbox's own: its text, and what a remount added.
			e.Flags = mountFlags(parseMountFlags(e.Flags) | m.Live)
		}
		e.Path, e.Dev, e.ID, e.ParentID, e.Root = m.Path, m.Dev, m.ID, m.ParentID, m.Root
		table = append(table, e)
	}
	return table
}

// flagNames are the mount flags /proc/PID/mounts names after "rw" or
// "ro", in its order.
var flagNames = []struct {
	bit  uint64
	name string
}{{unix.MS_SYNCHRONOUS, "sync"}, {unix.MS_DIRSYNC, "dirsync"}, {unix.MS_MANDLOCK, "mand"},
	{unix.MS_NOSUID, "nosuid"}, {unix.MS_NODEV, "nodev"}, {unix.MS_NOEXEC, "noexec"},
	{unix.MS_NOATIME, "noatime"}, {unix.MS_NODIRATIME, "nodiratime"}, {unix.MS_RELATIME, "relatime"}}

// mountFlags are a mount's flags as /proc/PID/mounts shows them: the
// superblock's (show_sb_opts), then the mount's (show_mnt_opts).
func mountFlags(flags uint64) string {
	opts := []string{"rw"}
	if flags&unix.MS_RDONLY != 0 {
		opts[0] = "ro"
	}
	for _, f := range flagNames {
		if flags&f.bit != 0 {
			opts = append(opts, f.name)
		}
	}
	return strings.Join(opts, ",")
}

// parseMountFlags is mountFlags the other way.
func parseMountFlags(text string) uint64 {
	var flags uint64
	for opt := range strings.SplitSeq(text, ",") {
		if opt == "ro" {
			flags |= unix.MS_RDONLY
		}
		for _, f := range flagNames {
			if opt == f.name {
				flags |= f.bit
			}
		}
	}
	return flags
}

// mangle escapes what would break a line's fields, as seq_escape does.
func mangle(s string) string {
	return strings.NewReplacer(" ", `\040`, "\t", `\011`, "\n", `\012`, `\`, `\134`).Replace(s)
}

// options joins a mount's and its filesystem's options.
func (m Mount) options() string {
	if m.Data == "" {
		return m.Flags
	}
	return m.Flags + "," + m.Data
}

// mountsFile is /proc/PID/mounts (show_vfsmnt).
func mountsFile(mounts []Mount) string {
	var b strings.Builder
	for _, m := range mounts {
		fmt.Fprintf(&b, "%s %s %s %s 0 0\n", mangle(m.Source), mangle(m.Path), m.Type, m.options())
	}
	return b.String()
}

// mountinfo is /proc/PID/mountinfo (show_mountinfo): the superblock's
// options are its read-write state and the filesystem's options.
func mountinfo(mounts []Mount) string {
	var b strings.Builder
	for _, m := range mounts {
		sb, _, _ := strings.Cut(m.Flags, ",")
		if m.Data != "" {
			sb += "," + m.Data
		}
		root := m.Root
		if root == "" {
			root = "/"
		}
		fmt.Fprintf(&b, "%d %d %d:%d %s %s %s - %s %s %s\n", m.ID, m.ParentID,
			unix.Major(m.Dev), unix.Minor(m.Dev), mangle(root), mangle(m.Path), m.Flags, m.Type, mangle(m.Source), sb)
	}
	return b.String()
}
