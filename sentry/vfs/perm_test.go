package vfs_test

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/fs/tmpfs"
	"runsc-lite/sentry/vfs"
)

// The permission checks of the VFS, kind by kind, for callers with and
// without privilege, over an in-memory tree; each expectation is what Linux
// answers (generic_permission, may_create, may_delete, setattr_prepare,
// xattr_permission, open_exec, may_linkat). The differential test
// runsc-lite/testdata/diff/perms.c checks the same against the host.

// Callers.
var (
	root       = vfs.KernelCreds()
	rootNoCaps = vfs.NewCreds(0, 0, nil, 0) // uid 0 after capset dropped everything
	alice      = vfs.NewCreds(1000, 1000, nil, 0)
	bob        = vfs.NewCreds(1001, 1001, nil, 0)
	carol      = vfs.NewCreds(1002, 1002, []uint32{1000}, 0) // in alice's group
	overrider  = vfs.NewCreds(1003, 1003, nil, capBit(linux.CAP_DAC_OVERRIDE))
	searcher   = vfs.NewCreds(1004, 1004, nil, capBit(linux.CAP_DAC_READ_SEARCH))
	fowner     = vfs.NewCreds(1005, 1005, nil, capBit(linux.CAP_FOWNER))
	chowner    = vfs.NewCreds(1006, 1006, nil, capBit(linux.CAP_CHOWN))
	sysadmin   = vfs.NewCreds(1007, 1007, nil, capBit(linux.CAP_SYS_ADMIN))
)

func capBit(c linux.Capability) uint64 { return 1 << c }

// tree is a tmpfs root with files of several owners and modes.
type tree struct {
	t   *testing.T
	v   *vfs.VFS
	fsc *vfs.FSContext
	ctx context.Context
}

// entry is one file of the tree: a path, a type and mode, an owner.
type entry struct {
	path     string
	mode     uint32 // with S_IFDIR or S_IFREG
	uid, gid uint32
}

var entries = []entry{
	{"/pub", unix.S_IFDIR | 0o777, 0, 0},
	{"/pub/sub", unix.S_IFDIR | 0o777, 0, 0},
	{"/pub/sub/rootdir", unix.S_IFDIR | 0o755, 0, 0},
	{"/pub/rootdir", unix.S_IFDIR | 0o755, 0, 0},
	{"/pub/alicedir", unix.S_IFDIR | 0o755, 1000, 1000},
	{"/pub/rootfile", unix.S_IFREG | 0o644, 0, 0},
	{"/sticky", unix.S_IFDIR | 0o1777, 1001, 1001}, // bob's
	{"/sticky/a", unix.S_IFREG | 0o666, 1000, 1000},
	{"/sticky/r", unix.S_IFREG | 0o666, 0, 0},
	{"/sticky/adir", unix.S_IFDIR | 0o777, 1000, 1000},
	{"/private", unix.S_IFDIR | 0o700, 0, 0},
	{"/private/f", unix.S_IFREG | 0o644, 0, 0},
	{"/ro", unix.S_IFDIR | 0o555, 0, 0},
	{"/ro/f", unix.S_IFREG | 0o666, 0, 0},
	{"/ro/d", unix.S_IFDIR | 0o777, 0, 0},
	{"/f644", unix.S_IFREG | 0o644, 0, 0},
	{"/f600", unix.S_IFREG | 0o600, 0, 0},
	{"/f666", unix.S_IFREG | 0o666, 0, 0},
	{"/f000", unix.S_IFREG | 0, 0, 0},
	{"/g640", unix.S_IFREG | 0o640, 0, 1000},
	{"/x711", unix.S_IFREG | 0o711, 0, 0},
	{"/x744", unix.S_IFREG | 0o744, 0, 0},
	{"/suid", unix.S_IFREG | 0o4755, 0, 0},
	{"/sgid", unix.S_IFREG | 0o2755, 1000, 1000},
	{"/alice600", unix.S_IFREG | 0o600, 1000, 1000},
	{"/alice644", unix.S_IFREG | 0o644, 1000, 1000},
	{"/alice-root-group", unix.S_IFREG | 0o644, 1000, 0},
}

