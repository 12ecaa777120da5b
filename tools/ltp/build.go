package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Build copies the LTP checkout src into build/ltp, configures it with the
// prefix build/root, and builds and installs the library and the test
// directories tests need. It is incremental: files whose size and time did
// not change are not copied again, so make rebuilds only what changed.
func Build(src, build string, tests []Test, log io.Writer) error {
	tree := filepath.Join(build, "ltp")
	if err := syncTree(src, tree); err != nil {
		return fmt.Errorf("copying %s to %s: %w", src, tree, err)
	}
	jobs := "-j" + strconv.Itoa(runtime.NumCPU())
	if _, err := os.Stat(filepath.Join(tree, "configure")); err != nil {
		if err := run(log, tree, "make", "autotools"); err != nil {
			return err
		}
	}
	prefix := filepath.Join(build, "root")
	if !configuredFor(tree, prefix) {
		if err := run(log, tree, "./configure", "--prefix="+prefix); err != nil {
			return err
		}
	}
	if err := run(log, tree, "make", jobs, "-C", "lib"); err != nil {
		return err
	}
	dirs, err := testDirs(tree, tests)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if err := run(log, tree, "make", jobs, "-C", d); err != nil {
			return err
		}
		if err := run(log, tree, "make", jobs, "-C", d, "install"); err != nil {
			return err
		}
	}
	return nil
}

// configuredFor reports whether tree was configured to install in
// prefix (a tree copied from elsewhere was not).
func configuredFor(tree, prefix string) bool {
	b, err := os.ReadFile(filepath.Join(tree, "include", "mk", "config.mk"))
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":="); ok && strings.TrimSpace(k) == "prefix" {
			return strings.TrimSpace(v) == prefix
		}
	}
	return false
}

// Searchable returns an error unless every user may search dir and each
// directory above it: tests drop root's privileges (to nobody) and then
// still run programs from LTPROOT and use files in TMPDIR.
func Searchable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s: other users may not search %s (mode %v); tests that drop privileges need to: choose a build directory outside it (e.g. /var/tmp/ltp-build)", dir, d, st.Mode().Perm())
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}

// testDirs returns the directories of tree to build for tests:
// testcases/kernel/syscalls, and the directory of each test program found
// as NAME.c elsewhere under testcases.
func testDirs(tree string, tests []Test) ([]string, error) {
	const syscalls = "testcases/kernel/syscalls"
	want := map[string]bool{}
	for _, t := range tests {
		want[t.Args[0]+".c"] = true
	}
	dirs := []string{syscalls}
	err := filepath.WalkDir(filepath.Join(tree, "testcases"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tree, path)
		if d.IsDir() && rel == syscalls {
			return fs.SkipDir
		}
		if !d.IsDir() && want[d.Name()] {
			if dir := filepath.Dir(rel); !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	return dirs, err
}

// run runs a build command in dir, its output to log.
func run(log io.Writer, dir string, name string, args ...string) error {
	fmt.Fprintf(log, "+ (cd %s && %s %s)\n", dir, name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s in %s: %w", name, strings.Join(args, " "), dir, err)
	}
	return nil
}

// syncTree copies the tree src to dst, without .git, copying only the
// regular files dst lacks or has with another size or time, and keeping
// times, so that make sees what changed.
func syncTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if old, err := os.Readlink(target); err == nil && old == link {
				return nil
			}
			os.Remove(target)
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			if st, err := os.Stat(target); err == nil && st.Size() == info.Size() && st.ModTime().Equal(info.ModTime()) {
				return nil
			}
			return copyFile(path, target, info)
		}
		return nil
	})
}

func copyFile(src, dst string, info fs.FileInfo) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, info.ModTime(), info.ModTime())
}
