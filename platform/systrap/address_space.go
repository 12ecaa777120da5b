package systrap

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

// reserved is what the application may not touch: the stub image, the
// shared region, and the gap between them.
var reserved = platform.Range{Start: stub.ImageBase, End: sysmsg.RegionEnd}

// errGone is returned when the stub process died under a request.
var errGone = fmt.Errorf("stub process is gone: %w", platform.ErrContextDead)

// addressSpace is one stub process.
type addressSpace struct {
	p     *Platform
	sh    *sysmsg.Shared
	ctl   int // the sentry's end of the stub's control socket
	pid   int
	pidfd int

	// use is held for reading while shared memory is in use, and for
	// writing by Release, which unmaps it.
	use      sync.RWMutex
	released atomic.Bool
	dead     atomic.Bool

	mu     sync.Mutex // serializes syscall-thread requests
	seq    uint32
	forkMu sync.Mutex // serializes a fork request with reading its reply

	slotMu sync.Mutex
	slots  [sysmsg.MaxThreads]bool
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
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.exited() {
		return 0, errGone
	}
	if len(fds) > 0 {
		if err := unix.Sendmsg(as.ctl, []byte{0}, unix.UnixRights(fds...), nil, 0); err != nil {
			return 0, fmt.Errorf("sending descriptors to the stub: %w", err)
		}
	}
	c := as.sh.Control()
	c.Kind, c.Sysno, c.Args = kind, uint64(sysno), args
	as.seq++
	as.sh.Post(as.seq)
	if !as.sh.WaitResponse(as.seq, sysmsg.SpinLimit(int(as.p.running.Load())), as.exited) {
		return 0, errGone
	}
	ret := as.sh.Response().Ret
	if ret < 0 && ret > -4096 {
		return 0, unix.Errno(-ret)
	}
	return uintptr(ret), nil
}

func (as *addressSpace) syscall(nr uintptr, args ...uint64) (uintptr, error) {
	var a [6]uint64
	copy(a[:], args)
	return as.call(sysmsg.ReqSyscall, nr, a)
}

// Mmap implements platform.AddressSpace.
func (as *addressSpace) Mmap(addr, length uintptr, prot, flags int, f *os.File, off int64) (uintptr, error) {
	if flags&(unix.MAP_FIXED|unix.MAP_FIXED_NOREPLACE) != 0 && reserved.Overlaps(addr, length) {
		return 0, unix.ENOMEM
	}
	if !as.enter() {
		return 0, errGone
	}
	defer as.use.RUnlock()
	args := [6]uint64{uint64(addr), uint64(length), uint64(prot), uint64(flags), ^uint64(0), uint64(off)}
	if f == nil {
		return as.call(sysmsg.ReqSyscall, unix.SYS_MMAP, args)
	}
	defer runtime.KeepAlive(f)
	return as.call(sysmsg.ReqMmapFD, 0, args, int(f.Fd()))
}

// Munmap implements platform.AddressSpace.
func (as *addressSpace) Munmap(addr, length uintptr) error {
	if reserved.Overlaps(addr, length) {
		return unix.EINVAL
	}
	if !as.enter() {
		return errGone
	}
	defer as.use.RUnlock()
	_, err := as.syscall(unix.SYS_MUNMAP, uint64(addr), uint64(length))
	return err
}

// Mprotect implements platform.AddressSpace.
func (as *addressSpace) Mprotect(addr, length uintptr, prot int) error {
	if reserved.Overlaps(addr, length) {
		return unix.ENOMEM
	}
	if !as.enter() {
		return errGone
	}
	defer as.use.RUnlock()
	_, err := as.syscall(unix.SYS_MPROTECT, uint64(addr), uint64(length), uint64(prot))
	return err
}

// Mremap implements platform.AddressSpace with the host's mremap, run by
// the stub like every other mapping change.
func (as *addressSpace) Mremap(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error) {
	if err := platform.CheckMremap(reserved, old, oldLen, newLen, flags, newAddr); err != nil {
		return 0, err
	}
	if !as.enter() {
		return 0, errGone
	}
	defer as.use.RUnlock()
	return as.syscall(unix.SYS_MREMAP, uint64(old), uint64(oldLen), uint64(newLen), uint64(flags), uint64(newAddr))
}