func newTree(t *testing.T) *tree {
	t.Helper()
	v := vfs.New(tmpfs.New(0o755))
	tr := &tree{t: t, v: v, fsc: v.NewFSContext(), ctx: context.Background()}
	tr.fsc.SwapUmask(0)
	for _, e := range entries {
		var err error
		if vfs.IsDir(e.mode) {
			err = v.Mkdir(tr.ctx, root, tr.fsc, nil, e.path, 0o700)
		} else {
			err = v.Mknod(tr.ctx, root, tr.fsc, nil, e.path, unix.S_IFREG|0o600, 0)
		}
		if err != nil {
			t.Fatalf("creating %s: %v", e.path, err)
		}
		// Owner first: a chown clears the set-user-ID bit.
		for _, a := range []vfs.Attr{
			{Mask: vfs.AttrUID | vfs.AttrGID, UID: e.uid, GID: e.gid},
			{Mask: vfs.AttrMode, Mode: e.mode & 0o7777},
		} {
			if err := v.SetAttrAt(tr.ctx, root, tr.fsc, nil, e.path, false, a); err != nil {
				t.Fatalf("setting up %s: %v", e.path, err)
			}
		}
	}
	return tr
}

func (tr *tree) stat(path string) unix.Stat_t {
	tr.t.Helper()
	st, err := tr.v.StatAt(tr.ctx, root, tr.fsc, nil, path, false)
	if err != nil {
		tr.t.Fatalf("stat %s: %v", path, err)
	}
	return st
}

func (tr *tree) open(c vfs.Creds, path string, flags int) error {
	f, err := tr.v.Open(tr.ctx, c, tr.fsc, nil, path, flags, 0o644)
	if err == nil {
		f.DecRef()
	}
	return err
}

func (tr *tree) dentry(path string) *vfs.Dentry {
	tr.t.Helper()
	d, err := tr.v.Lookup(tr.ctx, root, tr.fsc, nil, path, false)
	if err != nil {
		tr.t.Fatalf("lookup %s: %v", path, err)
	}
	return d
}

func (tr *tree) setAttr(c vfs.Creds, path string, a vfs.Attr) error {
	return tr.v.SetAttrAt(tr.ctx, c, tr.fsc, nil, path, false, a)
}

// permCase is one check: who does what, and Linux's answer.
type permCase struct {
	name string
	do   func(tr *tree) error
	want error
}

func runPermCases(t *testing.T, cases []permCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.do(newTree(t)); got != c.want {
				t.Errorf("got %v, want %v", errName(got), errName(c.want))
			}
		})
	}
}

func errName(err error) string {
	if err == nil {
		return "success"
	}
	if e, ok := err.(unix.Errno); ok {
		return unix.ErrnoName(e)
	}
	return err.Error()
}

func TestPermissionWalk(t *testing.T) {
	stat := func(c vfs.Creds, p string) func(*tree) error {
		return func(tr *tree) error { _, err := tr.v.StatAt(tr.ctx, c, tr.fsc, nil, p, true); return err }
	}
	runPermCases(t, []permCase{
		{"root searches a 0700 directory", stat(root, "/private/f"), nil},
		{"a user cannot search root's 0700 directory", stat(alice, "/private/f"), unix.EACCES},
		{"CAP_DAC_READ_SEARCH searches anything", stat(searcher, "/private/f"), nil},
		{"CAP_DAC_OVERRIDE searches anything", stat(overrider, "/private/f"), nil},
		{"uid 0 without capabilities is the owner", stat(rootNoCaps, "/private/f"), nil},
		{"a user walks through others' 0755 directories", stat(alice, "/pub/rootdir"), nil},
		{"the final name needs no search permission", stat(alice, "/private"), nil},
		{"chdir into a directory the user cannot search", func(tr *tree) error { return tr.v.Chdir(tr.ctx, alice, tr.fsc, "/private") }, unix.EACCES},
		{"chdir into a searchable directory", func(tr *tree) error { return tr.v.Chdir(tr.ctx, alice, tr.fsc, "/ro") }, nil},
		{"chdir into a file", func(tr *tree) error { return tr.v.Chdir(tr.ctx, root, tr.fsc, "/x711") }, unix.ENOTDIR},
	})
}

