package launch

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// An image root that is an overlayfs mount (Docker's and containerd's
// snapshots: root.path is the container's overlay) cannot be idmapped
// itself (mount_setattr: EINVAL), but overlayfs takes idmapped layers.
// idmappedOverlay makes a new read-only overlay of the mount's layers,
// its upper directory first and then its lower ones, each an idmapped
// copy: the same tree, as it is when the sandbox starts (the sandbox
// writes to the memory overlay above, never to the container's upper
// directory). Whiteouts and opaque directories of the upper layer mean
// the same as a lower layer's; the mount's metacopy, redirect_dir and
// userxattr options are kept. An overlay this does not understand (a
// directory below its root, data-only layers, relative layer paths it
// cannot place) is left closed.
//
// Layers named by relative paths were mounted from a working directory
// mountinfo does not show: Docker's overlay2 does that (from its home,
// <home>/<id>/merged the mount point) when absolute paths would make the
// options longer than a page, and containerd for its lower layers (from
// their snapshots' directory, <snapshots>/<n>/fs the absolute upper
// layer). resolveRelative tries those two places, and takes one only if
// the layers it gives make the mount's root: the names in its root are
// those of its layers' roots, upper first, less the whiteouts.

// overlayLayers are the parts of an overlayfs mount's options that
// idmappedOverlay uses.
type overlayLayers struct {
	upper  string
	lowers []string
	// mountPoint is where the overlay is mounted (resolveRelative).
	mountPoint string
	// options are kept as they were: "metacopy" and "redirect_dir" with
	// their values, "userxattr" with "".
	options map[string]string
}

// idmappedOverlay returns a read-only overlay of the layers of the
// overlayfs mount whose root is dirfd, each idmapped with user namespace
// ns.
func idmappedOverlay(dirfd, ns int) (*os.File, error) {
	var stx unix.Statx_t
	if err := unix.Statx(dirfd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil {
		return nil, fmt.Errorf("statx: %w", err)
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 || stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return nil, errors.New("an overlay's subdirectory")
	}
	mountinfo, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer mountinfo.Close()
	layers, err := findOverlay(mountinfo, stx.Mnt_id)
	if err != nil {
		return nil, err
	}
	if layers.relative() {
		if layers, err = layers.resolveRelative(dirfd); err != nil {
			return nil, err
		}
	}
	var paths []string
	for _, l := range append([]string{layers.upper}, layers.lowers...) {
		if l == "" {
			continue
		}
		fd, err := unix.Open(l, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", l, err)
		}
		m, err := idmappedClone(fd, ns, 0)
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", l, err)
		}
		defer unix.Close(m) // the overlay holds its layers
		paths = append(paths, fmt.Sprintf("/proc/self/fd/%d", m))
	}
	fs, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen: %w", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetString(fs, "lowerdir", strings.Join(paths, ":")); err != nil {
		return nil, fmt.Errorf("the overlay's layers: %w", err)
	}
	for k, v := range layers.options {
		if v == "" {
			err = unix.FsconfigSetFlag(fs, k)
		} else {
			err = unix.FsconfigSetString(fs, k, v)
		}
		if err != nil {
			return nil, fmt.Errorf("the overlay's option %s: %w", k, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return nil, fmt.Errorf("creating the overlay: %w", err)
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return nil, fmt.Errorf("fsmount: %w", err)
	}
	return os.NewFile(uintptr(m), "image root"), nil
}

// findOverlay reads the layers of the overlayfs mount mntID from
// mountinfo (proc_pid_mountinfo(5)): ID, parent ID, device, root, mount
// point, options, optional fields up to "-", then type, source and the
// super block's options.
func findOverlay(mountinfo *os.File, mntID uint64) (overlayLayers, error) {
	sc := bufio.NewScanner(mountinfo)
	sc.Buffer(nil, 1<<20) // an overlay of many layers has a long line
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != strconv.FormatUint(mntID, 10) {
			continue
		}
		sep := 6
		for sep < len(f) && f[sep] != "-" {
			sep++
		}
		if sep+3 >= len(f) || f[sep+1] != "overlay" {
			return overlayLayers{}, errors.New("not an overlay in mountinfo")
		}
		if f[3] != "/" {
			return overlayLayers{}, errors.New("a bind mount of an overlay's subdirectory")
		}
		l, err := parseOverlayOptions(f[sep+3])
		l.mountPoint = unescapeOctal(f[4])
		return l, err
	}
	if err := sc.Err(); err != nil {
		return overlayLayers{}, err
	}
	return overlayLayers{}, fmt.Errorf("mount %d not in mountinfo", mntID)
}

