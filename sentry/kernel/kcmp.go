package kernel

import (
	"crypto/rand"
	"encoding/binary"
	"reflect"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
)

// kcmp(2) orders kernel objects by their addresses, obfuscated as Linux's
// kptr_obfuscate does so that the order tells nothing of where the
// sentry's objects live: (address ^ a) * b, b odd, a and b random per
// sandbox and per type. Go's collector does not move heap objects, so an
// object's order is stable while it lives.
type kcmpCookies [abi.KCMP_TYPES][2]uint64

func newKcmpCookies() *kcmpCookies {
	var c kcmpCookies
	binary.Read(rand.Reader, binary.LittleEndian, &c) // crypto/rand does not fail
	for i := range c {
		c[i][1] |= 1
	}
	return &c
}

// Kcmp implements kcmp(2) between t's and other's objects of type typ
// (for KCMP_FILE, descriptors idx1 of t and idx2 of other): 0 if they are
// the same object, else 1 or 2 by their obfuscated order. A zombie has no
// address space, descriptor table or root any more (exit_mm, exit_files,
// exit_fs): two zombies' compare equal, a zombie's descriptor is EBADF.
// KCMP_IO, KCMP_SYSVSEM and KCMP_EPOLL_TFD are not kept as objects here
// (EINVAL, logged).
func (caller *Task) Kcmp(t, other *Task, typ int, idx1, idx2 int32) (int, error) {
	if !caller.MayInspect(t) || !caller.MayInspect(other) {
		return 0, unix.EPERM
	}
	live1, live2 := !t.IsZombie(), !other.IsZombie()
	var a, b any
	switch typ {
	case abi.KCMP_FILE:
		if !live1 || !live2 {
			return 0, unix.EBADF
		}
		f1, err := t.FDs().Get(idx1)
		if err != nil {
			return 0, unix.EBADF
		}
		defer f1.DecRef()
		f2, err := other.FDs().Get(idx2)
		if err != nil {
			return 0, unix.EBADF
		}
		defer f2.DecRef()
		a, b = f1, f2
	case abi.KCMP_VM:
		a, b = liveOnly(live1, t.MM()), liveOnly(live2, other.MM())
	case abi.KCMP_FILES:
		a, b = liveOnly(live1, t.FDs()), liveOnly(live2, other.FDs())
	case abi.KCMP_FS:
		a, b = liveOnly(live1, t.FS()), liveOnly(live2, other.FS())
	case abi.KCMP_SIGHAND:
		a, b = t.TG, other.TG // signal actions are the process's
	case abi.KCMP_IO, abi.KCMP_SYSVSEM, abi.KCMP_EPOLL_TFD:
		caller.Log().Warn("unimplemented: kcmp type", "type", typ)
		return 0, unix.EINVAL
	default:
		return 0, unix.EINVAL
	}
	c := caller.K.kcmp[typ]
	o1 := (pointer(a) ^ c[0]) * c[1]
	o2 := (pointer(b) ^ c[0]) * c[1]
	switch {
	case o1 < o2:
		return 1, nil
	case o1 > o2:
		return 2, nil
	}
	return 0, nil
}

// liveOnly is o for a live task's object, nil for a zombie's.
func liveOnly(live bool, o any) any {
	if live {
		return o
	}
	return nil
}

// pointer is the address of the object o points to, 0 for nil.
func pointer(o any) uint64 {
	if o == nil {
		return 0
	}
	return uint64(reflect.ValueOf(o).Pointer())
}