func TestPermissionOpen(t *testing.T) {
	open := func(c vfs.Creds, p string, flags int) func(*tree) error {
		return func(tr *tree) error { return tr.open(c, p, flags) }
	}
	runPermCases(t, []permCase{
		{"others read a 0644 file", open(alice, "/f644", unix.O_RDONLY), nil},
		{"others cannot write a 0644 file", open(alice, "/f644", unix.O_WRONLY), unix.EACCES},
		{"O_TRUNC needs write permission", open(alice, "/f644", unix.O_RDONLY|unix.O_TRUNC), unix.EACCES},
		{"others cannot read a 0600 file", open(alice, "/f600", unix.O_RDONLY), unix.EACCES},
		{"the group reads a 0640 file", open(alice, "/g640", unix.O_RDONLY), nil},
		{"a supplementary group counts", open(carol, "/g640", unix.O_RDONLY), nil},
		{"the group cannot write a 0640 file", open(alice, "/g640", unix.O_RDWR), unix.EACCES},
		{"others cannot read a 0640 file", open(bob, "/g640", unix.O_RDONLY), unix.EACCES},
		{"the owner's bits count, not the others'", open(alice, "/alice600", unix.O_RDWR), nil},
		{"root writes a mode-0 file", open(root, "/f000", unix.O_RDWR), nil},
		{"uid 0 without capabilities cannot read a mode-0 file", open(rootNoCaps, "/f000", unix.O_RDONLY), unix.EACCES},
		{"uid 0 without capabilities is not alice", open(rootNoCaps, "/alice600", unix.O_RDONLY), unix.EACCES},
		{"CAP_DAC_OVERRIDE writes anything", open(overrider, "/f600", unix.O_RDWR), nil},
		{"CAP_DAC_READ_SEARCH reads anything", open(searcher, "/f600", unix.O_RDONLY), nil},
		{"CAP_DAC_READ_SEARCH writes nothing more", open(searcher, "/f600", unix.O_WRONLY), unix.EACCES},
		{"a directory needs read permission to be listed", open(alice, "/private", unix.O_RDONLY|unix.O_DIRECTORY), unix.EACCES},
		{"O_PATH needs no permission on the file", open(alice, "/f600", unix.O_PATH), nil},
		{"O_NOATIME on another's file", open(alice, "/f644", unix.O_RDONLY|unix.O_NOATIME), unix.EPERM},
		{"O_NOATIME on one's own file", open(alice, "/alice644", unix.O_RDONLY|unix.O_NOATIME), nil},
		{"O_NOATIME with CAP_FOWNER", open(fowner, "/f644", unix.O_RDONLY|unix.O_NOATIME), nil},
		{"F_SETFL O_NOATIME on another's file", func(tr *tree) error {
			f, err := tr.v.Open(tr.ctx, alice, tr.fsc, nil, "/f644", unix.O_RDONLY, 0)
			if err != nil {
				return err
			}
			defer f.DecRef()
			return f.SetStatusFlags(tr.ctx, alice, unix.O_NOATIME)
		}, unix.EPERM},
		{"creating in a directory without write permission", open(alice, "/ro/new", unix.O_CREAT|unix.O_WRONLY), unix.EACCES},
		{"creating in a world-writable directory", open(alice, "/pub/new", unix.O_CREAT|unix.O_WRONLY), nil},
		{"O_CREAT of an existing file checks the file", open(alice, "/ro/f", unix.O_CREAT|unix.O_WRONLY), nil},
		{"a file just created opens whatever its mode", func(tr *tree) error {
			f, err := tr.v.Open(tr.ctx, alice, tr.fsc, nil, "/pub/new", unix.O_CREAT|unix.O_RDWR, 0)
			if err != nil {
				return err
			}
			f.DecRef()
			return tr.open(alice, "/pub/new", unix.O_RDONLY)
		}, unix.EACCES},
	})
}

func TestPermissionCreateOwner(t *testing.T) {
	tr := newTree(t)
	if err := tr.open(alice, "/pub/new", unix.O_CREAT|unix.O_WRONLY); err != nil {
		t.Fatal(err)
	}
	if st := tr.stat("/pub/new"); st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("a new file belongs to %d:%d, want its creator's 1000:1000", st.Uid, st.Gid)
	}
	// A set-group-ID directory gives its group to what is created in it,
	// and keeps directories set-group-ID; a group-executable set-group-ID
	// file loses that bit unless its creator is in the group.
	if err := tr.setAttr(root, "/pub/sub", vfs.Attr{Mask: vfs.AttrMode | vfs.AttrGID, Mode: 0o2777, GID: 2000}); err != nil {
		t.Fatal(err)
	}
	if err := tr.v.Mkdir(tr.ctx, alice, tr.fsc, nil, "/pub/sub/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if st := tr.stat("/pub/sub/d"); st.Gid != 2000 || st.Mode&unix.S_ISGID == 0 {
		t.Errorf("a directory made in a set-group-ID directory: gid %d, mode %o; want 2000 and set-group-ID", st.Gid, st.Mode)
	}
	if err := tr.v.Mknod(tr.ctx, alice, tr.fsc, nil, "/pub/sub/f", unix.S_IFREG|0o2775, 0); err != nil {
		t.Fatal(err)
	}
	if st := tr.stat("/pub/sub/f"); st.Gid != 2000 || st.Mode&0o7777 != 0o775 {
		t.Errorf("a set-group-ID file made by a non-member: gid %d, mode %o; want 2000, 0775", st.Gid, st.Mode&0o7777)
	}
}

