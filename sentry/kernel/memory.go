package kernel

import "runsc-lite/sentry/usage"

// MemoryAccount returns the sandbox memory account that t's mappings, and
// the file data it writes into memory, are charged to.
func (t *Task) MemoryAccount() *usage.Memory { return t.MM().Memory() }
