package abicheck

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// allowed are the findings kept on purpose, by Finding.Key, each with the
// reason no library type serves.
var allowed = map[string]string{
	"platform/platformtest/memory.go testMmapFile offset": "the test's own data, not a Linux structure: a word placed where its assembly reads it",
	"sentry/fs/proc/cpuinfo.go  append":                   "CPUID's registers read as the ASCII they hold (the vendor string), not a Linux structure",
	"sentry/fs/proc/cpuinfo.go brandString append":        "CPUID's registers read as the ASCII they hold (the brand string), not a Linux structure",
}

// TestNoHandwrittenABI fails when a constant of pkg/abi/linux or x/sys/unix
// is written again, or a structure is taken apart at constant offsets,
// anywhere in the sentry, the platforms or package abi, outside allowed.
func TestNoHandwrittenABI(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	findings, err := Check(root, "./sentry/...", "./platform/...", "./abi/...")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range findings {
		k := f.Key(root)
		seen[k] = true
		if _, ok := allowed[k]; !ok {
			t.Errorf("%s (not in the allow-list as %q)", f, k)
		}
	}
	var stale []string
	for k := range allowed {
		if !seen[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	for _, k := range stale {
		t.Errorf("allow-list entry %q matches nothing any more: remove it", k)
	}
}

// TestFlagsHandwritten runs the check over testdata/handwritten, whose
// lines marked "want KIND" are exactly what it must report.
func TestFlagsHandwritten(t *testing.T) {
	findings, err := Check(".", "./testdata/handwritten")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{}
	path := filepath.Join("testdata", "handwritten", "handwritten.go")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`// want (\w+)`)
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			want[line] = m[1]
		}
	}
	got := map[int]string{}
	for _, f := range findings {
		if !strings.HasSuffix(f.Pos.Filename, path) {
			t.Errorf("finding outside the fixture: %s", f)
			continue
		}
		got[f.Pos.Line] = f.Kind
		if want[f.Pos.Line] != f.Kind {
			t.Errorf("unexpected finding: %s", f)
		}
	}
	for line, kind := range want {
		if got[line] != kind {
			t.Errorf("%s:%d: want a %s finding, got none", path, line, kind)
		}
	}
}
