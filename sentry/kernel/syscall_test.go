package kernel

import "testing"

func TestRegisterRefusesDuplicates(t *testing.T) {
	st := NewSyscallTable()
	first := func(*Task, SyscallArguments) (uintptr, error) { return 1, nil }
	st.Register(0, Syscall{Name: "read", Fn: first, Support: Full})
	if err := st.Err(); err != nil {
		t.Fatalf("one registration: %v", err)
	}
	st.Register(0, Syscall{Name: "read"})
	if st.Err() == nil {
		t.Fatal("a second registration of syscall 0 was accepted")
	}
	if got := st.Entries[0]; got.Fn == nil || got.Support != Full {
		t.Errorf("the second registration replaced the first: %+v", got)
	}
}
