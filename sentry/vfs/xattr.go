package vfs

import (
	"context"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
)

// Extended attributes (xattr(7)). The VFS applies the rules every Linux
// filesystem shares (fs/xattr.c: xattr_permission and the namespace
// resolution), so that filesystems only store bytes:
//
//   - user.* exists only on regular files and directories: elsewhere a read
//     is ENODATA and a change EPERM; it needs read or write permission on
//     the file, and on a sticky directory a change needs the owner (or
//     CAP_FOWNER).
//   - trusted.* and changes of security.* need CAP_SYS_ADMIN; without it,
//     a caller reads no trusted.* (ENODATA) and does not see trusted.*
//     names in a listing.
//   - system.* holds POSIX ACLs, which no filesystem of the sandbox
//     supports (as one mounted noacl): EOPNOTSUPP. Any other namespace is
//     EOPNOTSUPP, and a bare prefix such as "user." is EINVAL.
//   - Inodes without XattrReader (proc, pipes, sockets, devices) have no
//     extended attributes: EOPNOTSUPP after the checks above, an empty
//     listing; inodes with a reader but no writer are on a read-only
//     filesystem: EROFS for changes.

// XattrReader is implemented by inodes of filesystems with extended
// attributes.
type XattrReader interface {
	// GetXattr returns the value of name, or ENODATA.
	GetXattr(ctx context.Context, name string) ([]byte, error)
	// ListXattr returns the names the inode has.
	ListXattr(ctx context.Context) ([]string, error)
}

// XattrWriter is implemented by inodes whose extended attributes can
// change. The VFS has checked the name and the caller's rights.
type XattrWriter interface {
	// SetXattr stores value under name; flags is XATTR_CREATE (EEXIST if
	// name exists), XATTR_REPLACE (ENODATA if it does not) or 0. ENOSPC
	// when the value cannot be stored.
	SetXattr(ctx context.Context, name string, value []byte, flags int) error
	// RemoveXattr removes name, or fails with ENODATA.
	RemoveXattr(ctx context.Context, name string) error
}

// Xattr namespaces.
const (
	xattrUser     = "user."
	xattrTrusted  = "trusted."
	xattrSecurity = "security."
	xattrSystem   = "system."
)

// XattrStored reports whether name is in a namespace that the sandbox's
// filesystems store (user, trusted, security); filesystems use it to keep
// only those when copying a lower file's attributes.
func XattrStored(name string) bool {
	for _, p := range []string{xattrUser, xattrTrusted, xattrSecurity} {
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return true
		}
	}
	return false
}

// xattrSupported resolves name's namespace as xattr_resolve_name does:
// EINVAL for a bare prefix, EOPNOTSUPP for system.* and unknown ones.
func xattrSupported(name string) error {
	for _, p := range []string{xattrUser, xattrTrusted, xattrSecurity, xattrSystem} {
		if name == p {
			return unix.EINVAL
		}
	}
	if XattrStored(name) {
		return nil
	}
	return unix.EOPNOTSUPP
}

// xattrPermission is Linux's xattr_permission for c, plus the
// CAP_SYS_ADMIN check that the capability LSM makes on changes of
// security.*.
func xattrPermission(ctx context.Context, c Creds, i Inode, name string, write bool) error {
	st, err := i.Stat(ctx)
	if err != nil {
		return err
	}
	denied := unix.ENODATA
	if write {
		denied = unix.EPERM
		if inodeFlags(i)&(abi.FS_APPEND_FL|abi.FS_IMMUTABLE_FL) != 0 {
			return unix.EPERM
		}
	}
	switch {
	case strings.HasPrefix(name, xattrSecurity):
		if write && !c.HasCap(linux.CAP_SYS_ADMIN) {
			return unix.EPERM
		}
		return nil
	case strings.HasPrefix(name, xattrSystem):
		return nil
	case strings.HasPrefix(name, xattrTrusted):
		if !c.HasCap(linux.CAP_SYS_ADMIN) {
			return denied
		}
		return nil
	case strings.HasPrefix(name, xattrUser):
		mode := st.Mode & unix.S_IFMT
		if mode != unix.S_IFREG && mode != unix.S_IFDIR {
			return denied
		}
		if write && mode == unix.S_IFDIR && st.Mode&unix.S_ISVTX != 0 && !c.ownerOrCapable(&st) {
			return unix.EPERM
		}
	}
	want := uint32(mayRead)
	if write {
		want = mayWrite
	}
	return permission(c, &st, want)
}

