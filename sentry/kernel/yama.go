package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Decision: the sandbox's kernel has the Yama LSM's ptrace restrictions
// (Documentation/admin-guide/LSM/Yama.rst), as Ubuntu's and other
// distributions' kernels do, at their usual default, scope 1: a process
// that is neither the sandbox's CAP_SYS_PTRACE holder nor an ancestor of
// its target attaches to it, reads and writes its memory
// (/proc/PID/mem, process_vm_readv/writev, pidfd_getfd) only if the
// target named it, or an ancestor of it, with prctl(PR_SET_PTRACER). Its
// processes are one user's, often root's, so the classic same-user rule
// alone would let any of them take over any other. So, as a kernel with
// Yama: PR_SET_PTRACER works (a kernel without Yama answers EINVAL), and
// /proc/sys/kernel/yama/ptrace_scope shows the scope and takes Yama's
// writes: CAP_SYS_PTRACE (EPERM without), 0 to 3 (EINVAL else), and 3
// for good (only 3 again). Scope 0 leaves the classic checks, 2 wants
// CAP_SYS_PTRACE over the target's user namespace for attaching and
// over the tracee's for PTRACE_TRACEME's parent, 3 refuses both to all.
// The scope is sandbox-wide, as Linux's is system-wide.

// Yama's ptrace scopes past linux.YAMA_SCOPE_DISABLED (0) and
// linux.YAMA_SCOPE_RELATIONAL (1), which abi/linux lacks.
const (
	YamaScopeCapability = 2 // YAMA_SCOPE_CAPABILITY
	YamaScopeNoAttach   = 3 // YAMA_SCOPE_NO_ATTACH
)

// YamaScope is /proc/sys/kernel/yama/ptrace_scope.
func (k *Kernel) YamaScope() int { return int(k.yamaScope.Load()) }

// SetYamaScope writes the scope as yama_dointvec_minmax does: EPERM
// without CAP_SYS_PTRACE (privileged), EINVAL outside 0 to 3 or, once
// the scope is 3, for anything but 3.
func (k *Kernel) SetYamaScope(privileged bool, n int64) error {
	if !privileged {
		return unix.EPERM
	}
	min := int64(linux.YAMA_SCOPE_DISABLED)
	if k.YamaScope() == YamaScopeNoAttach {
		min = YamaScopeNoAttach
	}
	if n < min || n > YamaScopeNoAttach {
		return unix.EINVAL
	}
	k.yamaScope.Store(int32(n))
	return nil
}

// yamaAllowsLocked is yama_ptrace_access_check for t attaching to
// tracee (of another process), which the user checks allowed. k.mu is
// held.
func (t *Task) yamaAllowsLocked(tracee *Task) bool {
	capable := func() bool { return t.Creds().HasCapIn(tracee.TG.userNS(), linux.CAP_SYS_PTRACE) }
	switch t.K.YamaScope() {
	case linux.YAMA_SCOPE_DISABLED:
		return true
	case linux.YAMA_SCOPE_RELATIONAL:
		return t.TG.isAncestorOfLocked(tracee.TG) || tracee.TG.allowsTracerLocked(t.TG) || capable()
	case YamaScopeCapability:
		return capable()
	}
	return false
}

// yamaAllowsTraceMeLocked is yama_ptrace_traceme: whether t's parent
// may become its tracer by PTRACE_TRACEME. k.mu is held.
func (t *Task) yamaAllowsTraceMeLocked(parent *Task) bool {
	switch t.K.YamaScope() {
	case YamaScopeCapability:
		return parent.Creds().HasCapIn(t.TG.userNS(), linux.CAP_SYS_PTRACE)
	case YamaScopeNoAttach:
		return false
	}
	return true
}

// isAncestorOfLocked reports whether tg is p or one of its ancestors
// (task_is_descendant). k.mu is held.
func (tg *ThreadGroup) isAncestorOfLocked(p *ThreadGroup) bool {
	for ; p != nil; p = p.parent {
		if p == tg {
			return true
		}
	}
	return false
}

// allowsTracerLocked reports whether tg named tracer, or an ancestor of
// it, with PR_SET_PTRACER, or anyone (ptracer_exception_found). k.mu is
// held.
func (tg *ThreadGroup) allowsTracerLocked(tracer *ThreadGroup) bool {
	return tg.ptracerAny || tg.ptracer != nil && tg.ptracer.isAncestorOfLocked(tracer)
}

// PtracerAny is PR_SET_PTRACER_ANY, (unsigned long)-1: any process may
// attach.
const PtracerAny = -1

// SetPtracer is prctl(PR_SET_PTRACER) (yama_task_prctl): the process of
// the task with ID pid in the caller's namespace, and its descendants,
// may attach to the caller's process although none is its ancestor;
// PtracerAny lets any process, 0 none but ancestors. EINVAL if pid
// names no task. The exception goes with the named process: one that
// later takes its ID is not it.
func (t *Task) SetPtracer(pid int64) error {
	var id int
	if pid > 0 && pid <= MaxPID {
		id = t.KernelIDOf(int(pid))
	}
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case pid == PtracerAny:
		t.TG.ptracer, t.TG.ptracerAny = nil, true
	case pid == 0:
		t.TG.ptracer, t.TG.ptracerAny = nil, false
	default:
		// Any thread names its process, a zombie too (Linux finds
		// tasks until they are reaped).
		tg := k.groups[id]
		if task := k.tasks[id]; task != nil {
			tg = task.TG
		}
		if id == 0 || tg == nil {
			return unix.EINVAL
		}
		t.TG.ptracer, t.TG.ptracerAny = tg, false
	}
	return nil
}
