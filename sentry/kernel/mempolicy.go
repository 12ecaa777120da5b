package kernel

import "runsc-lite/sentry/mm"

// MemPolicy is the task's NUMA policy (set_mempolicy), nil for
// MPOL_DEFAULT. Each thread has its own; a child starts with its creator's
// and execve keeps it, as in Linux (copy_process's mpol_dup).
func (t *Task) MemPolicy() *mm.MemPolicy { return t.memPolicy }

// SetMemPolicy sets the task's NUMA policy.
func (t *Task) SetMemPolicy(p *mm.MemPolicy) { t.memPolicy = p }