func TestPermissionDirectoryChanges(t *testing.T) {
	mkdir := func(c vfs.Creds, p string) func(*tree) error {
		return func(tr *tree) error { return tr.v.Mkdir(tr.ctx, c, tr.fsc, nil, p, 0o755) }
	}
	unlink := func(c vfs.Creds, p string) func(*tree) error {
		return func(tr *tree) error { return tr.v.Unlink(tr.ctx, c, tr.fsc, nil, p) }
	}
	rmdir := func(c vfs.Creds, p string) func(*tree) error {
		return func(tr *tree) error { return tr.v.Rmdir(tr.ctx, c, tr.fsc, nil, p) }
	}
	rename := func(c vfs.Creds, from, to string, flags uint32) func(*tree) error {
		return func(tr *tree) error { return tr.v.Rename(tr.ctx, c, tr.fsc, nil, from, nil, to, flags) }
	}
	link := func(c vfs.Creds, from, to string) func(*tree) error {
		return func(tr *tree) error { return tr.v.Link(tr.ctx, c, tr.fsc, nil, from, nil, to, false) }
	}
	runPermCases(t, []permCase{
		{"mkdir in a read-only directory", mkdir(alice, "/ro/x"), unix.EACCES},
		{"mkdir in a writable directory", mkdir(alice, "/pub/x"), nil},
		{"mkdir by CAP_DAC_OVERRIDE", mkdir(overrider, "/ro/x"), nil},
		{"mknod of a FIFO in a read-only directory", func(tr *tree) error {
			return tr.v.Mknod(tr.ctx, alice, tr.fsc, nil, "/ro/fifo", unix.S_IFIFO|0o644, 0)
		}, unix.EACCES},
		{"symlink in a read-only directory", func(tr *tree) error {
			return tr.v.Symlink(tr.ctx, alice, tr.fsc, "/f644", nil, "/ro/l")
		}, unix.EACCES},
		{"symlink in a writable directory", func(tr *tree) error {
			return tr.v.Symlink(tr.ctx, alice, tr.fsc, "/f644", nil, "/pub/l")
		}, nil},
		{"unlink from a read-only directory", unlink(alice, "/ro/f"), unix.EACCES},
		{"unlink another's file from a writable directory", unlink(alice, "/pub/rootfile"), nil},
		{"unlink another's file from a sticky directory", unlink(alice, "/sticky/r"), unix.EPERM},
		{"unlink one's own file from a sticky directory", unlink(alice, "/sticky/a"), nil},
		{"the sticky directory's owner unlinks anything in it", unlink(bob, "/sticky/r"), nil},
		{"CAP_FOWNER unlinks anything in a sticky directory", unlink(fowner, "/sticky/a"), nil},
		{"root unlinks anything in a sticky directory", unlink(root, "/sticky/a"), nil},
		{"uid 0 without CAP_FOWNER in a sticky directory", unlink(rootNoCaps, "/sticky/a"), unix.EPERM},
		{"rmdir another's directory from a sticky directory", rmdir(carol, "/sticky/adir"), unix.EPERM},
		{"rmdir from a read-only directory", rmdir(alice, "/ro/d"), unix.EACCES},
		{"rmdir from a writable directory", rmdir(alice, "/pub/rootdir"), nil},
		{"rename out of a read-only directory", rename(alice, "/ro/f", "/pub/f", 0), unix.EACCES},
		{"rename into a read-only directory", rename(alice, "/pub/rootfile", "/ro/g", 0), unix.EACCES},
		{"rename over a file in a read-only directory", rename(alice, "/pub/rootfile", "/ro/f", 0), unix.EACCES},
		{"rename another's file within a writable directory", rename(alice, "/pub/rootfile", "/pub/moved", 0), nil},
		{"rename another's file out of a sticky directory", rename(alice, "/sticky/r", "/pub/moved", 0), unix.EPERM},
		{"rename over another's file in a sticky directory", rename(alice, "/pub/rootfile", "/sticky/r", 0), unix.EPERM},
		{"rename one's own file out of a sticky directory", rename(alice, "/sticky/a", "/pub/moved", 0), nil},
		{"a directory that changes parent needs write permission on itself", rename(alice, "/pub/rootdir", "/pub/sub/moved", 0), unix.EACCES},
		{"a directory renamed within its parent needs none", rename(alice, "/pub/rootdir", "/pub/renamed", 0), nil},
		{"one's own directory changes parent", rename(alice, "/pub/alicedir", "/pub/sub/alicedir", 0), nil},
		{"an exchange within one directory", rename(alice, "/pub/sub", "/pub/rootdir", unix.RENAME_EXCHANGE), nil},
		{"an exchange that moves another's directory to a new parent", rename(alice, "/pub/alicedir", "/pub/sub/rootdir", unix.RENAME_EXCHANGE), unix.EACCES},
		{"an exchange of one's own directories", rename(alice, "/pub/alicedir", "/sticky/adir", unix.RENAME_EXCHANGE), nil},
		{"link into a read-only directory", link(root, "/f644", "/ro/l"), nil},
		{"link into a read-only directory by a user", link(alice, "/alice644", "/ro/l"), unix.EACCES},
		{"link to one's own file", link(alice, "/alice600", "/pub/l"), nil},
		{"link to another's file one may read and write", link(alice, "/f666", "/pub/l"), nil},
		{"link to another's file one may only read", link(alice, "/f644", "/pub/l"), unix.EPERM},
		{"link to another's set-user-ID file", link(alice, "/suid", "/pub/l"), unix.EPERM},
		{"link to another's file with CAP_FOWNER", link(fowner, "/f600", "/pub/l"), nil},
	})
}