// parseOverlayOptions parses an overlay's super block options as
// mountinfo shows them: comma-separated, with the characters ", \t\n\\"
// of a value as octal escapes (seq_show_option), and the lower layers
// either one lowerdir option, colon-separated with a layer's own colons
// escaped as "\:", or one lowerdir+ option each.
func parseOverlayOptions(s string) (overlayLayers, error) {
	l := overlayLayers{options: map[string]string{}}
	for _, opt := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(opt, "=")
		v = unescapeOctal(v)
		switch k {
		case "upperdir":
			l.upper = v
		case "lowerdir":
			if strings.Contains(v, "::") {
				return l, errors.New("data-only lower layers")
			}
			l.lowers = append(l.lowers, splitLowerdir(v)...)
		case "lowerdir+":
			l.lowers = append(l.lowers, v)
		case "datadir+":
			return l, errors.New("data-only lower layers")
		case "metacopy", "redirect_dir":
			l.options[k] = v
			if k == "redirect_dir" && v == "on" {
				l.options[k] = "follow" // "on" makes redirects, for an upper layer
			}
		case "userxattr":
			l.options[k] = ""
		}
	}
	if len(l.lowers) == 0 {
		return l, errors.New("no lower layer")
	}
	return l, nil
}

// relative reports whether a layer is named by a relative path.
func (l overlayLayers) relative() bool {
	for _, p := range append([]string{l.upper}, l.lowers...) {
		if p != "" && !filepath.IsAbs(p) {
			return true
		}
	}
	return false
}

// resolveRelative returns l with its relative layer paths made absolute
// from the first base that makes the overlay whose root is dirfd (see
// the package comment above): Docker's home, two levels above the mount
// point, then containerd's snapshots, two above an absolute upper layer.
func (l overlayLayers) resolveRelative(dirfd int) (overlayLayers, error) {
	var bases []string
	if filepath.IsAbs(l.mountPoint) {
		bases = append(bases, filepath.Dir(filepath.Dir(l.mountPoint)))
	}
	if filepath.IsAbs(l.upper) {
		bases = append(bases, filepath.Dir(filepath.Dir(l.upper)))
	}
	want, err := dirNames(dirfd)
	if err != nil {
		return l, fmt.Errorf("the overlay's root: %w", err)
	}
	abs := func(base, p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	for _, base := range bases {
		r := l
		r.upper = abs(base, l.upper)
		r.lowers = make([]string, len(l.lowers))
		for i, p := range l.lowers {
			r.lowers[i] = abs(base, p)
		}
		if got, err := r.rootNames(); err == nil && maps.Equal(got, want) {
			return r, nil
		}
	}
	return l, errors.New("layers named by relative paths, from no directory that makes the overlay")
}

// rootNames are the names an overlay of l's layers shows in its root: each
// layer's, upper first, less those a higher layer whites out (a 0/0
// character device).
func (l overlayLayers) rootNames() (map[string]bool, error) {
	names, out := map[string]bool{}, map[string]bool{}
	for _, layer := range append([]string{l.upper}, l.lowers...) {
		if layer == "" {
			continue
		}
		entries, err := os.ReadDir(layer)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			n := e.Name()
			if out[n] || names[n] {
				continue
			}
			if info, err := e.Info(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
				if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Rdev == 0 {
					out[n] = true
					continue
				}
			}
			names[n] = true
		}
	}
	return names, nil
}

// dirNames are the names in directory dirfd.
func dirNames(dirfd int) (map[string]bool, error) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "overlay root")
	defer f.Close()
	list, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(list))
	for _, n := range list {
		names[n] = true
	}
	return names, nil
}

// splitLowerdir splits a lowerdir option's value at its unescaped colons.
func splitLowerdir(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
			cur.WriteByte(v[i])
		case v[i] == ':':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	return append(out, cur.String())
}

// unescapeOctal undoes mountinfo's \ooo escapes.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
