package loader_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/sentry/loader"
	"runsc-lite/sentry/mm"
)

// fakeAS is a platform.AddressSpace without a process: it records every
// request, and checks that none touches its reserved ranges or leaves the
// user address space. Writes land only in mapped, writable pages; their
// data is dropped (the loader does not read it back).
type fakeAS struct {
	t        *testing.T
	reserved []platform.Range
	// events are mappings, protection changes and unmappings, newest
	// last: the newest one covering a page says what the page is.
	events []asEvent
}

type asEvent struct {
	platform.Range
	prot   int
	mapped bool
}

// fakeReserved is where the fake platform keeps its stub: high in the
// address space, as the real platforms do (the memory manager puts the
// mmap area below it). Seeds aim segments at it.
var fakeReserved = []platform.Range{{Start: 0x7fe000000000, End: 0x7fe000200000}}

func newFakeMM(t *testing.T) *mm.MemoryManager {
	return mm.New(&fakeAS{t: t, reserved: fakeReserved}, nil)
}

// check reports a request that a real platform must never receive: the
// memory manager and loader have to refuse it first.
func (as *fakeAS) check(op string, addr, length uintptr) error {
	end := addr + length
	if length == 0 || end < addr || addr < 0x10000 || end > mm.TaskSize || addr%4096 != 0 || length%4096 != 0 {
		as.t.Errorf("%s request [%#x, +%#x) outside the user address space or unaligned", op, addr, length)
		return unix.EINVAL
	}
	for _, r := range as.reserved {
		if r.Overlaps(addr, length) {
			as.t.Errorf("%s request [%#x, %#x) overlaps the reserved range [%#x, %#x)", op, addr, end, r.Start, r.End)
			return unix.EINVAL
		}
	}
	return nil
}

func (as *fakeAS) Mmap(addr, length uintptr, prot, flags int, f *os.File, off int64) (uintptr, error) {
	if flags&unix.MAP_FIXED == 0 {
		as.t.Errorf("mmap without MAP_FIXED at %#x: the sentry chooses every address", addr)
		return 0, unix.EINVAL
	}
	if err := as.check("mmap", addr, length); err != nil {
		return 0, err
	}
	as.events = append(as.events, asEvent{platform.Range{Start: addr, End: addr + length}, prot, true})
	return addr, nil
}

func (as *fakeAS) Munmap(addr, length uintptr) error {
	if err := as.check("munmap", addr, length); err != nil {
		return err
	}
	as.events = append(as.events, asEvent{platform.Range{Start: addr, End: addr + length}, 0, false})
	return nil
}

func (as *fakeAS) Mprotect(addr, length uintptr, prot int) error {
	if err := as.check("mprotect", addr, length); err != nil {
		return err
	}
	as.events = append(as.events, asEvent{platform.Range{Start: addr, End: addr + length}, prot, true})
	return nil
}

// page returns the protection of the page at addr and whether it is
// mapped.
func (as *fakeAS) page(addr uintptr) (int, bool) {
	for i := len(as.events) - 1; i >= 0; i-- {
		if e := as.events[i]; e.Contains(addr) {
			return e.prot, e.mapped
		}
	}
	return 0, false
}

func (as *fakeAS) access(addr uintptr, n int, prot int) (int, error) {
	done := 0
	for done < n {
		p, ok := as.page(addr + uintptr(done))
		if !ok || p&prot == 0 {
			return done, fmt.Errorf("fake address space at %#x: %w", addr+uintptr(done), unix.EFAULT)
		}
		done += min(n-done, 4096-int((addr+uintptr(done))%4096))
	}
	return n, nil
}

func (as *fakeAS) ReadAt(dst []byte, addr uintptr) (int, error) {
	return as.access(addr, len(dst), unix.PROT_READ)
}

func (as *fakeAS) ReadVec(dst []byte, src []platform.Range) (int, error) {
	return platform.CopyEachRange(dst, src, as.ReadAt)
}

func (as *fakeAS) WriteVec(src []byte, dst []platform.Range) (int, error) {
	return platform.CopyEachRange(src, dst, as.WriteAt)
}

func (as *fakeAS) WriteAt(src []byte, addr uintptr) (int, error) {
	return as.access(addr, len(src), unix.PROT_WRITE)
}

