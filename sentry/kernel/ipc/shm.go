package ipc

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/usage"
)

// Shared memory limits: Linux's defaults (SHMMIN, SHMMAX, SHMALL,
// SHMMNI). A segment costs the sentry one memfd and a few words; its
// size is charged to the sandbox's memory account, which bounds it.
const (
	pageLen = abi.PageSize
)

// Shm is one shared memory segment.
type Shm struct {
	p    Perm
	Size uint64
	// file is the segment's memory, a host memfd; nil once destroyed.
	file *os.File
	// Dev and Ino identify the segment's mappings (/proc/PID/maps): the
	// sandbox's numbers, unique for its life, never the host memfd's.
	Dev, Ino            uint64
	atime, dtime, ctime int64
	cpid, lpid          int
	// mem is the account the segment's size is charged to.
	mem *usage.Memory
}

func (s *Shm) perm() *Perm { return &s.p }

// ShmGet implements shmget(2).
func (ns *Namespace) ShmGet(c *Caller, key int32, size uint64, flags int) (int, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.reapShm()
	create := func() (*Shm, error) {
		// No huge pages (HUGETLBFS is not set in /proc/config.gz):
		// EINVAL, as LTP's shmget02 expects of such a kernel.
		if flags&linux.SHM_HUGETLB != 0 {
			return nil, unix.EINVAL
		}
		pages := (size + pageLen - 1) / pageLen
		if size < 1 || size > ns.limits.ShmMax || pages < size/pageLen {
			return nil, unix.EINVAL
		}
		if ns.shmPages+pages < ns.shmPages || ns.shmPages+pages > ns.limits.ShmAll {
			return nil, unix.ENOSPC
		}
		// A memfd each: at most SHMMNI in the whole sandbox.
		if !charge(&ns.sandbox.segments, 1, linux.SHMMNI) {
			return nil, unix.ENOSPC
		}
		uncount := func() { ns.sandbox.segments.Add(-1) }
		// Charged when promised, as the account charges memfds; strict
		// overcommit makes shmget itself fail with ENOMEM.
		if !c.Memory.Charge(usage.Shmem, pages*pageLen) {
			uncount()
			return nil, unix.ENOMEM
		}
		uncharge := func() { c.Memory.Uncharge(usage.Shmem, pages*pageLen) }
		fd, err := unix.MemfdCreate(fmt.Sprintf("SYSV%08x", uint32(key)), unix.MFD_CLOEXEC)
		if err != nil {
			uncharge()
			uncount()
			return nil, fmt.Errorf("shmget: memfd for a segment: %w", err)
		}
		f := os.NewFile(uintptr(fd), "shm")
		if err := unix.Ftruncate(fd, int64(size)); err != nil {
			f.Close()
			uncharge()
			uncount()
			return nil, unix.ENOMEM
		}
		ns.shmPages += pages
		ns.shmIno++
		t := now()
		return &Shm{Size: size, file: f, Dev: ns.shmDev, Ino: ns.shmIno, ctime: t, cpid: c.KernelPID, mem: c.Memory}, nil
	}
	check := func(s *Shm) error {
		if s.Size < size {
			return unix.EINVAL
		}
		return nil
	}
	return ns.shms.get(c, key, flags, create, check)
}

// ShmAttach is what shmat needs to map a segment.
type ShmAttach struct {
	File     *os.File // a duplicate of the memfd, the caller's to close
	Size     uint64
	Name     string // as /proc/self/maps shows it
	Dev, Ino uint64
}

// ShmAttach checks that the caller may attach segment id, for writing too
// unless readOnly, and returns what to map; Attached records the mapping.
func (ns *Namespace) ShmAttach(c *Caller, id int, readOnly, exec bool) (ShmAttach, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.reapShm()
	s, err := ns.shms.lookup(id)
	if err != nil {
		return ShmAttach{}, err
	}
	mode := uint32(0444)
	if !readOnly {
		mode |= 0222
	}
	if exec {
		mode |= 0111
	}
	if err := s.p.mayAccess(c, mode); err != nil {
		return ShmAttach{}, err
	}
	if s.file == nil {
		return ShmAttach{}, unix.EIDRM
	}
	fd, err := unix.FcntlInt(s.file.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return ShmAttach{}, fmt.Errorf("shmat: duplicating a segment's memfd: %w", err)
	}
	name := fmt.Sprintf("/SYSV%08x", uint32(s.p.Key))
	return ShmAttach{File: os.NewFile(uintptr(fd), name), Size: s.Size, Name: name + " (deleted)", Dev: s.Dev, Ino: s.Ino}, nil
}

