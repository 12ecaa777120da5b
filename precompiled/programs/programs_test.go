package programs

import (
	"slices"
	"testing"

	"runsc-lite/precompiled"
)

// TestTableFresh: the table holds every program a sandbox's start builds,
// exactly as built now. If it fails, run go generate ./precompiled.
func TestTableFresh(t *testing.T) {
	progs, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range progs {
		got, ok := precompiled.Lookup(key)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("program %s is missing from the table or stale: run go generate ./precompiled", key)
		}
	}
	if n := precompiled.Len(); n != len(progs) {
		t.Errorf("the table has %d programs, the packages build %d: run go generate ./precompiled", n, len(progs))
	}
}
