package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// CloneArgs are the arguments of clone and clone3.
type CloneArgs struct {
	Flags      uint64
	ExitSignal int
	Stack      uintptr // new stack pointer; 0 keeps the parent's
	ParentTID  uintptr
	ChildTID   uintptr
	TLS        uintptr
	// PidFD is where CLONE_PIDFD writes the pidfd (an int): clone's
	// parent_tid, clone3's pidfd.
	PidFD uintptr
	// SetTID is clone3's set_tid: the child's ID in its namespace, then
	// in each one above, as many as given (pidns.go: allocIDsLocked).
	SetTID []int32
}

// Flags clone accepts: the namespaces (namespaceFlags) and these; the
// rest are EINVAL.
const supportedCloneFlags = namespaceFlags | unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID |
	unix.CLONE_CHILD_SETTID | unix.CLONE_CHILD_CLEARTID | unix.CLONE_VFORK | unix.CLONE_PARENT |
	unix.CLONE_DETACHED | unix.CLONE_IO | unix.CLONE_PIDFD | unix.CLONE_PTRACE | unix.CLONE_UNTRACED

// Clone creates a task as clone(2) does and returns its ID in the caller's
// view. The child starts with the caller's registers, rax 0. A thread
// shares its process's PID namespace: CLONE_NEWPID with CLONE_THREAD, or
// a thread of a task whose next children go to another namespace
// (unshare, setns), is EINVAL.
func (t *Task) Clone(a CloneArgs) (int, error) {
	f := a.Flags
	switch {
	case f&^supportedCloneFlags != 0:
		return 0, unix.EINVAL
	case f&unix.CLONE_NEWUSER != 0 && f&(unix.CLONE_FS|unix.CLONE_THREAD) != 0,
		// A new IPC namespace cannot share the caller's SEM_UNDO list,
		// whose sets it cannot reach (copy_namespaces).
		f&unix.CLONE_NEWIPC != 0 && f&unix.CLONE_SYSVSEM != 0,
		// A new mount namespace cannot share the caller's root.
		f&unix.CLONE_NEWNS != 0 && f&unix.CLONE_FS != 0,
		f&unix.CLONE_THREAD != 0 && (f&unix.CLONE_NEWPID != 0 || t.PIDNSForChildren() != t.PIDNS()),
		f&unix.CLONE_THREAD != 0 && f&unix.CLONE_SIGHAND == 0,
		f&unix.CLONE_SIGHAND != 0 && f&unix.CLONE_VM == 0:
		return 0, unix.EINVAL
	case a.ExitSignal < 0 || a.ExitSignal > 64:
		return 0, unix.EINVAL
	case f&unix.CLONE_PIDFD != 0 && f&(unix.CLONE_DETACHED|unix.CLONE_THREAD) != 0,
		f&unix.CLONE_PIDFD != 0 && f&unix.CLONE_PARENT_SETTID != 0 && a.PidFD == a.ParentTID:
		// No thread pidfds (pidfd.go); one address cannot take both.
		return 0, unix.EINVAL
	}
	if f&unix.CLONE_PIDFD != 0 {
		// A bad address fails the clone before there is a child, as in
		// Linux; clonePidFD writes the descriptor itself.
		if err := t.CopyOut(a.PidFD, make([]byte, 4)); err != nil {
			return 0, err
		}
	}
	ns, err := t.makeNamespaces(f)
	if err != nil {
		return 0, err
	}
	child, err := t.newChild(a, ns)
	if err != nil {
		return 0, err
	}
	if f&unix.CLONE_PIDFD != 0 {
		if err := t.clonePidFD(child, a.PidFD); err != nil {
			child.abandon()
			return 0, err
		}
	}
	childID := t.TIDOf(child)
	if f&unix.CLONE_PARENT_SETTID != 0 {
		if err := t.CopyOut(a.ParentTID, binary.LittleEndian.AppendUint32(nil, uint32(childID))); err != nil {
			child.abandon()
			return 0, err
		}
	}
	if f&unix.CLONE_CHILD_SETTID != 0 {
		if err := child.CopyOut(a.ChildTID, binary.LittleEndian.AppendUint32(nil, uint32(child.vtid))); err != nil {
			child.abandon()
			return 0, err
		}
	}
	var vfork chan struct{}
	if f&unix.CLONE_VFORK != 0 {
		vfork = make(chan struct{})
		child.vforkDone = vfork
	}
	event, _ := t.ptraceClone(child, f, a.ExitSignal)
	child.Start()
	if event != 0 {
		t.ptraceStopAt(int(unix.SIGTRAP)|event<<8, uint64(child.TID))
	}
	if vfork != nil {
		select {
		case <-vfork:
		case <-t.Killed():
		}
		t.ptraceEvent(linux.PTRACE_EVENT_VFORK_DONE, linux.PTRACE_O_TRACEVFORKDONE, uint64(child.TID))
	}
	return childID, nil
}

// clonePidFD installs a pidfd for the new child's process and writes its
// number at addr; the descriptor goes again if the write fails.
func (t *Task) clonePidFD(child *Task, addr uintptr) error {
	fd, err := t.installPidFD(child.TG, false)
	if err != nil {
		return err
	}
	if err := t.CopyOut(addr, binary.LittleEndian.AppendUint32(nil, uint32(fd))); err != nil {
		t.FDs().Close(fd)
		return err
	}
	return nil
}

