package confine

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// emptyRootSource names the sentry's root tmpfs in mount tables.
const emptyRootSource = "runsc-lite-sentry"

// EmptyRoot makes the sentry's root an empty, read-only tmpfs with a fresh
// procfs (of the sentry's PID namespace) at /proc, and detaches the old
// root. It must run in a mount namespace of the sentry's own, as root of a
// user namespace that owns it and the PID namespace. Afterwards the host's
// files are reachable only through descriptors opened before.
func EmptyRoot() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making the sentry's mounts private: %w", err)
	}
	// The new root is mounted over a directory every root file system has;
	// the mount is in the sentry's namespace only, and /proc stays visible
	// until the new procfs is mounted (the kernel mounts a procfs in a user
	// namespace only while another one is fully visible).
	var err error
	for _, dir := range []string{"/tmp", "/dev", "/mnt", "/proc"} {
		if err = unix.Mount(emptyRootSource, dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=16k,nr_inodes=8,mode=0555"); err == nil {
			if err = unix.Chdir(dir); err != nil {
				return fmt.Errorf("entering the sentry's new root: %w", err)
			}
			break
		}
	}
	if err != nil {
		return fmt.Errorf("mounting the sentry's empty root: %w", err)
	}
	if err := unix.Mkdir("proc", 0o555); err != nil {
		return fmt.Errorf("making the sentry's /proc: %w", err)
	}
	if err := unix.Mount("proc", "proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting the sentry's /proc: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on the new one; detaching it
	// leaves the new one alone.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivoting into the sentry's empty root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host's root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("entering the sentry's new root: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("making the sentry's root read-only: %w", err)
	}
	return nil
}
