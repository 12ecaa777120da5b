package host

import (
	"bytes"
	"context"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Extended attributes of host files are read, never written, through a
// descriptor opened for reading (fgetxattr and flistxattr refuse O_PATH
// ones), so regular files and directories only: the sandbox sees no
// attributes on host symlinks and special files, where user.* cannot be
// anyway. A file the sentry cannot open has none either. An open file of
// a writable tree is read through its own descriptor (openInode), which
// still names it after a rename.

// xattrFD opens the file to read its attributes; ok is false when it has
// none to show.
func (i *inode) xattrFD() (fd int, ok bool) {
	flags := unix.O_RDONLY | unix.O_NONBLOCK
	p, st := i.where()
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		flags |= unix.O_DIRECTORY
	default:
		return -1, false
	}
	fd, err := i.fs.open(p, flags)
	return fd, err == nil
}

// GetXattr implements vfs.XattrReader.
func (i *inode) GetXattr(ctx context.Context, name string) ([]byte, error) {
	fd, ok := i.xattrFD()
	if !ok {
		return nil, unix.ENODATA
	}
	defer unix.Close(fd)
	return getXattr(fd, name)
}

// ListXattr implements vfs.XattrReader.
func (i *inode) ListXattr(ctx context.Context) ([]string, error) {
	fd, ok := i.xattrFD()
	if !ok {
		return nil, nil
	}
	defer unix.Close(fd)
	return listXattr(fd)
}

// GetXattr implements vfs.XattrReader on the open file's descriptor, not
// the path it was opened at (fgetxattr after a rename).
func (o *openInode) GetXattr(ctx context.Context, name string) ([]byte, error) {
	return getXattr(o.fd, name)
}

// ListXattr implements vfs.XattrReader on the open file's descriptor.
func (o *openInode) ListXattr(ctx context.Context) ([]string, error) {
	return listXattr(o.fd)
}

// getXattr reads the attribute name of the host file open at fd.
func getXattr(fd int, name string) ([]byte, error) {
	buf := make([]byte, linux.XATTR_SIZE_MAX)
	n, err := unix.Fgetxattr(fd, name, buf)
	if err != nil {
		if err == unix.EOPNOTSUPP {
			return nil, unix.ENODATA
		}
		return nil, hostErr(err)
	}
	return bytes.Clone(buf[:n]), nil
}

// listXattr lists the attributes of the host file open at fd.
func listXattr(fd int) ([]string, error) {
	buf := make([]byte, linux.XATTR_LIST_MAX)
	n, err := unix.Flistxattr(fd, buf)
	if err != nil {
		if err == unix.EOPNOTSUPP {
			return nil, nil
		}
		return nil, hostErr(err)
	}
	var names []string
	for _, b := range bytes.Split(buf[:n], []byte{0}) {
		if len(b) > 0 {
			names = append(names, string(b))
		}
	}
	return names, nil
}
