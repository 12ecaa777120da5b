package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Place moves the calling process into the cgroup path (an OCI
// configuration's linux.cgroupsPath, "/default/ID") of every hierarchy,
// creating it: the cgroup containerd reads a container's metrics from,
// found through the process whose pid the runtime reported. The sandbox's
// own cgroup (Create) is then made below it, so the container's cgroup
// holds the runtime, the sentry and the stubs. It returns the directories,
// for RemoveDirs.
func Place(path string) ([]string, error) {
	if !filepath.IsAbs(path) || strings.Contains(path, "..") {
		return nil, fmt.Errorf("cgroupsPath %q: want an absolute path without ..", path)
	}
	mounts, err := cgroupMounts(hostPaths().mountinfo)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, m := range mounts {
		if !m.v2 && len(m.controllers) == 0 || m.root != "/" {
			continue
		}
		dir := filepath.Join(m.point, path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return dirs, fmt.Errorf("cgroupsPath %q: %w", path, err)
		}
		dirs = append(dirs, dir)
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("0"), 0); err != nil {
			return dirs, fmt.Errorf("cgroupsPath %q: joining %s: %w", path, dir, err)
		}
	}
	return dirs, nil
}

// RemoveDirs removes cgroup directories Place made once they are empty;
// those that still have processes stay, and are reported.
func RemoveDirs(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		// Sandbox cgroups left below it by a killed runtime go first.
		subs, _ := filepath.Glob(filepath.Join(d, Prefix+"*"))
		for _, s := range subs {
			os.Remove(s)
		}
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
