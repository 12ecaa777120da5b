// Package rootfs builds a sandbox's mount tree: the host directory as /,
// read only, under a memory overlay that takes every write (or, asked
// for, writable through to the host directory); a tmpfs at /tmp and at
// /dev/shm; the emulated /dev; then the mounts the caller adds (Mount:
// host directories and files, the volumes and OCI bind mounts, read-only,
// read-write or under an overlay of their own; memory filesystems; files
// of memory the sandbox is given, such as its /etc/resolv.conf). FIFOs
// of every filesystem open as in-sandbox pipes (fs/pipe). /proc and /sys
// are left for the caller (VFS.Mount("/proc", ...)); their mount points
// exist.
//
// A host directory reaches the sandbox only as a mount of package host:
// every lookup below it is the confined openat2 walk, whichever way it was
// given (the root, a volume, an OCI bind mount, the caller's working
// directory).
package rootfs

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/dev"
	"runsc-lite/sentry/fs/devpts"
	"runsc-lite/sentry/fs/host"
	"runsc-lite/sentry/fs/overlay"
	"runsc-lite/sentry/fs/pipe"
	"runsc-lite/sentry/fs/tmpfs"
	"runsc-lite/sentry/vfs"
)

// Options shape the mount tree beyond the root.
type Options struct {
	// RootWritable makes / the host directory itself, writable through
	// to the host (--overlay=none): no memory overlay. Missing mount
	// points (/tmp, /dev, /proc, /sys, the mounts') are made on the host.
	RootWritable bool
	// RootSwap, for a root opened by launch.OpenImageRoot as an idmapped
	// mount, undoes its swap of owners (host.Swap).
	RootSwap *host.Swap
	// RootReadOnly makes / read only (an OCI root.readonly): writes fail
	// with EROFS. The memory overlay stays beneath, for the mount points
	// the sandbox makes while Build runs.
	RootReadOnly bool
	// HostTmp leaves /tmp as the root has it (the host's /tmp for the
	// root /) instead of mounting an empty memory filesystem there.
	HostTmp bool
	// Mounts are mounted in order, after the sandbox's own; a later one
	// may be below an earlier one.
	Mounts []Mount
}

// Access is how a bind mount may be written.
type Access int

const (
	// ReadOnly: writes fail with EROFS.
	ReadOnly Access = iota
	// ReadWrite: writes reach the host, as the sentry's host identity.
	ReadWrite
	// CopyOnWrite: writes succeed in a memory overlay of the mount's own
	// and never reach the host, as for the root.
	CopyOnWrite
)

// String is the access as a volume's option names it.
func (a Access) String() string {
	switch a {
	case ReadOnly:
		return "ro"
	case ReadWrite:
		return "rw"
	}
	return "overlay"
}

// Mount is a mount the caller adds: a host directory or file (Source set),
// a file of memory (Content set) or a memory filesystem (Tmpfs).
type Mount struct {
	Dest string // absolute path in the sandbox
	// Source is the host directory or file bound at Dest; Build takes it
	// over, whether or not it succeeds.
	Source *host.Source
	Access Access
	// Tmpfs, when Source and Content are nil, is the memory filesystem's
	// options.
	Tmpfs tmpfs.Options
	// Content, when Source is nil and it is not, makes the mount one
	// read-only regular file of the sandbox's memory holding it (0644,
	// root's), on a tmpfs of its own: a file the sandbox is given rather
	// than a host file (its generated /etc/resolv.conf), whose statfs
	// shows no host disk.
	Content []byte
}

// Entry is a mount as the sandbox's mount table (/proc/PID/mounts)
// shows it: no host path.
type Entry struct {
	Source, Path, Type, Flags, Data string
}

// New returns the VFS of a sandbox whose root is the host directory root,
// its files numbered by ids (nil: a table of their own), and a filesystem
// context with root and working directory at /.
func New(root string, ids *host.Identities) (*vfs.VFS, *vfs.FSContext, error) {
	f, err := host.OpenRoot(root)
	if err != nil {
		return nil, nil, err
	}
	return NewFromFile(f, ids)
}

// NewFromFile is New for a host directory already open (host.OpenRoot),
// which it takes over.
func NewFromFile(root *os.File, ids *host.Identities) (*vfs.VFS, *vfs.FSContext, error) {
	v, fsc, _, err := Build(root, ids, Options{})
	return v, fsc, err
}

