package kernel

import (
	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/sentry/mm"
)

// The persona (personality(2)) and the randomization of a new program's
// layout. An execve lays the program out at random (Linux's
// PF_RANDOMIZE) unless the execing task's persona has ADDR_NO_RANDOMIZE
// or the sandbox's randomize_va_space is 0; at 1 the heap's start is
// fixed, at 2 (the default) it moves too (mm.Randomization). The
// setting is the sandbox's, as Linux's is the host's.

// Personality returns the task's persona.
func (t *Task) Personality() uint32 { return t.personality.Load() }

// SetPersonality sets the task's persona; its children and the programs
// it execs keep it.
func (t *Task) SetPersonality(p uint32) { t.personality.Store(p) }

// randomization is how the program t execs next is laid out.
func (t *Task) randomization() mm.Randomization {
	if t.Personality()&abi.ADDR_NO_RANDOMIZE != 0 {
		return mm.NoRandomization
	}
	return mm.Randomization(t.K.RandomizeVA())
}

// RandomizeVA is /proc/sys/kernel/randomize_va_space: 0, 1 or 2.
func (k *Kernel) RandomizeVA() int { return int(k.randomizeVA.Load()) }

// SetRandomizeVA sets randomize_va_space: EINVAL outside 0..2
// (proc_dointvec_minmax).
func (k *Kernel) SetRandomizeVA(v int64) error {
	if v < int64(mm.NoRandomization) || v > int64(mm.RandomizeAll) {
		return unix.EINVAL
	}
	k.randomizeVA.Store(int32(v))
	return nil
}
