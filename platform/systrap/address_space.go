package systrap

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

// reserved is what the application may not touch: the stub image, the
// shared region, and the gap between them.
var reserved = platform.Range{Start: stub.ImageBase, End: sysmsg.RegionEnd}

// trapTable is the other reserved range: the trap table of patched syscall
// sites (patch.go), which must lie below 2 GiB.
var trapTable = platform.Range{Start: sysmsg.PatchTable, End: sysmsg.PatchTable + sysmsg.PatchTableSize}

// checkReserved runs a platform.Check* function on both reserved ranges.
func checkReserved(check func(platform.Range) error) error {
	if err := check(reserved); err != nil {
		return err
	}
	return check(trapTable)
}

// errGone is returned when the stub process died under a request.
var errGone = fmt.Errorf("stub process is gone: %w", platform.ErrContextDead)

// addressSpace is one stub process.
type addressSpace struct {
	// ProcessMemory copies application memory; like every use of the
	// pid, a copy holds use: the pid is the stub's until reap, which
	// takes use, asks the forkserver to reap the process and so lets the
	// pid be reused.
	platform.ProcessMemory

	p     *Platform
	sh    *sysmsg.Shared
	ctl   int // the sentry's end of the stub's control socket
	proc  stub.Process
	pid   int // proc.Pid: proved by the kernel, and not reaped before reap
	pidfd int // proc.Pidfd
	// cpu keeps the process's CPU times monotonic across reads, and
	// across a renewal (the same host process).
	cpu *platform.CPUTimes
	// sampleCPU is set once a thread's CPU time of the process was asked
	// for: from then on each binding of a context to a stub thread reads
	// the thread's CPU time where it begins and ends (threadcpu.go).
	sampleCPU atomic.Bool

	// use is held for reading while shared memory is in use, and for
	// writing by Release, which unmaps it.
	use      sync.RWMutex
	released atomic.Bool
	dead     atomic.Bool

	// layout is held for reading by mapping changes and for writing by a
	// site's patch, which changes a host mapping's protection and back.
	layout sync.RWMutex
	patch  patcher

	// mu serializes syscall-thread requests with the messages they send
	// and answer with on ctl; guards seq. A forked child's (and its use,
	// for reading) is taken by Fork and released by the goroutine that
	// reads the answer to its first request (awaitFirstThread).
	mu  sync.Mutex
	seq uint32

	// starting, if not nil, is closed once the thread a forked child's
	// first context takes, started in the background (Fork), is pooled
	// or failed. Set before the address space is returned; read-only
	// after.
	starting chan struct{}

	poolMu  sync.Mutex     // guards pool, filling and binds (pool.go)
	pool    []pooledThread // stub threads no context is bound to
	filling bool           // fillPool is starting threads
	binds   int            // contexts bound here so far

	slotMu sync.Mutex              // guards slots and tids
	slots  [sysmsg.MaxThreads]bool // thread slots in use
	tids   map[int]struct{}        // host ids of the stub threads of bound contexts

	// renewedFrom is the address space this one took the process over
	// from (Renew), whose bound context moves here at its next Switch.
	// Set before the address space is returned; cleared only by this
	// one's own Renew, under use's write side (Switch reads it under the
	// read side).
	renewedFrom *addressSpace

	// resume is the mapping change left to the stopped thread's resume
	// (resume_call.go).
	resume resumeCalls
}

var _ platform.AddressSpace = (*addressSpace)(nil)

// exited reports whether the stub process is gone, polling its pidfd.
func (as *addressSpace) exited() bool {
	if as.dead.Load() {
		return true
	}
	fds := []unix.PollFd{{Fd: int32(as.pidfd), Events: unix.POLLIN}}
	if n, _ := unix.Poll(fds, 0); n > 0 {
		as.dead.Store(true)
	}
	return as.dead.Load()
}

// kill ends the stub process: for Release, and for a stub that lied.
func (as *addressSpace) kill() {
	as.dead.Store(true)
	unix.PidfdSendSignal(as.pidfd, unix.SIGKILL, nil, 0)
}

