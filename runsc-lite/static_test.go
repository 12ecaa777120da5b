package main

import (
	"debug/elf"
	"os"
	"testing"
)

// TestStaticBuild: built as the README and the tests build it
// (CGO_ENABLED=0), runsc-lite is a static binary: the sentry executes
// itself again into an empty root, and its seccomp program then has no
// room for glibc's threads. netstack imports package net, whose C
// resolver would link glibc into a build with cgo on; such a build still
// runs, with the weaker filter docs/security.md describes.
func TestStaticBuild(t *testing.T) {
	if os.Getenv("RUNSC_LITE_BIN") != "" {
		t.Skip("RUNSC_LITE_BIN names a binary built elsewhere")
	}
	f, err := elf.Open(runscBin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v segment: built with CGO_ENABLED=0 it must be static", runscBin, p.Type)
		}
	}
}
