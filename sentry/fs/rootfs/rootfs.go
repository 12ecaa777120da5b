// Package rootfs builds a sandbox's mount tree: the host directory as /,
// read only, under a memory overlay that takes every write; a tmpfs at
// /tmp and at /dev/shm; the emulated /dev. FIFOs of every filesystem
// open as in-sandbox pipes (fs/pipe). /proc and /sys are left for the
// caller (VFS.Mount("/proc", ...)); their mount points exist.
package rootfs

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/dev"
	"runsc-lite/sentry/fs/host"
	"runsc-lite/sentry/fs/overlay"
	"runsc-lite/sentry/fs/pipe"
	"runsc-lite/sentry/fs/tmpfs"
	"runsc-lite/sentry/vfs"
)

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
	ctx := context.Background()
	h, err := host.NewFromFile(root, ids)
	if err != nil {
		return nil, nil, err
	}
	ov, err := overlay.New(ctx, h)
	if err != nil {
		h.Close()
		return nil, nil, fmt.Errorf("overlay over %s: %w", root.Name(), err)
	}
	v := vfs.New(ov)
	v.SetFIFOOpener(pipe.NewFIFOs())
	devFS := dev.New()
	v.SetDeviceOpener(devFS)
	fsc := v.NewFSContext()
	mounts := []struct {
		path string
		fs   vfs.FileSystem
	}{
		{"/tmp", tmpfs.New(0o1777)},
		{"/dev", devFS},
		{"/dev/shm", tmpfs.New(0o1777)},
	}
	for _, dir := range []string{"/tmp", "/dev", "/proc", "/sys"} {
		if err := ensureDir(ctx, v, fsc, dir); err != nil {
			return nil, nil, err
		}
	}
	for _, m := range mounts {
		if err := v.Mount(m.path, m.fs); err != nil {
			return nil, nil, err
		}
	}
	return v, fsc, nil
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
