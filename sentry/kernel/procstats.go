package kernel

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Per-process figures /proc/PID/io and /proc/PID/oom_score_adj show: the
// sentry's own accounting of what the process did, never the host's.

// IOStats is what a process read and wrote through read(2)- and
// write(2)-like syscalls (Linux's task_io_accounting): bytes and calls.
// All its fields are atomic: every thread of the process adds to them.
type IOStats struct {
	RChar, WChar atomic.Uint64 // bytes read and written
	SyscR, SyscW atomic.Uint64 // read and write calls
}

// IO returns the process's I/O accounting.
func (tg *ThreadGroup) IO() *IOStats { return &tg.io }

// AccountRead records a read-like call that returned n bytes (n < 0: it
// failed, which Linux counts as a call and no bytes).
func (tg *ThreadGroup) AccountRead(n int64) {
	tg.io.SyscR.Add(1)
	if n > 0 {
		tg.io.RChar.Add(uint64(n))
	}
}

// AccountWrite records a write-like call, as AccountRead.
func (tg *ThreadGroup) AccountWrite(n int64) {
	tg.io.SyscW.Add(1)
	if n > 0 {
		tg.io.WChar.Add(uint64(n))
	}
}

// OOM score adjustment bounds (include/uapi/linux/oom.h).
const (
	OOMScoreAdjMin = -1000
	OOMScoreAdjMax = 1000
	oomDisable     = -17 // the legacy oom_adj value that disables the killer
	oomAdjustMax   = 15
)

// OOMScoreAdj is the process's oom_score_adj. The sandbox's memory limit
// is enforced by refusing allocations (package mm), so no OOM killer reads
// it; programs set and read it back, and children inherit it.
func (tg *ThreadGroup) OOMScoreAdj() int { return int(tg.oomScoreAdj.Load()) }

// SetOOMScoreAdj sets oom_score_adj to v as __set_oom_adj does: EINVAL
// out of range; lowering it below the lowest value the process has set
// needs CAP_SYS_RESOURCE (EACCES).
func (tg *ThreadGroup) SetOOMScoreAdj(v int, caller Credentials) error {
	if v < OOMScoreAdjMin || v > OOMScoreAdjMax {
		return unix.EINVAL
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if int32(v) < tg.oomScoreAdjMin && !caller.HasCap(linux.CAP_SYS_RESOURCE) {
		return unix.EACCES
	}
	tg.oomScoreAdj.Store(int32(v))
	if caller.HasCap(linux.CAP_SYS_RESOURCE) {
		tg.oomScoreAdjMin = int32(v)
	}
	return nil
}

// OOMAdj is the legacy oom_adj view of oom_score_adj (proc_oom_adj_read).
func OOMAdj(scoreAdj int) int {
	if scoreAdj == OOMScoreAdjMax {
		return oomAdjustMax
	}
	return scoreAdj * -oomDisable / OOMScoreAdjMax
}

// OOMScoreAdjOf is the oom_score_adj a legacy oom_adj write sets
// (oom_adj_write): EINVAL outside [-17, 15].
func OOMScoreAdjOf(adj int) (int, error) {
	if adj < oomDisable || adj > oomAdjustMax {
		return 0, unix.EINVAL
	}
	if adj == oomAdjustMax {
		return OOMScoreAdjMax, nil
	}
	if adj == oomDisable {
		return OOMScoreAdjMin, nil
	}
	return adj * OOMScoreAdjMax / -oomDisable, nil
}
