// Package proc is /proc: the sandbox's processes (by PID and as "self") and
// the system files programs read (cpuinfo, meminfo, stat, uptime, loadavg,
// version, filesystems, mounts, sys/kernel/...).
//
// Files are generated when they are opened (package kernfs), so a read
// sees one consistent snapshot. Everything is read-only; writes fail with
// EACCES. Inode numbers are derived from the path, so they are stable
// between lookups.
package proc

import (
	"context"
	"strconv"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// FileSystem is a /proc for kernel k.
type FileSystem struct {
	k          *kernel.Kernel
	tree       kernfs.Tree
	mountTable []Mount
}

// Mount is one line of /proc/pid/mounts.
type Mount struct {
	Source, Path, Type, Options string
}

// New returns /proc for k, whose mounts are mounts.
func New(k *kernel.Kernel, mounts []Mount) *FileSystem {
	return &FileSystem{k: k, tree: kernfs.Tree{Dev: vfs.NewDeviceID()}, mountTable: mounts}
}

// Root implements vfs.FileSystem.
func (fs *FileSystem) Root() vfs.Inode { return fs.rootDir() }

// Statfs implements vfs.FileSystem.
func (fs *FileSystem) Statfs(ctx context.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: 0x9fa0, Bsize: 4096, Namelen: 255, Frsize: 4096}, nil
}

// caller returns the task asking, if any.
func caller(ctx context.Context) *kernel.Task {
	t, _ := vfs.CallerOf(ctx).Task.(*kernel.Task)
	return t
}

func (fs *FileSystem) rootDir() *kernfs.Dir {
	return fs.tree.Dir("/", func(ctx context.Context) (map[string]vfs.Inode, error) {
		k := fs.k
		c := map[string]vfs.Inode{
			"self": fs.tree.Symlink("/self", func(ctx context.Context) (string, error) {
				if t := caller(ctx); t != nil {
					return strconv.Itoa(t.PID()), nil
				}
				return "", unix.ENOENT
			}),
			"cpuinfo":     fs.tree.File("/cpuinfo", func(context.Context) (string, error) { return cpuinfo(), nil }),
			"meminfo":     fs.tree.File("/meminfo", func(context.Context) (string, error) { return meminfo(), nil }),
			"loadavg":     fs.tree.File("/loadavg", func(context.Context) (string, error) { return loadavg(), nil }),
			"uptime":      fs.tree.File("/uptime", func(context.Context) (string, error) { return uptime(k), nil }),
			"stat":        fs.tree.File("/stat", func(context.Context) (string, error) { return stat(k), nil }),
			"version":     fs.tree.File("/version", func(context.Context) (string, error) { return version(), nil }),
			"filesystems": fs.tree.File("/filesystems", kernfs.Static(filesystems())),
			"mounts":      fs.tree.Symlink("/mounts", kernfs.Static("self/mounts")),
			"sys":         fs.sysDir(),
		}
		for _, pid := range k.PIDs() {
			c[strconv.Itoa(pid)] = fs.pidDir(pid)
		}
		return c, nil
	})
}

func (fs *FileSystem) sysDir() *kernfs.Dir {
	kernelDir := fs.tree.Dir("/sys/kernel", func(ctx context.Context) (map[string]vfs.Inode, error) {
		return map[string]vfs.Inode{
			"hostname":    fs.tree.File("/sys/kernel/hostname", func(context.Context) (string, error) { return fs.k.Hostname + "\n", nil }),
			"osrelease":   fs.tree.File("/sys/kernel/osrelease", func(context.Context) (string, error) { return osrelease(), nil }),
			"ngroups_max": fs.tree.File("/sys/kernel/ngroups_max", kernfs.Static("65536\n")),
			"pid_max":     fs.tree.File("/sys/kernel/pid_max", kernfs.Static("4194304\n")),
		}, nil
	})
	return fs.tree.Dir("/sys", func(ctx context.Context) (map[string]vfs.Inode, error) {
		return map[string]vfs.Inode{"kernel": kernelDir}, nil
	})
}
