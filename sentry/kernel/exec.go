package kernel

import (
	"context"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/platform"
	"runsc-lite/sentry/loader"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// Ctx returns the context VFS operations run in for t: the task itself,
// for filesystems whose contents depend on who asks (/proc/self) and for
// blocking operations a signal interrupts. Its credentials are an argument
// of each operation (FSCreds).
func (t *Task) Ctx() context.Context {
	if c := t.callCtx.Load(); c != nil {
		return *c
	}
	c := vfs.WithTask(context.Background(), t)
	t.callCtx.Store(&c)
	return c
}

// opener opens executables for the loader as t would: the program, a
// script's interpreter and the ELF interpreter each need execute
// permission, not read permission (open_exec).
func (t *Task) opener() loader.Opener {
	return func(p string) (loader.File, string, func(), error) {
		f, err := t.K.VFS.OpenExec(t.Ctx(), t.FSCreds(), t.FS(), p)
		if err != nil {
			return nil, "", nil, err
		}
		name := p
		if d := f.Dentry(); d != nil {
			name = vfs.PathOf(t.FS().Root(), d)
		}
		return f, name, f.DecRef, nil
	}
}

// Exec replaces the task's program, as execve(2) does. The new image is
// built in a fresh address space, so a failure leaves the caller as it was.
// Other threads of the process are ended first.
func (t *Task) Exec(p string, argv, envv []string) error {
	return t.exec(p, false, t.opener(), argv, envv)
}

// ExecFile is Exec of the file f is open on (execveat with AT_EMPTY_PATH,
// fexecve), called name ("/dev/fd/N", Linux's bprm->filename). A script's
// interpreter is opened by its path.
func (t *Task) ExecFile(f *vfs.File, name string, argv, envv []string) error {
	byPath := t.opener()
	return t.exec(name, true, func(p string) (loader.File, string, func(), error) {
		if p != name {
			return byPath(p)
		}
		x, err := t.K.VFS.OpenExecFile(t.Ctx(), t.FSCreds(), f)
		if err != nil {
			return nil, "", nil, err
		}
		if d := x.Dentry(); d != nil {
			name = vfs.PathOf(t.FS().Root(), d)
		}
		return x, name, x.DecRef, nil
	}, argv, envv)
}

// ExecName is the name (comm) a program execve'd as filename takes: the
// last component of the path it was given, not of a symlink's target
// (Linux's kbasename(bprm->filename)), cut to TASK_COMM_LEN-1 bytes.
func ExecName(filename string) string {
	name := filename[strings.LastIndexByte(filename, '/')+1:]
	if len(name) > linux.TASK_COMM_LEN-1 {
		name = name[:linux.TASK_COMM_LEN-1]
	}
	return name
}

// exec runs the program p names; byFD is an exec of an open file, named
// by what it is open on (execveat's AT_EMPTY_PATH, Linux's
// comm_from_dentry since 6.14) rather than by the made-up "/dev/fd/N".
func (t *Task) exec(p string, byFD bool, open loader.Opener, argv, envv []string) error {
	m, inPlace, err := t.execMM()
	if err != nil {
		return err
	}
	m.SetCPUAccount(t.K.CPU)
	m.SetRlimits(t.TG.MemoryRlimits())
	m.SetRandomization(t.randomization())
	res, err := loader.Load(m, open, p, argv, envv)
	if err == nil {
		if err = m.FlushMappings(); err != nil {
			t.Log().Warn("execve: mapping the new program failed", "err", err)
			err = unix.ENOMEM
		}
	}
	if err != nil {
		if inPlace && m.TookOver() {
			// Past the point of no return (Linux's too): the old
			// program's memory is gone.
			t.Log().Warn("execve in place failed after the old program's memory was unmapped", "err", err)
			t.TG.SetSigAction(int(unix.SIGSEGV), linux.SigAction{})
			t.forceSignal(NewSigInfo(int32(unix.SIGSEGV), linux.SI_KERNEL, 0, 0))
		}
		if res.ExeRelease != nil {
			res.ExeRelease()
		}
		m.Release()
		return err
	}
	t.endOtherThreads()
	oldMM, oldFDs := t.MM(), t.FDs()
	fds := oldFDs
	if oldFDs.Shared() {
		fds = oldFDs.Fork()
	}
	name := ExecName(p)
	if byFD {
		name = ExecName(res.Exe)
	}
	exeFile := exeFileOf(res)
	// The old program's mark of resident memory stays the process's
	// (exec_mmap's setmax_mm_hiwater_rss).
	oldRSS := oldMM.HiwaterRSS(0)
	// Under k.mu too: the kernel's CPU time lists the address spaces of
	// every task under it.
	t.K.mu.Lock()
	t.TG.noteMaxRSSLocked(oldRSS)
	t.mu.Lock()
	oldExe := t.exeFile
	t.mm.Store(m)
	t.fds, t.exe, t.exeFile, t.name = fds, res.Exe, exeFile, name
	t.mu.Unlock()
	t.TG.execed = true
	t.K.mu.Unlock()
	if oldExe != nil {
		oldExe.DecRef()
	}
	oldMM.DecUsers()
	t.execTimeNS()
	t.execTimers()
	if fds != oldFDs {
		oldFDs.DecUsers()
	}
	fds.CloseOnExec()
	t.ExecCaps()
	t.TG.resetHandlersForExec()
	t.TG.membarrier.registered.Store(0)
	t.Regs = res.Regs
	t.FP = platform.NewFPState()
	t.ClearChildTID = 0
	t.robustList.Store(0)
	t.AltStack = linux.SignalStack{}
	t.finishVfork()
	if !t.ptraceEvent(linux.PTRACE_EVENT_EXEC, linux.PTRACE_O_TRACEEXEC, uint64(t.TID)) && t.Traced() && !t.ptraceSeized() {
		// The legacy SIGTRAP after a successful execve.
		t.SendSignal(NewSigInfo(int32(unix.SIGTRAP), linux.SI_USER, 0, 0))
	}
	return nil
}

// execMM returns the memory manager an execve builds the new program in:
// on the process's own host process, emptied, when the task is the
// process's only thread and its address space is not shared (a vfork
// parent's), as Linux keeps the process (mm.NewInPlace); else on a new
// one. The build may fail without harm until the memory manager has taken
// the process over (TookOver). Either way its mappings are deferred
// until something needs them (mm.DeferMappings).
func (t *Task) execMM() (m *mm.MemoryManager, inPlace bool, err error) {
	t.K.mu.Lock()
	alone := len(t.TG.tasks) == 1
	t.K.mu.Unlock()
	if alone {
		if m, ok := mm.NewInPlace(t.MM(), t.MM().Memory()); ok {
			return m, true, nil
		}
	}
	as, err := t.K.Platform.NewAddressSpace()
	if err != nil {
		return nil, false, unix.ENOMEM
	}
	m = mm.New(as, t.MM().Memory())
	m.DeferMappings()
	return m, false, nil
}

// endOtherThreads kills the other threads of the group and waits until they
// are gone (de_thread in Linux); it returns them.
func (t *Task) endOtherThreads() []*Task {
	k := t.K
	k.mu.Lock()
	var others []*Task
	for _, o := range t.TG.tasks {
		if o != t {
			others = append(others, o)
		}
	}
	k.mu.Unlock()
	for _, o := range others {
		o.kill()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for len(t.TG.tasks) > 1 && !t.isKilled() {
		k.treeChanged.Wait()
	}
	return others
}
