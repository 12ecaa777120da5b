package kernel

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// unshareFlags are the flags unshare(2) knows; others are EINVAL.
const unshareFlags = unix.CLONE_THREAD | unix.CLONE_FS | unix.CLONE_NEWNS | unix.CLONE_SIGHAND |
	unix.CLONE_VM | unix.CLONE_FILES | unix.CLONE_SYSVSEM | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWNET | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// namespaceFlags are the namespaces unshare(2) and clone(2) could make.
// The sandbox has none of its own: it answers as a kernel built without
// them (EINVAL), which programs treat as "no namespaces here".
const namespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// Unshare gives the task its own copy of what flags name, as unshare(2)
// does (ksys_unshare): CLONE_FILES its descriptor table, CLONE_FS its
// root, working directory and umask, CLONE_SYSVSEM ends its SEM_UNDO
// adjustments as exit would. CLONE_THREAD, CLONE_SIGHAND and CLONE_VM
// succeed only where there is nothing to unshare (one thread, an address
// space no other task uses), EINVAL otherwise, as Linux has it.
func (t *Task) Unshare(flags uint64) error {
	if flags&^unshareFlags != 0 {
		return unix.EINVAL
	}
	// The implied flags, as ksys_unshare adds them.
	if flags&unix.CLONE_NEWUSER != 0 {
		flags |= unix.CLONE_THREAD | unix.CLONE_FS
	}
	if flags&unix.CLONE_VM != 0 {
		flags |= unix.CLONE_SIGHAND
	}
	if flags&unix.CLONE_SIGHAND != 0 {
		flags |= unix.CLONE_THREAD
	}
	if flags&unix.CLONE_NEWNS != 0 {
		flags |= unix.CLONE_FS
	}
	if flags&(unix.CLONE_THREAD|unix.CLONE_SIGHAND) != 0 && t.TG.NumThreads() > 1 ||
		flags&unix.CLONE_VM != 0 && t.MM().Shared() {
		return unix.EINVAL
	}
	if flags&namespaceFlags&^unix.CLONE_NEWNET != 0 {
		t.Log().Warn("unimplemented: namespaces", "syscall", "unshare", "flags", fmt.Sprintf("%#x", flags&namespaceFlags))
		return unix.EINVAL
	}
	if flags&unix.CLONE_NEWNET != 0 {
		if err := t.unshareNet(); err != nil { // netns.go
			return err
		}
	}
	if flags&unix.CLONE_FS != 0 {
		t.mu.Lock()
		t.fs = t.fs.Fork()
		t.mu.Unlock()
	}
	if flags&unix.CLONE_FILES != 0 {
		t.UnshareFDs()
	}
	if flags&unix.CLONE_SYSVSEM != 0 && t.TG.NumThreads() == 1 {
		// Another thread shares the process's SEM_UNDO list (the
		// sandbox keeps one per process), so only a lone thread ends it.
		t.K.IPC.ApplyUndo(t.TG, t.TG.PID)
	}
	return nil
}

// UnshareFDs gives the task a descriptor table of its own if it shares
// one (CLONE_FILES), a copy of the shared one.
func (t *Task) UnshareFDs() {
	old := t.FDs()
	if !old.Shared() {
		return
	}
	fds := old.Fork()
	t.mu.Lock()
	t.fds = fds
	t.mu.Unlock()
	old.DecUsers()
}
