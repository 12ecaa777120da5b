package kernel

import (
	"runtime"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sentry/usermem"
)

// Structures cross into and out of application memory as typed values:
// CopyIn(t, addr, &ts) with a type of pkg/abi/linux, x/sys/unix or package
// abi (or an integer), never as bytes taken apart at hand-counted offsets.
// A bad address is EFAULT. They allocate nothing: v stays where the caller
// put it (abi.AsBytes).

// CopyIn reads *v from application memory at addr.
func CopyIn[T any](t *Task, addr uintptr, v *T) error {
	err := t.CopyIn(addr, abi.AsBytes(v))
	runtime.KeepAlive(v)
	return err
}

// CopyOut writes *v to application memory at addr.
func CopyOut[T any](t *Task, addr uintptr, v *T) error {
	err := t.CopyOut(addr, abi.AsBytes(v))
	runtime.KeepAlive(v)
	return err
}

// CopyInSlice reads len(s) consecutive values from application memory at
// addr.
func CopyInSlice[T any](t *Task, addr uintptr, s []T) error {
	err := t.CopyIn(addr, abi.SliceBytes(s))
	runtime.KeepAlive(s)
	return err
}

// CopyOutSlice writes the values of s consecutively to application memory
// at addr.
func CopyOutSlice[T any](t *Task, addr uintptr, s []T) error {
	err := t.CopyOut(addr, abi.SliceBytes(s))
	runtime.KeepAlive(s)
	return err
}

// SingleIOSequence is the memory of an I/O syscall with one buffer, n
// bytes at addr: EFAULT unless they lie in the user address space
// (access_ok on the count given, as read(2) and write(2) check it), then
// cut to MAX_RW_COUNT. Sockets, which cut first and check after, pass
// min(n, usermem.MaxRW).
func (t *Task) SingleIOSequence(addr uintptr, n uint64) (usermem.IOSequence, error) {
	if !usermem.AccessOK(addr, n) {
		return usermem.IOSequence{}, unix.EFAULT
	}
	return usermem.NewIOSequence(t.MM(), []platform.Range{platform.RangeOf(addr, int(min(n, usermem.MaxRW)))}), nil
}

// IovecsIOSequence is the memory of the cnt iovecs at addr (readv, writev,
// a msghdr's msg_iov): EINVAL for more than UIO_MAXIOV, then the iovecs as
// usermem.ImportIovecs checks them.
func (t *Task) IovecsIOSequence(addr uintptr, cnt int) (usermem.IOSequence, error) {
	if cnt < 0 || cnt > linux.UIO_MAXIOV {
		return usermem.IOSequence{}, unix.EINVAL
	}
	iovs := make([]abi.Iovec, cnt)
	if err := CopyInSlice(t, addr, iovs); err != nil {
		return usermem.IOSequence{}, err
	}
	rs, err := usermem.ImportIovecs(iovs)
	if err != nil {
		return usermem.IOSequence{}, err
	}
	return usermem.NewIOSequence(t.MM(), rs), nil
}

// Memory is the application memory an extensible structure is read from
// (a *Task, or the vfs.Memory an ioctl is given).
type Memory interface {
	CopyIn(addr uintptr, dst []byte) error
}

// CopyInExtensible reads an extensible structure of size bytes at addr
// into v, as Linux's copy_struct_from_user: a shorter one leaves the rest
// of v zero; the bytes past v of a longer one must be zero (E2BIG
// otherwise, a field this kernel does not know). The caller bounds size.
func CopyInExtensible[T any](mem Memory, addr uintptr, size int, v *T) error {
	b := abi.AsBytes(v)
	n := min(size, len(b))
	clear(b[n:])
	err := mem.CopyIn(addr, b[:n])
	runtime.KeepAlive(v)
	if err != nil || size <= len(b) {
		return err
	}
	rest := make([]byte, size-len(b))
	if err := mem.CopyIn(addr+uintptr(len(b)), rest); err != nil {
		return err
	}
	for _, x := range rest {
		if x != 0 {
			return unix.E2BIG
		}
	}
	return nil
}
