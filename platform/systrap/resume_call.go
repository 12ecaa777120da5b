package systrap

import (
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

// A mapping change made by the stopped thread at its resume.
//
// An application's mmap, munmap and mprotect are each a request to the
// stub's syscall thread, which sleeps between requests: on the 2-core VM a
// wake-up of that thread and one of the sentry's, 28-90us, about a dozen
// for each execve of a dynamically linked program. When the process has
// one thread and it is stopped in its signal handler for that very
// syscall, the change can ride on the resume instead: the sentry updates
// its mirror and writes the call into the thread's message
// (sysmsg.Msg.CallNr), and the handler makes it before it returns into the
// application.
//
// Only calls that cannot reach what the stub's own code relies on go this
// way, and the thread's seccomp program allows exactly those at the
// handler's syscall instruction (resumeCallRules): private fixed
// mappings, anonymous or of a file, unmappings, and protection changes to
// PROT_NONE, PROT_READ or PROT_READ|PROT_WRITE, of fewer than
// resumeCallMaxLen bytes from an address in resumeCallRange, which ends
// that far below the stub's image: the image, the shared region and the
// trap table stay out of reach. A file's descriptor goes ahead on the
// control socket (sent under mu, so no request's come between), and the
// handler receives it without waiting, maps it and closes it: the
// program lets it receive on that socket only, map privately any
// descriptor but the socket itself, and close those. What it can receive
// there the syscall thread could too: the files of its own process's
// mappings and, for a fork, its child's control socket and shared-region
// memfds (the child is a copy of it; the read-only memfd is sealed
// against writable mappings, and a private mapping of the other is a
// copy); a message taken from under the syscall thread fails that
// request (EBADMSG), since neither side waits on the socket. Making a
// mapping writable reaches no file the
// application may only read: the host's shared mappings are of
// descriptors open for writing, and a shared mapping of a file the
// application may not write is private on the host (mm.VMA.hostShared),
// where a write stays in the process; no exec is ever added (a file of a
// noexec mount). A thread that jumps there with its own
// arguments does no more than that to its own process, which it could ask
// the sentry for (the sentry's view of the process is then wrong, as after
// a syscall thread taken over: docs/security.md). Anything else that
// touches the address space before the resume (a copy of its memory, any
// request) makes the call first through the syscall thread, so changes
// keep their order. The host refuses such calls only at its limit on a
// process's mappings, so they are made this way only while the process has
// resumeCallSlack fewer than that (the memory manager tells the count:
// platform.ChangeWatcher), a protection made writable only where the
// host maps nothing shared, whose file may refuse it (a memfd's seals
// clear VM_MAYWRITE), and a file mapped only if it is a regular file
// open for reading, on a mount that lets it be executed if the mapping
// is (hostMapsAtResume); if the host refused one anyway, the sentry's
// mirror would be wrong, and the process is killed at the thread's next
// stop (the handler writes the answer into CallRet). Only the signal
// handler's resume makes calls, not a patched site's (stub_amd64.S), so
// the sites of these syscalls are not patched while the process has one
// thread (maybePatch).

// resumeCallMaxLen bounds the length of a call made at a resume: with
// resumeCallRange it keeps every such call below the stub's image.
const resumeCallMaxLen = 1 << 32

// resumeCallRange holds the addresses such a call may start at: above the
// trap table, at least resumeCallMaxLen below the stub's image.
var resumeCallRange = platform.Range{Start: sysmsg.PatchTable + sysmsg.PatchTableSize, End: stub.ImageBase - resumeCallMaxLen}

// resumeCallSlack is how far below the host's limit on a process's
// mappings the application's must be for a call at a resume: the stub's
// own mappings (its image, shared region, trap table, vDSO: about a dozen)
// and the two a split adds, with room to spare.
const resumeCallSlack = 64

// defaultMapLimit is vm.max_map_count's default, for a host whose value
// cannot be read.
const defaultMapLimit = 65530

// hostMapLimit returns the host's vm.max_map_count.
func hostMapLimit() int {
	b, err := os.ReadFile("/proc/sys/vm/max_map_count")
	if err != nil {
		return defaultMapLimit
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return defaultMapLimit
	}
	return n
}

// resumeCallFlags are the mmap flags of a call made at a resume.
var resumeCallFlags = []int{
	unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED,
	unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED | unix.MAP_NORESERVE,
}

// resumeCallFileFlags are the mmap flags of a file's mapping made at a
// resume.
const resumeCallFileFlags = unix.MAP_PRIVATE | unix.MAP_FIXED

// resumeCallable reports whether host syscall nr with args may be made at
// a resume: what resumeCallRules allows (for mmap, of no file).
func resumeCallable(nr uintptr, args [6]uint64) bool {
	addr, length := uintptr(args[0]), uintptr(args[1])
	if addr < resumeCallRange.Start || addr >= resumeCallRange.End || length >= resumeCallMaxLen {
		return false
	}
	switch nr {
	case unix.SYS_MMAP:
		flagsOK := false
		for _, f := range resumeCallFlags {
			flagsOK = flagsOK || args[3] == uint64(f)
		}
		return flagsOK && args[2]&^7 == 0 && args[4] == ^uint64(0) && args[5] == 0
	case unix.SYS_MUNMAP:
		return true
	case unix.SYS_MPROTECT:
		return args[2] == unix.PROT_NONE || args[2] == unix.PROT_READ || args[2] == unix.PROT_READ|unix.PROT_WRITE
	}
	return false
}

// resumeCallableFile reports whether mmap args of a file may be made at a
// resume: what resumeCallRules allows, at an offset the host takes for
// any file (page aligned, far below its largest).
func resumeCallableFile(args [6]uint64) bool {
	addr, length, off := uintptr(args[0]), uintptr(args[1]), args[5]
	return addr >= resumeCallRange.Start && addr < resumeCallRange.End && length < resumeCallMaxLen &&
		args[3] == resumeCallFileFlags && args[2]&^7 == 0 && off%pageSize == 0 && off < 1<<47
}

// hostMapsAtResume reports whether the host will map f privately with
// prot: a regular file (a memfd is one), open for reading, on a mount
// that allows PROT_EXEC if prot has it. The host's answer to a call at a
// resume reaches the sentry only at the next stop, where a refusal ends
// the process, so only a mapping the host cannot refuse goes there.
func hostMapsAtResume(f *os.File, prot int) bool {
	fd := int(f.Fd())
	defer runtime.KeepAlive(f)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_PATH != 0 || fl&unix.O_ACCMODE == unix.O_WRONLY {
		return false
	}
	if prot&unix.PROT_EXEC != 0 {
		var sfs unix.Statfs_t
		if unix.Fstatfs(fd, &sfs) != nil || sfs.Flags&unix.ST_NOEXEC != 0 {
			return false
		}
	}
	return true
}

// resumeCalls is the state of an address space's call at a resume.
type resumeCalls struct {
	// stopped is the slot (plus one) of the process's only thread while
	// it is stopped for a syscall that may change mappings; 0 otherwise.
	stopped atomic.Int32
	// pending is whether call holds a call.
	pending atomic.Bool
	// mappings is the application's number of mappings plus one, as the
	// memory manager last told it (WillChange); 0 until it has.
	mappings atomic.Int64
	// shared is whether the change the memory manager last told of
	// touches memory the host maps shared (WillChange).
	shared atomic.Bool

	mu sync.Mutex // guards call
	// call is the call; FD 0 (not -1) when it maps the descriptor sent
	// ahead on the control socket.
	call sysmsg.Call
}

// resumeCallSyscall reports whether the mapping change of syscall nr may
// be made at the resume that ends it.
func resumeCallSyscall(nr uint64) bool {
	switch nr {
	case unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MPROTECT, unix.SYS_BRK:
		return true
	}
	return false
}

// WillChange implements platform.ChangeWatcher.
func (as *addressSpace) WillChange(c platform.MappingChange) {
	as.resume.mappings.Store(int64(c.Mappings) + 1)
	as.resume.shared.Store(c.Shared)
}

// stoppedFor records, after a stop for syscall nr, that the process's
// only thread (in slot) is stopped in its signal handler and can make the
// syscall's mapping change at its resume.
func (as *addressSpace) stoppedFor(slot int, nr uint64) {
	if resumeCallSyscall(nr) && as.Renewable() {
		as.resume.stopped.Store(int32(slot) + 1)
	}
}

// mayCall reports whether a call may be left to a resume now: a thread is
// stopped for one, and the process is far enough below the host's limit on
// its mappings.
func (as *addressSpace) mayCall() bool {
	r := &as.resume
	if r.stopped.Load() == 0 {
		return false
	}
	n := r.mappings.Load()
	return n != 0 && n-1+resumeCallSlack < int64(as.p.mapLimit)
}

// atResume leaves call nr with args to the stopped thread, if there is
// one and it has none yet, and reports whether it did.
func (as *addressSpace) atResume(nr uintptr, args [6]uint64) bool {
	r := &as.resume
	if !resumeCallable(nr, args) || !as.mayCall() {
		return false
	}
	if nr == unix.SYS_MPROTECT && args[2]&unix.PROT_WRITE != 0 && r.shared.Load() {
		// The host file may refuse it (a memfd's seals): the answer
		// must reach the application.
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped.Load() == 0 || r.pending.Load() {
		return false
	}
	r.call = sysmsg.Call{Sysno: uint64(nr), Args: args, FD: -1}
	r.pending.Store(true)
	return true
}

// atResumeFile is atResume for mmap args of f: f's descriptor goes ahead
// on the control socket, for the handler to receive (or the syscall
// thread, if a request comes first: flushLocked). mu is taken first, so
// that no request's descriptors come between.
func (as *addressSpace) atResumeFile(args [6]uint64, f *os.File) bool {
	if !resumeCallableFile(args) || !as.mayCall() || !hostMapsAtResume(f, int(args[2])) {
		return false
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	r := &as.resume
	r.mu.Lock()
	defer r.mu.Unlock()
	if as.dead.Load() || r.stopped.Load() == 0 || r.pending.Load() {
		return false
	}
	err := unix.Sendmsg(as.ctl, []byte{0}, unix.UnixRights(int(f.Fd())), nil, 0)
	runtime.KeepAlive(f)
	if err != nil {
		return false
	}
	r.call = sysmsg.Call{Sysno: unix.SYS_MMAP, Args: args, FD: 0}
	r.pending.Store(true)
	return true
}

// handOver writes the call left to slot's thread, if any, into its
// message m before its resume, and reports whether it did. From then on
// nothing is left to any resume.
func (as *addressSpace) handOver(slot int, m *sysmsg.Msg) bool {
	r := &as.resume
	if r.stopped.Load() == 0 {
		return false
	}
	r.mu.Lock()
	handed := r.stopped.Load() == int32(slot)+1 && r.pending.Load()
	if handed {
		m.CallArgs, m.CallRet, m.CallNr = r.call.Args, 0, r.call.Sysno
		m.CallFD = 0
		if r.call.FD >= 0 {
			m.CallFD = 1
		}
		r.pending.Store(false)
	}
	r.stopped.Store(0)
	r.mu.Unlock()
	if !handed {
		// A call left to another thread's resume (none while the
		// process has one thread) is made now, lest a descriptor sent
		// ahead for it wait on the socket for the next request.
		as.flushEntered()
	}
	return handed
}

// takeResumeCall returns the call left to a resume, if any, and forgets
// it: the caller makes it itself.
func (as *addressSpace) takeResumeCall() (sysmsg.Call, bool) {
	r := &as.resume
	if !r.pending.Load() {
		return sysmsg.Call{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.pending.Load() {
		return sysmsg.Call{}, false
	}
	r.pending.Store(false)
	return r.call, true
}

// flushLocked makes the call left to a resume, if any, through the
// syscall thread; mu is held. A call the host refuses leaves the sentry's
// view of the process wrong: the stub is killed.
func (as *addressSpace) flushLocked() error {
	c, ok := as.takeResumeCall()
	if !ok {
		return nil
	}
	kind := uint32(sysmsg.ReqSyscall)
	if c.FD >= 0 {
		kind = sysmsg.ReqMmapFD // its descriptor is on the socket already
	}
	_, _, err := answer(as.requestLocked(func(seq uint32) { as.sh.Post(seq, kind, c.Sysno, c.Args) }, false))
	if err != nil {
		as.kill()
		return errGone
	}
	return nil
}

// flush is flushLocked for callers that hold neither use nor mu: before
// a copy of the address space's memory.
func (as *addressSpace) flush() error {
	if !as.resume.pending.Load() {
		return nil
	}
	if !as.Enter() {
		return errGone
	}
	defer as.Leave()
	return as.flushEntered()
}

// flushEntered is flushLocked for callers that hold use (Enter) but not
// mu: use is not taken twice, which a waiting Release would deadlock.
func (as *addressSpace) flushEntered() error {
	if !as.resume.pending.Load() {
		return nil
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.flushLocked()
}

// checkResumeCall checks, at the stop after a resume that carried a call,
// the host's answer to it (m.CallRet): a refusal kills the process.
func (c *context) checkResumeCall(as *addressSpace, m *sysmsg.Msg) error {
	ret := m.CallRet
	if ret >= 0 || ret < -4095 {
		return nil
	}
	// Debug, not a warning: the application can forge the answer.
	slog.Debug("systrap: the host refused a mapping change made at a resume; killing the process",
		"errno", unix.Errno(-ret))
	as.kill()
	c.drop()
	return platform.ErrContextDead
}

// The copies make the call left to a resume first.

func (as *addressSpace) ReadAt(dst []byte, addr uintptr) (int, error) {
	if err := as.flush(); err != nil {
		return 0, err
	}
	return as.ProcessMemory.ReadAt(dst, addr)
}

func (as *addressSpace) WriteAt(src []byte, addr uintptr) (int, error) {
	if err := as.flush(); err != nil {
		return 0, err
	}
	return as.ProcessMemory.WriteAt(src, addr)
}

func (as *addressSpace) ReadVec(dst []byte, src []platform.Range) (int, error) {
	if err := as.flush(); err != nil {
		return 0, err
	}
	return as.ProcessMemory.ReadVec(dst, src)
}

func (as *addressSpace) WriteVec(src []byte, dst []platform.Range) (int, error) {
	if err := as.flush(); err != nil {
		return 0, err
	}
	return as.ProcessMemory.WriteVec(src, dst)
}
