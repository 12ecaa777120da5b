// Package usage is the sandbox-wide accounts: memory, with one limit like
// a memory cgroup's, that everything the application can make the host
// hold in memory is charged to before it is allocated; and CPU time
// (cpu.go), which /proc/stat and the cgroup files report.
//
// Decisions:
//   - Accounting is by commitment: memory is charged when it is promised
//     (mmap, brk, mremap, fork, a file growing), not when a page is
//     touched, because the host handles page faults and the sentry never
//     sees them. A request beyond the limit fails then, with ENOMEM
//     (memory) or ENOSPC (file data), instead of a kill.
//   - What is charged (package mm computes it per mapping): what Linux
//     accounts (VM_ACCOUNT): writable private mappings (anonymous or file,
//     brk, stacks) and shared anonymous memory, and the data of files kept
//     in memory (tmpfs, overlay copies, memfds) by their size (package
//     overlay).
//   - vm.overcommit_memory is 0 (heuristic), as in gVisor and on a
//     default host, not 2 (strict): with 2, MAP_NORESERVE is charged, and
//     the sanitizers (ASan, TSan, MSan) and other runtimes that reserve
//     terabytes with MAP_NORESERVE and touch little of it cannot start,
//     which a runsc user does not expect. So in modes 0 and 1 a
//     MAP_NORESERVE mapping is not charged (Linux's VM_NORESERVE); its
//     touched pages are bounded by the sandbox's host cgroup (package
//     cgroup), whose kernel OOM-kills the stub past the limit, as Linux's
//     memory cgroup would; without one, only by the host. Root in the
//     sandbox may write 2, and later MAP_NORESERVE mappings are charged.
//     Mode 0's heuristic (one request larger than RAM plus swap fails) is
//     implied by the limit, which is the sandbox's MemTotal.
//   - The default limit is half of the host's MemTotal.
package usage

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Kind is what a charge is for, as memory.stat's lines tell them apart.
type Kind int

const (
	// Anon is private writable memory: anonymous mappings, brk, stacks,
	// and the private copies of file mappings (memory.stat's anon).
	Anon Kind = iota
	// Shmem is shared anonymous memory and System V shared memory
	// (shmem).
	Shmem
	// Files is the data and extended attributes of files kept in memory:
	// tmpfs, the root overlay's copies, memfds (shmem too in Linux, which
	// counts tmpfs there; apart here).
	Files
	// Pipes is the data queued in pipes and FIFOs (kernel memory).
	Pipes
	numKinds
)

// String is the kind's name in usage and metrics.
func (k Kind) String() string {
	switch k {
	case Anon:
		return "anon"
	case Shmem:
		return "shmem"
	case Files:
		return "files"
	case Pipes:
		return "pipes"
	}
	return "unknown"
}

// Kinds are every kind, in order.
var Kinds = []Kind{Anon, Shmem, Files, Pipes}

// Memory is a sandbox's memory account. A nil *Memory charges nothing and
// never refuses.
type Memory struct {
	limit uint64
	used  atomic.Uint64
	// byKind splits used by kind; each is changed after used, so a reader
	// may see them a charge apart.
	byKind [numKinds]atomic.Uint64
	// refused counts the charges refused at the limit: the sandbox's
	// out-of-memory events (nothing is killed, see above).
	refused atomic.Uint64
	// maxMapCount is vm.max_map_count less DefaultMaxMapCount, so that the
	// zero value is Linux's default.
	maxMapCount atomic.Int64
	// overcommit is vm.overcommit_memory; the zero value is
	// OvercommitGuess.
	overcommit atomic.Int32
}

// vm.overcommit_memory's modes (<linux/mman.h>).
const (
	OvercommitGuess  = 0
	OvercommitAlways = 1
	OvercommitNever  = 2
)

// Overcommit returns vm.overcommit_memory.
func (m *Memory) Overcommit() int {
	if m == nil {
		return OvercommitGuess
	}
	return int(m.overcommit.Load())
}

// SetOvercommit sets vm.overcommit_memory: 0, 1 or 2 (EINVAL otherwise,
// as proc_dointvec_minmax).
func (m *Memory) SetOvercommit(n int64) error {
	if m == nil || n < OvercommitGuess || n > OvercommitNever {
		return unix.EINVAL
	}
	m.overcommit.Store(int32(n))
	return nil
}

