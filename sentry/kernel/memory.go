package kernel

import (
	"runsc-lite/sentry/kernel/aio"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/usage"
)

// MemoryAccount returns the sandbox memory account that t's mappings, and
// the file data it writes into memory, are charged to.
func (t *Task) MemoryAccount() *usage.Memory { return t.MM().Memory() }

// AIO returns the native AIO contexts of the task's address space, made
// at the first call; nil if the address space is gone.
func (t *Task) AIO() *aio.Table {
	m := t.MM()
	mem := m.Memory()
	r := m.AIO(func() mm.Releaser { return aio.NewTable(t.K.AIO, mem) })
	tb, _ := r.(*aio.Table)
	return tb
}
