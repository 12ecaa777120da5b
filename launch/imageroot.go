package launch

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// An image's root files, shown to the sentry as its own.
//
// A sentry started by root reads host files as its host identity (nobody
// by default), so the root-only files of a root file system the user gave
// (an OCI bundle's image, --rootfs) were closed to the sandbox's root: an
// image's /root (0700) could not be listed, nor written even in the memory
// overlay above it, and tools that keep their state under HOME=/root
// failed, where runc's and runsc's containers use them. OpenImageRoot
// opens such a tree as an idmapped mount (mount_setattr(2)
// MOUNT_ATTR_IDMAP) whose user namespace swaps the host's root with the
// sentry's identity: files the host's root owns show there as the
// sentry's, which then reads and searches them as their owner, and the
// sentry's own files show as root's. The sentry swaps the two back
// (host.Source.Swap), so the sandbox sees the files' real owners.
//
// What it may not open:
//   - The host's own root (the default --rootfs): its root-only files
//     (/root, /etc/shadow) are the host's and stay closed.
//   - Anything writable: the mount is read-only (MOUNT_ATTR_RDONLY),
//     which the sentry, without a capability in the host's user
//     namespace, cannot undo, so owning root's files lets it read them and
//     nothing else (no chmod, no write, no link). A tree the sandbox
//     writes through (--overlay=none) is opened as before, and files
//     created there belong to the sentry's identity.
//   - Other users' files: only root's are swapped, as an idmapping is one
//     to one; a file of another owner is read with "other" rights still.
//
// Only root may make an idmapped mount of a host file system; a caller
// that is not, a host identity of 0 (which reads every file already), or a
// file system without idmapping support gets the plain descriptor. The
// cost is a child process's start in a new user namespace, 5-6 ms at a
// sandbox's start on this project's VM.

// HolderArg0 is the argv[0] of the process that holds a user namespace
// while its descriptor is opened: runsc-lite runs Hold when called so.
const HolderArg0 = "runsc-lite-userns"

// IsHolder reports whether this process is a user namespace's holder.
func IsHolder() bool { return len(os.Args) > 0 && os.Args[0] == HolderArg0 }

// Hold waits for its standard input to end: the process only keeps its
// user namespace alive until the parent has opened it.
func Hold() int {
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return 1
	}
	return 0
}

// ImageRoot is a root file system opened by OpenImageRoot.
type ImageRoot struct {
	*os.File
	// Swapped: File is the idmapped mount described above
	// (host.Source.Swap undoes its swap); else a plain O_PATH descriptor.
	Swapped bool
	// Refused, when not nil, says why an idmapped mount that applied was
	// not made (the host's refusal): root's files stay closed.
	Refused error
}

// OpenImageRoot opens directory dir as the sandbox's root for a sentry
// of host identity uid:gid that reads it only (the memory overlay above
// it takes the writes). The error is for a dir that cannot be opened at
// all.
func OpenImageRoot(dir string, uid, gid int) (ImageRoot, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ImageRoot{}, fmt.Errorf("opening sandbox root %s: %w", dir, err)
	}
	plain := ImageRoot{File: os.NewFile(uintptr(fd), dir)}
	if os.Geteuid() != 0 || uid == 0 || gid == 0 {
		return plain, nil
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || isHostRoot(st) {
		return plain, nil
	}
	m, err := idmappedRoot(fd, uint32(uid), uint32(gid))
	if err != nil {
		// No idmapping here (a file system without it, an old kernel, an
		// overlay of layers not found): root's files stay closed.
		plain.Refused = err
		return plain, nil
	}
	plain.Close()
	return ImageRoot{File: m, Swapped: true}, nil
}

// IsHostRoot reports whether dir is the host's / (or a bind mount of it).
func IsHostRoot(dir string) bool {
	var st unix.Stat_t
	return unix.Stat(dir, &st) == nil && isHostRoot(st)
}

// isHostRoot reports whether st is the host's /.
func isHostRoot(st unix.Stat_t) bool {
	var root unix.Stat_t
	return unix.Stat("/", &root) == nil && st.Dev == root.Dev && st.Ino == root.Ino
}

