package abi

// Termio is struct termio (include/uapi/asm-generic/termios.h), the
// System V form of the terminal settings that TCGETA and TCSETA* take:
// the low 16 bits of each flag word and the first NCC control characters.
type Termio struct {
	InputFlags        uint16
	OutputFlags       uint16
	ControlFlags      uint16
	LocalFlags        uint16
	LineDiscipline    uint8
	ControlCharacters [NCC]uint8
	_                 uint8
}

// NCC is how many control characters struct termio holds.
const NCC = 8