// call runs one syscall-thread request, first sending fds over the control
// socket when the request needs them. A failed host syscall returns its
// unix.Errno.
func (as *addressSpace) call(kind uint32, sysno uintptr, args [6]uint64, fds ...int) (uintptr, error) {
	ret, _, err := as.callFD(kind, sysno, args, false, fds...)
	return ret, err
}

// callFD is call, and with recv it also reads the descriptor the syscall
// thread sent with its answer (-1 if it sent none) before another request
// can make it send one.
func (as *addressSpace) callFD(kind uint32, sysno uintptr, args [6]uint64, recv bool, fds ...int) (uintptr, int, error) {
	return answer(as.request(func(seq uint32) { as.sh.Post(seq, kind, uint64(sysno), args) }, recv, fds...))
}

// awaitPosted is callFD for the request written into the region before the
// stub started (postFirstThread), the address space's first, seq 1. The
// caller took mu before any other request could (awaitFirstThread);
// awaitPosted releases it.
func (as *addressSpace) awaitPosted(recv bool) (uintptr, int, error) {
	defer as.mu.Unlock()
	return answer(as.requestLocked(func(uint32) {}, recv))
}

// answer is a request's result as callFD returns it.
func answer(r sysmsg.Response, fd int, err error) (uintptr, int, error) {
	if err != nil {
		return 0, -1, err
	}
	if errno, failed := r.Failed(); failed {
		return 0, -1, errno
	}
	return uintptr(r.Ret), fd, nil
}

// request sends fds (if any), publishes a request with post, waits for
// its answer and returns a copy of it; with recv, unless the answer is an
// errno, it also reads the descriptor the syscall thread sent with it (-1
// if none) before another request can make it send one.
func (as *addressSpace) request(post func(seq uint32), recv bool, fds ...int) (sysmsg.Response, int, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	if err := as.flushLocked(); err != nil {
		return sysmsg.Response{}, -1, err
	}
	return as.requestLocked(post, recv, fds...)
}

// requestLocked is request with mu held.
func (as *addressSpace) requestLocked(post func(seq uint32), recv bool, fds ...int) (sysmsg.Response, int, error) {
	// Only the flag, not the pidfd: polling it is a host syscall per
	// request. A stub that died without our kill is found by the wait
	// below, which polls the pidfd between its sleeps.
	if as.dead.Load() {
		return sysmsg.Response{}, -1, errGone
	}
	if len(fds) > 0 {
		if err := unix.Sendmsg(as.ctl, []byte{0}, unix.UnixRights(fds...), nil, 0); err != nil {
			return sysmsg.Response{}, -1, fmt.Errorf("sending descriptors to the stub: %w", err)
		}
	}
	as.seq = sysmsg.NextSeq(as.seq)
	post(as.seq)
	seq, posted := as.seq, time.Now()
	stop := func() bool { return as.exited() || as.answerLost(seq, posted) }
	if !as.sh.WaitResponse(seq, as.p.spin.Limit(int(as.p.running.Load())), stop) {
		return sysmsg.Response{}, -1, errGone
	}
	r := *as.sh.Response()
	fd := -1
	if _, failed := r.Failed(); recv && !failed {
		var err error
		if fd, err = stub.RecvFD(as.ctl); err != nil && !errors.Is(err, unix.EAGAIN) {
			as.kill() // out of step
			return sysmsg.Response{}, -1, fmt.Errorf("reading the stub's descriptor: %w", err)
		}
	}
	return r, fd, nil
}

// maxRequest bounds how long a syscall-thread request may go unanswered.
// The slowest real ones (an mmap with MAP_POPULATE of most of the host's
// memory, the fork of a process that maps it) take seconds.
const maxRequest = 30 * time.Second

