package kernfs

import (
	"context"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// ReadPath returns the contents of the file at path below root, a
// generated filesystem's root, without a VFS (the filesystems' tests).
func ReadPath(ctx context.Context, root vfs.Inode, path string) (string, error) {
	i := root
	for _, name := range strings.Split(strings.Trim(path, "/"), "/") {
		d, ok := i.(vfs.Dir)
		if !ok {
			return "", unix.ENOTDIR
		}
		var err error
		if i, err = d.Lookup(ctx, name); err != nil {
			return "", err
		}
	}
	f, err := i.Open(ctx, unix.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer f.Release()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for off := int64(0); ; {
		n, err := f.ReadAt(ctx, buf, off)
		if err != nil {
			return "", err
		}
		if n == 0 {
			return b.String(), nil
		}
		b.Write(buf[:n])
		off += int64(n)
	}
}
