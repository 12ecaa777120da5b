package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// TestConfined asks the host layer directly for names that climb out of
// the root; RESOLVE_IN_ROOT keeps them inside, and host symlinks are
// never followed by the host kernel.
func TestConfined(t *testing.T) {
	outer := t.TempDir()
	os.WriteFile(filepath.Join(outer, "secret"), []byte("s"), 0o644)
	root := filepath.Join(outer, "root")
	os.Mkdir(root, 0o755)
	os.Symlink("../secret", filepath.Join(root, "up"))
	fs, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	ctx := context.Background()
	dir := fs.Root().(vfs.Dir)
	for _, name := range []string{"../secret", "../../secret", "/../secret"} {
		if _, err := dir.Lookup(ctx, name); err == nil {
			t.Errorf("lookup %q reached outside the root", name)
		}
	}
	up, err := dir.Lookup(ctx, "up")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := up.Stat(ctx); !vfs.IsSymlink(st.Mode) {
		t.Errorf("a host symlink was followed: mode %o", st.Mode)
	}
	if _, err := up.Open(ctx, unix.O_RDONLY); err == nil {
		t.Error("opened a symlink's target")
	}
	if _, err := fs.Root().Open(ctx, unix.O_WRONLY); err != unix.EROFS {
		t.Errorf("open for writing: %v", err)
	}
}

func TestImportFD(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := ImportFD(int(w.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	ctx := context.Background()
	if n, err := f.Write(ctx, []byte("hello")); n != 5 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	buf := make([]byte, 5)
	if _, err := r.Read(buf); err != nil || string(buf) != "hello" {
		t.Errorf("host read %q, %v", buf, err)
	}
	if _, err := f.PWrite(ctx, []byte("x"), 0); err != unix.ESPIPE {
		t.Errorf("pwrite on a pipe: %v", err)
	}
	if st, _ := f.Stat(); st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("fstat mode %o", st.Mode)
	}
}
