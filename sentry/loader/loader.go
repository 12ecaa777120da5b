// Package loader starts a program in a fresh address space, as execve(2)
// does: it maps an ELF executable (static, static-PIE or dynamic with its
// PT_INTERP interpreter) or follows a `#!` line, and builds the initial
// stack: argc, argv, envp and the auxiliary vector.
//
// Placement follows Linux x86-64 with ASLR on: PIE executables near
// 0x555555554000 plus a random offset, the interpreter in the mmap area,
// the stack below the top of the user address space at a random offset, and
// the heap at a random offset after the executable.
package loader

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/sentry/mm"
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
}

// maxInterpDepth is how many #! scripts may chain, as in Linux.
const maxInterpDepth = 4

// Errors that name what is wrong; each wraps the errno execve returns.
var (
	ErrNotExecutable = fmt.Errorf("not an executable file: %w", unix.EACCES)
	ErrBadFormat     = fmt.Errorf("exec format error: %w", unix.ENOEXEC)
)

// Load loads path into m with argv and envv, and returns the registers to
// start it with. It records where argv, envp and auxv are in m.
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
		defer done()
		return loadELF(m, open, f, resolved, path, argv, envv)
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

// elfImage is an ELF file checked for what the loader supports.
type elfImage struct {
	*elf.File
	src File
}

func parseELF(f File) (*elfImage, error) {
	e, err := elf.NewFile(readerAt{f})
	if err != nil {
		return nil, ErrBadFormat
	}
	if e.Class != elf.ELFCLASS64 || e.Machine != elf.EM_X86_64 || (e.Type != elf.ET_EXEC && e.Type != elf.ET_DYN) {
		return nil, ErrBadFormat
	}
	return &elfImage{File: e, src: f}, nil
}

type readerAt struct{ f File }

func (r readerAt) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }
