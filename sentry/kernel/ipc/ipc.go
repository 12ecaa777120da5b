// Package ipc is a System V IPC namespace: shared memory segments,
// semaphore sets and message queues (svipc(7)), one per IPC namespace of
// the sandbox (kernel.IPCNamespace), never the host's.
//
// Each kind of object lives in a registry that follows ipc/util.c: keys
// name objects, IPC_PRIVATE always creates one, and an identifier is
// seq<<15 + index, so that a stale identifier of a removed object fails
// with EINVAL instead of reaching its successor. Everything an application
// can make the sentry allocate is bounded by Linux's default limits
// (SHMMNI, SEMMNI, SEMMSL, MSGMNI, MSGMNB), and by namespace-wide totals
// where Linux's defaults would let one program take gigabytes of the
// sentry's own memory (semaphores, queued message bytes).
//
// Shared memory segments are host memfds, mapped MAP_SHARED into the
// stub processes like memfd_create's files, so attachments in different
// processes and across fork share their pages; the sentry holds no copy.
// A segment's size is charged to the sandbox's memory account when it is
// created (package usage), as the data of a memfd is.
// Blocking operations (semop, msgsnd, msgrcv) wait on a channel that the
// object closes and replaces at every change, and end early when the
// caller's interrupt channel closes (EINTR) or the object is removed
// (EIDRM).
package ipc

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// Caller is who performs an operation.
type Caller struct {
	// PID is the caller's process ID as it sees it, which semop records
	// (sempid is task_tgid_vnr); KernelPID the kernel's, which shm and
	// message queues record and ShowPID shows in the caller's PID
	// namespace (0 outside it; nil: the identity), as pid_vnr.
	PID       int
	KernelPID int
	ShowPID   func(kid int) int
	UID, GID  uint32 // effective
	Groups    []uint32
	// Privileged is CAP_IPC_OWNER (and CAP_SYS_ADMIN/CAP_SYS_RESOURCE for
	// the control operations that ask for them): the sandbox's root.
	Privileged bool
	// Interrupt closes when a blocking operation must return EINTR.
	Interrupt <-chan struct{}
	// Memory is the sandbox's memory account, which a shared memory
	// segment is charged to by its size, like a memfd's data.
	Memory *usage.Memory
	// IDs is the caller's user namespace, which the owner and creator
	// IDs of IPC_STAT and IPC_SET are shown in and given in (the kernel
	// keeps kernel IDs); nil: the identity.
	IDs IDMapper
}

// IDMapper maps user and group IDs between a user namespace and the
// kernel (kernel.UserNamespace).
type IDMapper interface {
	ShowUID(k uint32) uint32
	ShowGID(k uint32) uint32
	UIDToKernel(uid uint32) (uint32, bool)
	GIDToKernel(gid uint32) (uint32, bool)
}

// Flags of the *get and operation calls, pkg/abi/linux's under short
// names.
const (
	Private = linux.IPC_PRIVATE
	Creat   = linux.IPC_CREAT
	Excl    = linux.IPC_EXCL
	NoWait  = linux.IPC_NOWAIT
)

// Control commands shared by the three kinds, pkg/abi/linux's under
// short names.
const (
	RMID = linux.IPC_RMID
	SET  = linux.IPC_SET
	STAT = linux.IPC_STAT
	INFO = linux.IPC_INFO
)

// seqShift is IPCMNI_SHIFT: the index takes the low 15 bits of an ID.
const seqShift = 15

// Perm is struct ipc64_perm.
type Perm struct {
	Key              int32
	UID, GID         uint32
	CUID, CGID       uint32
	Mode             uint32
	Seq              uint16
	index            int
	removed          bool
	changed, removal chan struct{}
}

// ID returns the object's identifier.
func (p *Perm) ID() int { return int(p.Seq)<<seqShift | p.index }

// ABI is p as struct ipc64_perm, its IDs as c's namespace shows them.
// Its mode has 16 bits, enough for the permissions and the SHM_DEST and
// SHM_LOCKED flags.
func (p *Perm) ABI(c *Caller) linux.IPCPerm {
	a := linux.IPCPerm{Key: uint32(p.Key), UID: p.UID, GID: p.GID, CUID: p.CUID, CGID: p.CGID,
		Mode: uint16(p.Mode), Seq: p.Seq}
	if c.IDs != nil {
		a.UID, a.GID, a.CUID, a.CGID = c.IDs.ShowUID(a.UID), c.IDs.ShowGID(a.GID), c.IDs.ShowUID(a.CUID), c.IDs.ShowGID(a.CGID)
	}
	return a
}