// Resident implements platform.AddressSpace. As for ReadAt, a dead stub
// is caught by the host: its pagemap is gone.
func (as *addressSpace) Resident(addr uintptr, vec []byte) error {
	return platform.ResidentPages(as.pid, addr, vec)
}

// enter takes the read side of use unless the address space is released.
func (as *addressSpace) enter() bool {
	as.use.RLock()
	if as.released.Load() {
		as.use.RUnlock()
		return false
	}
	return true
}

// ReadAt implements platform.AddressSpace.
func (as *addressSpace) ReadAt(dst []byte, addr uintptr) (int, error) {
	return gone(platform.ReadProcessMemory(as.pid, reserved, dst, addr))
}

// WriteAt implements platform.AddressSpace.
func (as *addressSpace) WriteAt(src []byte, addr uintptr) (int, error) {
	return gone(platform.WriteProcessMemory(as.pid, reserved, src, addr))
}

// gone turns the ESRCH of a copy from a dead stub into errGone.
func gone(n int, err error) (int, error) {
	if errors.Is(err, unix.ESRCH) {
		return n, errGone
	}
	return n, err
}

// Fork implements platform.AddressSpace: the syscall thread forks the stub
// process (copy-on-write, as the host kernel does it), and the child maps a
// fresh shared region of its own.
func (as *addressSpace) Fork() (platform.AddressSpace, error) {
	if !as.enter() {
		return nil, errGone
	}
	defer as.use.RUnlock()
	// Two forks at once must not read each other's pidfd message.
	as.forkMu.Lock()
	defer as.forkMu.Unlock()
	return as.p.newAddressSpace(func(ctl, memfd int) (stub.Process, error) {
		pid, err := as.call(sysmsg.ReqFork, 0, [6]uint64{}, ctl, memfd)
		if err != nil {
			return stub.Process{}, fmt.Errorf("forking stub process: %w", err)
		}
		proc, err := stub.RecvPidfd(as.ctl)
		if err != nil {
			if as.exited() {
				return stub.Process{}, errGone
			}
			return stub.Process{}, err
		}
		if proc.Pid != int(pid) {
			unix.Close(proc.Pidfd)
			return stub.Process{}, fmt.Errorf("stub forked pid %d but sent the pidfd of %d", pid, proc.Pid)
		}
		return proc, nil
	})
}

// Reserved implements platform.AddressSpace.
func (as *addressSpace) Reserved() []platform.Range { return []platform.Range{reserved} }

// CPUTime implements platform.AddressSpace: the stub process runs every
// thread of the address space.
func (as *addressSpace) CPUTime() (user, sys time.Duration, err error) {
	return platform.ProcessCPUTime(as.pid)
}

// VDSO implements platform.AddressSpace.
func (as *addressSpace) VDSO() platform.Range {
	return platform.Range{Start: as.p.fs.VDSO.Start, End: as.p.fs.VDSO.End}
}

// VVAR implements platform.AddressSpace.
func (as *addressSpace) VVAR() platform.Range {
	return platform.Range{Start: as.p.fs.VVAR.Start, End: as.p.fs.VVAR.End}
}

// Release implements platform.AddressSpace. It kills the stub process at
// once; reaping it and unmapping the shared region finish in the background
// (Platform.Close waits for them).
func (as *addressSpace) Release() {
	if as.released.Swap(true) {
		return
	}
	as.kill()
	for i := range as.slots {
		if as.slotInUse(i) {
			sysmsg.Wake(&as.sh.Msg(i).State)
		}
	}
	sysmsg.Wake(&as.sh.Response().Seq)
	as.p.inBackground(as.reap)
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
	unix.Close(as.ctl)
	unix.Close(as.pidfd)
	as.sh.Close()
}

func (as *addressSpace) slotInUse(i int) bool {
	as.slotMu.Lock()
	defer as.slotMu.Unlock()
	return as.slots[i]
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

func (as *addressSpace) freeSlot(i int) {
	as.slotMu.Lock()
	defer as.slotMu.Unlock()
	as.slots[i] = false
}
