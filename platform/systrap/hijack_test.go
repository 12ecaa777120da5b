package systrap

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/platform/platformtest"
	"runsc-lite/sysmsg"
)

// NewHijacker takes over the syscall thread of as's stub process, as an
// application that broke out of its own thread into it would have: the
// test attaches to it with ptrace (it is root) and runs syscalls at the
// stub's syscall instruction, which the stub's filter allows most at. The
// instruction after it is `jmp *%rbx`: %rbx points at restorer_site's ud2,
// whose SIGILL ends each call, or, for a clone whose child must live on, at
// that jmp itself. The thread is given back, in the futex wait it was
// taken from, when the test ends.
//
// A call the filter traps, or the ud2, raises a signal that the syscall
// thread, which blocks every signal, can only take at the default action:
// the kernel resets the process's handler for it. The stub process is not
// usable by application threads afterwards; the tests give every hijack a
// fresh one.
func NewHijacker(t testing.TB, pas platform.AddressSpace) platformtest.Hijacker {
	t.Helper()
	as := pas.(*addressSpace)
	h := &hijacker{pid: as.pid, site: as.p.syms.SyscallSite - 2, ud2: as.p.syms.RestorerSite, loop: as.p.syms.SyscallSite, jobs: make(chan func())}
	go func() {
		// ptrace requests for a tracee must come from the thread that
		// attached it; this one is never given back to Go.
		runtime.LockOSThread()
		for f := range h.jobs {
			f()
		}
	}()
	var err error
	h.do(func() { err = h.attach() })
	if err != nil {
		close(h.jobs)
		t.Fatalf("taking over the syscall thread of stub %d: %v", h.pid, err)
	}
	t.Cleanup(h.Release)
	return h
}

// Release implements platformtest.Hijacker.
func (h *hijacker) Release() {
	h.once.Do(func() {
		h.do(h.detach)
		close(h.jobs)
	})
}

type hijacker struct {
	pid             int
	site, ud2, loop uintptr
	jobs            chan func()
	saved           unix.PtraceRegs
	dead            bool
	once            sync.Once
}

func (h *hijacker) Pid() int { return h.pid }

func (h *hijacker) do(f func()) {
	done := make(chan struct{})
	h.jobs <- func() { f(); close(done) }
	<-done
}

func (h *hijacker) attach() error {
	if err := unix.PtraceSeize(h.pid); err != nil {
		return err
	}
	if err := unix.PtraceInterrupt(h.pid); err != nil {
		return err
	}
	if _, err := h.wait(); err != nil {
		return err
	}
	return unix.PtraceGetRegs(h.pid, &h.saved)
}

// detach puts back the registers of the futex wait the thread was taken
// from (the kernel restarts it) and lets it go.
func (h *hijacker) detach() {
	if h.dead {
		return
	}
	unix.PtraceSetRegs(h.pid, &h.saved)
	if unix.PtraceDetach(h.pid) != nil {
		// Killed meanwhile: reap what is left of our tracee, or its
		// process could never be reaped.
		var ws unix.WaitStatus
		unix.Wait4(h.pid, &ws, unix.WALL|unix.WNOHANG, nil)
	}
}

// wait returns the thread's next stop; dead is set if it is gone.
func (h *hijacker) wait() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(h.pid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || ws.Exited() || ws.Signaled() {
			h.dead = true
		}
		return ws, err
	}
}

func (h *hijacker) Syscall(nr uintptr, args ...uint64) platformtest.Hijacked {
	var r platformtest.Hijacked
	h.do(func() { r = h.run(nr, args, h.ud2) })
	return r
}

func (h *hijacker) Clone(flags, pidfd uintptr) platformtest.Hijacked {
	var r platformtest.Hijacked
	h.do(func() { r = h.run(unix.SYS_CLONE, []uint64{uint64(flags), 0, uint64(pidfd), 0, 0}, h.loop) })
	return r
}

// run makes the thread execute syscall nr at the stub's instruction and
// continue at ret, and waits for the outcome: a SIGILL stop at ud2 after
// the call, a SIGSYS stop if the filter trapped it (then the ud2 follows),
// the thread's death; or, when ret is the looping jmp, the thread still
// looping a while after the call.
func (h *hijacker) run(nr uintptr, args []uint64, ret uintptr) platformtest.Hijacked {
	var r platformtest.Hijacked
	if h.dead {
		r.Killed = true
		return r
	}
	regs := h.saved
	var a [6]uint64
	copy(a[:], args)
	regs.Rip, regs.Rax, regs.Orig_rax, regs.Rbx = uint64(h.site), uint64(nr), ^uint64(0), uint64(ret)
	regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9 = a[0], a[1], a[2], a[3], a[4], a[5]
	if err := unix.PtraceSetRegs(h.pid, &regs); err != nil {
		r.Killed = true
		return r
	}
	if err := unix.PtraceCont(h.pid, 0); err != nil {
		r.Killed = true
		return r
	}
	if ret == h.loop {
		time.AfterFunc(100*time.Millisecond, func() { unix.Tgkill(h.pid, h.pid, unix.SIGSTOP) })
	}
	for {
		ws, err := h.wait()
		if err != nil || h.dead {
			r.Killed = true
			return r
		}
		switch sig := ws.StopSignal(); {
		case sig == unix.SIGSYS:
			r.Trapped = true
		case sig == unix.SIGILL, sig == unix.SIGSTOP:
			var now unix.PtraceRegs
			if err := unix.PtraceGetRegs(h.pid, &now); err != nil {
				r.Killed = true
				return r
			}
			r.Ret = int64(now.Rax)
			return r
		}
		// Drop whatever the thread stopped for, and go on.
		if err := unix.PtraceCont(h.pid, 0); err != nil {
			r.Killed = true
			return r
		}
	}
}

// PatchSelf is platformtest.Options.PatchSelf: where c's slot keeps its
// self pointer, which patch_entry_gs loads through %gs, and its value.
func PatchSelf(pc platform.Context) (uintptr, uint64) {
	c := pc.(*context)
	c.mu.Lock()
	defer c.mu.Unlock()
	slot := sysmsg.SlotAddr(c.slot)
	return slot + sysmsg.MsgSelf, uint64(slot)
}
