package ipc

import (
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
)

// Semaphore limits: Linux's defaults for SEMMSL, SEMOPM, SEMMNI and
// SEMVMX/SEMAEM; SEMMNS is lower than Linux's 1024000000, which would let
// a program make the sentry hold gigabytes of semaphores.
const (
	// SemMNS is SEMMNS: the semaphores of every set together (in a
	// namespace, and in the sandbox all namespaces together), the second
	// field of /proc/sys/kernel/sem.
	SemMNS = 1 << 20
)

type semaphore struct {
	val        int
	pid        int
	ncnt, zcnt int
}

// SemSet is one semaphore set.
type SemSet struct {
	p            Perm
	sems         []semaphore
	otime, ctime int64
}

func (s *SemSet) perm() *Perm { return &s.p }

// undoList is one process's SEM_UNDO adjustments to one set.
type undoList struct {
	id  int
	adj []int
}

// addSems counts n more semaphores (fewer if n < 0) in the namespace and
// the sandbox; ns.mu is held.
func (ns *Namespace) addSems(n int) {
	ns.semCount += n
	ns.sandbox.sems.Add(int64(n))
}

// SemGet implements semget(2).
func (ns *Namespace) SemGet(c *Caller, key int32, nsems, flags int) (int, error) {
	if nsems < 0 || nsems > linux.SEMMSL {
		return 0, unix.EINVAL
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	create := func() (*SemSet, error) {
		if nsems == 0 {
			return nil, unix.EINVAL
		}
		if ns.semCount+nsems > SemMNS || !charge(&ns.sandbox.sems, int64(nsems), SemMNS) {
			return nil, unix.ENOSPC
		}
		ns.semCount += nsems
		return &SemSet{sems: make([]semaphore, nsems), ctime: now()}, nil
	}
	check := func(s *SemSet) error {
		if nsems > len(s.sems) {
			return unix.EINVAL
		}
		return nil
	}
	return ns.sems.get(c, key, flags, create, check)
}

// SemBuf is one struct sembuf.
type SemBuf struct {
	Num       uint16
	Op, Flags int16
}

// SemOp implements semop(2) and semtimedop(2) (timeout < 0: none): the
// operations apply all at once or not at all, and the caller waits until
// they can (EAGAIN with IPC_NOWAIT or when the timeout passes). proc
// identifies the caller's process for SEM_UNDO.
func (ns *Namespace) SemOp(c *Caller, proc any, id int, ops []SemBuf, timeout time.Duration) error {
	if len(ops) < 1 {
		return unix.EINVAL
	}
	if len(ops) > linux.SEMOPM {
		return unix.E2BIG
	}
	var deadline <-chan time.Time
	if timeout >= 0 {
		timer := time.NewTimer(clocks.HostWait(timeout))
		defer timer.Stop()
		deadline = timer.C
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, err := ns.sems.lookup(id)
	if err != nil {
		return err
	}
	alter, undo := false, false
	for _, op := range ops {
		if int(op.Num) >= len(s.sems) {
			return unix.EFBIG
		}
		alter = alter || op.Op != 0
		undo = undo || op.Flags&linux.SEM_UNDO != 0
	}
	mode := uint32(0444)
	if alter {
		mode = 0222
	}
	if err := s.p.mayAccess(c, mode); err != nil {
		return err
	}
	for {
		var u *undoList
		if undo {
			u = ns.undoFor(proc, s)
		}
		blocked, err := s.try(ops, c.PID, u)
		if err != nil {
			return err
		}
		if blocked == nil {
			s.otime = now()
			s.p.notify()
			return nil
		}
		if blocked.Flags&NoWait != 0 {
			return unix.EAGAIN
		}
		sem := &s.sems[blocked.Num]
		count := &sem.ncnt
		if blocked.Op == 0 {
			count = &sem.zcnt
		}
		*count++
		err = s.p.wait(&ns.mu, c, deadline)
		if !s.p.removed {
			*count--
		}
		if err != nil {
			return err
		}
	}
}

// try applies ops if none has to wait, and otherwise changes nothing and
// returns the first operation that has to.
func (s *SemSet) try(ops []SemBuf, pid int, u *undoList) (*SemBuf, error) {
	vals := make(map[uint16]int, len(ops))
	val := func(n uint16) int {
		if v, ok := vals[n]; ok {
			return v
		}
		return s.sems[n].val
	}
	adj := make(map[uint16]int)
	for i := range ops {
		op := &ops[i]
		v := val(op.Num)
		switch {
		case op.Op == 0 && v != 0, op.Op < 0 && v+int(op.Op) < 0:
			return op, nil
		case v+int(op.Op) > linux.SEMVMX:
			return nil, unix.ERANGE
		}
		vals[op.Num] = v + int(op.Op)
		if op.Flags&linux.SEM_UNDO != 0 {
			a := adj[op.Num] - int(op.Op)
			if u != nil {
				if a+u.adj[op.Num] < -linux.SEMAEM-1 || a+u.adj[op.Num] > linux.SEMAEM {
					return nil, unix.ERANGE
				}
			}
			adj[op.Num] = a
		}
	}
	for n, v := range vals {
		s.sems[n].val, s.sems[n].pid = v, pid
	}
	if u != nil {
		for n, a := range adj {
			u.adj[n] += a
		}
	}
	return nil, nil
}

// undoFor returns proc's undo list for s, making one; ns.mu is held.
func (ns *Namespace) undoFor(proc any, s *SemSet) *undoList {
	lists := ns.undo[proc]
	if lists == nil {
		lists = make(map[int]*undoList)
		ns.undo[proc] = lists
	}
	id := s.p.ID()
	u := lists[id]
	if u == nil {
		u = &undoList{id: id, adj: make([]int, len(s.sems))}
		lists[id] = u
	}
	return u
}

// ExitProcess applies proc's SEM_UNDO adjustments (ApplyUndo) when the
// process ends, and lets go of segments marked for removal.
func (ns *Namespace) ExitProcess(proc any, pid int) {
	ns.ApplyUndo(proc, pid)
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.reapShm()
}

// ApplyUndo applies proc's SEM_UNDO adjustments and forgets them, as
// exit_sem does (at exit, and for unshare(CLONE_SYSVSEM)): each value
// moves by its adjustment, clamped to the valid range, in sets that
// still exist.
func (ns *Namespace) ApplyUndo(proc any, pid int) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for id, u := range ns.undo[proc] {
		s, err := ns.sems.lookup(id)
		if err != nil {
			continue
		}
		for n, a := range u.adj {
			if a == 0 {
				continue
			}
			sem := &s.sems[n]
			sem.val = max(0, min(linux.SEMVMX, sem.val+a))
			sem.pid = pid
		}
		s.otime = now()
		s.p.notify()
	}
	delete(ns.undo, proc)
}

// clearUndo forgets every process's adjustment of semaphore n of s (all
// of them if n < 0), as SETVAL and SETALL do.
func (ns *Namespace) clearUndo(s *SemSet, n int) {
	id := s.p.ID()
	for _, lists := range ns.undo {
		if u := lists[id]; u != nil {
			for i := range u.adj {
				if n < 0 || i == n {
					u.adj[i] = 0
				}
			}
		}
	}
}

// SemCtl implements semctl(2). arg is the fourth argument's value for
// SETVAL; ds is IPC_STAT's result and IPC_SET's semid64_ds; vals holds
// SETALL's values. It returns the call's result and GETALL's values.
func (ns *Namespace) SemCtl(c *Caller, id, num, cmd int, arg int32, ds *linux.SemidDS, vals []uint16) (int, []uint16, error) {
	if cmd == linux.SETVAL && (arg < 0 || arg > linux.SEMVMX) {
		return 0, nil, unix.ERANGE // checked first, as semctl_setval does
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, err := ns.sems.lookup(id)
	if err != nil {
		return 0, nil, err
	}
	n := len(s.sems)
	switch cmd {
	case RMID:
		if err := s.p.mayControl(c); err != nil {
			return 0, nil, err
		}
		ns.addSems(-n)
		for _, lists := range ns.undo {
			delete(lists, id)
		}
		ns.sems.remove(s)
		return 0, nil, nil
	case SET:
		if err := s.p.setFrom(c, &ds.SemPerm); err != nil {
			return 0, nil, err
		}
		s.ctime = now()
		return 0, nil, nil
	}
	write := cmd == linux.SETVAL || cmd == linux.SETALL
	mode := uint32(0444)
	if write {
		mode = 0222
	}
	if err := s.p.mayAccess(c, mode); err != nil {
		return 0, nil, err
	}
	switch cmd {
	case STAT:
		*ds = linux.SemidDS{SemPerm: s.p.ABI(c), SemOTime: linux.TimeT(s.otime), SemCTime: linux.TimeT(s.ctime), SemNSems: uint64(n)}
		return 0, nil, nil
	case linux.GETALL:
		all := make([]uint16, n)
		for i, sem := range s.sems {
			all[i] = uint16(sem.val)
		}
		return 0, all, nil
	case linux.SETALL:
		if len(vals) != n {
			// Counted for another set of this id, replaced meanwhile.
			return 0, nil, unix.EIDRM
		}
		for _, v := range vals[:n] {
			if v > linux.SEMVMX {
				return 0, nil, unix.ERANGE
			}
		}
		for i := range s.sems {
			s.sems[i].val, s.sems[i].pid = int(vals[i]), c.PID
		}
		ns.clearUndo(s, -1)
		s.ctime = now()
		s.p.notify()
		return 0, nil, nil
	}
	if num < 0 || num >= n {
		return 0, nil, unix.EINVAL
	}
	sem := &s.sems[num]
	switch cmd {
	case linux.GETVAL:
		return sem.val, nil, nil
	case linux.GETPID:
		return sem.pid, nil, nil
	case linux.GETNCNT:
		return sem.ncnt, nil, nil
	case linux.GETZCNT:
		return sem.zcnt, nil, nil
	case linux.SETVAL:
		sem.val, sem.pid = int(arg), c.PID
		ns.clearUndo(s, num)
		s.ctime = now()
		s.p.notify()
		return 0, nil, nil
	}
	return 0, nil, unix.EINVAL
}

// SemCount returns how many semaphores set id has (for GETALL/SETALL's
// buffers), checking that it exists.
func (ns *Namespace) SemCount(id int) (int, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, err := ns.sems.lookup(id)
	if err != nil {
		return 0, err
	}
	return len(s.sems), nil
}
