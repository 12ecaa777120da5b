// Package devpts is the sandbox's pseudo-terminals: /dev/ptmx, which
// opens a new master, and the devpts file system at /dev/pts, which holds
// the numbered slaves (pts/N) and its own ptmx.
//
// Design decisions:
//   - Everything is emulated by the sentry: no host pseudo-terminal is
//     ever opened, and the line discipline (ldisc.go) is ours, Linux's
//     n_tty as the specification: canonical and raw modes, echo, erase
//     and kill, VMIN and VTIME, the ISIG characters, ICRNL and ONLCR and
//     their kin, IXON flow control (^S/^Q, IXANY, tcflow), packet mode,
//     window size, TIOCSTI, TIOCGPTPEER, the System V TCGETA/TCSETA*.
//   - A slave's read waits by itself (vfs.WaitingReader), not on
//     readiness alone: VTIME is a timer, and a raw read takes bytes as
//     they come until VMIN of them.
//   - TIOCSTI is for CAP_SYS_ADMIN in the sandbox only, as Linux without
//     CONFIG_LEGACY_TIOCSTI: a process may not type into the terminal of
//     the shell it runs under.
//   - Job control is not ours: each pair gets the kernel's terminal
//     (vfs.Terminal, kernel.TTY), the same code that serves the host
//     terminal, which decides who may read, write and change the
//     terminal and which process group the signals of ^C, ^\, ^Z and a
//     resize reach, and hangs the session up when the master closes.
//   - A pair lives while its master is open: closing the master hangs
//     the slave up (reads of open slaves see end of file, writes EIO) and
//     removes pts/N, as devpts_pty_kill does.
//   - Slaves are owned by the uid that opened the master, group tty (5),
//     mode 0620, as a devpts mounted with gid=5,mode=620 makes them (what
//     glibc's grantpt expects); pts/ptmx has mode 0000 (ptmxmode=000).
//     That is the sandbox's /dev/pts (Sandbox). Every mount(2) of devpts
//     is a new instance, as in Linux since 4.7, with the options of
//     ParseOptions (Linux's defaults: mode 0600, the opener's gid); its
//     ptmx and slaves open in it (vfs.OwnDevice), never through the
//     device numbers the instances share.
package devpts

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// /dev/ptmx is TTYAUX_MAJOR:PTMX_MINOR, slaves UNIX98_PTY_REPLICA_MAJOR:N.
const (
	ttyGroup     = 5 // the tty group slaves belong to
	maxPTYs      = 4096
	ptmxInoFixed = 2 // pts/ptmx; the root is 1, slave N is N+3
)

// FS is a devpts instance.
type FS struct {
	dev   uint64
	ctime unix.Timespec
	opts  Options // immutable

	mu   sync.Mutex
	ptys map[uint32]*pty // the live pairs by index; guarded by mu
}

// Options are a devpts mount's (mount -o): the slaves' mode, owner and
// group (the opener's fsuid and fsgid unless set), pts/ptmx's mode.
type Options struct {
	Mode, PtmxMode uint32
	UID, GID       uint32
	SetUID, SetGID bool
}

// String is the options as /proc/PID/mounts shows them (devpts_show_options).
func (o Options) String() string {
	s := ""
	if o.SetUID {
		s += "uid=" + strconv.FormatUint(uint64(o.UID), 10) + ","
	}
	if o.SetGID {
		s += "gid=" + strconv.FormatUint(uint64(o.GID), 10) + ","
	}
	return s + fmt.Sprintf("mode=%03o,ptmxmode=%03o", o.Mode, o.PtmxMode)
}

