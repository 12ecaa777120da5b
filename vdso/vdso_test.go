package vdso

import (
	"bytes"
	"debug/elf"
	"os"
	"reflect"
	"strings"
	"testing"

	"runsc-lite/internal/generated"
)

// TestImageIsFresh fails when vdso.so or vdso.stamp no longer match the
// sources: run `go generate ./vdso` and commit the result.
func TestImageIsFresh(t *testing.T) {
	generated.CheckFresh(t, "c/build.sh", "vdso.so", "vdso.stamp", Image, "go generate ./vdso")
}

// TestImage checks what the sentry and the loaders rely on: one loadable
// segment from offset 0 at address 0, no relocations, and every function
// Linux's vDSO has for x86-64, under version LINUX_2.6.
func TestImage(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader(Image))
	if err != nil {
		t.Fatal(err)
	}
	var loads int
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			loads++
			if p.Off != 0 || p.Vaddr != 0 || p.Filesz != p.Memsz || p.Flags != elf.PF_R|elf.PF_X {
				t.Errorf("segment %+v: want offset 0 at address 0, read+exec, nothing zero-filled", p.ProgHeader)
			}
		}
	}
	if loads != 1 {
		t.Errorf("%d PT_LOAD segments, want 1", loads)
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_RELA || s.Type == elf.SHT_REL {
			t.Errorf("relocation section %s", s.Name)
		}
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Version == "LINUX_2.6" {
			have[s.Name] = true
		}
	}
	for _, name := range []string{"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu", "__vdso_clock_getres", "clock_gettime", "gettimeofday", "time", "getcpu", "clock_getres"} {
		if !have[name] {
			t.Errorf("no function %s@LINUX_2.6", name)
		}
	}
}

// TestParamsLayout compares Params with struct vdso_params: the same
// fields, in order, each eight bytes.
func TestParamsLayout(t *testing.T) {
	src, err := os.ReadFile("c/params.h")
	if err != nil {
		t.Fatal(err)
	}
	var cFields []string
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if (strings.HasPrefix(line, "uint64_t ") || strings.HasPrefix(line, "int64_t ")) && strings.HasSuffix(line, ";") {
			cFields = append(cFields, strings.ReplaceAll(strings.TrimSuffix(strings.Fields(line)[1], ";"), "_", ""))
		}
	}
	typ := reflect.TypeOf(Params{})
	var goFields []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Type.Size() != 8 || f.Offset != uintptr(8*i) {
			t.Errorf("Params.%s: size %d at %d, want 8 at %d", f.Name, f.Type.Size(), f.Offset, 8*i)
		}
		goFields = append(goFields, strings.ToLower(f.Name))
	}
	if strings.Join(goFields, ",") != strings.Join(cFields, ",") {
		t.Errorf("Params fields %v, struct vdso_params %v", goFields, cFields)
	}
}
