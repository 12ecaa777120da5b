package aio

import "unsafe"

// The offsets of the ring header's words the sentry reads or writes
// alone: the id at io_setup, head and tail at every read and completion
// (the application writes head concurrently; the header is never
// rewritten whole).
const (
	ringIDOffset   = int64(unsafe.Offsetof(ringHeader{}.ID))
	ringHeadOffset = int64(unsafe.Offsetof(ringHeader{}.Head))
	ringTailOffset = int64(unsafe.Offsetof(ringHeader{}.Tail))
)
