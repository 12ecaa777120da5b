package platformtest

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// program is position-independent x86-64 machine code assembled from a GNU
// as source, with the offsets of its named labels.
type program struct {
	code   []byte
	labels map[string]uint64 // label -> offset from the start of code
}

// off returns the offset of label in p; an unknown label is a bug in the
// suite, reported as a test failure.
func (p *program) off(t testing.TB, label string) uint64 {
	t.Helper()
	o, ok := p.labels[label]
	if !ok {
		t.Fatalf("test program has no label %q", label)
	}
	return o
}

var (
	asmMu    sync.Mutex
	asmCache = map[string]*program{} // guarded by asmMu
)

// assemble turns src (AT&T syntax, run through the C preprocessor like any
// .S file) into machine code with gcc and objcopy, failing the test if that
// is impossible. Results are cached by source text, so a program shared by
// many subtests is built once.
//
// The code must be position-independent: it is loaded at whatever address a
// test chooses, so only RIP-relative references to its own labels and
// absolute immediates are allowed.
func assemble(t testing.TB, src string) *program {
	t.Helper()
	asmMu.Lock()
	defer asmMu.Unlock()
	if p, ok := asmCache[src]; ok {
		return p
	}
	requireTools(t)
	p, err := build(t.TempDir(), src)
	if err != nil {
		t.Fatalf("assembling a test program: %v\nsource:\n%s", err, numbered(src))
	}
	asmCache[src] = p
	return p
}

// requireTools fails the test unless the assembler's tools are installed.
func requireTools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"gcc", "objcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("platformtest assembles its test programs at run time and needs %s in PATH: %v", tool, err)
		}
	}
}

// build assembles src in dir.
func build(dir, src string) (*program, error) {
	srcPath := filepath.Join(dir, "prog.S")
	objPath := filepath.Join(dir, "prog.o")
	binPath := filepath.Join(dir, "prog.bin")
	if err := os.WriteFile(srcPath, []byte(".text\n"+src+"\n"), 0o644); err != nil {
		return nil, err
	}
	for _, cmd := range [][]string{
		{"gcc", "-c", "-o", objPath, srcPath},
		{"objcopy", "-O", "binary", "--only-section=.text", objPath, binPath},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	code, err := os.ReadFile(binPath)
	if err != nil {
		return nil, err
	}
	labels, err := textLabels(objPath)
	if err != nil {
		return nil, err
	}
	return &program{code: code, labels: labels}, nil
}

// textLabels returns the symbols defined in the .text section of the object
// file at path, and fails if the section needs relocation (code that is not
// position-independent would silently run with zeroed addresses).
func textLabels(path string) (map[string]uint64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Section(".rela.text") != nil || f.Section(".rel.text") != nil {
		return nil, errNotPIC
	}
	text := f.Section(".text")
	if text == nil {
		return nil, errNoText
	}
	syms, err := f.Symbols()
	if err != nil && err != elf.ErrNoSymbols {
		return nil, err
	}
	labels := map[string]uint64{}
	for _, s := range syms {
		if s.Name != "" && int(s.Section) < len(f.Sections) && f.Sections[s.Section] == text {
			labels[s.Name] = s.Value
		}
	}
	return labels, nil
}

type asmError string

func (e asmError) Error() string { return string(e) }

const (
	errNotPIC = asmError("the code has relocations: refer to labels with RIP-relative addressing and to fixed addresses with immediates")
	errNoText = asmError("the object file has no .text section")
)

// numbered prefixes each line of src with its line number in the assembled
// file, to match the assembler's error messages.
func numbered(src string) string {
	var b strings.Builder
	for i, line := range strings.Split(".text\n"+src, "\n") {
		fmt.Fprintf(&b, "%4d\t%s\n", i+1, line)
	}
	return b.String()
}