// answerLost reports whether the answer to request seq will never be seen,
// and then kills the stub: application code can overwrite the answer's seq
// in the response page as soon as the syscall thread has written it, over
// and over, and the sentry would wait forever for a value it never gets to
// read, in a task that nothing could then kill. The kernel tells the truth:
// a syscall thread that sleeps on the control page while it still holds
// seq (stub_amd64.S, .Lsleep) has answered seq and waits for the next one.
// A thread that has not answered for maxRequest is not trusted either.
// Only called between sleeps, so the /proc read is rare.
func (as *addressSpace) answerLost(seq uint32, posted time.Time) bool {
	waited := time.Since(posted)
	if waited < 50*time.Millisecond || (waited < maxRequest && !as.awaitsRequestAfter(seq)) {
		return false
	}
	// The thread wrote the answer before it went to sleep: if the answer
	// is there now, it was not lost, only written after the caller looked.
	if as.sh.Answered(seq) {
		return false
	}
	as.kill()
	return true
}

// giveUp kills the stub and returns true once deadline has passed.
func (as *addressSpace) giveUp(deadline time.Time) bool {
	if time.Now().Before(deadline) {
		return false
	}
	as.kill()
	return true
}

// awaitsRequestAfter reports whether the syscall thread (the stub's main
// thread) sleeps in futex(&control->seq, FUTEX_WAIT, seq), as the kernel
// shows it in /proc/pid/syscall ("nr arg0 arg1 arg2 ...", or "running").
func (as *addressSpace) awaitsRequestAfter(seq uint32) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", as.pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return false
	}
	var v [4]uint64
	for i := range v {
		if v[i], err = strconv.ParseUint(f[i], 0, 64); err != nil {
			return false
		}
	}
	return v[0] == unix.SYS_FUTEX && v[1] == sysmsg.Region && v[2] == linux.FUTEX_WAIT && v[3] == uint64(seq)
}

func (as *addressSpace) syscall(nr uintptr, args ...uint64) (uintptr, error) {
	var a [6]uint64
	copy(a[:], args)
	return as.call(sysmsg.ReqSyscall, nr, a)
}

// Mmap implements platform.AddressSpace.
func (as *addressSpace) Mmap(addr, length uintptr, prot, flags int, f *os.File, off int64) (uintptr, error) {
	if err := checkReserved(func(r platform.Range) error { return platform.CheckMmap(r, addr, length, flags) }); err != nil {
		return 0, err
	}
	if !as.Enter() {
		return 0, errGone
	}
	defer as.Leave()
	as.layout.RLock()
	defer as.layout.RUnlock()
	args := [6]uint64{uint64(addr), uint64(length), uint64(prot), uint64(flags), ^uint64(0), uint64(off)}
	if f == nil && as.atResume(unix.SYS_MMAP, args) || f != nil && as.atResumeFile(args, f) {
		return addr, nil
	}
	var got uintptr
	var err error
	if f == nil {
		got, err = as.call(sysmsg.ReqSyscall, unix.SYS_MMAP, args)
	} else {
		got, err = as.call(sysmsg.ReqMmapFD, 0, args, int(f.Fd()))
		runtime.KeepAlive(f)
	}
	if err != nil {
		return 0, err
	}
	return got, as.checkMapped(got, addr, length, flags)
}

// MapBatch implements platform.Batcher: up to sysmsg.MaxBatch calls and
// sysmsg.BatchMaxFDs files per request to the syscall thread, each call
// checked as Mmap, Munmap and Mprotect check theirs. What the stub answers
// (how many calls succeeded) is believed as their answers are: a stub that
// lies only makes the sentry's view of its own process wrong.
func (as *addressSpace) MapBatch(ops []platform.MapOp) (int, error) {
	if !as.Enter() {
		return 0, errGone
	}
	defer as.Leave()
	as.layout.RLock()
	defer as.layout.RUnlock()
	done := 0
	for len(ops) > 0 {
		calls, files, err := batchCalls(ops)
		if err != nil {
			return done, err
		}
		n, err := as.batch(calls, files)
		done += n
		if err != nil {
			return done, err
		}
		ops = ops[len(calls):]
	}
	return done, nil
}

