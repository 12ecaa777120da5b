package ipc

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
)

// The namespace-wide commands of shmctl, semctl and msgctl (ipc/shm.c,
// sem.c and msg.c): IPC_INFO gives a kind's limits and SHM_INFO,
// SEM_INFO and MSG_INFO its usage, both returning the highest index in
// use; SHM_STAT, SEM_STAT and MSG_STAT take an index instead of an
// identifier, check read permission as IPC_STAT does (the _ANY forms do
// not), and return the object's identifier. The limits are those the
// namespace enforces, which /proc/sys/kernel shows too.

// maxIndex is ipc_get_maxidx as the *ctl calls return it: the highest
// index in use, 0 when none is.
func (r *registry[T]) maxIndex() int {
	m := 0
	for idx := range r.objs {
		m = max(m, idx)
	}
	return m
}

// idAt returns the identifier of the object at index idx, EINVAL if
// there is none.
func (r *registry[T]) idAt(idx int) (int, error) {
	o, ok := r.objs[idx]
	if idx < 0 || !ok {
		return 0, unix.EINVAL
	}
	return o.perm().ID(), nil
}

// shmInfo64 is struct shminfo64, with its unused tail.
type shmInfo64 struct {
	linux.ShmParams
	_ [4]uint64
}

// ShmInfo implements shmctl's IPC_INFO (struct shminfo64) and SHM_INFO
// (struct shm_info): the bytes to copy out and the call's result. The
// segments' resident and swapped pages are not measured (the host holds
// them): 0.
func (ns *Namespace) ShmInfo(cmd int) ([]byte, int) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.reapShm()
	if cmd == INFO {
		l := ns.limits
		p := shmInfo64{ShmParams: linux.ShmParams{ShmMax: l.ShmMax, ShmMin: linux.SHMMIN, ShmMni: l.ShmMni,
			ShmSeg: linux.SHMSEG, ShmAll: l.ShmAll}}
		return append([]byte(nil), abi.AsBytes(&p)...), ns.shms.maxIndex()
	}
	i := linux.ShmInfo{UsedIDs: int32(len(ns.shms.objs)), ShmTot: ns.shmPages}
	return append([]byte(nil), abi.AsBytes(&i)...), ns.shms.maxIndex()
}

// SemInfo implements semctl's IPC_INFO and SEM_INFO (struct seminfo).
func (ns *Namespace) SemInfo(cmd int) ([]byte, int) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	i := linux.SemInfo{SemMap: linux.SEMMAP, SemMni: linux.SEMMNI, SemMns: SemMNS, SemMnu: linux.SEMMNU,
		SemMsl: linux.SEMMSL, SemOpm: linux.SEMOPM, SemUme: linux.SEMUME, SemUsz: linux.SEMUSZ,
		SemVmx: linux.SEMVMX, SemAem: linux.SEMAEM}
	if cmd == linux.SEM_INFO {
		i.SemUsz, i.SemAem = uint32(len(ns.sems.objs)), uint32(ns.semCount)
	}
	return append([]byte(nil), abi.AsBytes(&i)...), ns.sems.maxIndex()
}

// MsgInfo implements msgctl's IPC_INFO and MSG_INFO (struct msginfo).
func (ns *Namespace) MsgInfo(cmd int) ([]byte, int) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	l := ns.limits
	i := linux.MsgInfo{MsgPool: linux.MSGPOOL, MsgMap: linux.MSGMAP, MsgMax: int32(l.MsgMax), MsgMnb: int32(l.MsgMnb),
		MsgMni: int32(l.MsgMni), MsgSsz: linux.MSGSSZ, MsgTql: linux.MSGTQL, MsgSeg: linux.MSGSEG}
	if cmd == linux.MSG_INFO {
		msgs, bytes := 0, 0
		for _, q := range ns.msgs.objs {
			msgs, bytes = msgs+len(q.msgs), bytes+q.bytes
		}
		i.MsgPool, i.MsgMap, i.MsgTql = int32(len(ns.msgs.objs)), int32(msgs), int32(bytes)
	}
	// struct msginfo ends in a short and 2 bytes of padding.
	b := make([]byte, i.SizeBytes()+2)
	i.MarshalBytes(b)
	return b, ns.msgs.maxIndex()
}

// ShmIDAt, SemIDAt and MsgIDAt return the identifier of the object at an
// index, for the STAT commands; EINVAL if there is none.
func (ns *Namespace) ShmIDAt(idx int) (int, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.reapShm()
	return ns.shms.idAt(idx)
}

// SemIDAt: see ShmIDAt.
func (ns *Namespace) SemIDAt(idx int) (int, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.sems.idAt(idx)
}

// MsgIDAt: see ShmIDAt.
func (ns *Namespace) MsgIDAt(idx int) (int, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.msgs.idAt(idx)
}

// ProcShm, ProcSem and ProcMsg are /proc/sysvipc/shm, sem and msg for
// reader c: a header, then a row per object in index order, in ipc/*.c's
// sysvipc_*_proc_show layouts (shm's rss and swap columns are 0: not
// measured, as in SHM_INFO), the PIDs as c's namespace has them.
func (ns *Namespace) ProcShm(c *Caller) string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.reapShm()
	b := []byte("       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n")
	for _, s := range byIndex(&ns.shms) {
		p := &s.p
		b = fmt.Appendf(b, "%10d %10d  %4o %21d %5d %5d  %5d %5d %5d %5d %5d %10d %10d %10d %21d %21d\n",
			p.Key, p.ID(), p.Mode, s.Size, c.showPID(s.cpid), c.showPID(s.lpid), ns.attached(s.Dev, s.Ino), p.UID, p.GID, p.CUID, p.CGID,
			s.atime, s.dtime, s.ctime, 0, 0)
	}
	return string(b)
}

// ProcSem: see ProcShm.
func (ns *Namespace) ProcSem() string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	b := []byte("       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n")
	for _, s := range byIndex(&ns.sems) {
		p := &s.p
		b = fmt.Appendf(b, "%10d %10d  %4o %10d %5d %5d %5d %5d %10d %10d\n",
			p.Key, p.ID(), p.Mode, len(s.sems), p.UID, p.GID, p.CUID, p.CGID, s.otime, s.ctime)
	}
	return string(b)
}

// ProcMsg: see ProcShm.
func (ns *Namespace) ProcMsg(c *Caller) string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	b := []byte("       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n")
	for _, q := range byIndex(&ns.msgs) {
		p := &q.p
		b = fmt.Appendf(b, "%10d %10d  %4o  %10d %10d %5d %5d %5d %5d %5d %5d %10d %10d %10d\n",
			p.Key, p.ID(), p.Mode, q.bytes, len(q.msgs), c.showPID(q.lspid), c.showPID(q.lrpid), p.UID, p.GID, p.CUID, p.CGID,
			q.stime, q.rtime, q.ctime)
	}
	return string(b)
}

// byIndex lists a registry's objects in index order.
func byIndex[T object](r *registry[T]) []T {
	idxs := make([]int, 0, len(r.objs))
	for idx := range r.objs {
		idxs = append(idxs, idx)
	}
	sort.Ints(idxs)
	objs := make([]T, len(idxs))
	for i, idx := range idxs {
		objs[i] = r.objs[idx]
	}
	return objs
}