// setFrom applies IPC_SET's uid, gid and mode (the low 9 bits) from an
// ipc64_perm, if the caller owns or created the object (EPERM).
func (p *Perm) setFrom(c *Caller, in *linux.IPCPerm) error {
	if err := p.mayControl(c); err != nil {
		return err
	}
	uid, gid := in.UID, in.GID
	if c.IDs != nil {
		var uok, gok bool
		uid, uok = c.IDs.UIDToKernel(in.UID)
		gid, gok = c.IDs.GIDToKernel(in.GID)
		if !uok || !gok {
			return unix.EINVAL // ipc_update_perm
		}
	}
	p.UID, p.GID = uid, gid
	p.Mode = p.Mode&^0777 | uint32(in.Mode)&0777
	return nil
}

// mayControl is the owner check of IPC_SET and IPC_RMID.
func (p *Perm) mayControl(c *Caller) error {
	if c.Privileged || c.UID == p.UID || c.UID == p.CUID {
		return nil
	}
	return unix.EPERM
}

// mayAccess is ipcperms: mode holds the requested rwx bits (0400/0200 for
// read/write, in any of the three positions).
func (p *Perm) mayAccess(c *Caller, mode uint32) error {
	req := (mode>>6 | mode>>3 | mode) & 7
	granted := p.Mode
	switch {
	case c.UID == p.UID || c.UID == p.CUID:
		granted >>= 6
	case c.GID == p.GID || c.GID == p.CGID || inGroups(c.Groups, p.GID, p.CGID):
		granted >>= 3
	}
	if req&^granted&7 != 0 && !c.Privileged {
		return unix.EACCES
	}
	return nil
}

func inGroups(groups []uint32, a, b uint32) bool {
	for _, g := range groups {
		if g == a || g == b {
			return true
		}
	}
	return false
}

// notify wakes everything waiting for a change of the object; the
// namespace's lock is held.
func (p *Perm) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// wait releases mu until the object changes, the caller is interrupted
// (EINTR), the deadline passes (EAGAIN) or the object is removed (EIDRM);
// it returns with mu held.
func (p *Perm) wait(mu *sync.Mutex, c *Caller, deadline <-chan time.Time) error {
	ch := p.changed
	mu.Unlock()
	var err error
	select {
	case <-ch:
	case <-c.Interrupt:
		err = unix.EINTR
	case <-deadline:
		err = unix.EAGAIN
	}
	mu.Lock()
	if p.removed {
		return unix.EIDRM
	}
	return err
}

// object is what a registry holds.
type object interface{ perm() *Perm }

// registry is one kind's table of objects (struct ipc_ids).
type registry[T object] struct {
	objs  map[int]T // by index
	keys  map[int32]T
	seq   uint16
	limit int // SHMMNI, SEMMNI or MSGMNI
	next  int
	// nextID is /proc/sys/kernel/{shm,sem,msg}_next_id: the identifier
	// the next object made is to have, -1 for none (ipc_idr_alloc).
	nextID int
}

func newRegistry[T object](limit int) registry[T] {
	return registry[T]{objs: make(map[int]T), keys: make(map[int32]T), limit: limit, nextID: -1}
}

// pick chooses the index and sequence number of the next object without
// taking them: nextID's when set (its index, or the first free one
// after it, as idr_alloc from there), else the next free index in turn.
func (r *registry[T]) pick() (idx int, seq uint16, err error) {
	if r.nextID >= 0 {
		idx, seq = r.nextID&(1<<seqShift-1), uint16(r.nextID>>seqShift)
		for ; idx < 1<<seqShift; idx++ {
			if _, used := r.objs[idx]; !used {
				return idx, seq, nil
			}
		}
		return 0, 0, unix.ENOSPC
	}
	// Indexes are handed out cyclically, as idr_alloc_cyclic does, so
	// that an identifier is not reused at once.
	for i := 0; i < r.limit; i++ {
		idx = (r.next + i) % r.limit
		if _, used := r.objs[idx]; !used {
			return idx, r.seq, nil
		}
	}
	return 0, 0, unix.ENOSPC
}

