// Package cabi reads constants and struct layouts from C headers, by
// compiling and running a tiny program with gcc. Tests use it to check that
// a Go mirror of a C structure (shared memory, a wire format) agrees with
// the C side byte for byte.
package cabi

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Values returns the value of each C expression, evaluated in a program that
// includes header from includeDir.
func Values(t testing.TB, includeDir, header string, exprs []string) map[string]uint64 {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatal("gcc is needed to check C layouts: install gcc")
	}
	dir := t.TempDir()
	var src strings.Builder
	fmt.Fprintf(&src, "#include <stdio.h>\n#include <stddef.h>\n#include %q\nint main(void) {\n", header)
	for _, e := range exprs {
		fmt.Fprintf(&src, "\tprintf(\"%%llu\\n\", (unsigned long long)(%s));\n", e)
	}
	src.WriteString("\treturn 0;\n}\n")
	if err := os.WriteFile(filepath.Join(dir, "layout.c"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(includeDir)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "layout")
	if out, err := exec.Command("gcc", "-D_GNU_SOURCE", "-I", abs, "-o", bin, filepath.Join(dir, "layout.c")).CombinedOutput(); err != nil {
		t.Fatalf("compiling the layout program: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("running the layout program: %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(exprs) {
		t.Fatalf("layout program printed %d values for %d expressions", len(lines), len(exprs))
	}
	vals := make(map[string]uint64, len(exprs))
	for i, e := range exprs {
		v, err := strconv.ParseUint(lines[i], 10, 64)
		if err != nil {
			t.Fatalf("value of %s: %v", e, err)
		}
		vals[e] = v
	}
	return vals
}

// Check fails t for every expression whose C value differs from want's.
func Check(t testing.TB, includeDir, header string, want map[string]uint64) {
	t.Helper()
	exprs := make([]string, 0, len(want))
	for e := range want {
		exprs = append(exprs, e)
	}
	got := Values(t, includeDir, header, exprs)
	for _, e := range exprs {
		if got[e] != want[e] {
			t.Errorf("%s: C says %d, Go says %d", e, got[e], want[e])
		}
	}
}