// batchCalls turns the first ops, as many as one request takes, into
// calls and the files they map.
func batchCalls(ops []platform.MapOp) ([]sysmsg.Call, []*os.File, error) {
	var calls []sysmsg.Call
	var files []*os.File
	for _, o := range ops {
		if len(calls) == sysmsg.MaxBatch {
			break
		}
		c := sysmsg.Call{Sysno: uint64(o.Sysno), FD: -1}
		var check func(platform.Range) error
		switch o.Sysno {
		case unix.SYS_MMAP:
			if o.Flags&unix.MAP_FIXED == 0 {
				return nil, nil, fmt.Errorf("batched mmap at %#x without MAP_FIXED: %w", o.Addr, unix.EINVAL)
			}
			check = func(r platform.Range) error { return platform.CheckMmap(r, o.Addr, o.Length, o.Flags) }
			c.Args = [6]uint64{uint64(o.Addr), uint64(o.Length), uint64(o.Prot), uint64(o.Flags), ^uint64(0), uint64(o.Off)}
			if o.File != nil {
				i := slices.Index(files, o.File)
				if i < 0 {
					if len(files) == sysmsg.BatchMaxFDs {
						return calls, files, nil
					}
					files = append(files, o.File)
					i = len(files) - 1
				}
				c.FD = int32(i)
			}
		case unix.SYS_MUNMAP:
			check = func(r platform.Range) error { return platform.CheckMunmap(r, o.Addr, o.Length) }
			c.Args = [6]uint64{uint64(o.Addr), uint64(o.Length)}
		case unix.SYS_MPROTECT:
			check = func(r platform.Range) error { return platform.CheckMprotect(r, o.Addr, o.Length) }
			c.Args = [6]uint64{uint64(o.Addr), uint64(o.Length), uint64(o.Prot)}
		default:
			return nil, nil, fmt.Errorf("batched syscall %d: %w", o.Sysno, unix.EINVAL)
		}
		if err := checkReserved(check); err != nil {
			return nil, nil, err
		}
		calls = append(calls, c)
	}
	return calls, files, nil
}

// batch runs one batch request: calls, mapping files.
func (as *addressSpace) batch(calls []sysmsg.Call, files []*os.File) (int, error) {
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	r, _, err := as.request(func(seq uint32) { as.sh.PostBatch(seq, calls, len(fds)) }, false, fds...)
	runtime.KeepAlive(files)
	if err != nil {
		return 0, err
	}
	done := int(min(r.Done, uint32(len(calls))))
	if errno, failed := r.Failed(); failed {
		return done, errno
	}
	if done < len(calls) {
		as.kill() // a stub that stops short without an error is out of step
		return done, errGone
	}
	return done, nil
}

// checkMapped checks the address the syscall thread says mmap returned,
// which the application can forge: a stub that lies is killed.
func (as *addressSpace) checkMapped(got, addr, length uintptr, flags int) error {
	fixed := flags&(unix.MAP_FIXED|unix.MAP_FIXED_NOREPLACE) != 0
	if got%pageSize != 0 || got+length < got || got+length > platform.MaxUserAddress ||
		reserved.Overlaps(got, length) || trapTable.Overlaps(got, length) || (fixed && got != addr) {
		as.kill()
		return fmt.Errorf("stub reported mmap at %#x for %#x bytes: %w", got, length, errGone)
	}
	return nil
}

const pageSize = abi.PageSize

// layoutCall runs a mapping change, host syscall nr, in the stub once
// check (a platform.Check* function) lets it near both reserved ranges,
// holding use and the layout for reading; or leaves it to the stopped
// thread's resume (resume_call.go).
func (as *addressSpace) layoutCall(check func(platform.Range) error, nr uintptr, args ...uint64) (uintptr, error) {
	if err := checkReserved(check); err != nil {
		return 0, err
	}
	if !as.Enter() {
		return 0, errGone
	}
	defer as.Leave()
	as.layout.RLock()
	defer as.layout.RUnlock()
	var a [6]uint64
	copy(a[:], args)
	if as.atResume(nr, a) {
		return 0, nil
	}
	return as.syscall(nr, args...)
}

// Munmap implements platform.AddressSpace.
func (as *addressSpace) Munmap(addr, length uintptr) error {
	check := func(r platform.Range) error { return platform.CheckMunmap(r, addr, length) }
	_, err := as.layoutCall(check, unix.SYS_MUNMAP, uint64(addr), uint64(length))
	return err
}