// get implements ipcget: IPC_PRIVATE or an unknown key with IPC_CREAT
// creates an object with create; a known key is checked with check, then
// against the requested permissions.
func (r *registry[T]) get(c *Caller, key int32, flags int, create func() (T, error), check func(T) error) (int, error) {
	if key != Private {
		if o, ok := r.keys[key]; ok {
			if flags&Creat != 0 && flags&Excl != 0 {
				return 0, unix.EEXIST
			}
			if err := check(o); err != nil {
				return 0, err
			}
			if err := o.perm().mayAccess(c, uint32(flags)&0777); err != nil {
				return 0, err
			}
			return o.perm().ID(), nil
		}
		if flags&Creat == 0 {
			return 0, unix.ENOENT
		}
	}
	if len(r.objs) >= r.limit {
		return 0, unix.ENOSPC
	}
	idx, seq, err := r.pick()
	if err != nil {
		r.nextID = -1
		return 0, err
	}
	o, err := create()
	if err != nil {
		return 0, err
	}
	// next_id is spent by the object it named, as ipc_idr_alloc resets
	// it; the cyclic numbering does not move.
	if r.nextID >= 0 {
		r.nextID = -1
	} else {
		r.next = (idx + 1) % r.limit
		r.seq++ // wraps at 16 bits, keeping IDs positive
	}
	p := o.perm()
	*p = Perm{Key: key, UID: c.UID, GID: c.GID, CUID: c.UID, CGID: c.GID, Mode: uint32(flags) & 0777,
		changed: make(chan struct{})}
	p.index, p.Seq = idx, seq
	r.objs[p.index] = o
	if key != Private {
		r.keys[key] = o
	}
	return p.ID(), nil
}

// lookup returns the object with identifier id, EINVAL if there is none.
func (r *registry[T]) lookup(id int) (T, error) {
	var zero T
	if id < 0 {
		return zero, unix.EINVAL
	}
	o, ok := r.objs[id&(1<<seqShift-1)]
	if !ok || o.perm().ID() != id {
		return zero, unix.EINVAL
	}
	return o, nil
}

// remove forgets o and wakes its waiters, who see EIDRM.
func (r *registry[T]) remove(o T) {
	p := o.perm()
	delete(r.objs, p.index)
	if k, ok := r.keys[p.Key]; ok && k.perm() == p {
		delete(r.keys, p.Key)
	}
	p.removed = true
	p.notify()
}

// hideKey makes o unreachable by key (a destroyed segment still attached).
func (r *registry[T]) hideKey(o T) {
	p := o.perm()
	if k, ok := r.keys[p.Key]; ok && k.perm() == p {
		delete(r.keys, p.Key)
	}
	p.Key = Private
}

// Namespace is one sandbox's System V IPC objects.
type Namespace struct {
	mu   sync.Mutex // guards everything below but attached
	shms registry[*Shm]
	sems registry[*SemSet]
	msgs registry[*Queue]
	// shmPages is the total size of every segment, in pages (SHMALL).
	shmPages uint64
	// shmDev and shmIno are the device of every segment and the last
	// inode number given to one (shm.go): the sandbox's, not the host
	// memfd's.
	shmDev, shmIno uint64
	// semCount is the number of semaphores in every set (SEMMNS).
	semCount int
	// msgBytes is what queued messages cost, text plus overhead.
	msgBytes int
	// undo is every process's SEM_UNDO adjustments, by process.
	undo map[any]map[int]*undoList
	// limits are the namespace's sysctls (SetLimits); the registries'
	// limits are their *mni.
	limits Limits
	// attached counts the attachments of a segment (by its device and
	// inode) across every process of the sandbox.
	attached func(dev, ino uint64) int
	// sandbox is what every namespace of the sandbox shares.
	sandbox *Sandbox
}

// Sandbox is what the IPC namespaces of one sandbox share: how to count
// a segment's attachments, and the sandbox-wide totals that bound what
// they make the sentry hold however many namespaces there are (as the
// one namespace's limits did before there were more): segments (each a
// host memfd) at SHMMNI, semaphores at SemMNS, queued message bytes at
// msgTotal.
type Sandbox struct {
	// Attached counts the mappings of a segment's memfd in every address
	// space of the sandbox (shm_nattch).
	Attached func(dev, ino uint64) int

	segments, sems, msgBytes atomic.Int64
}

// charge adds n to total unless that passes limit.
func charge(total *atomic.Int64, n, limit int64) bool {
	if total.Add(n) > limit {
		total.Add(-n)
		return false
	}
	return true
}

