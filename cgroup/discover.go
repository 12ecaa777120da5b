package cgroup

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// sources are where discover reads the host's cgroup layout; tests point
// them at files of their own.
type sources struct {
	mountinfo string // /proc/self/mountinfo
	cgroup    string // /proc/self/cgroup
	root      bool   // the caller is root (else only delegated bases)
}

func hostPaths() sources {
	return sources{mountinfo: "/proc/self/mountinfo", cgroup: "/proc/self/cgroup", root: os.Geteuid() == 0}
}

// hierarchy is where sandbox cgroups go: one base directory (v2) or one per
// controller (v1: memory, then pids).
type hierarchy struct {
	version int
	bases   []string
	// own is the caller's own cgroup in the first hierarchy.
	own string
}

// mount is a cgroup file system mounted at point, showing the hierarchy
// from root down.
type mount struct {
	root, point string
	v2          bool
	controllers []string // v1: the hierarchy's controllers
}

// controllers a sandbox cgroup needs.
var needed = []string{"memory", "pids"}

// discover finds the hierarchy for sandbox cgroups. nil with a reason when
// there is none this caller may use.
func discover(s sources) (*hierarchy, string, error) {
	mounts, err := cgroupMounts(s.mountinfo)
	if err != nil {
		return nil, "", err
	}
	own, err := ownCgroups(s.cgroup)
	if err != nil {
		return nil, "", err
	}
	if h, why := discoverV2(s, mounts, own); h != nil || why != "" {
		return h, why, nil
	}
	return discoverV1(s, mounts, own)
}

// discoverV2 returns the v2 hierarchy, or nil and no reason when the
// unified hierarchy does not have both controllers (then v1 may).
func discoverV2(s sources, mounts []mount, own map[string]string) (*hierarchy, string) {
	p, ok := own[""]
	if !ok {
		return nil, ""
	}
	for _, m := range mounts {
		if !m.v2 {
			continue
		}
		dir, ok := inMount(m, p)
		if !ok {
			continue
		}
		base := dir
		if p != "/" && dir != m.point {
			base = filepath.Dir(dir)
		}
		avail, err := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
		if err != nil || !hasAll(strings.Fields(string(avail)), needed) {
			return nil, ""
		}
		if !s.root && !delegated(base) {
			return nil, fmt.Sprintf("cgroup v2 at %s is not delegated to uid %d", base, os.Geteuid())
		}
		enabled, err := os.ReadFile(filepath.Join(base, "cgroup.subtree_control"))
		if err != nil || !hasAll(strings.Fields(string(enabled)), needed) {
			if err := os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+memory +pids"), 0); err != nil {
				return nil, fmt.Sprintf("cannot enable the memory and pids controllers below %s: %v", base, err)
			}
		}
		return &hierarchy{version: 2, bases: []string{base}, own: dir}, ""
	}
	return nil, ""
}

// discoverV1 returns the v1 memory and pids hierarchies.
func discoverV1(s sources, mounts []mount, own map[string]string) (*hierarchy, string, error) {
	h := &hierarchy{version: 1}
	for _, ctl := range needed {
		p, ok := own[ctl]
		if !ok {
			return nil, fmt.Sprintf("no cgroup hierarchy with the %s controller", ctl), nil
		}
		found := false
		for _, m := range mounts {
			if m.v2 || !slices.Contains(m.controllers, ctl) {
				continue
			}
			dir, ok := inMount(m, p)
			if !ok {
				continue
			}
			if !s.root && !delegated(dir) {
				return nil, fmt.Sprintf("the %s cgroup %s is not delegated to uid %d", ctl, dir, os.Geteuid()), nil
			}
			h.bases = append(h.bases, dir)
			if h.own == "" {
				h.own = dir // v1: the base is the caller's own cgroup
			}
			found = true
			break
		}
		if !found {
			return nil, fmt.Sprintf("the %s cgroup hierarchy is not mounted where this process sees it", ctl), nil
		}
	}
	return h, "", nil
}

// inMount returns the directory of cgroup path p under m, if m shows it.
func inMount(m mount, p string) (string, bool) {
	rel := p
	if m.root != "/" {
		r, ok := strings.CutPrefix(p, m.root)
		if !ok || (r != "" && r[0] != '/') {
			return "", false
		}
		rel = r
	}
	return filepath.Join(m.point, path.Clean("/"+rel)), true
}

// delegated reports whether this process may create cgroups in dir and
// move processes through it.
func delegated(dir string) bool {
	return unix.Access(dir, unix.W_OK|unix.X_OK) == nil &&
		unix.Access(filepath.Join(dir, "cgroup.procs"), unix.W_OK) == nil
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// cgroupMounts lists the cgroup and cgroup2 mounts of a mountinfo file.
func cgroupMounts(mountinfo string) ([]mount, error) {
	lines, err := readLines(mountinfo)
	if err != nil {
		return nil, fmt.Errorf("finding the cgroup hierarchies: %w", err)
	}
	var out []mount
	for _, line := range lines {
		// id parent major:minor root point options [optional...] - type source superoptions
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		m := mount{root: unescape(f[3]), point: unescape(f[4])}
		switch g[0] {
		case "cgroup2":
			m.v2 = true
		case "cgroup":
			m.controllers = strings.Split(g[2], ",")
		default:
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// unescape undoes mountinfo's octal escapes (\040 for a space...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroups reads /proc/self/cgroup: the path of this process's cgroup by
// v1 controller, and by "" in the unified hierarchy.
func ownCgroups(file string) (map[string]string, error) {
	lines, err := readLines(file)
	if err != nil {
		return nil, fmt.Errorf("finding this process's cgroups: %w", err)
	}
	own := make(map[string]string)
	for _, line := range lines {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			own[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			own[c] = parts[2]
		}
	}
	return own, nil
}
