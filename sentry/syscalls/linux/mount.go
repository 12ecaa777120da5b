package linux

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/fs/devpts"
	"runsc-lite/sentry/fs/tmpfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// mount(2) makes tmpfs, sysfs, proc and devpts mounts, remounts them
// (read-only among others) and accepts propagation changes, which change
// nothing (every mount is private: vfs/mountns.go). Each changes the
// caller's mount namespace, and takes CAP_SYS_ADMIN in the user
// namespace that owns it (Task.MayMount). A sysfs shows the network
// namespace of its mounter (mountSysfs); a proc mount is the sandbox's
// /proc again (mountProc); a devpts mount is a new instance, its own
// pseudo-terminals (mountDevpts). Any other filesystem type is ENODEV,
// as for a type the kernel does not know: the sandbox has no
// block-device filesystem (see tools/ltp/README.md), and its cgroup is
// mounted once.
// Bind mounts (MS_BIND, with MS_REC their submounts) show any directory
// or file of the caller's namespace elsewhere; move mounts (MS_MOVE) and
// pivot_root move the mounts mount(2) made (never the sandbox's own,
// which stay on the host directories they hide). Package vfs has the
// rules of the mount table.

func registerMount(st *kernel.SyscallTable) {
	partial(st, unix.SYS_MOUNT, "mount", mount, "tmpfs, sysfs, proc and devpts only (other types ENODEV), bind and move mounts", kernel.ArgString, kernel.ArgPath, kernel.ArgString, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_UMOUNT2, "umount2", umount2, kernel.ArgPath, kernel.ArgHex)
	reg(st, unix.SYS_PIVOT_ROOT, "pivot_root", pivotRoot, kernel.ArgPath, kernel.ArgPath)
}

// mountDataMax is how much of mount(2)'s data is read: a page, as
// copy_mount_options does.
const mountDataMax = 4096

// copyInOptionalString reads a string argument that may be NULL.
func copyInOptionalString(t *kernel.Task, addr uintptr, max int) (string, bool, error) {
	if addr == 0 {
		return "", false, nil
	}
	s, err := t.CopyInString(addr, max)
	return s, true, err
}

func mount(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fstype, hasType, err := copyInOptionalString(t, a.Pointer(2), unix.PathMax-1)
	if err != nil {
		return 0, err
	}
	source, hasSource, err := copyInOptionalString(t, a.Pointer(0), unix.PathMax-1)
	if err != nil {
		return 0, err
	}
	data, _, err := copyInOptionalString(t, a.Pointer(4), mountDataMax-1)
	if err != nil {
		return 0, err
	}
	target, err := copyInPath(t, a.Pointer(1))
	if err != nil {
		return 0, err
	}
	flags := uint64(a[3])
	if flags&unix.MS_MGC_MSK == unix.MS_MGC_VAL {
		flags &^= unix.MS_MGC_MSK
	}
	creds := t.FSCreds()
	if flags&unix.MS_NOUSER != 0 {
		return 0, unix.EINVAL
	}
	if !t.MayMount() {
		return 0, unix.EPERM
	}
	v, fsc, ns := t.K.VFS, t.FS(), t.MountNS().VFS
	if _, err := v.Lookup(t.Ctx(), creds, fsc, nil, target, true); err != nil {
		return 0, err
	}
	mflags := mountFlags(flags)
	switch {
	case flags&unix.MS_REMOUNT != 0:
		if flags&unix.MS_BIND == 0 && hasType && fstype == "tmpfs" {
			if _, err := tmpfs.ParseOptions(data, t.MemoryAccount().Limit(), 0, 0); err != nil {
				return 0, err
			}
		}
		return 0, v.Remount(t.Ctx(), creds, fsc, ns, target, mflags, flags&unix.MS_BIND != 0)
	case flags&unix.MS_MOVE != 0:
		if !hasSource || source == "" {
			return 0, unix.EINVAL
		}
		return 0, v.MoveAt(t.Ctx(), creds, fsc, ns, source, target)
	case flags&unix.MS_BIND != 0:
		if !hasSource || source == "" {
			return 0, unix.EINVAL // do_loopback
		}
		return 0, v.BindAt(t.Ctx(), creds, fsc, ns, source, target, flags&unix.MS_REC != 0)
	case flags&(unix.MS_SHARED|unix.MS_PRIVATE|unix.MS_SLAVE|unix.MS_UNBINDABLE) != 0:
		d, err := v.Lookup(t.Ctx(), creds, fsc, nil, target, true)
		if err != nil {
			return 0, err
		}
		if !vfs.IsMountRoot(d) || vfs.NamespaceOf(d) != ns {
			return 0, unix.EINVAL
		}
		return 0, nil
	}
	if !hasType {
		return 0, unix.EINVAL
	}
	switch fstype {
	case "sysfs":
		return 0, mountSysfs(t, target, source, data, mflags)
	case "proc":
		return 0, mountProc(t, target, source, data, mflags)
	case "devpts":
		return 0, mountDevpts(t, target, source, data, mflags)
	}
	if fstype != "tmpfs" {
		return 0, unix.ENODEV
	}
	opts, err := tmpfs.ParseOptions(data, t.MemoryAccount().Limit(), creds.UID(), creds.GID())
	if err != nil {
		return 0, err
	}
	if source == "" {
		source = "none"
	}
	return 0, v.MountAt(t.Ctx(), creds, fsc, ns, target, tmpfs.NewMounted(opts),
		vfs.MountOptions{Source: source, Type: fstype, Flags: mflags, Data: opts.String()})
}

