package abi

// Ustat is struct ustat (include/linux/types.h) on x86-64, what ustat(2)
// fills; it has no uapi header and glibc dropped <ustat.h>.
type Ustat struct {
	Tfree  int32
	_      int32
	Tinode uint64
	Fname  [6]byte
	Fpack  [6]byte
	_      [4]byte
}
