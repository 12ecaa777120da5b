package pipe

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCProgramsMatchNative builds the runsc-lite command and the C
// programs in testdata (static and dynamic) and compares their output in
// the sandbox with a native run. It needs gcc and is skipped with -short.
func TestCProgramsMatchNative(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and C programs")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	// Not t.TempDir(): /tmp is a tmpfs inside the sandbox, so binaries
	// there are invisible to it.
	dir, err := os.MkdirTemp("/var/tmp", "pipe-e2e-")
	if err != nil {
		t.Skip(err)
	}
	defer os.RemoveAll(dir)
	// A sandbox started by root reads host files as nobody.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rl := filepath.Join(dir, "rl")
	run(t, exec.Command("go", "build", "-o", rl, "runsc-lite/runsc-lite"))
	srcs, _ := filepath.Glob("testdata/*.c")
	for _, src := range srcs {
		for _, link := range []string{"dynamic", "static"} {
			name := filepath.Base(src) + "-" + link
			t.Run(name, func(t *testing.T) {
				bin := filepath.Join(dir, name)
				args := []string{"-O1", "-Wno-stringop-overflow", "-o", bin, src}
				if link == "static" {
					args = append(args, "-static")
				}
				run(t, exec.Command("gcc", args...))
				want := run(t, exec.Command(bin))
				got := run(t, exec.Command(rl, "run", "--", bin))
				if !bytes.Equal(got, want) {
					t.Errorf("sandbox output differs\n--- native\n%s--- sandbox\n%s", want, got)
				}
			})
		}
	}
}

func run(t *testing.T, cmd *exec.Cmd) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, stderr.Bytes())
	}
	return out
}
