package kernel

import "sync/atomic"

// membarrierState is a process's membarrier registrations (the
// MEMBARRIER_CMD_REGISTER_* bits), which Linux keeps per address space:
// execve clears them.
type membarrierState struct{ registered atomic.Uint32 }

// MembarrierRegister records a registration command.
func (tg *ThreadGroup) MembarrierRegister(cmd uint32) { tg.membarrier.registered.Or(cmd) }

// MembarrierRegistered returns the registration bits.
func (tg *ThreadGroup) MembarrierRegistered() uint32 { return tg.membarrier.registered.Load() }
