// Package systrap is the main platform: application threads are threads of
// a stub process whose seccomp filter traps every syscall they make
// (SECCOMP_RET_TRAP), and whose signal handler hands each trap, fault or
// signal to the sentry through shared memory (package sysmsg). See
// docs/architecture.md for the whole picture.
//
// Decisions worth knowing:
//   - One stub process per address space, started by the forkserver (package
//     stub). Its main thread is the syscall thread, which performs mmap,
//     munmap, mprotect, thread creation and fork on the sentry's behalf,
//     one request at a time or a batch of mapping calls (MapBatch, for
//     execve). A discard of memory none of which is in memory is answered
//     from the stub's pagemap without a request. A process with one
//     thread, stopped for an mmap, munmap, mprotect or brk, makes an
//     anonymous mapping, an unmapping or a protection change to none or
//     read itself as it resumes (resume_call.go).
//   - Starting a stub process and tearing one down each cost hundreds of
//     microseconds on a VM, and every fork+exec does both twice. So what
//     can be made ahead is: one fresh stub is kept spare, started in the
//     background after each NewAddressSpace with the thread its first
//     context will take already started in its pool; a fork takes a
//     shared region and control socket made ahead (kit) and puts the
//     request for its child's first thread in that region before the
//     fork, so the child's syscall thread starts the thread as it begins
//     serving, with no hand-off to wait for; Release marks the address
//     space dead at once and kills, reaps and unmaps in the background.
//     Close waits for all of it, so no stub outlives the platform.
//   - A Context owns one thread slot of the address space it last ran in:
//     a sysmsg page and a signal stack. It binds lazily on Switch and gives
//     the slot back when it moves or is released: to the address space's
//     pool of stopped stub threads, which the next Context bound there
//     takes, or, when the pool is full, by making the stub thread exit
//     (pool.go).
//   - The stub image and the shared region, [stub.ImageBase,
//     sysmsg.RegionEnd), and the trap table low in the address space are
//     reserved: Mmap, Munmap, Mprotect and the copies
//     (platform.ProcessMemory) refuse them with the errno Linux gives for
//     kernel addresses.
//   - Syscall sites that keep trapping are patched into jumps to the stub's
//     patch entry, which hands the syscall over without a signal
//     (patch.go).
//   - Anything application code can write (its sysmsg page, its signal
//     frame, the syscall thread's response) is validated. A lie the stub
//     cannot survive (a frame pointer outside the slot, a forged state)
//     kills the liar's stub process and nothing else; Switch then returns
//     platform.ErrContextDead.
//   - No wait on a stub is unbounded, since application code can overwrite
//     the words the sentry waits on faster than it reads them: a request
//     whose answer was overwritten is known from the kernel (the syscall
//     thread sleeps waiting for the next one, answerLost), and a thread that
//     does not stop within unresponsive of Interrupt, or of its start, is
//     held down; either way the stub is killed, so the sentry can always
//     end a task.
//   - fs_base and gs_base are not in the signal frame. With FSGSBASE the
//     handler reads and writes them directly; without it, the application
//     cannot change them behind our back, so the sentry's copy is the truth
//     and the handler (or the patch entry's resume) sets them with
//     arch_prctl when they change.
//
// Locks, in the order they are taken: addressSpace.use (read while shared
// memory or the pid is in use; Release takes it to write),
// addressSpace.layout, addressSpace.mu (syscall-thread requests),
// addressSpace.poolMu, addressSpace.slotMu, context.mu (the binding;
// Interrupt, holding it, only tries use), Platform.filterMu;
// addressSpace.resume.mu (the call left to a resume) and Platform.bgMu
// are taken with nothing under them.
package systrap

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

