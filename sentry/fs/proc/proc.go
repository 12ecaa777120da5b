// Package proc is /proc: the sandbox's processes (by PID and as "self") and
// the system files programs read (cpuinfo, meminfo, stat, uptime, loadavg,
// version, filesystems, mounts, sys/kernel/...).
//
// Files are generated when they are opened, so a read sees one consistent
// snapshot. Everything is read-only; writes fail with EACCES. Inode numbers
// are derived from the path, so they are stable between lookups.
package proc

import (
	"context"
	"hash/fnv"
	"sort"
	"strconv"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// procDev is st_dev of every /proc file (an anonymous device, as procfs).
var procDev = unix.Mkdev(0, 22)

// FileSystem is a /proc for kernel k.
type FileSystem struct {
	k          *kernel.Kernel
	mountTable []Mount
}

// Mount is one line of /proc/pid/mounts.
type Mount struct {
	Source, Path, Type, Options string
}

// New returns /proc for k, whose mounts are mounts.
func New(k *kernel.Kernel, mounts []Mount) *FileSystem {
	return &FileSystem{k: k, mountTable: mounts}
}

// Root implements vfs.FileSystem.
func (fs *FileSystem) Root() vfs.Inode { return fs.rootDir() }

// Statfs implements vfs.FileSystem.
func (fs *FileSystem) Statfs(ctx context.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: 0x9fa0, Bsize: 4096, Namelen: 255, Frsize: 4096}, nil
}

func inoOf(path string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64() | 1
}

// caller returns the task asking, if any.
func caller(ctx context.Context) *kernel.Task {
	t, _ := vfs.CallerOf(ctx).Task.(*kernel.Task)
	return t
}

// node is what every proc inode has: a path (for its inode number) and a
// mode.
type node struct {
	path string
	mode uint32
}

func (n node) Stat(ctx context.Context) (unix.Stat_t, error) {
	nlink := uint64(1)
	if vfs.IsDir(n.mode) {
		nlink = 2
	}
	return unix.Stat_t{Dev: procDev, Ino: inoOf(n.path), Mode: n.mode, Nlink: nlink, Blksize: 4096}, nil
}

func (n node) Open(ctx context.Context, flags int) (vfs.FileImpl, error) { return nil, unix.EISDIR }

// file is a regular file whose contents gen makes at open.
type file struct {
	node
	gen func(ctx context.Context) (string, error)
}

func newFile(path string, gen func(ctx context.Context) (string, error)) *file {
	return &file{node: node{path: path, mode: unix.S_IFREG | 0o444}, gen: gen}
}

func (f *file) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return nil, unix.EACCES
	}
	s, err := f.gen(ctx)
	if err != nil {
		return nil, err
	}
	return snapshot(s), nil
}

// snapshot is an open proc file.
type snapshot string

func (s snapshot) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off >= int64(len(s)) {
		return 0, nil
	}
	return copy(p, s[off:]), nil
}

func (s snapshot) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EACCES
}

func (s snapshot) Release() {}

// symlink is a link whose target target computes.
type symlink struct {
	node
	target func(ctx context.Context) (string, error)
}

func newSymlink(path string, target func(ctx context.Context) (string, error)) *symlink {
	return &symlink{node: node{path: path, mode: unix.S_IFLNK | 0o777}, target: target}
}

func (l *symlink) Readlink(ctx context.Context) (string, error) { return l.target(ctx) }

// dir is a directory with a fixed or computed list of children.
type dir struct {
	node
	children func(ctx context.Context) (map[string]vfs.Inode, error)
}

func newDir(path string, children func(ctx context.Context) (map[string]vfs.Inode, error)) *dir {
	return &dir{node: node{path: path, mode: unix.S_IFDIR | 0o555}, children: children}
}

func (d *dir) Lookup(ctx context.Context, name string) (vfs.Inode, error) {
	c, err := d.children(ctx)
	if err != nil {
		return nil, err
	}
	if i, ok := c[name]; ok {
		return i, nil
	}
	return nil, unix.ENOENT
}

func (d *dir) ReadDir(ctx context.Context) ([]vfs.Dirent, error) {
	c, err := d.children(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(c))
	for name := range c {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]vfs.Dirent, 0, len(names))
	for _, name := range names {
		st, _ := c[name].Stat(ctx)
		out = append(out, vfs.Dirent{Name: name, Ino: st.Ino, Type: vfs.DirentType(st.Mode)})
	}
	return out, nil
}

func static(s string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return s, nil }
}

func (fs *FileSystem) rootDir() *dir {
	return newDir("/", func(ctx context.Context) (map[string]vfs.Inode, error) {
		k := fs.k
		c := map[string]vfs.Inode{
			"self": newSymlink("/self", func(ctx context.Context) (string, error) {
				if t := caller(ctx); t != nil {
					return strconv.Itoa(t.PID()), nil
				}
				return "", unix.ENOENT
			}),
			"cpuinfo":     newFile("/cpuinfo", func(context.Context) (string, error) { return cpuinfo(), nil }),
			"meminfo":     newFile("/meminfo", func(context.Context) (string, error) { return meminfo(), nil }),
			"loadavg":     newFile("/loadavg", func(context.Context) (string, error) { return loadavg(), nil }),
			"uptime":      newFile("/uptime", func(context.Context) (string, error) { return uptime(k), nil }),
			"stat":        newFile("/stat", func(context.Context) (string, error) { return stat(k), nil }),
			"version":     newFile("/version", func(context.Context) (string, error) { return version(), nil }),
			"filesystems": newFile("/filesystems", static(filesystems())),
			"mounts":      newSymlink("/mounts", static("self/mounts")),
			"sys":         fs.sysDir(),
		}
		for _, pid := range k.PIDs() {
			c[strconv.Itoa(pid)] = fs.pidDir(pid)
		}
		return c, nil
	})
}

func (fs *FileSystem) sysDir() *dir {
	kernelDir := newDir("/sys/kernel", func(ctx context.Context) (map[string]vfs.Inode, error) {
		return map[string]vfs.Inode{
			"hostname":    newFile("/sys/kernel/hostname", func(context.Context) (string, error) { return fs.k.Hostname + "\n", nil }),
			"osrelease":   newFile("/sys/kernel/osrelease", func(context.Context) (string, error) { return osrelease(), nil }),
			"ngroups_max": newFile("/sys/kernel/ngroups_max", static("65536\n")),
			"pid_max":     newFile("/sys/kernel/pid_max", static("4194304\n")),
		}, nil
	})
	return newDir("/sys", func(ctx context.Context) (map[string]vfs.Inode, error) {
		return map[string]vfs.Inode{"kernel": kernelDir}, nil
	})
}