func (as *fakeAS) Mremap(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error) {
	return 0, unix.EINVAL
}
func (as *fakeAS) Resident(addr uintptr, vec []byte) error         { return unix.EINVAL }
func (as *fakeAS) Private(addr uintptr, vec []byte) error          { return unix.EINVAL }
func (as *fakeAS) PeakResident() (uint64, error)                   { return 0, unix.EINVAL }
func (as *fakeAS) Populate(addr, length uintptr, write bool) error { return unix.EINVAL }
func (as *fakeAS) Discard(addr, length uintptr) error              { return unix.EINVAL }
func (as *fakeAS) Fork() (platform.AddressSpace, error)            { return nil, unix.EINVAL }
func (as *fakeAS) Reserved() []platform.Range                      { return as.reserved }
func (as *fakeAS) VDSO() platform.Range                            { return platform.Range{} }
func (as *fakeAS) VDSOImage() []byte                               { return nil }
func (as *fakeAS) VVAR() platform.Range                            { return platform.Range{} }
func (as *fakeAS) CPUTime() (user, sys time.Duration, err error)   { return 0, 0, nil }
func (as *fakeAS) Release()                                        {}

// memFile is an executable held in memory.
type memFile struct {
	*bytes.Reader
	mode uint32
}

func (m memFile) MappableFile() (*os.File, error) { return os.Open(os.DevNull) }
func (m memFile) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Mode: m.mode, Size: m.Reader.Size(), Ino: 1, Dev: 1}, nil
}

// memOpener serves exe at "/exe" and interp at every other path.
func memOpener(exe, interp []byte) loader.Opener {
	return func(path string) (loader.File, string, func(), error) {
		b := interp
		if path == "/exe" {
			b = exe
		}
		return memFile{bytes.NewReader(b), unix.S_IFREG | 0o755}, path, func() {}, nil
	}
}

// seg is a program header for elfBytes.
type seg struct {
	typ                 elf.ProgType
	flags               elf.ProgFlag
	off, vaddr, fsz, ms uint64
}

// elfBytes builds a small x86-64 ELF file: the header, the program
// headers right after it, then payload.
func elfBytes(typ elf.Type, entry uint64, segs []seg, payload []byte) []byte {
	h := elf.Header64{
		Type: uint16(typ), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Entry: entry, Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: uint16(len(segs)),
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, h)
	for _, s := range segs {
		binary.Write(&b, binary.LittleEndian, elf.Prog64{
			Type: uint32(s.typ), Flags: uint32(s.flags), Off: s.off, Vaddr: s.vaddr, Paddr: s.vaddr,
			Filesz: s.fsz, Memsz: s.ms, Align: 4096,
		})
	}
	b.Write(payload)
	return b.Bytes()
}

// elfSeeds are well-formed and nearly well-formed executables.
func elfSeeds() [][2][]byte {
	const rx, rw = elf.PF_R | elf.PF_X, elf.PF_R | elf.PF_W
	interp := []byte("/lib/ld.so\x00")
	static := elfBytes(elf.ET_EXEC, 0x401000, []seg{
		{elf.PT_LOAD, rx, 0, 0x400000, 0x200, 0x200},
		{elf.PT_LOAD, rw, 0x1000, 0x402000, 0x80, 0x3000},
		{elf.PT_GNU_STACK, rw, 0, 0, 0, 0},
		{elf.PT_NOTE, elf.PF_R, 0x100, 0x400100, 0x20, 0x20},
	}, nil)
	pie := elfBytes(elf.ET_DYN, 0x1000, []seg{
		{elf.PT_PHDR, elf.PF_R, 64, 64, 4 * 56, 4 * 56},
		{elf.PT_LOAD, rx, 0, 0, 0x800, 0x800},
		{elf.PT_LOAD, rw, 0x800, 0x2800, 0x100, 0x1900},
		{elf.PT_GNU_STACK, rw | elf.PF_X, 0, 0, 0, 0},
	}, nil)
	off := uint64(64 + 3*56)
	dynamic := elfBytes(elf.ET_DYN, 0x1000, []seg{
		{elf.PT_INTERP, elf.PF_R, off, off, uint64(len(interp)), uint64(len(interp))},
		{elf.PT_LOAD, rx, 0, 0, 0x1000, 0x1000},
		{elf.PT_GNU_STACK, rw, 0, 0, 0, 0},
	}, interp)
	ld := elfBytes(elf.ET_DYN, 0x100, []seg{
		{elf.PT_LOAD, rx, 0, 0, 0x400, 0x400},
		{elf.PT_LOAD, rw, 0x400, 0x10400, 0x10, 0x20000},
	}, nil)
	// Segments aimed at the reserved range, at its end and at the top of
	// the address space.
	intoStub := elfBytes(elf.ET_EXEC, 0x401000, []seg{
		{elf.PT_LOAD, rx, 0, 0x7fe000100000, 0x200, 0x200},
	}, nil)
	overStub := elfBytes(elf.ET_EXEC, 0x401000, []seg{
		{elf.PT_LOAD, rw, 0, 0x7fdfffff0000, 0x200, 0x100000},
	}, nil)
	top := elfBytes(elf.ET_EXEC, 0x401000, []seg{
		{elf.PT_LOAD, rw, 0, 0x7ffffffff000 - 0x2000, 0x200, 0x2000},
	}, nil)
	return [][2][]byte{
		{static, nil},
		{intoStub, nil},
		{overStub, nil},
		{top, nil},
		{pie, nil},
		{dynamic, ld},
		{dynamic, static},
		{[]byte("#!/lib/ld.so -x\n"), ld},
		{static[:100], nil},
		{dynamic, ld[:64]},
	}
}