// ParseOptions reads a devpts mount's data (parse_mount_options): mode=,
// ptmxmode= (octal), uid=, gid=, newinstance (every mount is a new
// instance), max= (taken, not kept: the bound is maxPTYs); EINVAL for
// anything else.
func ParseOptions(data string) (Options, error) {
	opts := Options{Mode: 0o600}
	for opt := range strings.SplitSeq(data, ",") {
		key, val, _ := strings.Cut(opt, "=")
		var n uint64
		var err error
		switch key {
		case "", "newinstance", "ro", "rw", "sync", "async", "dirsync", "lazytime", "nolazytime", "mand", "nomand", "silent":
		case "mode", "ptmxmode":
			n, err = strconv.ParseUint(val, 8, 32)
			if key == "mode" {
				opts.Mode = uint32(n) & 0o777
			} else {
				opts.PtmxMode = uint32(n) & 0o777
			}
		case "uid", "gid":
			n, err = strconv.ParseUint(val, 10, 32)
			if key == "uid" {
				opts.UID, opts.SetUID = uint32(n), true
			} else {
				opts.GID, opts.SetGID = uint32(n), true
			}
		case "max":
			_, err = strconv.ParseUint(val, 10, 32)
		default:
			err = unix.EINVAL
		}
		if err != nil {
			return Options{}, unix.EINVAL
		}
	}
	return opts, nil
}

// Sandbox are the options of the sandbox's own /dev/pts.
var Sandbox = Options{Mode: 0o620, GID: ttyGroup, SetGID: true}

// New returns an empty devpts with options opts.
func New(opts Options) *FS {
	return &FS{dev: vfs.NewDeviceID(), ctime: vfs.Now(), opts: opts, ptys: map[uint32]*pty{}}
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return (*root)(fs) }

// Statfs implements vfs.FileSystem.
func (fs *FS) Statfs(ctx context.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: 0x1cd1, Bsize: 4096, Frsize: 4096, Namelen: 255, Flags: unix.ST_NOSUID | unix.ST_NOEXEC}, nil
}

// Ptmx returns the multiplexer /dev/ptmx stands for, with the attributes
// st and birth time born (its node in /dev): opening it makes a new pair
// of this devpts.
func (fs *FS) Ptmx(st unix.Stat_t, born vfs.Birth) vfs.Inode {
	return &ptmx{fs: fs, st: st, born: born}
}

func (fs *FS) attr(ino uint64, mode uint32, rdev uint64) unix.Stat_t {
	return unix.Stat_t{Dev: fs.dev, Ino: ino, Mode: mode, Nlink: 1, Rdev: rdev, Blksize: 1024,
		Atim: fs.ctime, Mtim: fs.ctime, Ctim: fs.ctime}
}

// newPTY allocates the lowest free index for a new pair.
func (fs *FS) newPTY(ctx context.Context) (*pty, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for n := uint32(0); n < maxPTYs; n++ {
		if _, ok := fs.ptys[n]; !ok {
			uid, gid := ownerOf(ctx)
			if fs.opts.SetUID {
				uid = fs.opts.UID
			}
			if fs.opts.SetGID {
				gid = fs.opts.GID
			}
			p := newPair(fs, n, uid, gid)
			fs.ptys[n] = p
			return p, nil
		}
	}
	return nil, unix.ENOSPC
}

// remove forgets pair p (its master closed).
func (fs *FS) remove(p *pty) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.ptys[p.n] == p {
		delete(fs.ptys, p.n)
	}
}

// ownerOf is the fsuid and fsgid of the caller (0 outside a task).
func ownerOf(ctx context.Context) (uid, gid uint32) {
	if c, ok := vfs.TaskOf(ctx).(interface{ FSCreds() vfs.Creds }); ok {
		return c.FSCreds().UID(), c.FSCreds().GID()
	}
	return 0, 0
}

// root is the /dev/pts directory.
type root FS

func (r *root) Stat(ctx context.Context) (unix.Stat_t, error) {
	st := (*FS)(r).attr(1, unix.S_IFDIR|0o755, 0)
	st.Nlink = 2
	return st, nil
}

func (r *root) Open(ctx context.Context, flags int) (vfs.FileImpl, error) { return nil, unix.EISDIR }

