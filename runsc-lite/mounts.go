package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"runsc-lite/sentry/fs/host"
	"runsc-lite/sentry/fs/rootfs"
	"runsc-lite/sentry/fs/tmpfs"
)

// The mounts a caller adds to a sandbox: `run --volume` and `--tmpfs`, and
// the OCI runtime's bind and tmpfs mounts, take one path: a bindMount or
// tmpfsMount is opened here, in the parent, with the caller's rights
// (openMounts), travels to the sentry as a mountConfig with its
// descriptor, and becomes a rootfs.Mount there (toRootfs), which package
// rootfs mounts with the confined walk of package host.

// bindMount is a host directory or file bound into the sandbox.
type bindMount struct {
	Host   string // host path, as the caller gave it
	Dest   string // absolute sandbox path
	Access rootfs.Access
}

// tmpfsMount is a memory filesystem at Dest with tmpfs's mount options
// ("size=64m,mode=755").
type tmpfsMount struct {
	Dest    string
	Options string
}

// mountConfig is one mount in the sentry's configuration.
type mountConfig struct {
	Dest string
	// File indexes the descriptor of the source (host.Source.Dir); -1 is
	// a tmpfs, or with Content a file of memory.
	File   int
	Access rootfs.Access
	// Tmpfs is a tmpfs's options.
	Tmpfs string
	// Content is a read-only file of the sandbox's memory that the parent
	// generated (the network's /etc/resolv.conf: rootfs.Mount.Content).
	Content []byte
}

// parseVolume parses --volume HOST[:SANDBOX][:ro|rw]: SANDBOX defaults to
// HOST's absolute path, the access to rw.
func parseVolume(s string) (bindMount, error) {
	parts := strings.Split(s, ":")
	v := bindMount{Access: rootfs.ReadWrite}
	if n := len(parts); n > 1 {
		switch parts[n-1] {
		case "ro":
			v.Access, parts = rootfs.ReadOnly, parts[:n-1]
		case "rw":
			parts = parts[:n-1]
		}
	}
	if len(parts) > 2 || parts[0] == "" {
		return v, fmt.Errorf("--volume %q: want HOST[:SANDBOX][:ro|rw]", s)
	}
	abs, err := filepath.Abs(parts[0])
	if err != nil {
		return v, fmt.Errorf("--volume %q: %v", s, err)
	}
	v.Host, v.Dest = abs, abs
	if len(parts) == 2 {
		v.Dest = parts[1]
	}
	if !path.IsAbs(v.Dest) {
		return v, fmt.Errorf("--volume %q: the sandbox path %q is not absolute", s, v.Dest)
	}
	v.Dest = path.Clean(v.Dest)
	if err := rootfs.CheckDest(v.Dest); err != nil {
		return v, fmt.Errorf("--volume %q: %v", s, err)
	}
	return v, nil
}

// parseEach parses every flag value of a repeatable flag.
func parseEach[T any](values []string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, s := range values {
		v, err := parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// parseTmpfs parses --tmpfs PATH[:OPTIONS] (OPTIONS as mount -t tmpfs
// takes them: size=N, mode=...).
func parseTmpfs(s string) (tmpfsMount, error) {
	dest, opts, _ := strings.Cut(s, ":")
	t := tmpfsMount{Dest: path.Clean(dest), Options: opts}
	if !path.IsAbs(dest) {
		return t, fmt.Errorf("--tmpfs %q: want an absolute PATH[:size=N]", s)
	}
	if err := rootfs.CheckDest(t.Dest); err != nil {
		return t, fmt.Errorf("--tmpfs %q: %v", s, err)
	}
	if _, err := tmpfs.ParseOptions(opts, 1<<30, 0, 0); err != nil {
		return t, fmt.Errorf("--tmpfs %q: bad options %q (want size=N, mode=OCTAL, uid=N, gid=N)", s, opts)
	}
	return t, nil
}

// openMounts opens the sources of binds with the caller's rights and
// returns the mounts' configuration; add passes a descriptor to the
// sentry and returns its index. Tmpfs mounts come after the binds.
func openMounts(binds []bindMount, tmpfss []tmpfsMount, add func(*os.File) int) ([]mountConfig, error) {
	var out []mountConfig
	for _, b := range binds {
		src, err := host.OpenSource(b.Host, b.Access == rootfs.ReadWrite)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %v", b.Host, err)
		}
		out = append(out, mountConfig{Dest: b.Dest, File: add(src.Dir), Access: b.Access})
	}
	for _, t := range tmpfss {
		out = append(out, mountConfig{Dest: t.Dest, File: -1, Tmpfs: t.Options})
	}
	return out, nil
}

// toRootfs turns the configuration back into mounts, in the sentry; file
// returns a descriptor by index (nil if there is none). memory is the
// sandbox's memory limit, for a tmpfs's size=N%.
func toRootfs(cfgs []mountConfig, file func(int) *os.File, memory uint64) ([]rootfs.Mount, error) {
	var out []rootfs.Mount
	fail := func(err error) ([]rootfs.Mount, error) {
		for _, m := range out {
			if m.Source != nil {
				m.Source.Close()
			}
		}
		return nil, err
	}
	for _, c := range cfgs {
		m := rootfs.Mount{Dest: c.Dest, Access: c.Access}
		switch {
		case c.File < 0 && c.Content != nil:
			m.Content, m.Access = c.Content, rootfs.ReadOnly
		case c.File < 0:
			opts, err := tmpfs.ParseOptions(c.Tmpfs, memory, 0, 0)
			if err != nil {
				return fail(fmt.Errorf("tmpfs at %s: bad options %q", c.Dest, c.Tmpfs))
			}
			m.Tmpfs = opts
		default:
			f := file(c.File)
			if f == nil {
				return fail(fmt.Errorf("mount at %s: no descriptor %d", c.Dest, c.File))
			}
			m.Source = &host.Source{Dir: f}
		}
		out = append(out, m)
	}
	return out, nil
}