// FuzzLoad loads forged executables and interpreters into a fake address
// space. Whatever the headers say, Load returns an error that carries an
// errno (what execve returns), or a program to start; it never panics,
// never allocates in proportion to a size field rather than to the file,
// and never asks the platform for memory outside the user address space
// or in its reserved ranges (fakeAS checks every request).
func FuzzLoad(f *testing.F) {
	for _, s := range elfSeeds() {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, exe, interp []byte) {
		m := newFakeMM(t)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := loader.Load(m, memOpener(exe, interp), "/exe", []string{"exe", "arg"}, []string{"A=B"})
		runtime.ReadMemStats(&after)
		// The loader reads headers, one page of program headers and an
		// interpreter path; the stack's strings and vectors are small.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20+4*uint64(len(exe)+len(interp)) {
			t.Errorf("Load allocated %d bytes for files of %d and %d bytes", grew, len(exe), len(interp))
		}
		if err != nil {
			var errno unix.Errno
			if !errors.As(err, &errno) {
				t.Errorf("Load error %v carries no errno", err)
			}
			return
		}
		if res.Regs.Rsp%16 != 0 {
			t.Errorf("stack pointer %#x is not 16-byte aligned", res.Regs.Rsp)
		}
		if _, err := m.CopyIn(uintptr(res.Regs.Rsp), make([]byte, 8)); err != nil {
			t.Errorf("stack pointer %#x is not mapped: %v", res.Regs.Rsp, err)
		}
		// The heap grows from where the loader put it, inside the user
		// address space.
		brk := m.Brk(0)
		m.Brk(brk + 1<<20)
	})
}

