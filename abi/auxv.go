package abi

// AuxEntry is an entry of an auxiliary vector, Elf64_auxv_t (elf.h): a
// type (AT_*) and its value.
type AuxEntry struct {
	Type uint64
	Val  uint64
}

// AuxvEntries reads the entries of an auxiliary vector as the kernel lays
// it out (on the initial stack, in /proc/PID/auxv); a partial entry at the
// end is left out.
func AuxvEntries(b []byte) []AuxEntry {
	es := make([]AuxEntry, len(b)/len(AsBytes(&AuxEntry{})))
	copy(SliceBytes(es), b)
	return es
}