// Mprotect implements platform.AddressSpace.
func (as *addressSpace) Mprotect(addr, length uintptr, prot int) error {
	check := func(r platform.Range) error { return platform.CheckMprotect(r, addr, length) }
	_, err := as.layoutCall(check, unix.SYS_MPROTECT, uint64(addr), uint64(length), uint64(prot))
	return err
}

// Mremap implements platform.AddressSpace with the host's mremap, run by
// the stub like every other mapping change.
func (as *addressSpace) Mremap(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error) {
	check := func(r platform.Range) error { return platform.CheckMremap(r, old, oldLen, newLen, flags, newAddr) }
	got, err := as.layoutCall(check, unix.SYS_MREMAP, uint64(old), uint64(oldLen), uint64(newLen), uint64(flags), uint64(newAddr))
	if err != nil {
		return 0, err
	}
	switch {
	case flags&unix.MREMAP_FIXED != 0:
		return got, as.checkMapped(got, newAddr, newLen, unix.MAP_FIXED)
	case flags&(unix.MREMAP_MAYMOVE|unix.MREMAP_DONTUNMAP) != 0:
		return got, as.checkMapped(got, 0, newLen, 0)
	default:
		return got, as.checkMapped(got, old, newLen, unix.MAP_FIXED)
	}
}

// Populate implements platform.AddressSpace with the host's
// MADV_POPULATE_READ or MADV_POPULATE_WRITE, run by the stub.
func (as *addressSpace) Populate(addr, length uintptr, write bool) error {
	check := func(r platform.Range) error { return platform.CheckMprotect(r, addr, length) }
	_, err := as.layoutCall(check, unix.SYS_MADVISE, uint64(addr), uint64(length), platform.PopulateAdvice(write))
	return err
}

// Discard implements platform.AddressSpace with the host's
// MADV_DONTNEED, run by the stub: one request for the whole range.
//
// A range of at most discardScan pages none of which is in memory or
// swapped out has nothing to drop, and the sentry learns that from the
// stub's pagemap (three host calls of its own) instead of a request to the
// syscall thread: glibc discards an exiting thread's unused stack, below
// its last frame, which is mostly never touched (a thread create and join
// spent 86us of its 390us in that request on the 2-core VM). The answer
// holds at the moment of the read, which is when the discard takes effect:
// a page another thread touches later is written after it.
func (as *addressSpace) Discard(addr, length uintptr) error {
	check := func(r platform.Range) error { return platform.CheckMprotect(r, addr, length) }
	if err := checkReserved(check); err != nil {
		return err
	}
	if !as.Enter() {
		return errGone
	}
	defer as.Leave()
	if err := as.flushEntered(); err != nil {
		return err
	}
	// Under use, the pid is the stub's: it is not reaped before Release.
	if length/pageSize <= discardScan && platform.NoneInMemory(as.pid, addr, length) {
		return nil
	}
	as.layout.RLock()
	defer as.layout.RUnlock()
	_, err := as.syscall(unix.SYS_MADVISE, uint64(addr), uint64(length), unix.MADV_DONTNEED)
	return err
}

// discardScan is the most pages Discard checks itself (64 MiB, 128 KiB of
// pagemap): a thread's stack is 8 MiB.
const discardScan = 1 << 14

// Resident implements platform.AddressSpace. As for ReadAt, a dead stub
// is caught by the host: its pagemap is gone.
func (as *addressSpace) Resident(addr uintptr, vec []byte) error {
	return as.pagemap(platform.ResidentPages, addr, vec)
}

// Private implements platform.AddressSpace, as Resident.
func (as *addressSpace) Private(addr uintptr, vec []byte) error {
	return as.pagemap(platform.PrivatePages, addr, vec)
}