// TestLoadHeaderChecks runs forged headers through Load without a
// platform: each is refused with the errno Linux 6.18's execve returns
// (checked natively), except for segments Linux fails to map after the
// point of no return, killing the process with SIGSEGV: execve fails
// with EINVAL or ENOMEM here, as the old program is still intact.
func TestLoadHeaderChecks(t *testing.T) {
	const rx = elf.PF_R | elf.PF_X
	text := seg{elf.PT_LOAD, rx, 0, 0x400000, 0x200, 0x200}
	interp := func(path string) []byte {
		off := uint64(64 + 2*56)
		return elfBytes(elf.ET_EXEC, 0x400000, []seg{
			{elf.PT_INTERP, elf.PF_R, off, 0, uint64(len(path)), uint64(len(path))}, text,
		}, []byte(path))
	}
	many := make([]seg, 1171) // 1171*56 bytes: more than 64 KiB
	for i := range many {
		many[i] = text
	}
	wrongEntSize := elfBytes(elf.ET_EXEC, 0x400000, []seg{text}, nil)
	wrongEntSize[54] = 64 // e_phentsize
	ld := elfBytes(elf.ET_DYN, 0, []seg{{elf.PT_LOAD, rx, 0, 0, 0x100, 0x100}}, nil)
	for _, c := range []struct {
		name string
		exe  []byte
		want error
	}{
		{"more program headers than 64 KiB", elfBytes(elf.ET_EXEC, 0x400000, many, nil), unix.ENOEXEC},
		{"as many program headers as 64 KiB holds", elfBytes(elf.ET_EXEC, 0x400000, many[:1170], nil), nil},
		{"no program headers", elfBytes(elf.ET_EXEC, 0x400000, nil, nil), unix.ENOEXEC},
		{"program header size", wrongEntSize, unix.ENOEXEC},
		{"program headers past the end", elfBytes(elf.ET_EXEC, 0x400000, []seg{text, text}, nil)[:64+56], unix.ENOEXEC},
		{"relocatable object", elfBytes(elf.ET_REL, 0, []seg{text}, nil), unix.ENOEXEC},
		{"more file than memory", elfBytes(elf.ET_EXEC, 0x400000, []seg{{elf.PT_LOAD, rx, 0, 0x400000, 0x200, 0x100}}, nil), unix.EINVAL},
		{"offset not at the address's page offset", elfBytes(elf.ET_EXEC, 0x400000, []seg{{elf.PT_LOAD, rx, 0x10, 0x400000, 0x20, 0x20}}, nil), unix.EINVAL},
		{"segment past the user address space", elfBytes(elf.ET_EXEC, 0x400000, []seg{{elf.PT_LOAD, rx, 0, 0x7ffffffff000, 0, 0x2000}}, nil), unix.EINVAL},
		{"segment overflowing", elfBytes(elf.ET_EXEC, 0x400000, []seg{{elf.PT_LOAD, rx, 0, ^uint64(0) &^ 0xfff, 0, 0x2000}}, nil), unix.EINVAL},
		{"segment in the reserved range", elfBytes(elf.ET_EXEC, 0x400000, []seg{{elf.PT_LOAD, rx, 0, uint64(fakeReserved[0].Start), 0x100, 0x100}}, nil), unix.ENOMEM},
		{"interpreter path of one byte", interp("\x00"), unix.ENOEXEC},
		{"interpreter path without a NUL", interp("/lib/ld.so"), unix.ENOEXEC},
		{"interpreter path longer than PATH_MAX", interp(string(make([]byte, unix.PathMax+1))), unix.ENOEXEC},
		{"interpreter path past the end", interp("/lib/ld.so\x00")[:64+2*56+3], unix.EIO},
		{"empty interpreter path", interp("\x00\x00"), unix.EACCES},
	} {
		t.Run(c.name, func(t *testing.T) {
			open := func(path string) (loader.File, string, func(), error) {
				if path == "/exe" {
					return memFile{bytes.NewReader(c.exe), unix.S_IFREG | 0o755}, path, func() {}, nil
				}
				if path == "" {
					return nil, "", nil, unix.ENOENT
				}
				return memFile{bytes.NewReader(ld), unix.S_IFREG | 0o755}, path, func() {}, nil
			}
			_, err := loader.Load(newFakeMM(t), open, "/exe", []string{"exe"}, nil)
			if !errors.Is(err, c.want) {
				t.Errorf("Load: %v, want %v", err, c.want)
			}
		})
	}
}

// TestLoadInterpreterAndStack checks what Load takes from the program
// headers that are not loaded: the interpreter's path ends at its first
// NUL and only the first PT_INTERP counts, and PT_GNU_STACK with PF_X
// makes the stack executable.
func TestLoadInterpreterAndStack(t *testing.T) {
	const rx, rw = elf.PF_R | elf.PF_X, elf.PF_R | elf.PF_W
	paths := "/lib/ld.so\x00junk\x00/other\x00"
	off := uint64(64 + 4*56)
	exe := elfBytes(elf.ET_EXEC, 0x400000, []seg{
		{elf.PT_INTERP, elf.PF_R, off, 0, 16, 16},
		{elf.PT_INTERP, elf.PF_R, off + 16, 0, 8, 8},
		{elf.PT_LOAD, rx, 0, 0x400000, 0x200, 0x200},
		{elf.PT_GNU_STACK, rw | elf.PF_X, 0, 0, 0, 0},
	}, []byte(paths))
	ld := elfBytes(elf.ET_DYN, 0x10, []seg{{elf.PT_LOAD, rx, 0, 0, 0x100, 0x100}}, nil)
	var opened []string
	open := func(path string) (loader.File, string, func(), error) {
		opened = append(opened, path)
		b := ld
		if path == "/exe" {
			b = exe
		}
		return memFile{bytes.NewReader(b), unix.S_IFREG | 0o755}, path, func() {}, nil
	}
	m := newFakeMM(t)
	if _, err := loader.Load(m, open, "/exe", []string{"exe"}, nil); err != nil {
		t.Fatal(err)
	}
	if len(opened) != 2 || opened[1] != "/lib/ld.so" {
		t.Errorf("opened %q, want the executable, then /lib/ld.so", opened)
	}
	for _, v := range m.VMAs() {
		if v.Name == "[stack]" && v.Prot != unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC {
			t.Errorf("stack protection %#x, want rwx for PT_GNU_STACK with PF_X", v.Prot)
		}
	}
}
