package ptrace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

// reserved is what the application may not touch, as in systrap: the stub
// image, the scratch page, and the rest of the range systrap uses.
var reserved = platform.Range{Start: stub.ImageBase, End: sysmsg.RegionEnd}

// scratch is a private read-write page of every stub process, where remote
// recvmsg calls keep their msghdr. It is where systrap maps its shared
// region, which ptrace stubs do not have.
const (
	scratch     = sysmsg.Region
	scratchSize = 0x1000
)

// errGone is returned when the stub process died under a request.
var errGone = fmt.Errorf("stub process is gone: %w", platform.ErrContextDead)

// addressSpace is one stub process.
type addressSpace struct {
	platform.ProcessMemory // copies application memory, holding use

	p       *Platform
	proc    stub.Process
	pid     int               // proc.Pid: proved by the kernel, and not reaped before Release
	pidfd   int               // proc.Pidfd
	cpu     platform.CPUTimes // keeps the process's CPU times monotonic
	ctl     int               // the sentry's end of the stub's control socket
	control *tracer           // the control thread, which runs remote syscalls

	// use is held for reading while the process is in use, and for writing
	// by Release.
	use      sync.RWMutex
	released atomic.Bool

	// mu serializes remote syscalls and descriptor passing; it is taken
	// before threadsMu (cloneThread), never after.
	mu sync.Mutex

	threadsMu sync.Mutex
	threads   map[*tracer]struct{} // application threads; guarded by threadsMu
}

var _ platform.AddressSpace = (*addressSpace)(nil)

// NewAddressSpace implements platform.Platform.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("stub control socket: %w", err)
	}
	proc, err := p.fs.SpawnPtrace(stub.Request{}, fds[1])
	unix.Close(fds[1])
	if err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	as, err := p.adopt(proc, fds[0])
	if err != nil {
		return nil, err
	}
	if _, err := as.syscall(unix.SYS_MMAP, scratch, scratchSize, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE, ^uint64(0), 0); err != nil {
		as.Release()
		return nil, fmt.Errorf("mapping the stub's scratch page: %w", err)
	}
	return as, nil
}

// adopt seizes the only thread of a new stub process, which waits in
// ptrace_wait, and makes the process an address space that owns its pidfd
// and ctl. On failure it kills the process and closes both.
func (p *Platform) adopt(proc stub.Process, ctl int) (*addressSpace, error) {
	as := &addressSpace{p: p, proc: proc, pid: proc.Pid, pidfd: proc.Pidfd, ctl: ctl, threads: make(map[*tracer]struct{})}
	as.ProcessMemory = platform.ProcessMemory{Holder: as, PID: proc.Pid, Reserved: reserved, Gone: errGone}
	t, err := startTracer(proc.Pid, proc.Pid, p.site())
	if err != nil {
		as.Release()
		return nil, err
	}
	t.stalled = as.reapIfDying
	as.control = t
	return as, nil
}

// reapIfDying reaps the application threads once the stub process is
// exiting; a remote syscall that takes long calls it (tracer.stalled).
//
// The kernel does not report a group leader's exit, even to its tracer,
// until every other thread of its process is reaped, and the control
// thread is the leader. An application thread is reaped only by its own
// tracer's wait, which runs only within a job, and a thread whose task is
// in a syscall that the sentry serves has none: when the process is
// killed (the forkserver died as the sandbox ended, a host kill) while the
// control thread runs a remote syscall for such a task, say the remote
// clone of its fork, the control tracer's wait would block for good, and
// with it the task, its Release and the sandbox's exit.
//
// The process is exiting once its leader has released its memory, which
// process_vm_readv reports as ESRCH (the process is not reaped before
// Release, so the pid is still its own). The leader exits only with its
// whole process (the control thread never calls exit), whose threads then
// exit too and make no more stops: reaping them takes nothing from their
// tracers.
func (as *addressSpace) reapIfDying() {
	var b [1]byte
	if _, err := platform.ReadProcessMemory(as.pid, platform.Range{}, b[:], scratch); !errors.Is(err, unix.ESRCH) {
		return
	}
	as.threadsMu.Lock()
	threads := make([]*tracer, 0, len(as.threads))
	for t := range as.threads {
		threads = append(threads, t)
	}
	as.threadsMu.Unlock()
	for _, t := range threads {
		t.reapKilled()
	}
}