// Build is NewFromFile with opts; it also returns the mount table.
func Build(root *os.File, ids *host.Identities, opts Options) (*vfs.VFS, *vfs.FSContext, []Entry, error) {
	ctx := context.Background()
	closeSources := func(from int) {
		for _, m := range opts.Mounts[from:] {
			if m.Source != nil {
				m.Source.Close()
			}
		}
	}
	for _, m := range opts.Mounts {
		if err := CheckDest(m.Dest); err != nil {
			root.Close()
			closeSources(0)
			return nil, nil, nil, err
		}
	}
	h, err := host.NewMount(host.Source{Dir: root, Swap: opts.RootSwap}, ids, opts.RootWritable)
	if err != nil {
		closeSources(0)
		return nil, nil, nil, err
	}
	var rootFS vfs.FileSystem = h
	table := []Entry{{Source: "overlay", Path: "/", Type: "overlay", Flags: "rw"}}
	if opts.RootWritable && opts.RootReadOnly {
		h.Close()
		closeSources(0)
		return nil, nil, nil, fmt.Errorf("the root cannot be both written through and read only")
	}
	if opts.RootWritable {
		table[0] = Entry{Source: "rootfs", Path: "/", Type: "hostfs", Flags: "rw"}
	} else {
		ov, err := overlay.New(ctx, h)
		if err != nil {
			h.Close()
			closeSources(0)
			return nil, nil, nil, fmt.Errorf("overlay over %s: %w", root.Name(), err)
		}
		rootFS = ov
	}
	v := vfs.New(rootFS)
	v.SetFIFOOpener(pipe.NewFIFOs())
	pts := devpts.New(devpts.Sandbox)
	devFS := dev.New(pts)
	v.SetDeviceOpener(devFS)
	fsc := v.NewFSContext()
	mounts := []struct {
		path string
		fs   vfs.FileSystem
		e    Entry
	}{
		{"/tmp", tmpfs.New(0o1777), Entry{"tmpfs", "/tmp", "tmpfs", "rw", "mode=1777"}},
		{"/dev", devFS, Entry{"tmpfs", "/dev", "tmpfs", "ro,nosuid", "mode=755"}},
		{"/dev/shm", tmpfs.New(0o1777), Entry{"tmpfs", "/dev/shm", "tmpfs", "rw", "mode=1777"}},
		{"/dev/pts", pts, Entry{"devpts", "/dev/pts", "devpts", "rw,nosuid,noexec", "gid=5,mode=620,ptmxmode=000"}},
	}
	if opts.HostTmp {
		mounts = mounts[1:]
	}
	for _, dir := range []string{"/tmp", "/dev", "/proc", "/sys"} {
		if err := ensureDir(ctx, v, fsc, dir); err != nil {
			closeSources(0)
			return nil, nil, nil, err
		}
	}
	for _, m := range mounts {
		if err := v.Mount(m.path, m.fs); err != nil {
			closeSources(0)
			return nil, nil, nil, err
		}
		table = append(table, m.e)
	}
	for i, m := range opts.Mounts {
		e, err := Add(v, fsc, m)
		if err != nil {
			closeSources(i + 1)
			return nil, nil, nil, err
		}
		table = append(table, e...)
	}
	if opts.RootReadOnly {
		v.SetRootFlags(unix.MS_RDONLY)
		table[0].Flags = "ro"
	}
	return v, fsc, table, nil
}

// CheckDest checks a mount's path in the sandbox: absolute, clean, and
// not /, /proc, /sys or /dev or below them (the sandbox's own; /dev/shm
// excepted), which later mounts would hide or which describe the sandbox.
func CheckDest(dest string) error {
	if !path.IsAbs(dest) || path.Clean(dest) != dest {
		return fmt.Errorf("mount destination %q: want an absolute, clean path", dest)
	}
	if dest == "/" {
		return fmt.Errorf("mount destination /: the root is --rootfs")
	}
	if strings.HasPrefix(dest+"/", "/dev/shm/") {
		return nil
	}
	for _, own := range []string{"/proc", "/sys", "/dev"} {
		if dest == own || strings.HasPrefix(dest, own+"/") {
			return fmt.Errorf("mount destination %s: %s is the sandbox's own", dest, own)
		}
	}
	return nil
}

