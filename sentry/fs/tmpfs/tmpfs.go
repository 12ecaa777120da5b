// Package tmpfs is the memory filesystem mounted at /tmp and /dev/shm, and
// wherever the application mounts "tmpfs" with mount(2). Regular files live
// in memfds, so the application can map them.
//
// A tmpfs is an overlay with nothing below it: package overlay holds the
// memory tree, and this package names the configuration, so the two share
// one implementation of every directory and file operation. Its mount
// options are Linux's (shmem_parse_one): size= (or nr_blocks=) bounds what
// the files hold together, mode=, uid= and gid= set the root directory;
// the options that tune what the sentry does not have (nr_inodes=, huge=,
// mpol=, inode32, inode64, noswap) are accepted and change nothing.
//
// File seals (fcntl(2) F_ADD_SEALS, F_GET_SEALS) follow Linux 6.1, the
// release the sandbox reports: a memfd made with MFD_ALLOW_SEALING takes
// them (NewMemFD; the host memfd holding its data carries and enforces
// them, package overlay's seal.go), and every other file here is a shmem
// file whose inode was born with F_SEAL_SEAL (shmem_get_inode): a memfd
// made without MFD_ALLOW_SEALING and any regular file of /tmp, /dev/shm or
// a mounted tmpfs report F_SEAL_SEAL and refuse more seals with EPERM.
// (Linux keeps this for non-memfd shmem files through 6.x:
// memfd_file_seals_ptr returns the shmem inode's seals for any shmem
// file.) Directories and other file systems' files have no seals: EINVAL.
package tmpfs

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/overlay"
	"runsc-lite/sentry/vfs"
)

// New returns an empty tmpfs whose root directory has permissions mode
// (01777 for /tmp and /dev/shm).
func New(mode uint32) vfs.FileSystem { return overlay.NewMemory(mode) }

// Options are a tmpfs's mount options.
type Options struct {
	Mode     uint32 // the root directory's permissions (default 01777)
	Size     uint64 // what the files may hold together, in whole pages; 0: no bound but the memory account
	UID, GID uint32 // the root directory's owner (default: who mounts)
}

// NewMounted returns an empty tmpfs with opts.
func NewMounted(opts Options) vfs.FileSystem {
	return overlay.NewMemorySized(opts.Mode, opts.Size, opts.UID, opts.GID)
}

// String is the options as /proc/PID/mounts shows them (shmem_show_options):
// those that differ from the defaults.
func (o Options) String() string {
	var opts []string
	if o.Size != 0 {
		opts = append(opts, "size="+strconv.FormatUint(o.Size>>10, 10)+"k")
	}
	if o.Mode != 0o1777 {
		opts = append(opts, fmt.Sprintf("mode=%03o", o.Mode))
	}
	if o.UID != 0 {
		opts = append(opts, "uid="+strconv.FormatUint(uint64(o.UID), 10))
	}
	if o.GID != 0 {
		opts = append(opts, "gid="+strconv.FormatUint(uint64(o.GID), 10))
	}
	return strings.Join(opts, ",")
}

// ParseOptions parses mount(2)'s data for a tmpfs ("size=32M,mode=755"),
// for a mounter with uid and gid; size=N% is a percentage of memory. An
// unknown option or a bad value is EINVAL, as in Linux.
func ParseOptions(data string, memory uint64, uid, gid uint32) (Options, error) {
	opts := Options{Mode: 0o1777, UID: uid, GID: gid}
	for _, opt := range strings.Split(data, ",") {
		key, val, hasVal := strings.Cut(opt, "=")
		var err error
		switch key {
		case "":
		case "size":
			opts.Size, err = parseSize(val, memory)
		case "nr_blocks":
			var n uint64
			n, err = parseSize(val, 0)
			opts.Size = n * 4096
		case "mode":
			var m uint64
			m, err = strconv.ParseUint(val, 8, 32)
			opts.Mode = uint32(m) & 0o7777
		case "uid", "gid":
			var id uint64
			id, err = strconv.ParseUint(val, 10, 32)
			if err == nil && id == 1<<32-1 {
				err = unix.EINVAL
			}
			if key == "uid" {
				opts.UID = uint32(id)
			} else {
				opts.GID = uint32(id)
			}
		case "nr_inodes", "huge", "mpol":
			if !hasVal {
				err = unix.EINVAL
			}
		case "inode32", "inode64", "noswap",
			// The filesystem-independent flags a data string may carry.
			"ro", "rw", "sync", "async", "dirsync", "lazytime", "nolazytime", "mand", "nomand", "silent":
			if hasVal {
				err = unix.EINVAL
			}
		default:
			err = unix.EINVAL
		}
		if err != nil {
			return Options{}, unix.EINVAL
		}
	}
	// The size is kept in pages, rounded up.
	if opts.Size > 1<<64-4096 {
		return Options{}, unix.EINVAL
	}
	opts.Size = (opts.Size + 4095) &^ 4095
	return opts, nil
}

// parseSize parses a size as memparse does (a number with an optional k,
// m, g, t, p or e suffix), or, when memory is not 0, a percentage of it.
func parseSize(s string, memory uint64) (uint64, error) {
	if pct, ok := strings.CutSuffix(s, "%"); ok && memory != 0 {
		n, err := strconv.ParseUint(pct, 10, 64)
		if err != nil {
			return 0, err
		}
		return memory / 100 * n, nil
	}
	shift := 0
	if n := len(s); n > 0 {
		if i := strings.IndexByte("kmgtpe", s[n-1]|0x20); i >= 0 {
			shift, s = 10*(i+1), s[:n-1]
		}
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, err
	}
	if n > (1<<64-1)>>shift {
		return 0, unix.EINVAL
	}
	return n << shift, nil
}
