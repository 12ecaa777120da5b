package main

import (
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// makeMountPoints makes, as runc does before it mounts, the mount points
// of a root written through (root.readonly false, root-overlay none) that it lacks: the
// sandbox's own /tmp, /dev, /proc and /sys, and the destinations of
// config.json's mounts (an empty file for a bind mount of a file). create
// makes them with the caller's rights, since the sentry's host identity
// may not write to a root owned by root (a Docker image's).
//
// Each name is made relative to a descriptor of its parent, reached from
// the root with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS|
// RESOLVE_NO_MAGICLINKS): a destination whose path holds a symlink, or
// ".." planted to climb out, is not made here (the sentry tries, inside
// the sandbox's own namespace, and reports what fails).
func makeMountPoints(root string, dirs, files []string) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(rfd)
	for _, d := range dirs {
		makeMountPoint(rfd, d, false)
	}
	for _, f := range files {
		makeMountPoint(rfd, f, true)
	}
}

// makeMountPoint makes the directories of dest below the root rfd, and
// dest itself (an empty file if file); what exists is left as it is.
func makeMountPoint(rfd int, dest string, file bool) {
	parts := strings.Split(strings.Trim(path.Clean(dest), "/"), "/")
	for i, name := range parts {
		if name == "" || name == "." || name == ".." {
			return
		}
		parent := "."
		if i > 0 {
			parent = strings.Join(parts[:i], "/")
		}
		how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
		pfd, err := unix.Openat2(rfd, parent, &how)
		if err != nil {
			return
		}
		if i == len(parts)-1 && file {
			fd, err := unix.Openat(pfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
			if err == nil {
				unix.Close(fd)
			}
		} else {
			err = unix.Mkdirat(pfd, name, 0o755)
		}
		unix.Close(pfd)
		if err != nil && err != unix.EEXIST {
			return
		}
	}
}