// PeakResident implements platform.AddressSpace: the stub process's
// high-water mark, read while the process is surely still the stub
// (Enter), not another that took its PID.
func (as *addressSpace) PeakResident() (uint64, error) {
	if !as.Enter() {
		return 0, errGone
	}
	defer as.Leave()
	return platform.ProcessPeakResident(as.pid)
}

// Enter takes the read side of use unless the address space is released
// (platform.InUse).
func (as *addressSpace) Enter() bool {
	as.use.RLock()
	if as.released.Load() {
		as.use.RUnlock()
		return false
	}
	return true
}

// Leave ends a use Enter began (platform.InUse).
func (as *addressSpace) Leave() { as.use.RUnlock() }

// syscall runs a remote syscall in the control thread.
func (as *addressSpace) syscall(nr uintptr, args ...uint64) (uintptr, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.syscallLocked(nr, args...)
}

func (as *addressSpace) syscallLocked(nr uintptr, args ...uint64) (uintptr, error) {
	var ret uintptr
	var err error
	if !as.control.do(func() { ret, err = as.control.syscall(nr, args...) }) {
		return 0, errGone
	}
	return ret, err
}

// Mmap implements platform.AddressSpace.
func (as *addressSpace) Mmap(addr, length uintptr, prot, flags int, f *os.File, off int64) (uintptr, error) {
	if err := platform.CheckMmap(reserved, addr, length, flags); err != nil {
		return 0, err
	}
	if !as.Enter() {
		return 0, errGone
	}
	defer as.Leave()
	as.mu.Lock()
	defer as.mu.Unlock()
	fd := ^uint64(0)
	if f != nil {
		remote, err := as.passFD(int(f.Fd()))
		runtime.KeepAlive(f)
		if err != nil {
			return 0, err
		}
		defer as.syscallLocked(unix.SYS_CLOSE, uint64(remote))
		fd = uint64(remote)
	}
	got, err := as.syscallLocked(unix.SYS_MMAP, uint64(addr), uint64(length), uint64(prot), uint64(flags), fd, uint64(off))
	if err == nil && reserved.Overlaps(got, length) {
		// A hint the host honoured inside the reserved range.
		as.syscallLocked(unix.SYS_MUNMAP, uint64(got), uint64(length))
		return 0, unix.ENOMEM
	}
	return got, err
}

// Munmap implements platform.AddressSpace.
func (as *addressSpace) Munmap(addr, length uintptr) error {
	if err := platform.CheckMunmap(reserved, addr, length); err != nil {
		return err
	}
	if !as.Enter() {
		return errGone
	}
	defer as.Leave()
	_, err := as.syscall(unix.SYS_MUNMAP, uint64(addr), uint64(length))
	return err
}

// Mprotect implements platform.AddressSpace.
func (as *addressSpace) Mprotect(addr, length uintptr, prot int) error {
	if err := platform.CheckMprotect(reserved, addr, length); err != nil {
		return err
	}
	if !as.Enter() {
		return errGone
	}
	defer as.Leave()
	_, err := as.syscall(unix.SYS_MPROTECT, uint64(addr), uint64(length), uint64(prot))
	return err
}

// Mremap implements platform.AddressSpace with the host's mremap, run by
// the stub like every other mapping change.
func (as *addressSpace) Mremap(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error) {
	if err := platform.CheckMremap(reserved, old, oldLen, newLen, flags, newAddr); err != nil {
		return 0, err
	}
	return as.remote(unix.SYS_MREMAP, uint64(old), uint64(oldLen), uint64(newLen), uint64(flags), uint64(newAddr))
}

// remote runs a remote syscall unless the address space is released.
func (as *addressSpace) remote(nr uintptr, args ...uint64) (uintptr, error) {
	if !as.Enter() {
		return 0, errGone
	}
	defer as.Leave()
	return as.syscall(nr, args...)
}

// Populate implements platform.AddressSpace with the host's
// MADV_POPULATE_READ or MADV_POPULATE_WRITE, a remote syscall.
func (as *addressSpace) Populate(addr, length uintptr, write bool) error {
	if err := platform.CheckMprotect(reserved, addr, length); err != nil {
		return err
	}
	_, err := as.remote(unix.SYS_MADVISE, uint64(addr), uint64(length), platform.PopulateAdvice(write))
	return err
}

