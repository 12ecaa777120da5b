package overlay

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/host"
	"runsc-lite/sentry/vfs"
)

// Birth times: a host file's is the host's (statx), before and after it
// is copied up; a file made here is born when made, its other times
// equal to it then.
func TestBirthTimes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var x unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, filepath.Join(dir, "old"), 0, unix.STATX_BTIME, &x); err != nil {
		t.Fatal(err)
	}
	want := vfs.Birth{Time: unix.Timespec{Sec: x.Btime.Sec, Nsec: int64(x.Btime.Nsec)}, Known: x.Mask&unix.STATX_BTIME != 0}
	lower, err := host.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lower.Close()
	ctx := context.Background()
	fs, err := New(ctx, lower)
	if err != nil {
		t.Fatal(err)
	}
	ino, err := fs.Root().(vfs.Dir).Lookup(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	n := ino.(*node)
	if got := n.BirthTime(ctx); got != want {
		t.Errorf("host file: %+v, want the host's %+v", got, want)
	}
	fs.mu.Lock()
	err = n.copyUp(ctx)
	fs.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got := n.BirthTime(ctx); got != want {
		t.Errorf("host file copied up: %+v, want the host's %+v", got, want)
	}

	made, err := fs.Root().(vfs.DirWriter).Create(ctx, vfs.KernelCreds(), "new", unix.S_IFREG|0o600, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := made.Stat(ctx)
	if got := vfs.BirthOf(ctx, made); !got.Known || got.Time != st.Mtim || got.Time != st.Ctim {
		t.Errorf("new file: %+v, want its creation time %+v", got, st.Ctim)
	}
}
