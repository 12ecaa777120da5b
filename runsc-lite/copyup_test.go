package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Copy up: a host file under the sandbox's memory overlay is copied into
// memory at its first write (sentry/fs/overlay/copyup.go). The programs of
// testdata/copyup run natively and in the sandbox on host files this test
// makes first in their directory (a differential program's directory
// starts empty, so what it makes in the sandbox is in memory already), and
// must print the same.

// TestCopyUpSparse: a host file with a 16 GiB hole keeps it when it is
// copied up: st_blocks, SEEK_DATA and SEEK_HOLE as on the host's disk,
// and the memory account (here 256 MiB, less than the hole) charged for
// the data only. Before, the copy was every byte, and the charge of 16
// GiB made the open for writing ENOSPC.
func TestCopyUpSparse(t *testing.T) {
	runCopyUp(t, "sparse", []string{"--memory-limit=256m"}, func(t *testing.T, dir string) {
		f, err := os.Create(filepath.Join(dir, "sparse"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte(strings.Repeat("D", 4096)), 16<<30); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSparseGrow: files of the memory overlay, of /tmp and memfds made
// sparse by truncating up and by writing past the end cost their data, not
// their size, as on Linux's tmpfs: under a 256 MiB limit, files of 16 to
// 200 GiB with a few pages of data. A truncation up was charged by its
// size (ENOSPC).
func TestSparseGrow(t *testing.T) {
	runCopyUp(t, "grow", []string{"--memory-limit=256m"}, func(*testing.T, string) {})
}

// runCopyUp compiles testdata/copyup/NAME.c and runs it natively and in
// the sandbox (with flags), each in a directory that setup filled first,
// on both platforms.
func runCopyUp(t *testing.T, name string, flags []string, setup func(t *testing.T, dir string)) {
	prog := buildC(t, filepath.Join("testdata", "copyup", name+".c"), true)
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			skipKnownGap(t)
			nd, sd := workDir(t, "native"), workDir(t, "sandbox")
			setup(t, nd)
			setup(t, sd)
			native, _ := compareRunsFlags(t, platform, nd, sd, false, flags, []string{prog, nd}, []string{prog, sd})
			if native.code != 0 || native.stderr != "" {
				t.Errorf("the program fails natively: %v", native)
			}
			t.Logf("native output:\n%s", native.stdout)
		})
	}
}

// TestCopyUpMappings: mappings of a host file made before it was first
// written, shared and private, in the writing process and in another,
// see the writes as they would on a disk file, and a private mapping's
// own pages stay its own. Before, they kept mapping the host file and
// never saw a write (SQLite with mmap_size read half the rows), and the
// page the writer appended was a SIGBUS.
func TestCopyUpMappings(t *testing.T) {
	runCopyUp(t, "mappings", nil, func(t *testing.T, dir string) {
		data := strings.Repeat("a", 4096) + strings.Repeat("b", 4096) + strings.Repeat("c", 4096)
		if err := os.WriteFile(filepath.Join(dir, "data"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	})
}
