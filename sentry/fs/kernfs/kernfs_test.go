package kernfs

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// TestTimes: every inode of a Tree shows the Tree's time, not the epoch.
func TestTimes(t *testing.T) {
	when := unix.Timespec{Sec: 1_800_000_000, Nsec: 5}
	tr := Tree{Dev: 7, Time: when}
	for _, i := range []vfs.Inode{tr.File("/f", Static("x")), tr.Symlink("/l", Static("f")), tr.Fixed("/", nil)} {
		st, err := i.Stat(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Atim != when || st.Mtim != when || st.Ctim != when {
			t.Errorf("%T: times %v %v %v, want %v", i, st.Atim, st.Mtim, st.Ctim, when)
		}
	}
}