// ChargesNoReserve reports whether a MAP_NORESERVE mapping made now is
// charged: only in strict mode, where Linux ignores the flag.
func (m *Memory) ChargesNoReserve() bool { return m.Overcommit() == OvercommitNever }

// DefaultMaxMapCount is vm.max_map_count's default (DEFAULT_MAX_MAP_COUNT).
const DefaultMaxMapCount = 65530

// MaxMapCount is vm.max_map_count: how many mappings one address space of
// the sandbox may have (the limit keeps a program from making the sentry's
// mirror, and the host's page tables, grow without bound).
func (m *Memory) MaxMapCount() int {
	if m == nil {
		return DefaultMaxMapCount
	}
	return int(m.maxMapCount.Load() + DefaultMaxMapCount)
}

// SetMaxMapCount sets vm.max_map_count (0 to 2^31-1, EINVAL beyond).
func (m *Memory) SetMaxMapCount(n int64) error {
	if m == nil || n < 0 || n > 1<<31-1 {
		return unix.EINVAL
	}
	m.maxMapCount.Store(n - DefaultMaxMapCount)
	return nil
}

// NewMemory returns an account limited to limit bytes; 0 means the
// default (DefaultLimit).
func NewMemory(limit uint64) *Memory {
	if limit == 0 {
		limit = DefaultLimit()
	}
	return &Memory{limit: limit}
}

// Charge reserves n bytes of kind k, or reports false if that would pass
// the limit.
func (m *Memory) Charge(k Kind, n uint64) bool {
	if m == nil || n == 0 {
		return true
	}
	for {
		used := m.used.Load()
		if used+n < used || used+n > m.limit {
			m.refused.Add(1)
			return false
		}
		if m.used.CompareAndSwap(used, used+n) {
			m.byKind[k].Add(n)
			return true
		}
	}
}

// Uncharge returns n bytes of kind k charged earlier.
func (m *Memory) Uncharge(k Kind, n uint64) {
	if m == nil || n == 0 {
		return
	}
	m.used.Add(-n)
	m.byKind[k].Add(-n)
}

// UsedBy returns the bytes charged for kind k.
func (m *Memory) UsedBy(k Kind) uint64 {
	if m == nil || k < 0 || k >= numKinds {
		return 0
	}
	return m.byKind[k].Load()
}

// Used returns the bytes charged.
func (m *Memory) Used() uint64 {
	if m == nil {
		return 0
	}
	return m.used.Load()
}

// Limit returns the limit in bytes (0 for a nil account: unlimited).
func (m *Memory) Limit() uint64 {
	if m == nil {
		return 0
	}
	return m.limit
}

// Shown is the memory the sandbox shows it has, its limit (DefaultLimit
// without one), and what of it is used, as /proc/meminfo and the memory
// node's meminfo in /sys show them.
func (m *Memory) Shown() (total, used uint64) {
	total = m.Limit()
	if total == 0 {
		total = DefaultLimit()
	}
	return total, min(m.Used(), total)
}

// fallbackLimit is the default when the host's memory size is unknown.
const fallbackLimit = 1 << 30

// DefaultLimit is half of the host's MemTotal.
func DefaultLimit() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return fallbackLimit
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseUint(fields[1], 10, 64); err == nil && kb > 0 {
				return kb << 10 / 2
			}
		}
	}
	return fallbackLimit
}

// ParseSize parses a byte count with an optional k, m or g suffix
// (powers of 1024), as the --memory-limit flag takes it.
func ParseSize(s string) (uint64, error) {
	mult := uint64(1)
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1<<10, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, t = 1<<20, strings.TrimSuffix(t, "m")
	case strings.HasSuffix(t, "g"):
		mult, t = 1<<30, strings.TrimSuffix(t, "g")
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional k, m or g suffix", s)
	}
	if n > ^uint64(0)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// Refused returns how many charges the limit has refused.
func (m *Memory) Refused() uint64 {
	if m == nil {
		return 0
	}
	return m.refused.Load()
}
