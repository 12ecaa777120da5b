package sandbox

import (
	"context"
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/cgroup"
	"runsc-lite/sentry/fs/host"
	"runsc-lite/sentry/fs/proc"
	"runsc-lite/sentry/fs/rootfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/loader"
	"runsc-lite/sentry/vfs"
)

// Root is the sandbox's file system as the first process sees it.
//
// Its methods run before the first process exists, for the kernel
// (mounting, the mount table) or on behalf of that process, which starts as
// the sandbox's root with every capability: they use vfs.KernelCreds.
type Root struct {
	VFS       *vfs.VFS
	FSContext *vfs.FSContext
	// ids number the host files the sandbox sees, below the root and
	// imported as stdio alike.
	ids *host.Identities
	// table is the mount table rootfs made, which /proc shows.
	table []rootfs.Entry
}

// newRoot builds the sandbox's file system over host directory dir, or
// over f (dir opened) when f is not nil, with opts.
func newRoot(dir string, f *os.File, opts rootfs.Options) (*Root, error) {
	ids := host.NewIdentities()
	if f == nil {
		var err error
		if f, err = host.OpenRoot(dir); err != nil {
			for _, m := range opts.Mounts {
				if m.Source != nil {
					m.Source.Close()
				}
			}
			return nil, fmt.Errorf("--rootfs=%s: %w", dir, err)
		}
	}
	v, fsc, table, err := rootfs.Build(f, ids, opts)
	if err != nil {
		return nil, err
	}
	return &Root{VFS: v, FSContext: fsc, ids: ids, table: table}, nil
}

// mountKernelFS mounts the sandbox's /sys, its cgroup and /proc for k
// (so that nothing below the host's /proc or /sys is reachable from then
// on, the working directory included); publishMounts gives /proc the
// mount table once the sandbox's mounts are all made.
func (r *Root) mountKernelFS(k *kernel.Kernel) (*proc.FileSystem, error) {
	procFS := proc.New(k)
	k.ProcFS = procFS
	for _, m := range []struct {
		path string
		fs   vfs.FileSystem
	}{{"/sys", k.RootNetNS().SysFS(k.CPUs(), k.Memory)}, {"/sys/fs/cgroup", cgroup.New(k)}, {"/proc", procFS}} {
		if err := r.VFS.Mount(m.path, m.fs); err != nil {
			return nil, fmt.Errorf("mounting %s: %w", m.path, err)
		}
	}
	return procFS, nil
}

// publishMounts gives procFS the mount table: every mount with its device
// number and the sandbox's names only (no host path, whatever --rootfs
// is).
func (r *Root) publishMounts(procFS *proc.FileSystem) error {
	var table []proc.Mount
	for _, e := range r.table {
		table = append(table, proc.Mount{Source: e.Source, Path: e.Path, Type: e.Type, Flags: e.Flags, Data: e.Data})
	}
	table = append(table, []proc.Mount{
		{Source: "sysfs", Path: "/sys", Type: "sysfs", Flags: "ro,nosuid,nodev,noexec"},
		{Source: "cgroup2", Path: "/sys/fs/cgroup", Type: "cgroup2", Flags: "ro,nosuid,nodev,noexec"},
		{Source: "proc", Path: "/proc", Type: "proc", Flags: "rw,nosuid,nodev,noexec"},
	}...)
	for i := range table {
		d, err := r.VFS.Lookup(context.Background(), vfs.KernelCreds(), r.FSContext, nil, table[i].Path, true)
		if err != nil {
			return fmt.Errorf("the mount at %s: %w", table[i].Path, err)
		}
		st, err := d.Inode().Stat(context.Background())
		if err != nil {
			return fmt.Errorf("the mount at %s: %w", table[i].Path, err)
		}
		table[i].Dev, table[i].ID, table[i].ParentID = st.Dev, vfs.MountID(d), vfs.ParentMountID(d)
	}
	// In the order they were made, as Linux lists a namespace's mounts.
	slices.SortStableFunc(table, func(a, b proc.Mount) int { return a.ID - b.ID })
	procFS.SetMounts(table)
	return nil
}