// Discard implements platform.AddressSpace with the host's
// MADV_DONTNEED, a remote syscall.
func (as *addressSpace) Discard(addr, length uintptr) error {
	if err := platform.CheckMprotect(reserved, addr, length); err != nil {
		return err
	}
	_, err := as.remote(unix.SYS_MADVISE, uint64(addr), uint64(length), unix.MADV_DONTNEED)
	return err
}

// Resident implements platform.AddressSpace.
func (as *addressSpace) Resident(addr uintptr, vec []byte) error {
	return as.pagemap(platform.ResidentPages, addr, vec)
}

// Private implements platform.AddressSpace.
func (as *addressSpace) Private(addr uintptr, vec []byte) error {
	return as.pagemap(platform.PrivatePages, addr, vec)
}

// pagemap runs read, one of the platform's pagemap readers, on the stub
// process while it is surely the stub.
func (as *addressSpace) pagemap(read func(pid int, addr uintptr, vec []byte) error, addr uintptr, vec []byte) error {
	if !as.Enter() {
		return errGone
	}
	defer as.Leave()
	return read(as.pid, addr, vec)
}

// gone turns the ESRCH of a copy from a dead stub into errGone.
func gone(n int, err error) (int, error) {
	if errors.Is(err, unix.ESRCH) {
		return n, errGone
	}
	return n, err
}

// The msghdr of a remote recvmsg in the scratch page (struct msghdr,
// struct iovec and struct cmsghdr of x86-64), and the message's one byte.
const (
	msgOff     = 0  // struct msghdr, 56 bytes
	iovOff     = 64 // struct iovec, 16 bytes
	dataOff    = 80
	pidfdOff   = 96 // where clone(CLONE_PIDFD) stores the child's pidfd
	controlOff = 128
)

// threadCloneFlags start an application thread in ptrace_wait.
const threadCloneFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_THREAD | unix.CLONE_SYSVSEM

// cloneThread starts a stub thread (a remote clone in the control thread)
// and returns its host id. The clone asks for the thread's pidfd, which the
// kernel stores in the scratch page; whatever descriptor the number there
// names, platform.ThreadOfPidfd takes it only if the kernel says it is a
// new thread of the stub. On a kernel that cannot make or describe a
// thread's pidfd (before 6.9 and 6.13), the id comes from the thread's id
// in the stub's PID namespace (platform.HostTID).
func (as *addressSpace) cloneThread() (int, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	nsTID, err := as.syscallLocked(unix.SYS_CLONE, threadCloneFlags|unix.CLONE_PIDFD, 0, scratch+pidfdOff, 0, 0)
	if errors.Is(err, unix.EINVAL) {
		if nsTID, err = as.syscallLocked(unix.SYS_CLONE, threadCloneFlags, 0, 0, 0, 0); err != nil {
			return 0, err
		}
		return as.threadID(int(nsTID), -1)
	}
	if err != nil {
		return 0, err
	}
	var b [4]byte
	if _, err := gone(platform.ReadProcessMemory(as.pid, platform.Range{}, b[:], scratch+pidfdOff)); err != nil {
		return 0, fmt.Errorf("reading the new stub thread's pidfd number: %w", err)
	}
	remote := int(int32(binary.LittleEndian.Uint32(b[:])))
	defer as.syscallLocked(unix.SYS_CLOSE, uint64(remote))
	pidfd, err := unix.PidfdGetfd(as.pidfd, remote, 0)
	if err != nil {
		as.kill() // a thread we cannot name cannot be traced
		return 0, fmt.Errorf("taking the new stub thread's pidfd: %w", err)
	}
	return as.threadID(int(nsTID), pidfd)
}

// threadID is the host id of the thread the stub just started: from its
// pidfd if there is one (closed here), else from nsTID. A thread it cannot
// name cannot be traced: then it ends the stub.
func (as *addressSpace) threadID(nsTID, pidfd int) (tid int, err error) {
	defer func() {
		if err != nil {
			as.kill()
		}
	}()
	as.threadsMu.Lock()
	defer as.threadsMu.Unlock()
	known := func(tid int) bool {
		if tid == as.pid {
			return true
		}
		for t := range as.threads {
			if t.tid == tid {
				return true
			}
		}
		return false
	}
	err = platform.ErrNoThreadInfo
	if pidfd >= 0 {
		tid, err = platform.ThreadOfPidfd(pidfd, as.pid, known)
	}
	if errors.Is(err, platform.ErrNoThreadInfo) {
		tid, err = platform.HostTID(as.pid, nsTID, known)
	}
	return tid, err
}