// newChild builds the child task and links it into the tree.
func (t *Task) newChild(a CloneArgs, ns newNamespaces) (*Task, error) {
	if err := t.K.admitTask(); err != nil {
		ns.drop()
		return nil, err
	}
	f := a.Flags
	m := t.MM()
	if f&unix.CLONE_VM != 0 {
		m.IncUsers()
	} else {
		var err error
		if m, err = m.Fork(); err != nil {
			// The host refused a process (or the parent's stub is being
			// killed with its task): fork(2)'s answer is ENOMEM.
			if !t.isKilled() {
				t.Log().Warn("fork: copying the address space failed", "err", err)
			}
			ns.drop()
			return nil, unix.ENOMEM
		}
	}
	fds := t.FDs()
	if f&unix.CLONE_FILES != 0 {
		fds.IncUsers()
	} else {
		fds = fds.Fork()
	}
	fs := t.FS()
	if f&unix.CLONE_FS == 0 {
		fs = fs.Fork()
	}
	c := &Task{K: t.K, fds: fds, fs: fs, Regs: t.Regs, FP: t.FP.Clone(),
		ctx: t.K.Platform.NewContext(), killed: make(chan struct{}),
		name: t.Name(), startUptime: t.K.Uptime()}
	c.mm.Store(m)
	t.mu.Lock()
	c.exe, c.exeFile = t.exe, t.exeFile
	if c.exeFile != nil {
		c.exeFile.IncRef()
	}
	t.mu.Unlock()
	c.inheritSched(t)
	c.ioprio.Store(t.ioprio.Load())
	c.sigMask.Store(t.SigMask())
	c.personality.Store(t.personality.Load())
	c.memPolicy = t.memPolicy // shared: a MemPolicy never changes
	// The signal stack is inherited, but by a thread sharing the memory
	// (not a vfork child) whose stack it cannot be (copy_process).
	if f&(unix.CLONE_VM|unix.CLONE_VFORK) != unix.CLONE_VM {
		c.AltStack = t.AltStack
	}
	// no_new_privs is inherited by every child, thread or process
	// (prctl(2)).
	c.noNewPrivs.Store(t.NoNewPrivs())
	// So are the seccomp mode and filters (copy_seccomp).
	c.seccomp.Store(t.seccomp.Load())
	c.inheritTimerSlack(t)
	c.uts.Store(t.uts.Load())
	if ns.uts != nil {
		c.uts.Store(ns.uts)
	}
	c.cgroupns.Store(t.cgroupns.Load())
	if ns.cgroup != nil {
		c.cgroupns.Store(ns.cgroup)
	}
	c.Regs.Rax = 0
	if a.Stack != 0 {
		c.Regs.Rsp = uint64(a.Stack)
	}
	if f&unix.CLONE_SETTLS != 0 {
		c.Regs.FsBase = uint64(a.TLS)
	}
	if f&unix.CLONE_CHILD_CLEARTID != 0 {
		c.ClearChildTID = a.ChildTID
	}

	c.inheritNetNS(t, ns.net)
	c.inheritIPCNS(t, ns.ipc)
	c.inheritMountNS(t, ns.mnt, ns.mntCopy)
	c.inheritTimeNS(t, ns.time, f&unix.CLONE_VM != 0)
	if c.TimeNS() != t.TimeNS() {
		c.enteredTimeNS()
	}

	pidns := t.PIDNSForChildren()
	if ns.pid != nil {
		pidns = ns.pid
	}
	if f&unix.CLONE_THREAD != 0 {
		pidns = t.TG.pidns
	}
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	var err error
	switch {
	case t.TG.exiting:
		err = unix.EINTR
	case f&unix.CLONE_PARENT != 0 && f&unix.CLONE_THREAD == 0 && (t.TG.parent == nil || t.TG.isNSInitLocked()):
		// The sandbox's init has no parent to share, and a namespace's
		// init makes no sibling outside it (Linux refuses CLONE_PARENT
		// from a pid namespace's init).
		err = unix.EINVAL
	case f&unix.CLONE_THREAD == 0 && pidns.dead:
		// Its init died (alloc_pid without PIDNS_ADDING).
		err = unix.ENOMEM
	default:
		err = k.admitTaskLocked()
	}
	if err == nil {
		c.TID, c.vtid, err = k.allocIDsLocked(pidns, a.SetTID, t.Creds())
	}
	if err != nil {
		c.ctx.Release()
		m.DecUsers()
		fds.DecUsers()
		c.releaseExe()
		c.releaseNetNS()
		c.releaseIPCNS() // never its last holder but for one CLONE_NEWIPC made, empty
		c.releaseMountNS()
		return nil, err
	}
	if f&unix.CLONE_THREAD != 0 {
		c.TG = t.TG
	} else {
		parent, parentTask, exitSignal := t.TG, t, a.ExitSignal
		if f&unix.CLONE_PARENT != 0 {
			// A sibling tells the shared parent of its end as the caller
			// does: with the caller's exit signal, not the one asked for.
			parent, parentTask, exitSignal = t.TG.parent, t.TG.parentTask, t.TG.exitSignal
		}
		c.TG = newThreadGroup(k, c.TID, parent)
		c.TG.pidns, c.TG.vpid = pidns, c.vtid
		if pidns.init == nil {
			pidns.init = c.TG // the first process of a new namespace
			c.TG.unkillable.Store(true)
		}
		c.TG.parentTask = parentTask
		c.TG.exitSignal = exitSignal
		c.TG.membarrier.registered.Store(t.TG.MembarrierRegistered())
		if ns.creds != nil {
			c.TG.creds = *ns.creds
		}
		k.groups[c.TID] = c.TG
	}
	c.TG.tasks = append(c.TG.tasks, c)
	k.tasks[c.TID] = c
	return c, nil
}

// abandon undoes newChild for a child that never ran.
func (c *Task) abandon() {
	c.kill()
	c.Start()
}
