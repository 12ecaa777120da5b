package tmpfs

import (
	"context"
	"fmt"
	"io"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// NewFile returns a tmpfs seen from one regular file of it, which holds
// content and has permissions mode, root's: the filesystem of a bind
// mount of that one file, as Docker binds the /etc/resolv.conf it
// writes. The sandbox's generated files are mounted so, from its own
// memory: statfs(2) of them describes the sandbox's memory, never a host
// disk that would have held them.
func NewFile(ctx context.Context, content []byte, mode uint32) (vfs.FileSystem, error) {
	fs := New(0o755)
	dir, ok := fs.Root().(vfs.DirWriter)
	if !ok {
		return nil, fmt.Errorf("a memory file: its directory takes no files: %w", unix.ENOSYS)
	}
	const name = "file"
	ino, err := dir.Create(ctx, vfs.KernelCreds(), name, unix.S_IFREG|mode&0o7777, 0)
	if err != nil {
		return nil, fmt.Errorf("a memory file: %w", err)
	}
	impl, err := ino.Open(ctx, unix.O_WRONLY)
	if err != nil {
		return nil, fmt.Errorf("a memory file: %w", err)
	}
	defer impl.Release()
	for off := 0; off < len(content); {
		n, err := impl.WriteAt(ctx, content[off:], int64(off))
		if err == nil && n == 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			return nil, fmt.Errorf("a memory file: writing its contents: %w", err)
		}
		off += n
	}
	return fileFS{FileSystem: fs, file: ino}, nil
}

// fileFS is a filesystem whose root is one of its regular files.
type fileFS struct {
	vfs.FileSystem
	file vfs.Inode
}

// Root implements vfs.FileSystem.
func (f fileFS) Root() vfs.Inode { return f.file }