// Platform is the systrap platform.
type Platform struct {
	syms        stub.Symbols
	fs          *stub.Forkserver
	hasFSGSBase bool
	patching    bool  // syscall-site patching (patch.go); set before use
	patchAfter  uint8 // traps before a site is patched (patch.go); set before use

	patchedSites, patchFailures, patchEntries, patchGSFaults atomic.Uint64
	patchedRegSites, patchRegReturns                         atomic.Uint64

	// running counts contexts inside Switch, to choose how long waiters spin.
	running atomic.Int32
	// spin chooses how long waiters spin, from running and from the round
	// trips it times in Switch (spinning does not pay when other work
	// keeps the CPUs busy).
	spin *sysmsg.SpinPolicy
	// procs chooses how many Go processors the sentry runs on, from the
	// rate of events Switch returns (procs.go); nil when it is off.
	procs *procsPolicy
	// stubSpinTicks is the stubs' spin when they spin (stubSpin); tests
	// lengthen it. Set before use.
	stubSpinTicks uint32
	// mapLimit is the host's limit on a process's mappings
	// (vm.max_map_count), which the stubs' own mappings count against too.
	mapLimit int

	filterMu sync.Mutex
	filters  map[int][]bpf.Instruction // thread programs by slot; guarded by filterMu

	bgMu      sync.Mutex                      // guards closed, spare, refilling, kit, kitting and dying
	closed    bool                            // guarded by bgMu
	spare     *addressSpace                   // a fresh stub process ready for NewAddressSpace; guarded by bgMu
	refilling bool                            // guarded by bgMu
	kit       *kit                            // a kit ready for Fork; guarded by bgMu
	kitting   bool                            // a kit is being made; guarded by bgMu
	spawned   atomic.Int32                    // NewAddressSpace calls so far
	bg        sync.WaitGroup                  // refills and releases still running
	dying     map[*addressSpace]chan struct{} // released, not yet gone; each channel closed once it is; guarded by bgMu
}

var (
	_ platform.Platform      = (*Platform)(nil)
	_ platform.ReleaseWaiter = (*Platform)(nil)
)

// New starts a systrap platform whose stub processes are confined as
// stub.DefaultConfinement says.
func New() (platform.Platform, error) {
	return NewConfined(stub.DefaultConfinement())
}

// NewConfined starts a systrap platform whose stub processes are confined
// as c says.
func NewConfined(c stub.Confinement) (*Platform, error) {
	syms, err := stub.LoadSymbols()
	if err != nil {
		return nil, err
	}
	base, err := BaseFilter(syms)
	if err != nil {
		return nil, err
	}
	fs, err := stub.StartForkserver(base, c)
	if err != nil {
		return nil, err
	}
	p := &Platform{
		syms:        syms,
		fs:          fs,
		hasFSGSBase: hostHasFSGSBase(),
		mapLimit:    hostMapLimit(),
		filters:     make(map[int][]bpf.Instruction),
		spin:        sysmsg.NewSpinPolicy(),
		procs:       newProcsPolicy(),

		stubSpinTicks: sysmsg.Ticks(sysmsg.StubSpin),
	}
	p.SetPatching(true)
	p.SetPatchAfter(DefaultPatchAfter)
	return p, nil
}

// Name implements platform.Platform.
func (p *Platform) Name() string { return "systrap" }

// Close implements platform.Platform. It waits for background refills and
// releases, so that every stub process is gone when it returns.
func (p *Platform) Close() error {
	p.bgMu.Lock()
	p.closed = true
	spare, k := p.spare, p.kit
	p.spare, p.kit = nil, nil
	p.bgMu.Unlock()
	if spare != nil {
		spare.Release()
	}
	if k != nil {
		k.close()
	}
	p.bg.Wait()
	return p.fs.Close()
}

// WaitReleased implements platform.ReleaseWaiter.
func (p *Platform) WaitReleased() {
	p.bgMu.Lock()
	gone := make([]chan struct{}, 0, len(p.dying))
	for _, c := range p.dying {
		gone = append(gone, c)
	}
	p.bgMu.Unlock()
	deadline := time.After(5 * time.Second)
	for _, c := range gone {
		select {
		case <-c:
		case <-deadline:
			return
		}
	}
}

// dyingAdd records that as is released and not yet gone from the host.
func (p *Platform) dyingAdd(as *addressSpace) {
	p.bgMu.Lock()
	defer p.bgMu.Unlock()
	if p.dying == nil {
		p.dying = make(map[*addressSpace]chan struct{})
	}
	p.dying[as] = make(chan struct{})
}

