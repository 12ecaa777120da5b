package platform

import "golang.org/x/sys/unix"

// ReadProcessMemory and WriteProcessMemory implement AddressSpace.ReadAt
// and WriteAt for platforms whose application memory is real memory of a
// host process (pid), with process_vm_readv and process_vm_writev. A copy
// stops at the first byte it cannot reach: an unmapped or inaccessible page,
// the start of reserved (which the application may not touch, so neither may
// a copy on its behalf), or the end of the address space; it then returns
// the count so far and an error wrapping EFAULT. Other failures are the host
// errno (ESRCH once the process is gone).
func ReadProcessMemory(pid int, reserved Range, dst []byte, addr uintptr) (int, error) {
	return copyProcessMemory(pid, reserved, dst, addr, unix.ProcessVMReadv)
}

// WriteProcessMemory: see ReadProcessMemory.
func WriteProcessMemory(pid int, reserved Range, src []byte, addr uintptr) (int, error) {
	return copyProcessMemory(pid, reserved, src, addr, unix.ProcessVMWritev)
}

type processVMOp func(pid int, local []unix.Iovec, remote []unix.RemoteIovec, flags uint) (int, error)

func copyProcessMemory(pid int, reserved Range, b []byte, addr uintptr, op processVMOp) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	want := userLength(reserved, addr, len(b))
	done := 0
	for done < want {
		local := []unix.Iovec{{Base: &b[done]}}
		local[0].SetLen(want - done)
		remote := []unix.RemoteIovec{{Base: addr + uintptr(done), Len: want - done}}
		n, err := op(pid, local, remote, 0)
		if err != nil {
			return done, err
		}
		if n == 0 {
			break
		}
		done += n
	}
	if done < len(b) {
		return done, unix.EFAULT
	}
	return done, nil
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
