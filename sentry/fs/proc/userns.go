package proc

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// The files of /proc/PID that describe and set up a process's user
// namespace (user_namespaces(7)): uid_map, gid_map and setgroups. Each
// open file keeps the namespace the process was in at open, and the
// opener's credentials, which Linux's checks ask (file_ns_capable and the
// reader's view of the lower IDs).

// nsFile is /proc/PID/uid_map, gid_map (kind) or setgroups (setgroups
// set).
type nsFile struct {
	tree      kernfs.Tree
	path      string
	task      func() (*kernel.Task, error)
	kind      kernel.MapKind
	setgroups bool
}

// Stat implements vfs.Inode: mode 0644, the process's file.
func (f *nsFile) Stat(ctx context.Context) (unix.Stat_t, error) {
	return taskFileStat(f.tree, f.path, 0o644, f.task), nil
}

// Open implements vfs.Inode. Opening setgroups for writing needs
// CAP_SYS_ADMIN in the namespace (proc_setgroups_open).
func (f *nsFile) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	t, err := f.task()
	if err != nil {
		return nil, unix.ENOENT
	}
	opener := caller(ctx)
	if opener == nil {
		return nil, unix.EPERM
	}
	a := &nsAccess{f: f, ns: t.UserNS(), opener: opener.Creds()}
	if f.setgroups && flags&unix.O_ACCMODE != unix.O_RDONLY && !a.opener.HasCapIn(a.ns, linux.CAP_SYS_ADMIN) {
		return nil, unix.EPERM
	}
	return a, nil
}

// nsAccess is an open nsFile.
type nsAccess struct {
	f      *nsFile
	ns     *kernel.UserNamespace
	opener kernel.Credentials
}

func (a *nsAccess) text() string {
	if a.f.setgroups {
		return a.ns.SetgroupsText()
	}
	return a.ns.ShowMap(a.f.kind, a.opener.UserNS)
}

// ReadAt implements vfs.FileImpl.
func (a *nsAccess) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	s := a.text()
	if off >= int64(len(s)) {
		return 0, nil
	}
	return copy(p, s[off:]), nil
}

// WriteAt implements vfs.FileImpl: one write from offset 0 of less than a
// page (a map) or of less than 8 bytes (setgroups), else EINVAL.
func (a *nsAccess) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	if a.f.setgroups {
		if off != 0 || len(p) >= 8 {
			return 0, unix.EINVAL
		}
		if err := a.ns.WriteSetgroups(string(p)); err != nil {
			return 0, fmt.Errorf("setgroups: %w", err)
		}
		return len(p), nil
	}
	if off != 0 || len(p) >= abi.PageSize {
		return 0, unix.EINVAL
	}
	writer := caller(ctx)
	if writer == nil {
		return 0, unix.EPERM
	}
	if err := a.ns.WriteMap(a.f.kind, a.opener, writer.Creds(), string(p)); err != nil {
		return 0, fmt.Errorf("%s: %w", a.f.path, err)
	}
	return len(p), nil
}

// Release implements vfs.FileImpl.
func (a *nsAccess) Release() {}
