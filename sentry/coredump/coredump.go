// Package coredump writes a process's core file in the layout of Linux's
// binfmt_elf (elf_core_dump), so that gdb, eu-readelf and the other readers
// of Linux cores read ours: an ELF header of type ET_CORE, one PT_NOTE
// segment (per thread NT_PRSTATUS and NT_PRFPREG; for the process
// NT_PRPSINFO, NT_SIGINFO, NT_AUXV and NT_FILE after the first thread's
// NT_PRSTATUS, in Linux's order), then one PT_LOAD per mapping, its
// contents page-aligned in the file.
//
// Decisions:
//   - What a mapping contributes is decided by the caller (Mapping.Dump),
//     from Linux's default coredump_filter; this package writes it.
//   - Pages that read as zeros, or cannot be read (PROT_NONE, past the
//     end of a file), are left as holes, as Linux's dump_skip leaves pages
//     that are not present: the file reads the same and stays small.
//   - The file is cut at the limit (RLIMIT_CORE) at the end of the last
//     piece that fits whole, as dump_emit refuses a piece that does not; a
//     cut dump is still a dump.
//   - No NT_X86_XSTATE note: the legacy FP area (NT_PRFPREG) has x87 and
//     SSE state, which is what gdb shows without it.
package coredump

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
)

// Thread is one thread of the dumped process.
type Thread struct {
	Status abi.ElfPrstatus
	FXSave []byte // the 512-byte legacy FP area, or nil
}

// Mapping is one memory mapping of the process.
type Mapping struct {
	Start, End uint64
	Prot       int    // PROT_* bits
	Offset     uint64 // in the file, for NT_FILE
	File       string // the mapped file's path, "" if anonymous
	Dump       uint64 // bytes from Start the file holds
}

// Process is what a core file holds.
type Process struct {
	Threads  []Thread // the thread that took the signal first
	Info     abi.ElfPrpsinfo
	SigInfo  []byte // siginfo_t of the fatal signal
	Auxv     []byte
	Mappings []Mapping
	// Read fills b with memory at addr; an error leaves a hole.
	Read func(addr uint64, b []byte) error
}

// errLimit ends a dump at the size limit.
var errLimit = errors.New("core file size limit reached")

// limitWriter writes at increasing offsets, refusing a piece that would
// end past limit.
type limitWriter struct {
	w     io.WriterAt
	off   uint64
	limit uint64
}

func (l *limitWriter) write(b []byte) error {
	if l.off+uint64(len(b)) > l.limit {
		return errLimit
	}
	if _, err := l.w.WriteAt(b, int64(l.off)); err != nil {
		return err
	}
	l.off += uint64(len(b))
	return nil
}

// skip leaves a hole of n bytes.
func (l *limitWriter) skip(n uint64) error {
	if l.off+n > l.limit {
		return errLimit
	}
	l.off += n
	return nil
}

const pageSize = abi.PageSize

// Write writes p's core file to w from offset 0, at most limit bytes, and
// returns its size (holes at its end included: the caller truncates the
// file to it). A dump cut at limit returns no error.
func Write(w io.WriterAt, limit uint64, p *Process) (uint64, error) {
	notes := p.notes()
	phnum := 1 + len(p.Mappings)
	hdrSize := uint64(ehdrSize + phnum*phdrSize)
	dataStart := alignUp(hdrSize+uint64(len(notes)), pageSize)

	var out bytes.Buffer
	out.Write(abi.Encode(elfHeader(phnum)))
	out.Write(abi.Encode(elf.Prog64{Type: uint32(elf.PT_NOTE), Off: hdrSize, Filesz: uint64(len(notes)), Align: 4}))
	off := dataStart
	for _, m := range p.Mappings {
		out.Write(abi.Encode(elf.Prog64{
			Type: uint32(elf.PT_LOAD), Flags: uint32(progFlags(m.Prot)), Off: off, Vaddr: m.Start,
			Filesz: m.Dump, Memsz: m.End - m.Start, Align: pageSize,
		}))
		off += m.Dump
	}
	out.Write(notes)
	lw := &limitWriter{w: w, limit: limit}
	err := lw.write(out.Bytes())
	if err == nil {
		err = lw.skip(dataStart - lw.off)
	}
	for _, m := range p.Mappings {
		if err != nil {
			break
		}
		err = p.dumpRange(lw, m.Start, m.Dump)
	}
	if errors.Is(err, errLimit) {
		err = nil
	}
	return lw.off, err
}