// passFD sends fd to the stub and receives it there with a remote recvmsg;
// it returns the stub's descriptor number, which the caller closes. The
// caller holds as.mu, so the message received is the one sent.
func (as *addressSpace) passFD(fd int) (int, error) {
	if err := unix.Sendmsg(as.ctl, []byte{0}, unix.UnixRights(fd), nil, unix.MSG_DONTWAIT); err != nil {
		return 0, fmt.Errorf("sending a descriptor to the stub: %w", err)
	}
	space := unix.CmsgSpace(4)
	hdr := make([]byte, controlOff)
	copy(hdr[msgOff:iovOff], abi.Encode(abi.MsgHdr{Iov: scratch + iovOff, IovLen: 1, Control: scratch + controlOff, ControlLen: uint64(space)}))
	copy(hdr[iovOff:dataOff], abi.Encode(abi.Iovec{Base: scratch + dataOff, Len: 1}))
	if _, err := as.writeScratch(hdr); err != nil {
		as.kill()
		return 0, err
	}
	flags := uint64(unix.MSG_CMSG_CLOEXEC | unix.MSG_DONTWAIT)
	if _, err := as.syscallLocked(unix.SYS_RECVMSG, stub.CtlFD, scratch+msgOff, flags); err != nil {
		// The message may still be queued, out of step with the next one:
		// the stub cannot be trusted with another descriptor.
		as.kill()
		return 0, fmt.Errorf("receiving a descriptor in the stub: %w", err)
	}
	cmsg := make([]byte, space)
	if _, err := gone(platform.ReadProcessMemory(as.pid, platform.Range{}, cmsg, scratch+controlOff)); err != nil {
		return 0, fmt.Errorf("reading the stub's control message: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(cmsg)
	var fds []int
	if err == nil && len(msgs) == 1 && len(msgs[0].Data) == 4 {
		fds, err = unix.ParseUnixRights(&msgs[0])
	}
	if err != nil || len(fds) != 1 {
		// Only application code, racing with us, writes the page.
		return 0, fmt.Errorf("the stub's control message was overwritten: %w", unix.EBADMSG)
	}
	return fds[0], nil
}

func (as *addressSpace) writeScratch(b []byte) (int, error) {
	n, err := gone(platform.WriteProcessMemory(as.pid, platform.Range{}, b, scratch))
	if err != nil {
		return n, fmt.Errorf("writing the stub's scratch page: %w", err)
	}
	return n, nil
}

// Fork implements platform.AddressSpace: a remote clone(CLONE_PARENT|
// CLONE_PIDFD) of the control thread, after handing the stub the child's
// control socket, which the child then makes its fd 3.
func (as *addressSpace) Fork() (platform.AddressSpace, error) {
	if !as.Enter() {
		return nil, errGone
	}
	defer as.Leave()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("stub control socket: %w", err)
	}
	defer unix.Close(fds[1])
	proc, ctl, err := as.forkProcess(fds[1])
	if err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	child, err := as.p.adopt(proc, fds[0])
	if err != nil {
		return nil, err
	}
	if err := child.setUpForked(ctl); err != nil {
		child.Release()
		return nil, err
	}
	return child, nil
}

// forkProcess passes sock to the stub and forks it; it returns the child,
// known by the pidfd the kernel made for the clone, and sock's number in
// the child.
func (as *addressSpace) forkProcess(sock int) (stub.Process, int, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	ctl, err := as.passFD(sock)
	if err != nil {
		return stub.Process{}, 0, err
	}
	defer as.syscallLocked(unix.SYS_CLOSE, uint64(ctl))
	if _, err := as.syscallLocked(unix.SYS_CLONE, uint64(stub.ForkCloneFlags), 0, scratch+pidfdOff, 0, 0); err != nil {
		return stub.Process{}, 0, fmt.Errorf("forking the stub process: %w", err)
	}
	// The number the kernel stored is in a page the application can write:
	// whatever descriptor it names, Adopt takes it only if the kernel says
	// it is a pidfd of a new child of the forkserver.
	var b [4]byte
	if _, err := gone(platform.ReadProcessMemory(as.pid, platform.Range{}, b[:], scratch+pidfdOff)); err != nil {
		return stub.Process{}, 0, fmt.Errorf("reading the forked stub's pidfd number: %w", err)
	}
	remote := int(int32(binary.LittleEndian.Uint32(b[:])))
	defer as.syscallLocked(unix.SYS_CLOSE, uint64(remote))
	pidfd, err := unix.PidfdGetfd(as.pidfd, remote, 0)
	if err != nil {
		return stub.Process{}, 0, fmt.Errorf("taking the forked stub's pidfd: %w", err)
	}
	proc, err := as.p.fs.Adopt(pidfd)
	if err != nil {
		as.kill() // its child runs unsupervised: end both
		return stub.Process{}, 0, err
	}
	return proc, ctl, nil
}

// setUpForked makes ctl the child's control socket and has the child die
// with the forkserver, as a fresh stub does (fork clears the parent-death
// signal); Adopt checked that the forkserver is its parent.
func (as *addressSpace) setUpForked(ctl int) error {
	for _, call := range [][]uint64{
		{unix.SYS_DUP3, uint64(ctl), stub.CtlFD, 0},
		{unix.SYS_CLOSE, uint64(ctl)},
		{unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uint64(unix.SIGKILL)},
	} {
		if _, err := as.syscall(uintptr(call[0]), call[1:]...); err != nil {
			return fmt.Errorf("setting up the forked stub (syscall %d): %w", call[0], err)
		}
	}
	return nil
}

// newThread starts an application thread: a remote clone in the control
// thread, which the new thread leaves in ptrace_wait, where its own tracer
// seizes it.
func (as *addressSpace) newThread() (*tracer, error) {
	tid, err := as.cloneThread()
	if err != nil {
		return nil, fmt.Errorf("starting a stub thread: %w", err)
	}
	t, err := startTracer(as.pid, tid, as.p.site())
	if err != nil {
		as.kill() // an untraced thread must not outlive its tracer's failure
		return nil, err
	}
	as.threadsMu.Lock()
	defer as.threadsMu.Unlock()
	as.threads[t] = struct{}{}
	return t, nil
}

// forget drops an application thread that has exited.
func (as *addressSpace) forget(t *tracer) {
	as.threadsMu.Lock()
	defer as.threadsMu.Unlock()
	delete(as.threads, t)
}

// kill ends the stub process.
func (as *addressSpace) kill() {
	unix.PidfdSendSignal(as.pidfd, unix.SIGKILL, nil, 0)
}

// Reserved implements platform.AddressSpace.
func (as *addressSpace) Reserved() []platform.Range { return []platform.Range{reserved} }

// CPUTime implements platform.AddressSpace: the stub process runs every
// thread of the address space.
func (as *addressSpace) CPUTime() (user, sys time.Duration, err error) {
	if !as.Enter() {
		return 0, 0, errGone
	}
	defer as.Leave()
	user, sys, err = platform.ProcessCPUTime(as.pid)
	if err != nil {
		return 0, 0, err
	}
	user, sys = as.cpu.Monotonic(user, sys)
	return user, sys, nil
}

// VDSO implements platform.AddressSpace.
func (as *addressSpace) VDSO() platform.Range {
	return platform.Range{Start: as.p.fs.VDSO.Start, End: as.p.fs.VDSO.End}
}

// VDSOImage implements platform.AddressSpace.
func (as *addressSpace) VDSOImage() []byte { return as.p.fs.VDSOImage }

// VVAR implements platform.AddressSpace.
func (as *addressSpace) VVAR() platform.Range {
	return platform.Range{Start: as.p.fs.VVAR.Start, End: as.p.fs.VVAR.End}
}

// Release implements platform.AddressSpace. It kills the stub process, has
// every tracer reap its thread (the control thread, the group leader, last:
// it is reaped after the others), and waits until the process is gone.
func (as *addressSpace) Release() {
	if as.released.Swap(true) {
		return
	}
	as.kill()
	as.use.Lock()
	defer as.use.Unlock()
	as.threadsMu.Lock()
	threads := make([]*tracer, 0, len(as.threads))
	for t := range as.threads {
		threads = append(threads, t)
	}
	clear(as.threads)
	as.threadsMu.Unlock()
	for _, t := range threads {
		t.do(t.reap)
	}
	if as.control != nil {
		as.control.do(as.control.reap)
	}
	fds := []unix.PollFd{{Fd: int32(as.pidfd), Events: unix.POLLIN}}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if n, err := unix.Poll(fds, 100); n > 0 || (err != nil && err != unix.EINTR) {
			break
		}
	}
	as.p.fs.Reap(as.proc)
	unix.Close(as.ctl)
	unix.Close(as.pidfd)
}