// enterCwd makes the working directory want (--cwd), or else the caller's
// (caller, "" for /) at the same path: through the root if it shows it as
// a directory, else src mounted there under a memory overlay (a cwd below
// /tmp, or below a directory the sentry's host identity cannot search).
// A directory that cannot be shown is an error, never a silent /. It
// takes src over.
func (r *Root) enterCwd(want, caller string, src *host.Source) error {
	if want != "" {
		if src != nil {
			src.Close()
		}
		if err := r.Chdir(want); err != nil {
			return fmt.Errorf("--cwd=%s: %w", want, err)
		}
		return nil
	}
	if caller == "" {
		if src != nil {
			src.Close()
		}
		return r.Chdir("/")
	}
	if r.IsDir(caller) {
		if src != nil {
			src.Close()
		}
	} else {
		if src == nil {
			return fmt.Errorf("the working directory %s is not in the sandbox (--cwd names another)", caller)
		}
		e, err := rootfs.Add(r.VFS, r.FSContext, rootfs.Mount{Dest: caller, Source: src, Access: rootfs.CopyOnWrite})
		if err != nil {
			return fmt.Errorf("showing the working directory %s in the sandbox (--cwd names another): %w", caller, err)
		}
		r.table = append(r.table, e...)
	}
	if err := r.Chdir(caller); err != nil {
		return fmt.Errorf("the working directory %s (--cwd names another): %w", caller, err)
	}
	return nil
}

// Chdir makes path the working directory.
func (r *Root) Chdir(path string) error {
	return r.VFS.Chdir(context.Background(), vfs.KernelCreds(), r.FSContext, path)
}

// IsDir reports whether path is a directory in the sandbox.
func (r *Root) IsDir(path string) bool {
	st, err := r.VFS.StatAt(context.Background(), vfs.KernelCreds(), r.FSContext, nil, path, true)
	return err == nil && vfs.IsDir(st.Mode)
}

// Exists reports whether path names a file in the sandbox.
func (r *Root) Exists(path string) bool {
	_, err := r.VFS.StatAt(context.Background(), vfs.KernelCreds(), r.FSContext, nil, path, true)
	return err == nil
}

// CheckExecutable reports whether path is a file execve would accept.
func (r *Root) CheckExecutable(path string) error {
	creds := vfs.KernelCreds()
	st, err := r.VFS.StatAt(context.Background(), creds, r.FSContext, nil, path, true)
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return unix.EACCES
	}
	return r.VFS.Access(context.Background(), creds, r.FSContext, nil, path, unix.X_OK, true)
}

// Opener returns the loader's way of opening executables.
func (r *Root) Opener() loader.Opener { return r.OpenerIn(r.FSContext) }

// OpenerIn returns the loader's way of opening executables relative to
// fsc's working directory.
func (r *Root) OpenerIn(fsc *vfs.FSContext) loader.Opener {
	return func(path string) (loader.File, string, func(), error) {
		f, err := r.VFS.OpenExec(context.Background(), vfs.KernelCreds(), fsc, path)
		if err != nil {
			return nil, "", nil, err
		}
		name := path
		if d := f.Dentry(); d != nil {
			name = vfs.PathOf(fsc.Root(), d)
		}
		return f, name, f.DecRef, nil
	}
}

// StdioTable returns a descriptor table holding the host descriptors
// stdio (the host's stdin, stdout and stderr for the first process) as 0,
// 1 and 2; a host descriptor that is closed (or -1) stays closed. Those
// that are the terminal at host descriptor ttyFD come under tty's job
// control (tty nil: no terminal).
func (r *Root) StdioTable(tty *kernel.TTY, ttyFD int, stdio [3]int) (*vfs.FDTable, error) {
	t := vfs.NewFDTable()
	for fd := 0; fd < 3; fd++ {
		hostFD := stdio[fd]
		if hostFD < 0 {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(hostFD), unix.F_GETFD, 0); err != nil {
			continue
		}
		var jc host.JobControl
		if tty != nil && sameFile(hostFD, ttyFD) {
			jc = tty
		}
		f, err := host.ImportTerminal(hostFD, jc, r.ids)
		if err != nil {
			t.Release()
			return nil, err
		}
		got, err := t.Install(f, fd, false)
		f.DecRef()
		if err != nil || int(got) != fd {
			t.Release()
			return nil, fmt.Errorf("installing host descriptor %d: %v", hostFD, err)
		}
	}
	return t, nil
}

// terminalFD returns the first of the host's stdin, stdout and stderr
// that is a terminal, -1 if none is.
func terminalFD() int {
	for fd := 0; fd < 3; fd++ {
		if host.IsTerminal(fd) {
			return fd
		}
	}
	return -1
}

// sameFile reports whether host descriptors a and b are the same file.
func sameFile(a, b int) bool {
	var sa, sb unix.Stat_t
	if unix.Fstat(a, &sa) != nil || unix.Fstat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
