package loader_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform/systrap"
	"runsc-lite/sentry/loader"
	"runsc-lite/sentry/mm"
)

// hostFile is a loader.File on a host file, for tests without a VFS.
type hostFile struct{ f *os.File }

func (h hostFile) ReadAt(p []byte, off int64) (int, error) { return h.f.ReadAt(p, off) }
func (h hostFile) MappableFile() (*os.File, error) {
	fd, err := unix.Dup(int(h.f.Fd()))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), h.f.Name()), nil
}
func (h hostFile) Stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstat(int(h.f.Fd()), &st)
	return st, err
}

func hostOpener(path string) (loader.File, string, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, err
	}
	return hostFile{f}, path, func() { f.Close() }, nil
}

func newMM(t *testing.T) *mm.MemoryManager {
	t.Helper()
	p, err := systrap.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	m := mm.New(as, nil)
	t.Cleanup(m.Release)
	return m
}

func compile(t *testing.T, static bool) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "p.c")
	os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644)
	out := filepath.Join(dir, "p")
	args := []string{"-o", out, src}
	if static {
		args = append([]string{"-static"}, args...)
	}
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

// readStack returns argc and the argv strings at sp.
func readStack(t *testing.T, m *mm.MemoryManager, sp uint64) []string {
	t.Helper()
	word := func(addr uint64) uint64 {
		var b [8]byte
		if _, err := m.CopyIn(uintptr(addr), b[:]); err != nil {
			t.Fatalf("reading stack at %#x: %v", addr, err)
		}
		return binary.LittleEndian.Uint64(b[:])
	}
	argc := word(sp)
	var argv []string
	for i := uint64(0); i < argc; i++ {
		p := word(sp + 8 + 8*i)
		b := make([]byte, 64)
		m.CopyIn(uintptr(p), b)
		argv = append(argv, strings.TrimRight(string(b[:strings.IndexByte(string(b), 0)]), "\x00"))
	}
	if word(sp+8+8*argc) != 0 {
		t.Error("argv is not NULL-terminated")
	}
	return argv
}

func TestLoadELF(t *testing.T) {
	for name, path := range map[string]string{
		"static":  compile(t, true),
		"dynamic": compile(t, false),
	} {
		t.Run(name, func(t *testing.T) {
			m := newMM(t)
			res, err := loader.Load(m, hostOpener, path, []string{"p", "arg1"}, []string{"A=B"})
			if err != nil {
				t.Fatal(err)
			}
			defer res.ExeRelease()
			if got := readStack(t, m, res.Regs.Rsp); len(got) != 2 || got[0] != "p" || got[1] != "arg1" {
				t.Errorf("argv on the stack = %q", got)
			}
			if res.Regs.Rsp%16 != 0 {
				t.Errorf("stack pointer %#x is not 16-byte aligned", res.Regs.Rsp)
			}
			code := make([]byte, 4)
			if _, err := m.CopyIn(uintptr(res.Regs.Rip), code); err != nil {
				t.Errorf("entry %#x is not mapped: %v", res.Regs.Rip, err)
			}
			if name == "dynamic" && !strings.Contains(m.Maps(nil), "ld-linux") {
				t.Errorf("interpreter not mapped:\n%s", m.Maps(nil))
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	os.WriteFile(text, []byte("just text\n"), 0o755)
	noexec := filepath.Join(dir, "noexec")
	os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644)
	loop := filepath.Join(dir, "loop")
	os.WriteFile(loop, []byte("#!"+loop+"\n"), 0o755)
	for _, c := range []struct {
		path string
		want error
	}{
		{text, unix.ENOEXEC},
		{noexec, unix.EACCES},
		{dir, unix.EACCES},
		{filepath.Join(dir, "missing"), unix.ENOENT},
		{loop, unix.ELOOP},
	} {
		m := newMM(t)
		if _, err := loader.Load(m, hostOpener, c.path, []string{"x"}, nil); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", filepath.Base(c.path), err, c.want)
		}
	}
}

func TestShebang(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	interp := compile(t, true)
	os.WriteFile(script, []byte("#!"+interp+" -x y\necho\n"), 0o755)
	m := newMM(t)
	res, err := loader.Load(m, hostOpener, script, []string{"script", "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The executable kept open is the interpreter, as Linux's exe_file.
	if f, ok := res.ExeFile.(hostFile); !ok || f.f.Name() != interp {
		t.Errorf("ExeFile = %v, want the interpreter %s", res.ExeFile, interp)
	}
	res.ExeRelease()
	got := readStack(t, m, res.Regs.Rsp)
	if len(got) != 4 || got[1] != "-x y" || got[2] != script || got[3] != "a" {
		t.Errorf("argv = %q, want [interp \"-x y\" script a]", got)
	}
}

// TestLoadBSS: the tail of a segment's last file page reads as zeros, and
// a later segment mapped over that page replaces it with the file's bytes,
// as Linux's elf_load, which zeroes each tail before it maps the next
// segment (the loader now zeroes them all after the last mapping).
func TestLoadBSS(t *testing.T) {
	const rw = elf.PF_R | elf.PF_W
	for _, tc := range []struct {
		name string
		segs []seg
		want byte // at 0x400300, past the first segment's file bytes
	}{
		{"bss", []seg{{elf.PT_LOAD, rw, 0, 0x400000, 0x300, 0x2000}}, 0},
		{"page-shared", []seg{
			{elf.PT_LOAD, rw, 0, 0x400000, 0x300, 0x400},
			{elf.PT_LOAD, rw, 0x800, 0x400800, 0x100, 0x100},
		}, 0xaa},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := 64 + 56*len(tc.segs)
			exe := elfBytes(elf.ET_EXEC, 0x400000, tc.segs, bytes.Repeat([]byte{0xaa}, 0x1000-hdr))
			path := filepath.Join(t.TempDir(), "exe")
			if err := os.WriteFile(path, exe, 0o755); err != nil {
				t.Fatal(err)
			}
			m := newMM(t)
			if _, err := loader.Load(m, hostOpener, path, []string{"exe"}, nil); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 0x200)
			if _, err := m.CopyIn(0x400200, got); err != nil {
				t.Fatal(err)
			}
			for i, b := range got {
				want := byte(0xaa)
				if i >= 0x100 {
					want = tc.want
				}
				if b != want {
					t.Fatalf("byte at %#x = %#x, want %#x", 0x400200+i, b, want)
				}
			}
		})
	}
}