// idmappedRoot returns a read-only, idmapped view of the tree at dirfd,
// with 0 and uid (and 0 and gid) swapped: a copy of its mount, or for an
// overlayfs mount, which cannot be idmapped itself, an overlay of its
// layers, each idmapped (imageoverlay.go).
func idmappedRoot(dirfd int, uid, gid uint32) (*os.File, error) {
	ns, err := swappingUserNS(uid, gid)
	if err != nil {
		return nil, err
	}
	defer unix.Close(ns)
	var fs unix.Statfs_t
	if err := unix.Fstatfs(dirfd, &fs); err != nil {
		return nil, err
	}
	if fs.Type == unix.OVERLAYFS_SUPER_MAGIC {
		return idmappedOverlay(dirfd, ns)
	}
	fd, err := idmappedClone(dirfd, ns, unix.AT_RECURSIVE)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "image root"), nil
}

// idmappedClone returns a read-only copy of the mount at dirfd (and of
// its submounts, with flags AT_RECURSIVE) idmapped with user namespace ns.
func idmappedClone(dirfd, ns int, flags uint) (int, error) {
	fd, err := unix.OpenTree(dirfd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|flags)
	if err != nil {
		return -1, fmt.Errorf("open_tree: %w", err)
	}
	attr := unix.MountAttr{
		Attr_set:  unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV,
		Userns_fd: uint64(ns),
	}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|flags, &attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("mount_setattr: %w", err)
	}
	return fd, nil
}

// swappingUserNS returns a descriptor of a new user namespace that maps
// every id to itself except 0 and id, which it swaps (for uids: uid, for
// gids: gid). A user namespace lives as long as a process or descriptor
// holds it, and Go cannot unshare one in a process that has threads, so a
// child is started in it, and ends once the descriptor is open. The child
// is traced, so that it stops at its first instruction, before the Go
// runtime of the program it runs (this one) starts: that saves a start of
// runsc-lite (20-30 ms on this project's VM) at every sandbox's start. A
// runsc-lite that is traced itself (strace -f) cannot trace its child; the
// child then runs Hold.
func swappingUserNS(uid, gid uint32) (int, error) {
	h, err := startHolder(uid, gid, true)
	if err != nil {
		h, err = startHolder(uid, gid, false)
	}
	if err != nil {
		return -1, fmt.Errorf("starting a user namespace's holder: %w", err)
	}
	ns, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", h.cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if werr := h.end(); werr != nil && err == nil {
		unix.Close(ns)
		return -1, fmt.Errorf("the user namespace's holder: %w", werr)
	}
	if err != nil {
		return -1, fmt.Errorf("opening the holder's user namespace: %w", err)
	}
	return ns, nil
}

// holder is a child in a user namespace of its own.
type holder struct {
	cmd *exec.Cmd
	// stdin is the holder's standard input (Hold), nil if it is traced.
	stdin *os.File
}

// startHolder starts a holder of a new user namespace with swapped ids,
// traced or reading a pipe.
func startHolder(uid, gid uint32, traced bool) (*holder, error) {
	h := &holder{cmd: &exec.Cmd{
		Path: "/proc/self/exe",
		Args: []string{HolderArg0},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:                 unix.CLONE_NEWUSER,
			Pdeathsig:                  syscall.SIGKILL,
			Ptrace:                     traced,
			UidMappings:                swapMap(uid),
			GidMappings:                swapMap(gid),
			GidMappingsEnableSetgroups: true,
		},
	}}
	if !traced {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		h.cmd.Stdin, h.stdin = r, w
	}
	if err := h.cmd.Start(); err != nil {
		if h.stdin != nil {
			h.stdin.Close()
		}
		return nil, err
	}
	return h, nil
}

// end ends the holder and reaps it.
func (h *holder) end() error {
	if h.stdin == nil {
		h.cmd.Process.Kill()
		h.cmd.Wait() // killed, as meant
		return nil
	}
	h.stdin.Close()
	return h.cmd.Wait()
}

// swapMap is the identity map of every id but 0 and id, which trade
// places. id is not 0.
func swapMap(id uint32) []syscall.SysProcIDMap {
	const last = 1<<32 - 2 // (uid_t)-1 is no id
	m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(id), Size: 1}}
	if id > 1 {
		m = append(m, syscall.SysProcIDMap{ContainerID: 1, HostID: 1, Size: int(id) - 1})
	}
	m = append(m, syscall.SysProcIDMap{ContainerID: int(id), HostID: 0, Size: 1})
	if id < last {
		m = append(m, syscall.SysProcIDMap{ContainerID: int(id) + 1, HostID: int(id) + 1, Size: last - int(id)})
	}
	return m
}