func (r *root) Lookup(ctx context.Context, name string) (vfs.Inode, error) {
	fs := (*FS)(r)
	if name == "ptmx" {
		// devpts keeps no birth times.
		return fs.Ptmx(fs.attr(ptmxInoFixed, unix.S_IFCHR|fs.opts.PtmxMode, unix.Mkdev(linux.TTYAUX_MAJOR, linux.PTMX_MINOR)), vfs.Birth{}), nil
	}
	n, err := strconv.ParseUint(name, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != name {
		return nil, unix.ENOENT
	}
	fs.mu.Lock()
	p := fs.ptys[uint32(n)]
	fs.mu.Unlock()
	if p == nil {
		return nil, unix.ENOENT
	}
	return (*slaveNode)(p), nil
}

func (r *root) ReadDir(ctx context.Context) ([]vfs.Dirent, error) {
	fs := (*FS)(r)
	fs.mu.Lock()
	var ns []int
	for n := range fs.ptys {
		ns = append(ns, int(n))
	}
	fs.mu.Unlock()
	sort.Ints(ns)
	out := []vfs.Dirent{{Name: "ptmx", Ino: ptmxInoFixed, Type: unix.DT_CHR}}
	for _, n := range ns {
		out = append(out, vfs.Dirent{Name: strconv.Itoa(n), Ino: uint64(n) + 3, Type: unix.DT_CHR})
	}
	return out, nil
}

// ptmx opens new masters.
type ptmx struct {
	fs   *FS
	st   unix.Stat_t
	born vfs.Birth
}

func (m *ptmx) Stat(ctx context.Context) (unix.Stat_t, error) { return m.st, nil }

// BirthTime implements vfs.BirthTimer: /dev/ptmx's node has one, as
// devtmpfs's files do; devpts's own ptmx none.
func (m *ptmx) BirthTime(ctx context.Context) vfs.Birth { return m.born }

// OwnDevice implements vfs.OwnDevice: it opens a pair of its own devpts.
func (m *ptmx) OwnDevice() {}

// Open implements vfs.Inode: a new pair, unlocked slave-side only after
// TIOCSPTLCK (unlockpt), its master open.
func (m *ptmx) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	maker, ok := vfs.TaskOf(ctx).(vfs.TerminalMaker)
	if !ok {
		return nil, unix.ENXIO
	}
	p, err := m.fs.newPTY(ctx)
	if err != nil {
		return nil, err
	}
	p.term = maker.NewTerminalControl(p.rdev(), func(flags int) (vfs.FileImpl, error) { return p.openSlave(ctx, flags|unix.O_NOCTTY) })
	return &master{p: p}, nil
}

// slaveNode is pts/N.
type slaveNode pty

func (s *slaveNode) Stat(ctx context.Context) (unix.Stat_t, error) {
	p := (*pty)(s)
	st := p.fs.attr(uint64(p.n)+3, unix.S_IFCHR|p.fs.opts.Mode, p.rdev())
	st.Uid, st.Gid = p.uid, p.gid
	return st, nil
}

// OwnDevice implements vfs.OwnDevice: it is a slave of its own devpts.
func (s *slaveNode) OwnDevice() {}

func (s *slaveNode) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return (*pty)(s).openSlave(ctx, flags)
}

// OpenDevice opens the slave that device number rdev names (a node of
// pts/N, or one made with mknod); ENXIO for no live pair.
func (fs *FS) OpenDevice(ctx context.Context, rdev uint64, flags int) (vfs.FileImpl, error) {
	if unix.Major(rdev) != linux.UNIX98_PTY_REPLICA_MAJOR {
		return nil, unix.ENXIO
	}
	fs.mu.Lock()
	p := fs.ptys[unix.Minor(rdev)]
	fs.mu.Unlock()
	if p == nil {
		return nil, unix.ENXIO
	}
	return p.openSlave(ctx, flags)
}
