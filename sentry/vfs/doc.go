// Package vfs is the sentry's virtual filesystem: open file descriptions,
// descriptor tables, the mount tree, the path walk and advisory locks.
// Filesystems (host, overlay, tmpfs, dev, proc) implement the small
// interfaces in inode.go; the syscall handlers call the operations in
// ops.go. Linux is the specification for every error this package returns.
//
// Design decisions:
//
//   - No dentry cache. A walk builds a chain of Dentry values (name, inode,
//     parent, mount) that lives as long as whoever holds it (an open file, a
//     working directory). Filesystems that need stable identities (the
//     overlay, tmpfs, dev) keep their own in-memory trees; the host
//     filesystem does not need to.
//   - Names follow renames, as Linux's dentry tree has them (d_path, "..")
//     without a dentry tree here: the filesystems whose names change keep
//     where each inode is (its parent and name, Placed in place.go), and a
//     path built from a Dentry (getcwd, /proc/PID/cwd, exe and fd links,
//     mountinfo), ".." and rename's loop check ask them at that moment
//     instead of trusting the walk's chain (Dentry.current). The chain is
//     cut at the mount's root and a mount is left through the dentry it is
//     mounted on, itself made current, so a rename above a mount point, in
//     another mount of the same filesystem (a bind mount), or across
//     directories shows. Rename itself updates nothing here: each
//     filesystem already moves its own node (the overlay's tree, the host
//     tree's directory paths), and a Dentry held anywhere sees the move
//     without being found. What cannot say where it is keeps the walk's
//     name below its parent's current place: a file with several names (the
//     Dentry knows which one it was opened by), a host file never opened,
//     and the filesystems that do not rename (proc, sys, dev).
//   - Mount points are keyed by (mount, inode). A filesystem that can hold
//     a mount point must return the same comparable Inode value (a pointer)
//     for the same directory each time it is looked up; non-comparable
//     inodes are never treated as mount points (never a panic).
//   - Symlinks are resolved here, not by the filesystems: a filesystem
//     resolves one name in one directory. Symlinks chain at most 40 times
//     (ELOOP), absolute targets restart at the caller's root, and `..` at
//     the root stays at the root, so nothing can walk out of the sandbox.
//   - Credentials are an argument of every operation that checks
//     permissions (Creds, creds.go), never a default: an operation without
//     them does not compile. The calling task, for filesystems whose
//     contents depend on who asks (proc's /proc/self, the memory account)
//     and for blocking operations a signal interrupts, travels in a
//     context.Context (WithTask); it carries no credentials. The kernel's
//     own operations (mounting, the first program before any task exists)
//     say so with KernelCreds.
//   - Permission checks are Linux's: the mode bits of the owner, the group
//     or others, and capabilities where Linux asks for them
//     (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN,
//     CAP_FSETID, CAP_SYS_ADMIN), never "uid 0": the sandbox's root passes
//     them because it holds every capability, and loses them with the
//     capabilities. Execution needs some execute bit even with
//     CAP_DAC_OVERRIDE, and not read permission. Sticky directories,
//     hard links (as with fs.protected_hardlinks=1) and the set-ID bits
//     chmod and chown drop follow Linux too (ops.go).
//   - Inode attribute flags (chattr's immutable and append-only) are kept
//     by the filesystems and enforced here, where Linux enforces them
//     (fileattr.go); host files have none.
//   - Advisory locks (fcntl record locks, OFD locks, flock) live in the VFS,
//     keyed by (st_dev, st_ino), so they are correct between all tasks of
//     the sandbox. They do not interact with host processes.
//   - Files are reference counted: FDTable.Get returns a new reference that
//     the caller drops with DecRef; the last DecRef releases the file.
//   - The order in which the package's locks nest is in locks.go.
package vfs