// sysfsFlagOptions are the options of mount(2)'s data that set the
// superblock's flags (vfs_parse_sb_flag); sysfs takes no other.
var sysfsFlagOptions = []string{"ro", "rw", "sync", "async", "dirsync", "lazytime", "nolazytime", "mand", "nomand", "silent"}

// mountSysfs mounts on target the sysfs of the caller's network
// namespace (sysfs_init_fs_context): its class/net lists that
// namespace's interfaces to whoever looks, from any namespace, and the
// same one each time in a namespace (one superblock per namespace). As
// in Linux (net_grab_current_ns takes a passive reference) the mount
// does not keep the namespace alive: once its last task and file are
// gone, class/net is empty.
// Mounting it takes CAP_SYS_ADMIN in the namespace's owner
// (kobj_ns_current_may_mount: EPERM); an option other than the
// superblock flags is EINVAL.
func mountSysfs(t *kernel.Task, target, source, data string, flags uint64) error {
	for opt := range strings.SplitSeq(data, ",") {
		if opt != "" && !slices.Contains(sysfsFlagOptions, opt) {
			return unix.EINVAL
		}
	}
	ns := t.NetNS()
	if !t.Creds().HasCapIn(ns.Owner, linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	if source == "" {
		source = "none"
	}
	err := t.K.VFS.MountAt(t.Ctx(), t.FSCreds(), t.FS(), t.MountNS().VFS, target, ns.SysFS(t.K.CPUs(), t.K.Memory),
		vfs.MountOptions{Source: source, Type: "sysfs", Flags: flags})
	if err != nil {
		return fmt.Errorf("mounting sysfs on %s: %w", target, err)
	}
	return nil
}

// mountProc mounts the /proc of the caller's PID namespace on target (a
// chroot's /proc, or a new namespace's): one instance for each namespace,
// so that it takes no option but the superblock flags (EINVAL: no
// hidepid=, gid= or subset=, which would change /proc for every mount of
// it).
func mountProc(t *kernel.Task, target, source, data string, flags uint64) error {
	for opt := range strings.SplitSeq(data, ",") {
		if opt != "" && !slices.Contains(sysfsFlagOptions, opt) {
			return unix.EINVAL
		}
	}
	procFS := t.ProcFSOf()
	if procFS == nil {
		return unix.ENODEV
	}
	if source == "" {
		source = "none"
	}
	err := t.K.VFS.MountAt(t.Ctx(), t.FSCreds(), t.FS(), t.MountNS().VFS, target, procFS,
		vfs.MountOptions{Source: source, Type: "proc", Flags: flags})
	if err != nil {
		return fmt.Errorf("mounting proc on %s: %w", target, err)
	}
	return nil
}

// mountDevpts mounts a new devpts instance on target, with the options
// of data (devpts.ParseOptions: EINVAL for others).
func mountDevpts(t *kernel.Task, target, source, data string, flags uint64) error {
	opts, err := devpts.ParseOptions(data)
	if err != nil {
		return err
	}
	// uid= and gid= are IDs of the mounter's user namespace, kept as
	// kernel IDs (devpts_parse_param's make_kuid): EINVAL unmapped.
	ns := t.UserNS()
	if opts.SetUID {
		k, ok := ns.UIDToKernel(opts.UID)
		if !ok {
			return unix.EINVAL
		}
		opts.UID = k
	}
	if opts.SetGID {
		k, ok := ns.GIDToKernel(opts.GID)
		if !ok {
			return unix.EINVAL
		}
		opts.GID = k
	}
	if source == "" {
		source = "none"
	}
	return t.K.VFS.MountAt(t.Ctx(), t.FSCreds(), t.FS(), t.MountNS().VFS, target, devpts.New(opts),
		vfs.MountOptions{Source: source, Type: "devpts", Flags: flags, Data: opts.String()})
}

// mountFlags are the flags a new mount keeps of mount(2)'s: relatime
// unless another atime rule is asked for, as Linux's default.
func mountFlags(flags uint64) uint64 {
	if flags&(unix.MS_NOATIME|unix.MS_STRICTATIME) == 0 {
		flags |= unix.MS_RELATIME
	}
	return flags & vfs.MountFlags
}

func umount2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := a.Int(1)
	if flags&^(unix.MNT_FORCE|unix.MNT_DETACH|unix.MNT_EXPIRE|unix.UMOUNT_NOFOLLOW) != 0 {
		return 0, unix.EINVAL
	}
	creds := t.FSCreds()
	if !t.MayMount() {
		return 0, unix.EPERM
	}
	target, err := copyInPath(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	if flags&unix.MNT_EXPIRE != 0 && flags&(unix.MNT_FORCE|unix.MNT_DETACH) != 0 {
		return 0, unix.EINVAL
	}
	return 0, t.K.VFS.Unmount(t.Ctx(), creds, t.FS(), t.MountNS().VFS, target, flags&unix.UMOUNT_NOFOLLOW == 0, flags&unix.MNT_DETACH != 0)
}

// pivotRoot implements pivot_root(2) (vfs.VFS.PivotRoot has its rules):
// CAP_SYS_ADMIN in the owner of the caller's mount namespace (EPERM);
// every process whose root or working directory was the old root moves
// to the new one.
func pivotRoot(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if !t.MayMount() {
		return 0, unix.EPERM
	}
	newRoot, err := copyInPath(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	putOld, err := copyInPath(t, a.Pointer(1))
	if err != nil {
		return 0, err
	}
	old, root, err := t.K.VFS.PivotRoot(t.Ctx(), t.FSCreds(), t.FS(), t.MountNS().VFS, newRoot, putOld)
	if err != nil {
		return 0, err
	}
	t.K.ReplaceRoots(old, root)
	return 0, nil
}
