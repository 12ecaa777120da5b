package coredump

import (
	"bytes"
	"debug/elf"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// fileAt is an in-memory io.WriterAt.
type fileAt struct{ b []byte }

func (f *fileAt) WriteAt(p []byte, off int64) (int, error) {
	if end := int(off) + len(p); end > len(f.b) {
		f.b = append(f.b, make([]byte, end-len(f.b))...)
	}
	return copy(f.b[off:], p), nil
}

func testProcess() *Process {
	mem := map[uint64]byte{0x10000: 'A', 0x21000: 'B'}
	return &Process{
		Threads:  []Thread{{FXSave: make([]byte, 512)}, {}},
		SigInfo:  make([]byte, 128),
		Auxv:     make([]byte, 16),
		Mappings: []Mapping{{Start: 0x10000, End: 0x12000, Prot: unix.PROT_READ, Dump: 0x2000}, {Start: 0x20000, End: 0x22000, Prot: unix.PROT_READ | unix.PROT_WRITE, File: "/lib/x", Dump: 0x2000}},
		Read: func(addr uint64, b []byte) error {
			clear(b)
			if addr == 0x11000 {
				return errors.New("unreadable")
			}
			if c, ok := mem[addr]; ok {
				b[0] = c
			}
			return nil
		},
	}
}

// TestWriteIsAnELFCore reads a core back with debug/elf: its segments hold
// the memory at their addresses, unreadable and zero pages as zeros.
func TestWriteIsAnELFCore(t *testing.T) {
	var f fileAt
	size, err := Write(&f, 1<<30, testProcess())
	if err != nil {
		t.Fatal(err)
	}
	f.b = append(f.b, make([]byte, int(size)-len(f.b))...) // the holes at the end
	e, err := elf.NewFile(bytes.NewReader(f.b))
	if err != nil {
		t.Fatalf("not an ELF file: %v", err)
	}
	if e.Type != elf.ET_CORE || e.Machine != elf.EM_X86_64 || len(e.Progs) != 3 || e.Progs[0].Type != elf.PT_NOTE {
		t.Fatalf("type %v machine %v, %d segments", e.Type, e.Machine, len(e.Progs))
	}
	for _, c := range []struct {
		addr uint64
		want byte
	}{{0x10000, 'A'}, {0x11000, 0}, {0x21000, 'B'}, {0x20000, 0}} {
		for _, p := range e.Progs[1:] {
			if c.addr >= p.Vaddr && c.addr < p.Vaddr+p.Filesz {
				b := make([]byte, 1)
				p.ReadAt(b, int64(c.addr-p.Vaddr))
				if b[0] != c.want {
					t.Errorf("memory at %#x is %q in the core, want %q", c.addr, b[0], c.want)
				}
			}
		}
	}
	if e.Progs[2].Flags != elf.PF_R|elf.PF_W {
		t.Errorf("second mapping's flags %v, want R+W", e.Progs[2].Flags)
	}
}

// TestWriteStopsAtLimit: nothing is written past the limit, and the file
// ends at a whole piece.
func TestWriteStopsAtLimit(t *testing.T) {
	var f fileAt
	size, err := Write(&f, 0x2800, testProcess())
	if err != nil {
		t.Fatal(err)
	}
	if size > 0x2800 || len(f.b) > 0x2800 || size%0x1000 != 0 {
		t.Errorf("a core limited to %#x bytes is %#x long (written %#x)", 0x2800, size, len(f.b))
	}
	if _, err := Write(&fileAt{}, 10, testProcess()); err != nil {
		t.Errorf("a limit below the headers: %v, want a cut dump", err)
	}
}