func TestPermissionAttributes(t *testing.T) {
	set := func(c vfs.Creds, p string, a vfs.Attr) func(*tree) error {
		return func(tr *tree) error { return tr.setAttr(c, p, a) }
	}
	chmod := func(c vfs.Creds, p string, mode uint32) func(*tree) error {
		return set(c, p, vfs.Attr{Mask: vfs.AttrMode, Mode: mode})
	}
	owner := func(c vfs.Creds, p string, uid, gid uint32) func(*tree) error {
		return set(c, p, vfs.Attr{Mask: vfs.AttrUID | vfs.AttrGID, UID: uid, GID: gid})
	}
	now := vfs.Attr{Mask: vfs.AttrAtime | vfs.AttrMtime, Atime: vfs.Now(), Mtime: vfs.Now()}
	given := now
	given.TimesGiven = true
	runPermCases(t, []permCase{
		{"chmod of another's file", chmod(alice, "/f666", 0o600), unix.EPERM},
		{"chmod of one's own file", chmod(alice, "/alice644", 0o600), nil},
		{"chmod by CAP_FOWNER", chmod(fowner, "/f644", 0o600), nil},
		{"chmod by uid 0 without CAP_FOWNER", chmod(rootNoCaps, "/alice644", 0o600), unix.EPERM},
		{"chown to another user", owner(alice, "/alice644", 1001, 1000), unix.EPERM},
		{"chown to oneself, chgrp to one's group", owner(alice, "/alice644", 1000, 1000), nil},
		{"chgrp to a group one is not in", owner(alice, "/alice644", 1000, 2000), unix.EPERM},
		{"chgrp to a supplementary group", func(tr *tree) error {
			if err := owner(root, "/pub/rootfile", 1002, 1002)(tr); err != nil {
				return err
			}
			return owner(carol, "/pub/rootfile", 1002, 1000)(tr)
		}, nil},
		{"chgrp of another's file to one's group", owner(alice, "/f666", 0, 1000), unix.EPERM},
		{"chown by CAP_CHOWN", owner(chowner, "/f644", 1000, 1000), nil},
		{"chown by root", owner(root, "/alice644", 1001, 1001), nil},
		{"explicit times on another's writable file", set(alice, "/f666", given), unix.EPERM},
		{"the current time on another's writable file", set(alice, "/f666", now), nil},
		{"the current time on another's read-only file", set(alice, "/f644", now), unix.EACCES},
		{"explicit times on one's own file", set(alice, "/alice644", given), nil},
		{"explicit times with CAP_FOWNER", set(fowner, "/f644", given), nil},
		{"truncate without write permission", set(alice, "/f644", vfs.Attr{Mask: vfs.AttrSize}), unix.EACCES},
		{"truncate with write permission", set(alice, "/f666", vfs.Attr{Mask: vfs.AttrSize}), nil},
		{"truncate a directory", set(alice, "/pub", vfs.Attr{Mask: vfs.AttrSize}), unix.EISDIR},
		{"ftruncate needs the file open for writing, not permission", func(tr *tree) error {
			f, err := tr.v.Open(tr.ctx, root, tr.fsc, nil, "/f644", unix.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.DecRef()
			return f.SetAttr(tr.ctx, alice, vfs.Attr{Mask: vfs.AttrSize, Size: 1})
		}, nil},
		{"fchmod checks the caller, not the opener", func(tr *tree) error {
			f, err := tr.v.Open(tr.ctx, root, tr.fsc, nil, "/f644", unix.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.DecRef()
			return f.SetAttr(tr.ctx, alice, vfs.Attr{Mask: vfs.AttrMode, Mode: 0o777})
		}, unix.EPERM},
	})
}

// TestPermissionSetIDBits: the set-ID bits that chmod and chown drop.
func TestPermissionSetIDBits(t *testing.T) {
	for _, c := range []struct {
		name string
		who  vfs.Creds
		path string
		a    vfs.Attr
		want uint32
	}{
		{"chmod g+s by the owner outside the group", alice, "/alice-root-group", vfs.Attr{Mask: vfs.AttrMode, Mode: 0o2755}, 0o755},
		{"chmod g+s by the owner in the group", alice, "/sgid", vfs.Attr{Mask: vfs.AttrMode, Mode: 0o2750}, 0o2750},
		{"chmod g+s by CAP_FOWNER outside the group", fowner, "/f644", vfs.Attr{Mask: vfs.AttrMode, Mode: 0o2755}, 0o755},
		{"chmod g+s by root", root, "/f644", vfs.Attr{Mask: vfs.AttrMode, Mode: 0o2755}, 0o2755},
		{"chown drops set-user-ID", root, "/suid", vfs.Attr{Mask: vfs.AttrUID, UID: 0}, 0o755},
		{"chgrp drops set-group-ID of a group-executable file", alice, "/sgid", vfs.Attr{Mask: vfs.AttrGID, GID: 1000}, 0o755},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := newTree(t)
			if err := tr.setAttr(c.who, c.path, c.a); err != nil {
				t.Fatal(err)
			}
			if got := tr.stat(c.path).Mode & 0o7777; got != c.want {
				t.Errorf("mode %04o, want %04o", got, c.want)
			}
		})
	}
	// A directory keeps its bits through chown.
	tr := newTree(t)
	if err := tr.setAttr(root, "/pub", vfs.Attr{Mask: vfs.AttrMode, Mode: 0o3777}); err != nil {
		t.Fatal(err)
	}
	if err := tr.setAttr(root, "/pub", vfs.Attr{Mask: vfs.AttrUID, UID: 1000}); err != nil {
		t.Fatal(err)
	}
	if got := tr.stat("/pub").Mode & 0o7777; got != 0o3777 {
		t.Errorf("a directory's mode after chown: %04o, want 3777", got)
	}
}

