// Package tmpfs is the memory filesystem mounted at /tmp and /dev/shm.
// Regular files live in memfds, so the application can map them.
//
// A tmpfs is an overlay with nothing below it: package overlay holds the
// memory tree, and this package names the configuration, so the two share
// one implementation of every directory and file operation.
package tmpfs

import (
	"runsc-lite/sentry/fs/overlay"
	"runsc-lite/sentry/vfs"
)

// New returns an empty tmpfs whose root directory has permissions mode
// (01777 for /tmp and /dev/shm).
func New(mode uint32) vfs.FileSystem { return overlay.NewMemory(mode) }