// dyingDone records that as is gone from the host.
func (p *Platform) dyingDone(as *addressSpace) {
	p.bgMu.Lock()
	defer p.bgMu.Unlock()
	if c, ok := p.dying[as]; ok {
		close(c)
		delete(p.dying, as)
	}
}

// inBackground runs f on its own goroutine, which Close waits for; once the
// platform is closing it runs f at once instead.
func (p *Platform) inBackground(f func()) {
	if !p.startBackground(f) {
		f()
	}
}

// startBackground runs f on its own goroutine, which Close waits for, and
// returns true; once the platform is closing it returns false and does not
// run f.
func (p *Platform) startBackground(f func()) bool {
	p.bgMu.Lock()
	defer p.bgMu.Unlock()
	if p.closed {
		return false
	}
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		f()
	}()
	return true
}

// Symbols returns the stub's symbol addresses (for tests that attack them).
func (p *Platform) Symbols() stub.Symbols { return p.syms }

// NewContext implements platform.Platform.
func (p *Platform) NewContext() platform.Context { return &context{p: p} }

// NewAddressSpace implements platform.Platform: the spare stub process if
// there is a live one, else a new one; either way another spare is started.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	// The first address space is the sandbox's init: a spare started then
	// would compete with its start for the CPU, and most sandboxes never
	// execve at all.
	if p.spawned.Add(1) > 1 {
		defer p.refill()
	}
	if as := p.takeSpare(); as != nil {
		return as, nil
	}
	return p.spawn()
}

// spawn starts a fresh stub process.
func (p *Platform) spawn() (*addressSpace, error) {
	k, err := p.newKit()
	if err != nil {
		return nil, err
	}
	return p.newAddressSpace(k, func(ctl int, sh *sysmsg.Shared) (stub.Process, error) {
		return p.fs.Spawn(stub.Request{}, ctl, sh.ROFD, sh.RWFD)
	})
}

// takeSpare returns the spare stub process, or nil if there is none alive.
func (p *Platform) takeSpare() *addressSpace {
	p.bgMu.Lock()
	as := p.spare
	p.spare = nil
	p.bgMu.Unlock()
	if as != nil && as.exited() {
		as.Release()
		return nil
	}
	return as
}

// refill starts a spare stub process in the background unless there is one
// or one is on its way.
func (p *Platform) refill() {
	p.bgMu.Lock()
	defer p.bgMu.Unlock()
	if p.closed || p.refilling || p.spare != nil {
		return
	}
	p.refilling = true
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		as, err := p.spawn()
		if err == nil {
			as.prestart()
		}
		p.bgMu.Lock()
		p.refilling = false
		keep := err == nil && !p.closed
		if keep {
			p.spare = as
		}
		p.bgMu.Unlock()
		if err == nil && !keep {
			as.Release()
		}
	}()
}

// kit is what a new stub process needs from the sentry before it exists:
// its shared region, set up (and so its first pages touched), and its
// control socket. Making one is host calls and page faults on fresh
// memfds, 150-400us on the 2-core VM, which a shell's fork would wait for:
// Fork takes one made ahead (takeKit).
type kit struct {
	sh  *sysmsg.Shared
	ctl [2]int // the sentry's end, the stub's end
}

// newKit makes a kit.
func (p *Platform) newKit() (*kit, error) {
	sh, err := sysmsg.NewShared()
	if err != nil {
		return nil, err
	}
	if p.hasFSGSBase {
		sh.Control().HasFSGSBase = 1
	}
	p.initPatchTable(sh)
	if err := p.primeFirstSlot(sh); err != nil {
		sh.Close()
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		sh.Close()
		return nil, fmt.Errorf("stub control socket: %w", err)
	}
	return &kit{sh: sh, ctl: [2]int{fds[0], fds[1]}}, nil
}