func TestPermissionAccess(t *testing.T) {
	access := func(c vfs.Creds, p string, mode uint32) func(*tree) error {
		return func(tr *tree) error { return tr.v.Access(tr.ctx, c, tr.fsc, nil, p, mode, true) }
	}
	runPermCases(t, []permCase{
		{"R_OK on another's 0600 file", access(alice, "/f600", unix.R_OK), unix.EACCES},
		{"F_OK on another's 0600 file", access(alice, "/f600", unix.F_OK), nil},
		{"W_OK on a 0666 file", access(alice, "/f666", unix.W_OK), nil},
		{"X_OK on a 0711 file", access(alice, "/x711", unix.X_OK), nil},
		{"R_OK on a 0711 file", access(alice, "/x711", unix.R_OK), unix.EACCES},
		{"X_OK by root on a file without execute bits", access(root, "/f644", unix.X_OK), unix.EACCES},
		{"X_OK by root on a file with one", access(root, "/x744", unix.X_OK), nil},
		{"R_OK|W_OK by root on a mode-0 file", access(root, "/f000", unix.R_OK|unix.W_OK), nil},
		{"the walk is checked with the same credentials", access(alice, "/private/f", unix.F_OK), unix.EACCES},
		{"AccessDentry", func(tr *tree) error {
			return vfs.AccessDentry(tr.ctx, bob, tr.dentry("/g640"), unix.R_OK)
		}, unix.EACCES},
	})
}

