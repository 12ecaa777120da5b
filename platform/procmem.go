package platform

import (
	"errors"

	"golang.org/x/sys/unix"
)

// ProcessMemory is AddressSpace's ReadAt, WriteAt, ReadVec and WriteVec
// for platforms whose application memory is real memory of a host process
// (systrap and ptrace): process_vm_readv and process_vm_writev, one host
// call per copy however many ranges it has (more only beyond IOV_MAX
// ranges, or to go on after a partial transfer). Copies honour the
// reserved range and the end of the address space as
// ReadProcessMemoryVec says.
type ProcessMemory struct {
	// Holder is the address space, held in use during every copy: its
	// pid is the stub's until it is released.
	Holder   Holder
	PID      int
	Reserved Range
	// Also is a second reserved range, below Reserved (systrap's trap
	// table), honoured the same way; empty if none.
	Also Range
	// Gone is the error of a copy from a released or dead process.
	Gone error
}

// ReadAt implements AddressSpace.ReadAt.
func (m ProcessMemory) ReadAt(dst []byte, addr uintptr) (int, error) {
	return m.at(dst, addr, m.ReadVec)
}

// WriteAt implements AddressSpace.WriteAt.
func (m ProcessMemory) WriteAt(src []byte, addr uintptr) (int, error) {
	return m.at(src, addr, m.WriteVec)
}

// at copies b at addr with a vectored copy of one range. A range that
// would wrap around the top of the address space is cut there, and the
// copy is then short: EFAULT (a vectored copy moves only what its ranges
// hold, without error).
func (m ProcessMemory) at(b []byte, addr uintptr, vec func([]byte, []Range) (int, error)) (int, error) {
	n, err := vec(b, []Range{RangeOf(addr, len(b))})
	if err == nil && n < len(b) {
		err = unix.EFAULT
	}
	return n, err
}

// ReadVec implements AddressSpace.ReadVec.
func (m ProcessMemory) ReadVec(dst []byte, src []Range) (int, error) {
	return m.copy(dst, src, unix.ProcessVMReadv)
}

// WriteVec implements AddressSpace.WriteVec.
func (m ProcessMemory) WriteVec(src []byte, dst []Range) (int, error) {
	return m.copy(src, dst, unix.ProcessVMWritev)
}

func (m ProcessMemory) copy(b []byte, rs []Range, op processVMOp) (int, error) {
	if !m.Holder.Enter() {
		return 0, m.Gone
	}
	defer m.Holder.Leave()
	rs, cut := cutAt(m.Also, rs, len(b))
	n, err := copyProcessMemory(m.PID, m.Reserved, b, rs, op)
	if errors.Is(err, unix.ESRCH) {
		return n, m.Gone
	}
	if err == nil && cut {
		err = unix.EFAULT
	}
	return n, err
}

// cutAt returns the ranges of the first n bytes of rs up to the first byte
// in also, and whether that cut anything.
func cutAt(also Range, rs []Range, n int) ([]Range, bool) {
	if also.End <= also.Start {
		return rs, false
	}
	total := 0
	for i, r := range rs {
		if total >= n {
			return rs[:i], false
		}
		if r.End <= r.Start {
			continue
		}
		if l := userLength(also, r.Start, int(min(r.End-r.Start, uintptr(n-total)))); l < int(min(r.End-r.Start, uintptr(n-total))) {
			out := append(append([]Range(nil), rs[:i]...), Range{r.Start, r.Start + uintptr(l)})
			return out, true
		}
		total += int(r.End - r.Start)
	}
	return rs, false
}

// RangeOf is the range of n bytes at addr, cut at the top of the address
// space if it would wrap around.
func RangeOf(addr uintptr, n int) Range {
	end := addr + uintptr(n)
	if end < addr {
		end = ^uintptr(0)
	}
	return Range{addr, end}
}

// ReadProcessMemory copies application memory at addr of the process pid
// to dst (ReadProcessMemoryVec of one range).
func ReadProcessMemory(pid int, reserved Range, dst []byte, addr uintptr) (int, error) {
	return copyProcessMemory(pid, reserved, dst, []Range{RangeOf(addr, len(dst))}, unix.ProcessVMReadv)
}

