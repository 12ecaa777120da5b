package loader

import (
	"debug/elf"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sentry/mm"
)

const (
	pageSize = abi.PageSize
	// dynBase is where Linux puts PIE executables (ELF_ET_DYN_BASE).
	dynBase = 0x555555554000
)

// loaded describes one mapped ELF image.
type loaded struct {
	bias  uintptr // load address minus link address
	entry uintptr
	phdr  uintptr // address of the program headers in memory
	phnum int
	end   uintptr // end of the highest segment
}

func loadELF(m *mm.MemoryManager, open Opener, f File, resolved, path string, argv, envv []string) (Result, error) {
	exe, err := parseELF(f)
	if err != nil {
		return Result{}, err
	}
	interpPath, hasInterp, err := exe.interpreter()
	if err != nil {
		return Result{}, err
	}
	bias := uintptr(0)
	if exe.typ == elf.ET_DYN {
		bias = dynBase + m.RandomPages(1<<16)*pageSize
	}
	var fix fixups
	main, err := mapImage(m, exe, bias, resolved, &fix)
	if err != nil {
		return Result{}, err
	}
	m.SetBrkStart(main.end)
	entry := main.entry
	var interpBase uintptr
	if hasInterp {
		interp, err := loadInterp(m, open, interpPath, &fix)
		if err != nil {
			return Result{}, err
		}
		entry, interpBase = interp.entry, interp.bias
	}
	stack, err := buildStack(m, stackInfo{argv: argv, envv: envv, execfn: path, main: main, interpBase: interpBase, execStack: exe.execStack(), fix: &fix})
	if err != nil {
		return Result{}, err
	}
	if err := fix.apply(m); err != nil {
		return Result{}, err
	}
	m.Argv, m.Envv, m.Auxv = stack.argv, stack.envv, stack.auxv
	regs := platform.Registers{Rip: uint64(entry), Rsp: uint64(stack.sp), Eflags: 0x202, Cs: platform.UserCS, Ss: platform.UserSS}
	return Result{Regs: regs, Exe: resolved}, nil
}

func loadInterp(m *mm.MemoryManager, open Opener, path string, fix *fixups) (loaded, error) {
	f, resolved, done, err := open(path)
	if err != nil {
		return loaded{}, fmt.Errorf("opening interpreter %s: %w", path, err)
	}
	defer done()
	img, err := parseELF(f)
	if err != nil {
		return loaded{}, fmt.Errorf("interpreter %s: %w", path, err)
	}
	lo, hi := span(img)
	if lo >= hi {
		return loaded{}, fmt.Errorf("interpreter %s has nothing to load: %w", path, ErrBadFormat)
	}
	bias := uintptr(0)
	if img.typ == elf.ET_DYN {
		// Reserve the whole span in the mmap area, then map segments over
		// it; the gaps between segments stay PROT_NONE, as with Linux. An
		// ET_EXEC interpreter goes where it is linked.
		base, err := m.Mmap(mm.MmapOpts{Length: hi - lo, Prot: unix.PROT_NONE, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS})
		if err != nil {
			return loaded{}, fmt.Errorf("reserving space for %s: %w", path, err)
		}
		bias = base - lo
	}
	return mapImage(m, img, bias, resolved, fix)
}

// span returns the page-aligned link-address range of the PT_LOAD
// segments (lo > hi if there are none). checkLoad made sure no end
// overflows.
func span(img *elfImage) (lo, hi uintptr) {
	lo = ^uintptr(0)
	for _, p := range img.progs {
		if elf.ProgType(p.Type) != elf.PT_LOAD {
			continue
		}
		lo = min(lo, uintptr(p.Vaddr)&^(pageSize-1))
		hi = max(hi, pageUp(uintptr(p.Vaddr+p.Memsz)))
	}
	return lo, hi
}

func pageUp(x uintptr) uintptr { return (x + pageSize - 1) &^ (pageSize - 1) }

func progProt(p *elf.Prog64) int {
	flags := elf.ProgFlag(p.Flags)
	prot := 0
	if flags&elf.PF_R != 0 {
		prot |= unix.PROT_READ
	}
	if flags&elf.PF_W != 0 {
		prot |= unix.PROT_WRITE
	}
	if flags&elf.PF_X != 0 {
		prot |= unix.PROT_EXEC
	}
	return prot
}

// mapImage maps the PT_LOAD segments of img at bias, leaving the zeroing
// of their .bss in fix.
func mapImage(m *mm.MemoryManager, img *elfImage, bias uintptr, name string, fix *fixups) (loaded, error) {
	l := loaded{bias: bias, entry: bias + uintptr(img.entry), phnum: len(img.progs)}
	src := nameSource(img.src)
	st, err := img.src.Stat()
	if err != nil {
		return l, err
	}
	nload := 0
	var file *os.File // every segment maps the one descriptor: one to send to the platform
	for i := range img.progs {
		p := &img.progs[i]
		if elf.ProgType(p.Type) != elf.PT_LOAD {
			continue
		}
		nload++
		if err := mapSegment(m, img, p, bias, name, src, st, fix, &file); err != nil {
			return l, fmt.Errorf("mapping %s: %w", name, err)
		}
		l.end = max(l.end, bias+uintptr(p.Vaddr+p.Memsz))
		if p.Off <= img.phoff && img.phoff < p.Off+p.Filesz {
			l.phdr = bias + uintptr(p.Vaddr) + uintptr(img.phoff-p.Off)
		}
	}
	if nload == 0 {
		return l, ErrBadFormat
	}
	for _, p := range img.progs {
		if elf.ProgType(p.Type) == elf.PT_PHDR {
			l.phdr = bias + uintptr(p.Vaddr)
		}
	}
	return l, nil
}

// mapSegment maps p; *file is the image's descriptor, opened by the first
// segment that maps file bytes and owned by m from then on.
func mapSegment(m *mm.MemoryManager, img *elfImage, p *elf.Prog64, bias uintptr, name string, src mm.NameSource, st unix.Stat_t, fix *fixups, file **os.File) error {
	start := bias + uintptr(p.Vaddr)
	page := start &^ (pageSize - 1)
	fileEnd := start + uintptr(p.Filesz)
	memEnd := start + uintptr(p.Memsz)
	prot := progProt(p)
	// A segment that maps over a page with a zeroing still to do (two
	// segments sharing a page) replaces what the zeroing would have
	// written, as Linux's elf_load, which zeroes each segment's tail
	// before it maps the next.
	if err := fix.applyOverlapping(m, page, pageUp(memEnd)); err != nil {
		return err
	}
	if p.Filesz > 0 {
		if *file == nil {
			f, err := img.src.MappableFile()
			if err != nil {
				return err
			}
			*file = f
		}
		f := *file
		zeroTail := memEnd > fileEnd && fileEnd%pageSize != 0
		mapProt := prot
		if zeroTail {
			mapProt |= unix.PROT_WRITE
		}
		if _, err := m.Mmap(mm.MmapOpts{
			Addr: page, Length: pageUp(fileEnd) - page, Prot: mapProt,
			Flags: unix.MAP_PRIVATE | unix.MAP_FIXED, File: f,
			Offset: int64(p.Off) - int64(start-page), Name: name, NameSource: src, Dev: st.Dev, Ino: st.Ino,
		}); err != nil {
			return err
		}
		if zeroTail {
			// The rest of the last file page is .bss: it must read as zeros.
			fix.add(fixup{zero: platform.Range{Start: fileEnd, End: pageUp(fileEnd)}, page: page, prot: prot, reprotect: mapProt != prot})
		}
	}
	anonStart := pageUp(fileEnd)
	if p.Filesz == 0 {
		anonStart = page
	}
	if anonEnd := pageUp(memEnd); anonEnd > anonStart {
		if _, err := m.Mmap(mm.MmapOpts{
			Addr: anonStart, Length: anonEnd - anonStart, Prot: prot,
			Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED,
		}); err != nil {
			return err
		}
	}
	return nil
}

// fixups are the .bss zeroings of the segments mapped so far, done once
// every mapping of the execve is made: a write to the new memory needs the
// mappings made first (mm.DeferMappings), and doing them together makes
// them one request to the platform instead of one per image.
type fixups struct{ pending []fixup }

// fixup zeroes zero, the tail of a segment's last file page, and then gives
// [page, zero.End) its protection back if it was mapped writable for that.
type fixup struct {
	zero      platform.Range
	page      uintptr
	prot      int
	reprotect bool
}

func (f *fixups) add(x fixup) { f.pending = append(f.pending, x) }

// applyOverlapping does the pending fix-ups, in order, if any of them is in
// [lo, hi).
func (f *fixups) applyOverlapping(m *mm.MemoryManager, lo, hi uintptr) error {
	for _, x := range f.pending {
		if x.page < hi && lo < x.zero.End {
			return f.apply(m)
		}
	}
	return nil
}

// apply does the pending fix-ups, in order.
func (f *fixups) apply(m *mm.MemoryManager) error {
	pending := f.pending
	f.pending = nil
	for _, x := range pending {
		if _, err := m.CopyOut(x.zero.Start, make([]byte, x.zero.End-x.zero.Start)); err != nil {
			return err
		}
		if x.reprotect {
			if err := m.Mprotect(x.page, x.zero.End-x.page, x.prot); err != nil {
				return err
			}
		}
	}
	return nil
}