func TestPermissionExec(t *testing.T) {
	exec := func(c vfs.Creds, p string) func(*tree) error {
		return func(tr *tree) error {
			f, err := tr.v.OpenExec(tr.ctx, c, tr.fsc, p)
			if err == nil {
				f.DecRef()
			}
			return err
		}
	}
	runPermCases(t, []permCase{
		{"an execute-only program", exec(alice, "/x711"), nil},
		{"a program only its owner may run", exec(alice, "/x744"), unix.EACCES},
		{"root and a file without execute bits", exec(root, "/f644"), unix.EACCES},
		{"CAP_DAC_OVERRIDE and a file with some execute bit", exec(overrider, "/x744"), nil},
		{"a directory", exec(root, "/pub"), unix.EACCES},
		{"a path through a directory the caller cannot search", func(tr *tree) error {
			if err := tr.setAttr(root, "/private/f", vfs.Attr{Mask: vfs.AttrMode, Mode: 0o755}); err != nil {
				return err
			}
			return exec(alice, "/private/f")(tr)
		}, unix.EACCES},
	})
}

func TestPermissionXattr(t *testing.T) {
	get := func(c vfs.Creds, p, name string) func(*tree) error {
		return func(tr *tree) error { _, err := tr.dentry(p).GetXattr(tr.ctx, c, name); return err }
	}
	set := func(c vfs.Creds, p, name string) func(*tree) error {
		return func(tr *tree) error { return tr.v.SetXattr(tr.ctx, c, tr.dentry(p), name, []byte("v"), 0) }
	}
	withAttr := func(p, name string, then func(*tree) error) func(*tree) error {
		return func(tr *tree) error {
			if err := set(root, p, name)(tr); err != nil {
				return err
			}
			return then(tr)
		}
	}
	runPermCases(t, []permCase{
		{"user.* on a file one may not write", set(alice, "/f644", "user.x"), unix.EACCES},
		{"user.* on a file one may write", set(alice, "/f666", "user.x"), nil},
		{"reading user.* needs read permission", withAttr("/f600", "user.x", get(alice, "/f600", "user.x")), unix.EACCES},
		{"reading user.* with read permission", withAttr("/f644", "user.x", get(alice, "/f644", "user.x")), nil},
		{"user.* on another's sticky directory", set(alice, "/sticky", "user.x"), unix.EPERM},
		{"user.* on one's own sticky directory", set(bob, "/sticky", "user.x"), nil},
		{"trusted.* without CAP_SYS_ADMIN", withAttr("/f644", "trusted.x", get(alice, "/f644", "trusted.x")), unix.ENODATA},
		{"trusted.* with CAP_SYS_ADMIN", withAttr("/f644", "trusted.x", get(sysadmin, "/f644", "trusted.x")), nil},
		{"setting trusted.* without CAP_SYS_ADMIN", set(alice, "/f666", "trusted.x"), unix.EPERM},
		{"setting security.* without CAP_SYS_ADMIN", set(alice, "/alice644", "security.x"), unix.EPERM},
		{"uid 0 without CAP_SYS_ADMIN", set(rootNoCaps, "/f644", "trusted.x"), unix.EPERM},
		{"removing user.* needs write permission", withAttr("/f644", "user.x", func(tr *tree) error {
			return tr.v.RemoveXattr(tr.ctx, alice, tr.dentry("/f644"), "user.x")
		}), unix.EACCES},
	})
	tr := newTree(t)
	if err := set(root, "/f644", "trusted.x")(tr); err != nil {
		t.Fatal(err)
	}
	if names, err := tr.dentry("/f644").ListXattr(tr.ctx, alice); err != nil || len(names) != 0 {
		t.Errorf("a listing without CAP_SYS_ADMIN: %q, %v; want no trusted.* name", names, err)
	}
}