// WriteProcessMemory copies src to application memory at addr of the
// process pid (WriteProcessMemoryVec of one range).
func WriteProcessMemory(pid int, reserved Range, src []byte, addr uintptr) (int, error) {
	return copyProcessMemory(pid, reserved, src, []Range{RangeOf(addr, len(src))}, unix.ProcessVMWritev)
}

// ReadProcessMemoryVec copies the ranges src of the process pid, in
// order, to dst, with process_vm_readv: as many bytes as the smaller of
// dst and the ranges hold. A copy stops at the first byte it cannot reach:
// an unmapped or inaccessible page, the start of reserved (which the
// application may not touch, so neither may a copy on its behalf), or the
// end of the address space; it then returns the count so far and an error
// wrapping EFAULT. Other failures are the host errno (ESRCH once the
// process is gone).
func ReadProcessMemoryVec(pid int, reserved Range, dst []byte, src []Range) (int, error) {
	return copyProcessMemory(pid, reserved, dst, src, unix.ProcessVMReadv)
}

// WriteProcessMemoryVec copies src to the ranges dst of the process pid,
// in order, with process_vm_writev: see ReadProcessMemoryVec.
func WriteProcessMemoryVec(pid int, reserved Range, src []byte, dst []Range) (int, error) {
	return copyProcessMemory(pid, reserved, src, dst, unix.ProcessVMWritev)
}

type processVMOp func(pid int, local []unix.Iovec, remote []unix.RemoteIovec, flags uint) (int, error)

// maxIOV is the most iovecs process_vm_readv and process_vm_writev take
// on either side (IOV_MAX).
const maxIOV = 1024

func copyProcessMemory(pid int, reserved Range, b []byte, rs []Range, op processVMOp) (int, error) {
	remote, want, cut := remoteIovecs(reserved, rs, len(b))
	done := 0
	for done < want {
		local := []unix.Iovec{{Base: &b[done]}}
		local[0].SetLen(want - done)
		n, err := op(pid, local, remote[:min(len(remote), maxIOV)], 0)
		if err != nil {
			return done, err
		}
		if n == 0 {
			break
		}
		done += n
		remote = dropRemote(remote, n)
	}
	if done < want || cut {
		return done, unix.EFAULT
	}
	return done, nil
}

// remoteIovecs lists the nonempty parts of rs that a copy of at most n
// bytes reaches, stopping at reserved and at the end of the address space,
// and returns them, their total, and whether a range was cut short there.
func remoteIovecs(reserved Range, rs []Range, n int) ([]unix.RemoteIovec, int, bool) {
	var remote []unix.RemoteIovec
	total := 0
	for _, r := range rs {
		if total == n {
			break
		}
		if r.End <= r.Start {
			continue
		}
		want := int(min(r.End-r.Start, uintptr(n-total)))
		got := userLength(reserved, r.Start, want)
		if got > 0 {
			remote = append(remote, unix.RemoteIovec{Base: r.Start, Len: got})
			total += got
		}
		if got < want {
			return remote, total, true
		}
	}
	return remote, total, false
}

// dropRemote drops the first n bytes of remote, in place.
func dropRemote(remote []unix.RemoteIovec, n int) []unix.RemoteIovec {
	for len(remote) > 0 && n >= remote[0].Len {
		n -= remote[0].Len
		remote = remote[1:]
	}
	if n > 0 {
		remote[0].Base += uintptr(n)
		remote[0].Len -= n
	}
	return remote
}

// userLength is how much of [addr, addr+n) can be copied before reaching
// reserved or the end of the address space.
func userLength(reserved Range, addr uintptr, n int) int {
	end := addr + uintptr(n)
	if end < addr {
		end = ^uintptr(0)
	}
	if reserved.Contains(addr) {
		return 0
	}
	if addr < reserved.Start && end > reserved.Start {
		end = reserved.Start
	}
	return int(end - addr)
}