// Add makes m's mount point if it is missing and mounts m there (after
// Build; Build adds opts.Mounts with it), and returns the mount table's
// new entries. It takes m.Source over.
//
// A mount point below a directory the sentry's host identity cannot
// search (a 0700 home) cannot be made in it: that directory is shown as an
// empty memory directory (its entries were unreadable anyway) holding the
// mount point, and the table lists that tmpfs too.
func Add(v *vfs.VFS, fsc *vfs.FSContext, m Mount) ([]Entry, error) {
	ctx := context.Background()
	if err := CheckDest(m.Dest); err != nil {
		if m.Source != nil {
			m.Source.Close()
		}
		return nil, err
	}
	if m.Source == nil && m.Content != nil {
		fs, err := tmpfs.NewFile(ctx, m.Content, 0o644)
		if err != nil {
			return nil, fmt.Errorf("mounting %s: %w", m.Dest, err)
		}
		made, err := ensureFile(ctx, v, fsc, m.Dest)
		if err != nil {
			return nil, err
		}
		if err := v.MountWithFlags(m.Dest, fs, unix.MS_RDONLY); err != nil {
			return nil, err
		}
		return append(made, Entry{Source: "tmpfs", Path: m.Dest, Type: "tmpfs", Flags: "ro", Data: "mode=755"}), nil
	}
	if m.Source == nil {
		made, err := ensureDirAll(ctx, v, fsc, m.Dest)
		if err != nil {
			return nil, err
		}
		data := m.Tmpfs.String()
		if err := v.Mount(m.Dest, tmpfs.NewMounted(m.Tmpfs)); err != nil {
			return nil, err
		}
		return append(made, Entry{Source: "tmpfs", Path: m.Dest, Type: "tmpfs", Flags: "rw", Data: data}), nil
	}
	// Every bind mount numbers its files apart, as a mount of its own.
	h, err := host.NewMount(*m.Source, host.NewIdentities(), m.Access == ReadWrite)
	if err != nil {
		return nil, fmt.Errorf("mounting %s: %w", m.Dest, err)
	}
	st, err := h.Root().Stat(ctx)
	if err != nil {
		h.Close()
		return nil, err
	}
	var made []Entry
	if vfs.IsDir(st.Mode) {
		made, err = ensureDirAll(ctx, v, fsc, m.Dest)
	} else {
		made, err = ensureFile(ctx, v, fsc, m.Dest)
	}
	if err != nil {
		h.Close()
		return nil, err
	}
	var fs vfs.FileSystem = h
	var flags uint64
	e := Entry{Source: "volume", Path: m.Dest, Type: "hostfs", Flags: "rw"}
	switch m.Access {
	case ReadOnly:
		flags = unix.MS_RDONLY
		e.Flags = "ro"
	case CopyOnWrite:
		ov, err := overlay.New(ctx, h)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("overlay over %s: %w", m.Dest, err)
		}
		fs = ov
		e.Type = "overlay"
	}
	if err := v.MountWithFlags(m.Dest, fs, flags); err != nil {
		h.Close()
		return nil, err
	}
	return append(made, e), nil
}

// ensureDir makes path a directory in the overlay if it is missing: a
// mount point, which the kernel makes for itself.
func ensureDir(ctx context.Context, v *vfs.VFS, fsc *vfs.FSContext, path string) error {
	err := v.Mkdir(ctx, vfs.KernelCreds(), fsc, nil, path, 0o755)
	if err != nil && err != unix.EEXIST {
		return fmt.Errorf("creating mount point %s: %w", path, err)
	}
	return nil
}

// ensureDirAll makes the directory p and its missing parents, and returns
// the memory directories it mounted over unreadable host ones.
func ensureDirAll(ctx context.Context, v *vfs.VFS, fsc *vfs.FSContext, p string) ([]Entry, error) {
	if p == "/" {
		return nil, nil
	}
	if st, err := v.StatAt(ctx, vfs.KernelCreds(), fsc, nil, p, true); err == nil {
		if !vfs.IsDir(st.Mode) {
			return nil, fmt.Errorf("mount point %s: %w", p, unix.ENOTDIR)
		}
		return nil, nil
	}
	made, err := ensureDirAll(ctx, v, fsc, path.Dir(p))
	if err != nil {
		return nil, err
	}
	err = v.Mkdir(ctx, vfs.KernelCreds(), fsc, nil, p, 0o755)
	if err == unix.EACCES {
		// The host refused the sentry a look into the parent.
		parent := path.Dir(p)
		if err := v.Mount(parent, tmpfs.New(0o755)); err != nil {
			return nil, fmt.Errorf("mount point %s: %w", parent, err)
		}
		made = append(made, Entry{Source: "tmpfs", Path: parent, Type: "tmpfs", Flags: "rw", Data: "mode=755"})
		err = v.Mkdir(ctx, vfs.KernelCreds(), fsc, nil, p, 0o755)
	}
	if err != nil && err != unix.EEXIST {
		return nil, fmt.Errorf("creating mount point %s: %w", p, err)
	}
	return made, nil
}

// ensureFile makes p an empty regular file, and its missing parents, if
// it is missing.
func ensureFile(ctx context.Context, v *vfs.VFS, fsc *vfs.FSContext, p string) ([]Entry, error) {
	made, err := ensureDirAll(ctx, v, fsc, path.Dir(p))
	if err != nil {
		return nil, err
	}
	f, err := v.Open(ctx, vfs.KernelCreds(), fsc, nil, p, unix.O_RDONLY|unix.O_CREAT, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating mount point %s: %w", p, err)
	}
	f.DecRef()
	return made, nil
}