// dumpRange writes n bytes of memory from addr, a page at a time.
func (p *Process) dumpRange(lw *limitWriter, addr, n uint64) error {
	page := make([]byte, pageSize)
	for done := uint64(0); done < n; done += pageSize {
		chunk := page[:min(pageSize, n-done)]
		if err := p.Read(addr+done, chunk); err != nil || allZero(chunk) {
			if err := lw.skip(uint64(len(chunk))); err != nil {
				return err
			}
			continue
		}
		if err := lw.write(chunk); err != nil {
			return err
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func elfHeader(phnum int) elf.Header64 {
	var h elf.Header64
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	h.Ident[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)
	h.Type = uint16(elf.ET_CORE)
	h.Machine = uint16(elf.EM_X86_64)
	h.Version = uint32(elf.EV_CURRENT)
	h.Phoff = uint64(ehdrSize)
	h.Ehsize = uint16(ehdrSize)
	h.Phentsize = uint16(phdrSize)
	h.Phnum = uint16(phnum)
	return h
}

// progFlags are a segment's PF_* flags for PROT_* bits.
func progFlags(prot int) elf.ProgFlag {
	var f elf.ProgFlag
	if prot&unix.PROT_READ != 0 {
		f |= elf.PF_R
	}
	if prot&unix.PROT_WRITE != 0 {
		f |= elf.PF_W
	}
	if prot&unix.PROT_EXEC != 0 {
		f |= elf.PF_X
	}
	return f
}

// notes is the PT_NOTE segment, in fill_note_info's order.
func (p *Process) notes() []byte {
	var b bytes.Buffer
	for i, t := range p.Threads {
		note(&b, "CORE", uint32(elf.NT_PRSTATUS), abi.Encode(t.Status))
		if i == 0 {
			note(&b, "CORE", uint32(elf.NT_PRPSINFO), abi.Encode(p.Info))
			note(&b, "CORE", unix.NT_SIGINFO, p.SigInfo)
			note(&b, "CORE", unix.NT_AUXV, p.Auxv)
			note(&b, "CORE", unix.NT_FILE, p.fileNote())
		}
		if t.FXSave != nil {
			note(&b, "CORE", uint32(elf.NT_FPREGSET), t.FXSave)
		}
	}
	return b.Bytes()
}


// The sizes of the ELF header and of a program header.
var (
	ehdrSize = len(abi.Encode(elf.Header64{}))
	phdrSize = len(abi.Encode(elf.Prog64{}))
)

// fileNote is NT_FILE: the count, the page size, a (start, end, offset in
// pages) triple per file mapping, then their paths.
func (p *Process) fileNote() []byte {
	var files []Mapping
	for _, m := range p.Mappings {
		if m.File != "" {
			files = append(files, m)
		}
	}
	words := []uint64{uint64(len(files)), pageSize}
	for _, m := range files {
		words = append(words, m.Start, m.End, m.Offset/pageSize)
	}
	b := append([]byte(nil), abi.SliceBytes(words)...)
	for _, m := range files {
		b = append(append(b, m.File...), 0)
	}
	return b
}

// note appends one ELF note: its header, its name and its description,
// each padded to 4 bytes.
func note(b *bytes.Buffer, name string, typ uint32, desc []byte) {
	hdr := [3]uint32{uint32(len(name) + 1), uint32(len(desc)), typ}
	b.Write(abi.SliceBytes(hdr[:]))
	b.WriteString(name)
	b.WriteByte(0)
	pad(b)
	b.Write(desc)
	pad(b)
}

func pad(b *bytes.Buffer) {
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }
