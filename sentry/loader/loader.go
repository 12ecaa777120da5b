// Package loader starts a program in a fresh address space, as execve(2)
// does: it maps an ELF executable (static, static-PIE or dynamic with its
// PT_INTERP interpreter) or follows a `#!` line, and builds the initial
// stack: argc, argv, envp and the auxiliary vector.
//
// Placement follows Linux x86-64 with ASLR on: PIE executables near
// 0x555555554000 plus a random offset, the interpreter in the mmap area,
// the stack below the top of the user address space at a random offset, and
// the heap at a random offset after the executable.
//
// Every mapping comes before any write to the new memory: the zeroing of
// each segment's .bss tail waits until the stack is mapped (elf.go,
// fixups), so the memory manager, which defers an execve's mappings until
// something touches the memory (mm.DeferMappings), makes them all in one
// platform request; and the segments of one image map one descriptor, so
// that request carries one per image. A later segment that maps over a
// tail still to be zeroed has the zeroing done first, which leaves the
// page as Linux's elf_load does (it zeroes each tail before mapping on).
package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// File is an executable or interpreter opened by the sentry's VFS.
type File interface {
	ReadAt(p []byte, off int64) (int, error)
	// MappableFile returns a host descriptor to map; the caller owns it.
	MappableFile() (*os.File, error)
	Stat() (unix.Stat_t, error)
}

// Opener opens path for execution, following symlinks, relative to the
// process's working directory. It returns the file and its path as
// /proc/self/exe should show it.
type Opener func(path string) (File, string, func(), error)

// Result is what the new program starts with.
type Result struct {
	Regs platform.Registers
	// Exe is the path of the executable actually loaded (after #!).
	Exe string
	// ExeFile is the executable loaded, still open (Linux's
	// mm->exe_file, which /proc/PID/exe opens again, and which denies
	// writers while open): the caller owns the reference the Opener
	// returned it with, which ExeRelease (the Opener's release) drops.
	// A script's and an ELF interpreter's are released once loaded.
	ExeFile    File
	ExeRelease func()
}

// nameSource is what f tells of its name, if it is a file of the VFS:
// its mappings' names are shown deleted once the name is gone.
func nameSource(f File) mm.NameSource {
	if n, ok := f.(interface{ Dentry() *vfs.Dentry }); ok {
		if d := n.Dentry(); d != nil {
			return d
		}
	}
	return nil
}

// maxInterpDepth is how many #! scripts may chain, as in Linux.
const maxInterpDepth = 4

// Errors that name what is wrong; each wraps the errno execve returns.
var (
	ErrNotExecutable = fmt.Errorf("not an executable file: %w", unix.EACCES)
	ErrBadFormat     = fmt.Errorf("exec format error: %w", unix.ENOEXEC)
)

// Load loads path into m with argv and envv, and returns the registers to
// start it with and the executable, still open (Result.ExeFile). It
// records where argv, envp and auxv are in m.
func Load(m *mm.MemoryManager, open Opener, path string, argv, envv []string) (Result, error) {
	for depth := 0; ; depth++ {
		f, resolved, done, err := open(path)
		if err != nil {
			return Result{}, err
		}
		head, err := readHead(f)
		if err != nil {
			done()
			return Result{}, err
		}
		if bytes.HasPrefix(head, []byte("#!")) {
			done()
			if depth == maxInterpDepth {
				return Result{}, fmt.Errorf("too many #! interpreters: %w", unix.ELOOP)
			}
			interp, arg, err := parseShebang(head)
			if err != nil {
				return Result{}, err
			}
			next := []string{interp}
			if arg != "" {
				next = append(next, arg)
			}
			next = append(next, path)
			if len(argv) > 1 {
				next = append(next, argv[1:]...)
			}
			path, argv = interp, next
			continue
		}
		res, err := loadELF(m, open, f, resolved, path, argv, envv)
		if err != nil {
			done()
			return Result{}, err
		}
		res.ExeFile, res.ExeRelease = f, done
		return res, nil
	}
}

// readHead checks that f is a regular, executable file and reads its start.
func readHead(f File) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return nil, ErrNotExecutable
	}
	head := make([]byte, 256)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:n], nil
}

// parseShebang parses "#!interp [arg]": one optional argument, the rest of
// the line included, as Linux does.
func parseShebang(head []byte) (interp, arg string, err error) {
	line, _, found := bytes.Cut(head[2:], []byte("\n"))
	if !found && len(head) == 256 {
		return "", "", fmt.Errorf("#! line too long: %w", unix.ENOEXEC)
	}
	s := strings.TrimLeft(string(line), " \t")
	s = strings.TrimRight(s, " \t\r")
	if s == "" {
		return "", "", fmt.Errorf("#! without an interpreter: %w", unix.ENOEXEC)
	}
	interp, arg, _ = strings.Cut(s, " ")
	if i := strings.IndexByte(interp, '\t'); i >= 0 {
		interp, arg = interp[:i], interp[i+1:]+" "+arg
	}
	return interp, strings.TrimSpace(arg), nil
}

// elfImage is what the loader takes from an ELF file, as Linux's
// load_elf_binary takes it: the file header and the program headers,
// checked before anything is mapped. Section headers are never read, as
// in Linux, so a damaged or missing section table does not matter, and no
// size field makes the loader read or allocate more than one page of
// program headers and one path.
type elfImage struct {
	typ   elf.Type
	entry uint64
	phoff uint64
	progs []elf.Prog64
	src   File
}

const (
	// maxPhdrBytes bounds the program header table, as load_elf_phdrs
	// does.
	maxPhdrBytes = 65536
)

// parseELF reads and checks the headers of f: ENOEXEC for what is not an
// x86-64 executable or shared object, or whose program header table Linux
// refuses or cannot read whole; EINVAL for a loadable segment no mmap
// could map.
// sizeof(Elf64_Ehdr) and sizeof(Elf64_Phdr): debug/elf's types encoded.
var (
	ehdrSize = binary.Size(elf.Header64{})
	phdrSize = binary.Size(elf.Prog64{})
)

func parseELF(f File) (*elfImage, error) {
	raw := make([]byte, ehdrSize)
	if err := readFull(f, raw, 0); err != nil {
		return nil, ErrBadFormat
	}
	var h elf.Header64
	if _, err := binary.Decode(raw, binary.LittleEndian, &h); err != nil {
		return nil, ErrBadFormat
	}
	if string(h.Ident[:len(elf.ELFMAG)]) != elf.ELFMAG || elf.Class(h.Ident[elf.EI_CLASS]) != elf.ELFCLASS64 ||
		elf.Data(h.Ident[elf.EI_DATA]) != elf.ELFDATA2LSB || elf.Machine(h.Machine) != elf.EM_X86_64 {
		return nil, ErrBadFormat
	}
	typ := elf.Type(h.Type)
	if typ != elf.ET_EXEC && typ != elf.ET_DYN {
		return nil, ErrBadFormat
	}
	size := int(h.Phnum) * phdrSize
	if int(h.Phentsize) != phdrSize || size == 0 || size > maxPhdrBytes {
		return nil, fmt.Errorf("%d program headers of %d bytes: %w", h.Phnum, h.Phentsize, ErrBadFormat)
	}
	table := make([]byte, size)
	if err := readFull(f, table, h.Phoff); err != nil {
		// load_elf_phdrs turns every failure into ENOEXEC.
		return nil, fmt.Errorf("reading the program headers (%v): %w", err, ErrBadFormat)
	}
	progs := make([]elf.Prog64, h.Phnum)
	if _, err := binary.Decode(table, binary.LittleEndian, progs); err != nil {
		return nil, ErrBadFormat
	}
	for i := range progs {
		if err := checkLoad(&progs[i]); err != nil {
			return nil, err
		}
	}
	return &elfImage{typ: typ, entry: h.Entry, phoff: h.Phoff, progs: progs, src: f}, nil
}

// checkLoad refuses a PT_LOAD segment that Linux's elf_load and mmap
// refuse with EINVAL: more file than memory, an end past the user address
// space, a file offset that is not at the address's offset in its page,
// or one whose end overflows.
func checkLoad(p *elf.Prog64) error {
	if elf.ProgType(p.Type) != elf.PT_LOAD {
		return nil
	}
	if p.Filesz > p.Memsz || p.Memsz > mm.TaskSize || p.Vaddr > mm.TaskSize-p.Memsz ||
		p.Off%pageSize != p.Vaddr%pageSize || p.Off > math.MaxInt64-p.Filesz {
		return fmt.Errorf("loadable segment at %#x of %#x bytes (%#x in the file at %#x): %w",
			p.Vaddr, p.Memsz, p.Filesz, p.Off, unix.EINVAL)
	}
	return nil
}

// interpreter returns the path in the first PT_INTERP segment, up to its
// first NUL, and whether there is one. Linux refuses (ENOEXEC) a path of
// fewer than 2 or more than PATH_MAX bytes, or without a final NUL, and
// EIO if the file ends first; an empty path is EACCES, as Linux's
// open_exec("") opens the working directory, which is no regular file.
func (img *elfImage) interpreter() (string, bool, error) {
	for _, p := range img.progs {
		if elf.ProgType(p.Type) != elf.PT_INTERP {
			continue
		}
		if p.Filesz < 2 || p.Filesz > unix.PathMax {
			return "", false, fmt.Errorf("interpreter path of %d bytes: %w", p.Filesz, ErrBadFormat)
		}
		b := make([]byte, p.Filesz)
		if err := readFull(img.src, b, p.Off); err != nil {
			return "", false, fmt.Errorf("reading the interpreter path: %w", err)
		}
		if b[len(b)-1] != 0 {
			return "", false, fmt.Errorf("interpreter path without a final NUL: %w", ErrBadFormat)
		}
		path, _, _ := bytes.Cut(b, []byte{0})
		if len(path) == 0 {
			return "", false, fmt.Errorf("empty interpreter path: %w", unix.EACCES)
		}
		return string(path), true, nil
	}
	return "", false, nil
}

// execStack reports whether the first PT_GNU_STACK asks for an executable
// stack. Without one the stack is not executable, as on x86-64 Linux
// since 5.8.
func (img *elfImage) execStack() bool {
	for _, p := range img.progs {
		if elf.ProgType(p.Type) == elf.PT_GNU_STACK {
			return elf.ProgFlag(p.Flags)&elf.PF_X != 0
		}
	}
	return false
}

// readFull reads len(p) bytes at off: EINVAL for an offset a file
// position cannot hold, EIO if the file ends first, as Linux's elf_read.
func readFull(f File, p []byte, off uint64) error {
	if off > math.MaxInt64 {
		return unix.EINVAL
	}
	n, err := f.ReadAt(p, int64(off))
	if n == len(p) {
		return nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return fmt.Errorf("file ends %d bytes into %d at %d: %w", n, len(p), off, unix.EIO)
}
