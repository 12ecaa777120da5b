package kernel

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// SyscallArguments are the six argument registers of a syscall.
type SyscallArguments [6]uintptr

// Int returns argument i as a C int.
func (a SyscallArguments) Int(i int) int32 { return int32(a[i]) }

// Uint returns argument i as a C unsigned int.
func (a SyscallArguments) Uint(i int) uint32 { return uint32(a[i]) }

// Int64 returns argument i as a C long.
func (a SyscallArguments) Int64(i int) int64 { return int64(a[i]) }

// Pointer returns argument i as an application address.
func (a SyscallArguments) Pointer(i int) uintptr { return a[i] }

// SyscallFn handles one syscall. It returns the value for rax, or an error:
// a unix.Errno becomes -errno, anything else is logged and becomes -EIO.
type SyscallFn func(t *Task, args SyscallArguments) (uintptr, error)

// Support says how complete a syscall is.
type Support int

const (
	Unimplemented Support = iota // returns ENOSYS
	Partial                      // works for common uses; see its Note
	Full
)

func (s Support) String() string {
	switch s {
	case Partial:
		return "partial"
	case Full:
		return "full"
	}
	return "unimplemented"
}

// ArgKind tells strace how to print an argument.
type ArgKind int

const (
	ArgHex    ArgKind = iota // 0x1f
	ArgInt                   // 31, signed
	ArgFD                    // 3, or AT_FDCWD
	ArgPath                  // "a string" read from memory
	ArgString                // same, for non-path strings
	ArgOct                   // 0644
)

// Syscall is one entry of the syscall table.
type Syscall struct {
	Name    string
	Fn      SyscallFn // nil when Unimplemented
	Support Support
	Note    string    // what is missing, for Partial
	Args    []ArgKind // for strace; missing kinds print as ArgHex
}

// SyscallTable maps syscall numbers to handlers. One table drives dispatch,
// strace and the `runsc-lite syscalls` report.
type SyscallTable struct {
	Entries map[uintptr]Syscall

	// byNr holds the entries below directEntries by number, for dispatch
	// without a map lookup on every syscall; nil where none is registered.
	// Filled by Register alongside Entries.
	byNr [directEntries]*Syscall

	// errs are the registrations refused (Err).
	errs []error

	// unimplMu guards unimpl, which tasks update while Entries and errs,
	// filled before the table is used, are only read.
	unimplMu sync.Mutex
	unimpl   map[uintptr]bool // reported once each; guarded by unimplMu
}

// directEntries bounds the numbers dispatch finds by index: x86-64's are
// below 512 (the x32 ABI's start at 512).
const directEntries = 512

// NewSyscallTable returns an empty table.
func NewSyscallTable() *SyscallTable {
	return &SyscallTable{Entries: make(map[uintptr]Syscall), unimpl: make(map[uintptr]bool)}
}

// Register adds an entry. A number registered twice keeps its first entry
// and the second is refused: Err reports it, and the table must not be used.
func (st *SyscallTable) Register(nr uintptr, s Syscall) {
	if old, ok := st.Entries[nr]; ok {
		st.errs = append(st.errs, fmt.Errorf("syscall %d registered twice: as %q, then as %q", nr, old.Name, s.Name))
		return
	}
	if s.Fn == nil {
		s.Support = Unimplemented
	}
	st.Entries[nr] = s
	if nr < directEntries {
		st.byNr[nr] = &s
	}
}

// Lookup returns the entry of syscall nr, if one is registered.
func (st *SyscallTable) Lookup(nr uintptr) (*Syscall, bool) {
	if nr < directEntries {
		s := st.byNr[nr]
		return s, s != nil
	}
	s, ok := st.Entries[nr]
	return &s, ok
}

// Err reports the registrations Register refused.
func (st *SyscallTable) Err() error { return errors.Join(st.errs...) }

// Name returns the name of syscall nr.
func (st *SyscallTable) Name(nr uintptr) string {
	if s, ok := st.Entries[nr]; ok {
		return s.Name
	}
	return fmt.Sprintf("syscall_%d", nr)
}

// firstUnimplemented reports whether this is the first time nr was called
// without a handler.
func (st *SyscallTable) firstUnimplemented(nr uintptr) bool {
	st.unimplMu.Lock()
	defer st.unimplMu.Unlock()
	if st.unimpl[nr] {
		return false
	}
	st.unimpl[nr] = true
	return true
}

// Numbers returns the registered syscall numbers in order.
func (st *SyscallTable) Numbers() []uintptr {
	nrs := make([]uintptr, 0, len(st.Entries))
	for nr := range st.Entries {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	return nrs
}