// Attached records a successful attach of the segment at dev/ino by pid.
func (ns *Namespace) Attached(dev, ino uint64, pid int) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if s := ns.shmByFile(dev, ino); s != nil {
		s.atime, s.lpid = now(), pid
	}
}

// ShmSize returns the size of the segment behind a mapping of dev/ino, if
// it is one (shmdt: a stale segment, already destroyed, still counts).
func (ns *Namespace) ShmSize(dev, ino uint64) (uint64, bool) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if s := ns.shmByFile(dev, ino); s != nil {
		return s.Size, true
	}
	return 0, false
}

// Detached records a shmdt by pid and destroys segments that are marked
// for it and no longer attached anywhere.
func (ns *Namespace) Detached(dev, ino uint64, pid int) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if s := ns.shmByFile(dev, ino); s != nil {
		s.dtime, s.lpid = now(), pid
	}
	ns.reapShm()
}

func (ns *Namespace) shmByFile(dev, ino uint64) *Shm {
	for _, s := range ns.shms.objs {
		if s.Dev == dev && s.Ino == ino {
			return s
		}
	}
	return nil
}

// reapShm destroys the segments IPC_RMID marked once nothing maps them
// (the destroy-on-last-detach rule); ns.mu is held. Attachments are
// counted from the address spaces themselves, so a detach by munmap, exit
// or exec counts as well as one by shmdt.
func (ns *Namespace) reapShm() {
	for _, s := range ns.shms.objs {
		if s.p.Mode&linux.SHM_DEST != 0 && ns.attached(s.Dev, s.Ino) == 0 {
			ns.destroyShm(s)
		}
	}
}

func (ns *Namespace) destroyShm(s *Shm) {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	pages := (s.Size + pageLen - 1) / pageLen
	ns.shmPages -= pages
	ns.sandbox.segments.Add(-1)
	s.mem.Uncharge(usage.Shmem, pages*pageLen)
	ns.shms.remove(s)
}

// ShmCtl implements shmctl(2) for IPC_STAT (buf receives struct
// shmid64_ds), IPC_SET (buf holds one), IPC_RMID, SHM_LOCK and
// SHM_UNLOCK.
func (ns *Namespace) ShmCtl(c *Caller, id, cmd int, ds *linux.ShmidDS) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.reapShm()
	s, err := ns.shms.lookup(id)
	if err != nil {
		return err
	}
	switch cmd {
	case STAT:
		if err := s.p.mayAccess(c, 0444); err != nil {
			return err
		}
		*ds = linux.ShmidDS{ShmPerm: s.p.ABI(c), ShmSegsz: s.Size, ShmAtime: linux.TimeT(s.atime),
			ShmDtime: linux.TimeT(s.dtime), ShmCtime: linux.TimeT(s.ctime), ShmCpid: int32(c.showPID(s.cpid)),
			ShmLpid: int32(c.showPID(s.lpid)), ShmNattach: uint64(ns.attached(s.Dev, s.Ino))}
	case SET:
		if err := s.p.setFrom(c, &ds.ShmPerm); err != nil {
			return err
		}
		s.ctime = now()
	case RMID:
		if err := s.p.mayControl(c); err != nil {
			return err
		}
		s.p.Mode |= linux.SHM_DEST
		ns.shms.hideKey(s)
		ns.reapShm()
	case linux.SHM_LOCK, linux.SHM_UNLOCK:
		if !c.Privileged {
			return unix.EPERM
		}
		if cmd == linux.SHM_LOCK {
			s.p.Mode |= linux.SHM_LOCKED
		} else {
			s.p.Mode &^= linux.SHM_LOCKED
		}
	default:
		return unix.EINVAL
	}
	return nil
}