// getXattr implements getxattr(2) on i for c.
func getXattr(ctx context.Context, c Creds, i Inode, name string) ([]byte, error) {
	if err := xattrPermission(ctx, c, i, name, false); err != nil {
		return nil, err
	}
	r, ok := i.(XattrReader)
	if !ok {
		return nil, unix.EOPNOTSUPP
	}
	if err := xattrSupported(name); err != nil {
		return nil, err
	}
	return r.GetXattr(ctx, name)
}

// listXattr implements listxattr(2) on i: the names c may see.
func listXattr(ctx context.Context, c Creds, i Inode) ([]string, error) {
	r, ok := i.(XattrReader)
	if !ok {
		return nil, nil
	}
	names, err := r.ListXattr(ctx)
	if err != nil {
		return nil, err
	}
	trusted := c.HasCap(linux.CAP_SYS_ADMIN)
	out := names[:0:0]
	for _, n := range names {
		if XattrStored(n) && (trusted || !strings.HasPrefix(n, xattrTrusted)) {
			out = append(out, n)
		}
	}
	return out, nil
}

// xattrWriter checks a change of name on i by c and returns who makes it.
func xattrWriter(ctx context.Context, c Creds, i Inode, name string) (XattrWriter, error) {
	_, reads := i.(XattrReader)
	w, writes := i.(XattrWriter)
	if reads && !writes {
		return nil, unix.EROFS
	}
	if err := xattrPermission(ctx, c, i, name, true); err != nil {
		return nil, err
	}
	if !writes {
		return nil, unix.EOPNOTSUPP
	}
	if err := xattrSupported(name); err != nil {
		return nil, err
	}
	return w, nil
}

// setXattr implements setxattr(2) on i for c.
func (v *VFS) setXattr(ctx context.Context, c Creds, d *Dentry, i Inode, name string, value []byte, flags int) error {
	if d.readOnly() {
		return unix.EROFS
	}
	w, err := xattrWriter(ctx, c, i, name)
	if err != nil {
		return err
	}
	if err := w.SetXattr(ctx, name, value, flags); err != nil {
		return err
	}
	if v != nil {
		v.inodeEvent(ctx, d, i, unix.IN_ATTRIB)
	}
	return nil
}

// removeXattr implements removexattr(2) on i for c.
func (v *VFS) removeXattr(ctx context.Context, c Creds, d *Dentry, i Inode, name string) error {
	if d.readOnly() {
		return unix.EROFS
	}
	w, err := xattrWriter(ctx, c, i, name)
	if err != nil {
		return err
	}
	if err := w.RemoveXattr(ctx, name); err != nil {
		return err
	}
	if v != nil {
		v.inodeEvent(ctx, d, i, unix.IN_ATTRIB)
	}
	return nil
}

// GetXattr implements getxattr(2) on d for c.
func (d *Dentry) GetXattr(ctx context.Context, c Creds, name string) ([]byte, error) {
	return getXattr(ctx, c, d.inode, name)
}

// ListXattr implements listxattr(2) on d for c.
func (d *Dentry) ListXattr(ctx context.Context, c Creds) ([]string, error) {
	return listXattr(ctx, c, d.inode)
}

// SetXattr implements setxattr(2) on d for c.
func (v *VFS) SetXattr(ctx context.Context, c Creds, d *Dentry, name string, value []byte, flags int) error {
	return v.setXattr(ctx, c, d, d.inode, name, value, flags)
}

// RemoveXattr implements removexattr(2) on d for c.
func (v *VFS) RemoveXattr(ctx context.Context, c Creds, d *Dentry, name string) error {
	return v.removeXattr(ctx, c, d, d.inode, name)
}

// GetXattr implements fgetxattr(2); O_PATH files are EBADF, as in Linux.
func (f *File) GetXattr(ctx context.Context, c Creds, name string) ([]byte, error) {
	if f.isPath() {
		return nil, unix.EBADF
	}
	return getXattr(ctx, c, f.attrInode(), name)
}

// ListXattr implements flistxattr(2).
func (f *File) ListXattr(ctx context.Context, c Creds) ([]string, error) {
	if f.isPath() {
		return nil, unix.EBADF
	}
	return listXattr(ctx, c, f.attrInode())
}

// SetXattr implements fsetxattr(2); the file need not be open for writing.
func (f *File) SetXattr(ctx context.Context, c Creds, name string, value []byte, flags int) error {
	if f.isPath() {
		return unix.EBADF
	}
	return f.v.setXattr(ctx, c, f.d, f.inode, name, value, flags)
}

// RemoveXattr implements fremovexattr(2).
func (f *File) RemoveXattr(ctx context.Context, c Creds, name string) error {
	if f.isPath() {
		return unix.EBADF
	}
	return f.v.removeXattr(ctx, c, f.d, f.inode, name)
}
