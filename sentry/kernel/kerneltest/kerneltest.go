// Package kerneltest builds kernels and tasks for unit tests of the
// sentry: on memplatform, so no application code runs and no host process
// is started; with an empty tmpfs as the root filesystem and the caller's
// syscall table. A task a test makes is not started: the test's goroutine
// plays the task's own, calling handlers and kernel methods as the task
// would between two stops.
package kerneltest

import (
	"log/slog"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform/memplatform"
	"runsc-lite/sentry/fs/pipe"
	"runsc-lite/sentry/fs/tmpfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// MemoryLimit is the memory account of a test kernel: enough for any unit
// test, small enough that a runaway one fails fast.
const MemoryLimit = 256 << 20

// NewKernel returns a kernel on memplatform whose root is an empty tmpfs
// (mode 0755), with the syscall table st (nil: an empty one). Its tasks
// are killed when tb ends.
func NewKernel(tb testing.TB, st *kernel.SyscallTable) *kernel.Kernel {
	tb.Helper()
	v := vfs.New(tmpfs.New(0o755))
	v.SetFIFOOpener(pipe.NewFIFOs())
	if st == nil {
		st = kernel.NewSyscallTable()
	}
	k := kernel.New(memplatform.New(), v, st, slog.New(slog.DiscardHandler))
	k.Memory = usage.NewMemory(MemoryLimit)
	tb.Cleanup(k.KillAll)
	return k
}

// NewProcess creates a process in k with an empty address space, an empty
// descriptor table and a filesystem context at the root, and returns its
// task, not started. The first process of k is its init (PID 1).
func NewProcess(tb testing.TB, k *kernel.Kernel) *kernel.Task {
	tb.Helper()
	as, err := k.Platform.NewAddressSpace()
	if err != nil {
		tb.Fatalf("kerneltest: an address space: %v", err)
	}
	return k.NewProcess(mm.New(as, k.Memory), vfs.NewFDTable(), k.VFS.NewFSContext())
}

// NewTask returns the first task of a new kernel (see NewKernel).
func NewTask(tb testing.TB, st *kernel.SyscallTable) *kernel.Task {
	tb.Helper()
	return NewProcess(tb, NewKernel(tb, st))
}

// Map maps length bytes of anonymous read-write memory into t's address
// space and returns their address.
func Map(tb testing.TB, t *kernel.Task, length uintptr) uintptr {
	tb.Helper()
	addr, err := t.MM().Mmap(mm.MmapOpts{Length: length, Prot: unix.PROT_READ | unix.PROT_WRITE, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS})
	if err != nil {
		tb.Fatalf("kerneltest: mapping %d bytes: %v", length, err)
	}
	return addr
}