// primeFirstSlot sets up the first thread's slot of a kit's region (a
// fork's child starts its first thread there: postFirstThread) and writes
// to the top of its signal stack, where the thread's first signal frame
// goes, so that the region's pages those touch exist before a fork or a
// new process needs them: the first write to a page of a new region
// allocates it, 20-60us a page on the 2-core VM, which the fork's set-up
// of the slot then paid in line (about 60-90us of a bash fork's 1.1ms in
// the sentry). Kits are made in the background.
func (p *Platform) primeFirstSlot(sh *sysmsg.Shared) error {
	if err := p.setUpSlot(sh, firstSlot); err != nil {
		return err
	}
	top := sysmsg.SlotAddr(firstSlot) + sysmsg.SlotSize
	if b, ok := sh.Bytes(firstSlot, top-signalFrameSpan, signalFrameSpan); ok {
		clear(b)
	}
	return nil
}

// signalFrameSpan is how much of the top of a thread's signal stack its
// signal frames use: a frame with the largest xsave area (AVX-512) is
// under 4 KiB, and the frame may straddle a page boundary.
const signalFrameSpan = 2 * 4096

// close frees an unused kit.
func (k *kit) close() {
	unix.Close(k.ctl[0])
	unix.Close(k.ctl[1])
	k.sh.Close()
}

// takeKit returns the kit made ahead, or a new one if there is none, and
// has the next one made in the background.
func (p *Platform) takeKit() (*kit, error) {
	p.bgMu.Lock()
	k := p.kit
	p.kit = nil
	if !p.closed && !p.kitting {
		p.kitting = true
		p.bg.Add(1)
		go func() {
			defer p.bg.Done()
			next, err := p.newKit()
			p.bgMu.Lock()
			p.kitting = false
			keep := err == nil && !p.closed && p.kit == nil
			if keep {
				p.kit = next
			}
			p.bgMu.Unlock()
			if err == nil && !keep {
				next.close()
			}
		}()
	}
	p.bgMu.Unlock()
	if k != nil {
		return k, nil
	}
	return p.newKit()
}

// newAddressSpace makes a stub process from kit k, which spawn starts
// with the stub's end of the control socket and the shared region.
func (p *Platform) newAddressSpace(k *kit, spawn func(ctl int, sh *sysmsg.Shared) (stub.Process, error)) (*addressSpace, error) {
	sh := k.sh
	sh.Control().SpinLimit = p.stubSpin(p.spin.Limit(0))
	proc, err := spawn(k.ctl[1], sh)
	unix.Close(k.ctl[1])
	if err != nil {
		unix.Close(k.ctl[0])
		sh.Close()
		return nil, err
	}
	as := &addressSpace{p: p, sh: sh, ctl: k.ctl[0], proc: proc, pid: proc.Pid, pidfd: proc.Pidfd, cpu: new(platform.CPUTimes)}
	as.ProcessMemory = platform.ProcessMemory{Holder: as, PID: proc.Pid, Reserved: reserved, Also: trapTable, Gone: errGone}
	return as, nil
}

// threadFilter returns the seccomp program for thread slot i.
func (p *Platform) threadFilter(i int) ([]bpf.Instruction, error) {
	p.filterMu.Lock()
	defer p.filterMu.Unlock()
	if f, ok := p.filters[i]; ok {
		return f, nil
	}
	f, err := ThreadFilter(p.syms, i)
	if err != nil {
		return nil, err
	}
	p.filters[i] = f
	return f, nil
}

// stubSpin is the syscall thread's spin, in time-stamp counter ticks, for
// the sentry's spin goSpin (ticks too, from SpinPolicy.Limit): none when the
// sentry does not spin, else stubSpinTicks, sysmsg.StubSpin (the handler
// and the patch entry spin as long: sysmsg/c/handler.c). The stub
// reads the counter as the sentry does, so the spin is the same time on
// every machine and ends when its time is up even if the thread was
// preempted in it.
func (p *Platform) stubSpin(goSpin uint32) uint32 {
	if goSpin == 0 {
		return 0
	}
	return p.stubSpinTicks
}

// hostHasFSGSBase reports whether user code may use rdfsbase and friends
// (AT_HWCAP2 bit HWCAP2_FSGSBASE).
func hostHasFSGSBase() bool {
	const hwcap2FSGSBASE = 1 << 1
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return false
	}
	for _, e := range abi.AuxvEntries(b) {
		if e.Type == linux.AT_HWCAP2 {
			return e.Val&hwcap2FSGSBASE != 0
		}
	}
	return false
}