// NewNamespace returns an empty namespace of sandbox s.
func NewNamespace(s *Sandbox) *Namespace {
	attached := s.Attached
	return &Namespace{sandbox: s,
		shms: newRegistry[*Shm](linux.SHMMNI), sems: newRegistry[*SemSet](linux.SEMMNI), msgs: newRegistry[*Queue](linux.MSGMNI),
		undo: make(map[any]map[int]*undoList), attached: attached, shmDev: vfs.NewDeviceID(),
		limits: Limits{ShmMax: linux.SHMMAX, ShmAll: linux.SHMALL, ShmMni: linux.SHMMNI,
			MsgMax: linux.MSGMAX, MsgMnb: linux.MSGMNB, MsgMni: linux.MSGMNI},
	}
}

// Limits are a namespace's limits that /proc/sys/kernel shows and root
// may change, each namespace its own (Linux's defaults in a new one):
// shmmax and shmall (an unsigned long each, any value), shmmni and
// msgmni (0 to IPCMNI), msgmax and msgmnb (0 to INT_MAX). Whatever they
// say, the namespace-wide totals (msgTotal, SemMNS) and the memory
// account still bound what the sentry holds.
type Limits struct {
	ShmMax, ShmAll uint64
	ShmMni, MsgMni uint64
	MsgMax, MsgMnb uint64
}

// ipcMNI is IPCMNI, the most objects of a kind the ids can number.
const ipcMNI = 1 << seqShift

// Limits returns the namespace's limits.
func (ns *Namespace) Limits() Limits {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.limits
}

// SetLimits changes the limits as set does, EINVAL if one is out of its
// range (the sysctl's extra1 and extra2); existing objects stay.
func (ns *Namespace) SetLimits(set func(*Limits)) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	l := ns.limits
	set(&l)
	if l.ShmMni > ipcMNI || l.MsgMni > ipcMNI || l.MsgMax > math.MaxInt32 || l.MsgMnb > math.MaxInt32 {
		return unix.EINVAL
	}
	ns.limits = l
	ns.shms.limit, ns.msgs.limit = int(l.ShmMni), int(l.MsgMni)
	return nil
}

// Destroy empties a namespace no task or file holds any more
// (free_ipc_ns): semaphore sets and message queues go, their waiters see
// EIDRM, and every segment is removed as IPC_RMID removes it, destroyed
// now if nothing maps it, else when its last attachment goes (Reap).
func (ns *Namespace) Destroy() {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, s := range ns.sems.objs {
		ns.addSems(-len(s.sems))
		ns.sems.remove(s)
	}
	for _, q := range ns.msgs.objs {
		for _, m := range q.msgs {
			ns.addMsgBytes(-(len(m.text) + msgOverhead))
		}
		ns.msgs.remove(q)
	}
	clear(ns.undo)
	for _, s := range ns.shms.objs {
		s.p.Mode |= linux.SHM_DEST
		ns.shms.hideKey(s)
	}
	ns.reapShm()
}

// Reap destroys the segments marked for removal that nothing maps any
// more, and reports whether the namespace has none left at all.
func (ns *Namespace) Reap() (empty bool) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.reapShm()
	return len(ns.shms.objs) == 0
}

// Kinds of object, for NextID and SetNextID.
const (
	KindShm = iota
	KindSem
	KindMsg
)

// nextIDOf returns the next_id of kind; ns.mu is held.
func (ns *Namespace) nextIDOf(kind int) *int {
	switch kind {
	case KindShm:
		return &ns.shms.nextID
	case KindSem:
		return &ns.sems.nextID
	}
	return &ns.msgs.nextID
}

// NextID is /proc/sys/kernel/{shm,sem,msg}_next_id: the identifier the
// next object of kind will have, -1 for the usual numbering.
func (ns *Namespace) NextID(kind int) int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return *ns.nextIDOf(kind)
}

// SetNextID writes kind's next_id (0 to INT_MAX, as the sysctl's range
// allows); the next object of kind made takes it, then it is -1 again.
func (ns *Namespace) SetNextID(kind, id int) error {
	if id < 0 || id > math.MaxInt32 {
		return unix.EINVAL
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	*ns.nextIDOf(kind) = id
	return nil
}

// now is the time stamps' clock, in seconds.
func now() int64 { return clocks.Realtime().Unix() }

// showPID is kernel ID kid as c's PID namespace has it.
func (c *Caller) showPID(kid int) int {
	if c.ShowPID == nil {
		return kid
	}
	return c.ShowPID(kid)
}
