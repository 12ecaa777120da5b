// Package handwritten is what abicheck must flag: each line marked "want".
package handwritten

import (
	"encoding/binary"

	"runsc-lite/abi"
)

const (
	saRestart  = 0x10000000 // want const
	SIGKILL    = 9          // want const
	sigSegv    = 12         // not SIGSEGV's value: not flagged
	ourOwnName = 0x10000000 // not a library name: not flagged
)

func decode(b []byte) (uint32, uint64) {
	const sigevSignal = 0                    // want const
	binary.LittleEndian.PutUint32(b[4:], 1)  // want offset
	x := binary.LittleEndian.Uint32(b[8:12]) // want offset
	y := binary.LittleEndian.Uint64(b[:8])   // a scalar at 0: not flagged
	return x + sigevSignal, y
}

func strided(b []byte, i int) uint16 {
	return binary.LittleEndian.Uint16(b[6*i+2:]) // want offset
}

func fields(pid, uid uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, pid) // one scalar: not flagged
	return binary.LittleEndian.AppendUint32(b, uid) // want append
}

type padded struct {
	a uint8
	b uint64
}

type withString struct{ s string }

func views(p *padded, w *withString, n *[4]uint64) {
	_ = abi.AsBytes(p) // want copy
	_ = abi.AsBytes(w) // want copy
	_ = abi.AsBytes(n)
}
