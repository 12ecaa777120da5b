package vfs_test

import (
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// Inode attribute flags as the VFS enforces them (fileattr.go), for
// callers with and without privilege: each expectation is Linux's answer
// (vfs_fileattr_set, inode_permission, may_open, may_delete, vfs_link,
// may_setattr, xattr_permission). The differential test
// runsc-lite/testdata/diff/inodeflags.c checks root's view against the
// host.

// setFlags opens path for root and sets its flags for c.
func (tr *tree) setFlags(c vfs.Creds, path string, flags uint32) error {
	f, err := tr.v.Open(tr.ctx, root, tr.fsc, nil, path, unix.O_RDONLY, 0)
	if err != nil {
		tr.t.Fatalf("open %s: %v", path, err)
	}
	defer f.DecRef()
	return f.SetInodeFlags(tr.ctx, c, flags)
}

// withFlags runs do after root gave path flags.
func withFlags(path string, flags uint32, do func(tr *tree) error) func(tr *tree) error {
	return func(tr *tree) error {
		if err := tr.setFlags(root, path, flags); err != nil {
			tr.t.Fatalf("setting %#x on %s: %v", flags, path, err)
		}
		return do(tr)
	}
}

func TestInodeFlagsChange(t *testing.T) {
	immutableHolder := vfs.NewCreds(1000, 1000, nil, capBit(linux.CAP_LINUX_IMMUTABLE))
	set := func(c vfs.Creds, p string, flags uint32) func(*tree) error {
		return func(tr *tree) error { return tr.setFlags(c, p, flags) }
	}
	runPermCases(t, []permCase{
		{"the owner sets no-dump", set(alice, "/alice644", abi.FS_NODUMP_FL), nil},
		{"others cannot set no-dump", set(bob, "/alice644", abi.FS_NODUMP_FL), unix.EPERM},
		{"CAP_FOWNER sets others' no-dump", set(fowner, "/alice644", abi.FS_NOATIME_FL), nil},
		{"immutable needs CAP_LINUX_IMMUTABLE", set(alice, "/alice644", abi.FS_IMMUTABLE_FL), unix.EPERM},
		{"append-only needs CAP_LINUX_IMMUTABLE", set(alice, "/alice644", abi.FS_APPEND_FL), unix.EPERM},
		{"the owner with CAP_LINUX_IMMUTABLE sets immutable", set(immutableHolder, "/alice644", abi.FS_IMMUTABLE_FL), nil},
		{"CAP_LINUX_IMMUTABLE is not ownership", set(immutableHolder, "/f644", abi.FS_IMMUTABLE_FL), unix.EPERM},
		{"clearing immutable needs CAP_LINUX_IMMUTABLE", withFlags("/alice644", abi.FS_IMMUTABLE_FL, set(alice, "/alice644", 0)), unix.EPERM},
		{"other flags change beside immutable without it", withFlags("/alice644", abi.FS_IMMUTABLE_FL, set(alice, "/alice644", abi.FS_IMMUTABLE_FL|abi.FS_NODUMP_FL)), nil},
		{"a flag tmpfs does not keep", set(root, "/f644", abi.FS_SYNC_FL), unix.EOPNOTSUPP},
		{"privilege is checked before support", set(alice, "/alice644", abi.FS_IMMUTABLE_FL|abi.FS_SYNC_FL), unix.EPERM},
	})
}

func TestInodeFlagsEnforced(t *testing.T) {
	open := func(c vfs.Creds, p string, flags int) func(*tree) error {
		return func(tr *tree) error { return tr.open(c, p, flags) }
	}
	unlink := func(c vfs.Creds, p string) func(*tree) error {
		return func(tr *tree) error { return tr.v.Unlink(tr.ctx, c, tr.fsc, nil, p) }
	}
	attr := func(c vfs.Creds, p string, a vfs.Attr) func(*tree) error {
		return func(tr *tree) error { return tr.setAttr(c, p, a) }
	}
	now := vfs.Attr{Mask: vfs.AttrAtime | vfs.AttrMtime}
	given := vfs.Attr{Mask: vfs.AttrAtime | vfs.AttrMtime, TimesGiven: true}
	imm, app := uint32(abi.FS_IMMUTABLE_FL), uint32(abi.FS_APPEND_FL)
	runPermCases(t, []permCase{
		{"immutable is EPERM before EACCES", withFlags("/f644", imm, open(alice, "/f644", unix.O_WRONLY)), unix.EPERM},
		{"an immutable file still opens for reading", withFlags("/f644", imm, open(alice, "/f644", unix.O_RDONLY)), nil},
		{"EACCES before the append-only check", withFlags("/f644", app, open(alice, "/f644", unix.O_WRONLY|unix.O_APPEND)), unix.EACCES},
		{"append-only opens to append", withFlags("/f666", app, open(alice, "/f666", unix.O_WRONLY|unix.O_APPEND)), nil},
		{"append-only refuses a plain write open", withFlags("/f666", app, open(alice, "/f666", unix.O_RDWR)), unix.EPERM},
		{"append-only refuses O_TRUNC", withFlags("/f666", app, open(root, "/f666", unix.O_RDONLY|unix.O_TRUNC)), unix.EPERM},
		{"an immutable directory takes no name", withFlags("/pub", imm, open(alice, "/pub/new", unix.O_CREAT|unix.O_WRONLY)), unix.EPERM},
		{"an append-only directory takes names", withFlags("/pub", app, open(alice, "/pub/new", unix.O_CREAT|unix.O_WRONLY)), nil},
		{"an append-only directory keeps its names", withFlags("/pub", app, unlink(root, "/pub/rootfile")), unix.EPERM},
		{"an immutable file is not removed", withFlags("/pub/rootfile", imm, unlink(root, "/pub/rootfile")), unix.EPERM},
		{"the sticky check and the flags are one EPERM", withFlags("/sticky/r", app, unlink(alice, "/sticky/r")), unix.EPERM},
		{"an append-only file keeps its mode", withFlags("/f644", app, attr(root, "/f644", vfs.Attr{Mask: vfs.AttrMode, Mode: 0o600})), unix.EPERM},
		{"an append-only file takes the current time", withFlags("/f644", app, attr(root, "/f644", now)), nil},
		{"an append-only file refuses given times", withFlags("/f644", app, attr(root, "/f644", given)), unix.EPERM},
		{"an immutable file refuses the current time", withFlags("/f644", imm, attr(root, "/f644", now)), unix.EPERM},
		{"truncating an append-only file", withFlags("/f644", app, attr(root, "/f644", vfs.Attr{Mask: vfs.AttrSize})), unix.EPERM},
		{"truncating an immutable file is EPERM before EACCES", withFlags("/f644", imm, attr(alice, "/f644", vfs.Attr{Mask: vfs.AttrSize})), unix.EPERM},
		{"no link to an immutable file", withFlags("/f644", imm, func(tr *tree) error {
			return tr.v.Link(tr.ctx, root, tr.fsc, nil, "/f644", nil, "/pub/l", false)
		}), unix.EPERM},
		{"no xattr change on an append-only file", withFlags("/f644", app, func(tr *tree) error {
			return tr.v.SetXattr(tr.ctx, root, tr.dentry("/f644"), "user.a", []byte("1"), 0)
		}), unix.EPERM},
		{"access W_OK on an immutable file", withFlags("/f666", imm, func(tr *tree) error {
			return vfs.AccessDentry(tr.ctx, alice, tr.dentry("/f666"), unix.W_OK)
		}), unix.EPERM},
	})
}
