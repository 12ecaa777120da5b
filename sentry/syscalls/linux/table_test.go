package linux

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestTableMatchesGeneratedNames checks the table against names_amd64.go,
// generated from the kernel's header (tools/syscallnames checks that it is
// fresh): every number has exactly one entry, under the kernel's name, and
// no handler is registered under a number the kernel does not have.
func TestTableMatchesGeneratedNames(t *testing.T) {
	st, err := NewTable()
	if err != nil {
		t.Fatal(err)
	}
	for nr, name := range syscallNames {
		s, ok := st.Entries[nr]
		if !ok {
			t.Errorf("syscall %d (%s) has no entry", nr, name)
			continue
		}
		if s.Name != name {
			t.Errorf("syscall %d is registered as %q; the kernel calls it %q", nr, s.Name, name)
		}
	}
	for nr, s := range st.Entries {
		if _, ok := syscallNames[nr]; !ok {
			t.Errorf("syscall %d (%s) is not an x86-64 syscall", nr, s.Name)
		}
	}
	if got := st.Entries[unix.SYS_READ]; got.Fn == nil {
		t.Errorf("read has no handler")
	}
}
