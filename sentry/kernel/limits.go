package kernel

import (
	"math"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

const infinity = ^uint64(0)

// nr_open's bounds and default (/proc/sys/fs/nr_open): RLIMIT_NOFILE's
// hard limit is at most nr_open, for root too (do_prlimit's EPERM).
// Linux's default is 1024*1024; root may set it from BITS_PER_LONG to
// sysctl_nr_open_max, INT_MAX rounded down to a multiple of
// BITS_PER_LONG (fs/file.c). A descriptor table is a slice as long as its
// highest descriptor (vfs.FDTable), so the sentry keeps descriptors below
// vfs.MaxFDs whatever the limit says.
const (
	NROpenDefault = 1 << 20
	NROpenMax     = math.MaxInt32 &^ (NROpenMin - 1)
	NROpenMin     = 64
)

// defaultLimits are what a process starts with: Linux's defaults for a
// login shell on a typical distribution.
var defaultLimits = map[int]unix.Rlimit{
	unix.RLIMIT_CPU:        {Cur: infinity, Max: infinity},
	unix.RLIMIT_FSIZE:      {Cur: infinity, Max: infinity},
	unix.RLIMIT_DATA:       {Cur: infinity, Max: infinity},
	unix.RLIMIT_STACK:      {Cur: 8 << 20, Max: infinity},
	unix.RLIMIT_CORE:       {Cur: 0, Max: infinity},
	unix.RLIMIT_RSS:        {Cur: infinity, Max: infinity},
	unix.RLIMIT_NPROC:      {Cur: 4096, Max: 4096},
	unix.RLIMIT_NOFILE:     {Cur: 1024, Max: NROpenDefault},
	unix.RLIMIT_MEMLOCK:    {Cur: 8 << 20, Max: 8 << 20},
	unix.RLIMIT_AS:         {Cur: infinity, Max: infinity},
	unix.RLIMIT_LOCKS:      {Cur: infinity, Max: infinity},
	unix.RLIMIT_SIGPENDING: {Cur: 4096, Max: 4096},
	unix.RLIMIT_MSGQUEUE:   {Cur: 819200, Max: 819200},
	unix.RLIMIT_NICE:       {Cur: 0, Max: 0},
	unix.RLIMIT_RTPRIO:     {Cur: 0, Max: 0},
	unix.RLIMIT_RTTIME:     {Cur: infinity, Max: infinity},
}

// FileSizeLimit is RLIMIT_FSIZE's soft limit, which every write checks.
func (tg *ThreadGroup) FileSizeLimit() uint64 { return tg.fileSizeLimit.Load() }

// Rlimit returns resource res's limit and, if next is not nil, replaces it
// as setrlimit(2) does: raising the hard limit needs privilege.
func (tg *ThreadGroup) Rlimit(res int, next *unix.Rlimit, privileged bool) (unix.Rlimit, error) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	old, ok := tg.limits[res]
	if !ok {
		if old, ok = defaultLimits[res]; !ok {
			return unix.Rlimit{}, unix.EINVAL
		}
	}
	if next != nil {
		if next.Cur > next.Max {
			return old, unix.EINVAL
		}
		if next.Max > old.Max && !privileged {
			return old, unix.EPERM
		}
		if res == unix.RLIMIT_NOFILE && next.Max > uint64(tg.k.NROpen()) {
			return old, unix.EPERM
		}
		if tg.limits == nil {
			tg.limits = make(map[int]unix.Rlimit)
		}
		tg.limits[res] = *next
		if res == unix.RLIMIT_FSIZE {
			tg.fileSizeLimit.Store(next.Cur)
		}
		if res == unix.RLIMIT_CPU {
			// The watcher reads the limit under tg.mu.
			tg.mu.Unlock()
			tg.watchCPULimit()
			tg.mu.Lock()
		}
	}
	return old, nil
}

// MemoryRlimits returns the RLIMIT_AS and RLIMIT_DATA soft limits, which
// package mm enforces.
func (tg *ThreadGroup) MemoryRlimits() (as, data uint64) {
	a, _ := tg.Rlimit(unix.RLIMIT_AS, nil, false)
	d, _ := tg.Rlimit(unix.RLIMIT_DATA, nil, false)
	return a.Cur, d.Cur
}

// MayPrlimit reports whether t may read and set target's resource limits
// (check_prlimit_permission): its own, or a process whose real, effective
// and saved uids are t's real uid and whose gids t's real gid, or with
// CAP_SYS_RESOURCE in target's user namespace.
func (t *Task) MayPrlimit(target *Task) bool {
	if t == target {
		return true
	}
	c, tc := t.Creds(), target.Creds()
	u, g := c.UID.Real, c.GID.Real
	if tc.UID.Real == u && tc.UID.Effective == u && tc.UID.Saved == u &&
		tc.GID.Real == g && tc.GID.Effective == g && tc.GID.Saved == g {
		return true
	}
	return c.HasCapIn(tc.UserNS, linux.CAP_SYS_RESOURCE)
}

// NROpen is /proc/sys/fs/nr_open: the largest RLIMIT_NOFILE hard limit
// setrlimit(2) takes, sandbox-wide as Linux's is system-wide.
func (k *Kernel) NROpen() uint32 { return k.nrOpen.Load() }

// SetNROpen sets nr_open, as root writes it: EINVAL outside NROpenMin
// through NROpenMax (proc_douintvec_minmax). Limits already set stay.
func (k *Kernel) SetNROpen(n uint64) error {
	if n < NROpenMin || n > NROpenMax {
		return unix.EINVAL
	}
	k.nrOpen.Store(uint32(n))
	return nil
}