// pagemap runs read, one of the platform's pagemap readers, on the stub
// process once the changes left to a resume are made.
func (as *addressSpace) pagemap(read func(pid int, addr uintptr, vec []byte) error, addr uintptr, vec []byte) error {
	if !as.Enter() {
		return errGone
	}
	defer as.Leave()
	if err := as.flushEntered(); err != nil {
		return err
	}
	return read(as.pid, addr, vec)
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

// Fork implements platform.AddressSpace: the syscall thread forks the stub
// process (copy-on-write, as the host kernel does it), and the child maps a
// fresh shared region of its own. Who the child is comes from the pidfd the
// kernel made for the clone, checked by the forkserver (stub.Adopt), never
// from what the stub reports. The child's first request, its first
// application thread, is in that region before the fork (postFirstThread):
// its syscall thread starts the thread as soon as it serves, while the
// sentry finishes the fork.
func (as *addressSpace) Fork() (platform.AddressSpace, error) {
	if !as.Enter() {
		return nil, errGone
	}
	defer as.Leave()
	// The child inherits the patched code: it gets the same trap table
	// (its own memfd, which its syscall thread maps there) and state.
	as.patch.mu.Lock()
	defer as.patch.mu.Unlock()
	k, err := as.p.takeKit()
	if err != nil {
		return nil, err
	}
	child, err := as.p.newAddressSpace(k, func(ctl int, sh *sysmsg.Shared) (stub.Process, error) {
		n := as.patch.tableLen()
		copy(sh.PatchTable()[:n], as.sh.PatchTable()[:n])
		sh.Control().FpxSw = as.sh.Control().FpxSw
		postFirstThread(sh)
		_, pidfd, err := as.callFD(sysmsg.ReqFork, 0, [6]uint64{}, true, ctl, sh.ROFD, sh.RWFD)
		if err != nil {
			return stub.Process{}, fmt.Errorf("forking stub process: %w", err)
		}
		if pidfd < 0 {
			as.kill() // a stub that forks without a pidfd is out of step
			return stub.Process{}, errors.New("the stub forked without sending a pidfd")
		}
		proc, err := as.p.fs.Adopt(pidfd)
		if err != nil {
			as.kill() // its child would run unsupervised: end both
		}
		return proc, err
	})
	if err != nil {
		return nil, err
	}
	child.patch.copyFrom(&as.patch)
	child.awaitFirstThread()
	return child, nil
}

// Renew implements platform.Renewer for an execve that keeps the stub
// process. Only a process that has had one thread is renewed: its one
// stub thread is the execing task's, stopped in its handler, and no other
// host thread of the process exists (the syscall thread runs only the
// sentry's requests). The old program's patched sites go with its code;
// its traps are cleared from the table as an exec into a new process
// would start without them. What the new program inherits of the old
// one's host process is what the sentry made there: the stub, its
// region, the vDSO (which no application can change: the sentry refuses
// to map, unmap or protect it, and the one process that had its clocks
// rewritten, TrapVDSOClocks, is never renewed) and the thread's filter.
// The sentry has no setuid execve, so the new program never holds
// credentials its predecessor could not have had by its own execve.
func (as *addressSpace) Renew() (platform.AddressSpace, error) {
	// The write side waits for copies in flight (another process reading
	// this one's memory), which must not see the new program's.
	as.use.Lock()
	defer as.use.Unlock()
	if as.released.Load() || as.dead.Load() {
		return nil, errGone
	}
	if !as.Renewable() {
		return nil, errors.New("the stub process has had more than one thread")
	}
	n := &addressSpace{p: as.p, sh: as.sh, ctl: as.ctl, proc: as.proc, pid: as.pid, pidfd: as.pidfd,
		seq: as.seq, binds: 1, renewedFrom: as, cpu: as.cpu}
	n.ProcessMemory = platform.ProcessMemory{Holder: n, PID: as.pid, Reserved: reserved, Also: trapTable, Gone: errGone}
	n.sampleCPU.Store(as.sampleCPU.Load()) // the same threads
	as.slotMu.Lock()
	n.slots, n.tids = as.slots, as.tids
	as.tids = nil
	as.slotMu.Unlock()
	as.patch.mu.Lock()
	clear(as.sh.PatchTable()[:as.patch.tableLen()])
	as.patch.mu.Unlock()
	as.p.initPatchTable(n.sh)
	// From now on every use of as fails (Enter), and its Release does
	// nothing: the process is n's. No context can switch into as any
	// more, so its own renewedFrom is not read again: dropping it keeps a
	// chain of execs in place from holding every earlier address space.
	as.released.Store(true)
	as.renewedFrom = nil
	return n, nil
}

// Renewable implements platform.Renewer.
func (as *addressSpace) Renewable() bool {
	as.poolMu.Lock()
	single := as.binds == 1 && len(as.pool) == 0 && !as.filling
	as.poolMu.Unlock()
	return single && (as.starting == nil || closed(as.starting)) && !as.released.Load()
}

// closed reports whether c is closed.
func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Reserved implements platform.AddressSpace.
func (as *addressSpace) Reserved() []platform.Range { return []platform.Range{reserved, trapTable} }

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

// Release implements platform.AddressSpace. The address space is dead at
// once (every request and copy fails from now on); the kill, the wake-ups
// of whoever waits on its shared region, the reaping and the unmapping of
// the region follow in the background (Platform.Close waits for them):
// they are host calls, 100-600us on the 2-core VM, which an execve or an
// exit would otherwise spend before the application sees its result. A
// stub that runs on for those microseconds runs only as the sentry left
// it: every thread stopped in its handler, or one the application made
// unsupervised, which traps into a handler nobody answers.
func (as *addressSpace) Release() {
	if as.released.Swap(true) {
		return
	}
	as.p.dyingAdd(as)
	as.dead.Store(true)
	as.p.inBackground(func() {
		as.kill()
		as.slotMu.Lock()
		slots := as.slots
		as.slotMu.Unlock()
		for i, used := range slots {
			if used {
				sysmsg.Wake(&as.sh.Msg(i).State)
			}
		}
		sysmsg.Wake(&as.sh.Response().Seq)
		as.reap()
	})
}

// reap waits for the killed stub process to be gone, then closes its
// descriptors and unmaps the shared region once no Switch uses it.
func (as *addressSpace) reap() {
	as.use.Lock()
	defer as.use.Unlock()
	fds := []unix.PollFd{{Fd: int32(as.pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if n, err := unix.Poll(fds, 100); n > 0 || (err != nil && err != unix.EINTR) {
			break
		}
	}
	as.p.dyingDone(as)
	as.p.fs.Reap(as.proc)
	unix.Close(as.ctl)
	unix.Close(as.pidfd)
	as.sh.Close()
}

func (as *addressSpace) allocSlot() (int, error) {
	as.slotMu.Lock()
	defer as.slotMu.Unlock()
	for i, used := range as.slots {
		if !used {
			as.slots[i] = true
			return i, nil
		}
	}
	return 0, fmt.Errorf("address space has %d threads already: %w", sysmsg.MaxThreads, unix.EAGAIN)
}

func (as *addressSpace) freeSlot(i, tid int) {
	as.slotMu.Lock()
	defer as.slotMu.Unlock()
	as.slots[i] = false
	delete(as.tids, tid)
}

// threadID learns the host id of a thread the stub just started and
// records it: from the kernel, through the thread's pidfd the stub sent
// (platform.ThreadOfPidfd), or, on a kernel that cannot make or describe
// a thread's pidfd, from its id in the stub's PID namespace
// (platform.HostTID).
func (as *addressSpace) threadID(nsTID, pidfd int) (int, error) {
	as.slotMu.Lock()
	defer as.slotMu.Unlock()
	known := func(t int) bool {
		_, ok := as.tids[t]
		return ok || t == as.pid
	}
	id, err := 0, platform.ErrNoThreadInfo
	if pidfd >= 0 {
		id, err = platform.ThreadOfPidfd(pidfd, as.pid, known)
	}
	if errors.Is(err, platform.ErrNoThreadInfo) {
		id, err = platform.HostTID(as.pid, nsTID, known)
	}
	if err != nil {
		return 0, err
	}
	if as.tids == nil {
		as.tids = make(map[int]struct{})
	}
	as.tids[id] = struct{}{}
	return id, nil
}
