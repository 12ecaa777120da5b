package proc

import (
	"fmt"
	"strings"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/usage"
)

// /proc/meminfo is the sandbox's memory account (package usage), in the
// format of Linux's meminfo_proc_show:
//   - MemTotal and CommitLimit are the sandbox's limit (--memory-limit):
//     the account is by commitment (what Linux accounts, MAP_NORESERVE
//     left out unless vm.overcommit_memory is 2), so the limit is both
//     what the sandbox has and what it may commit.
//   - MemFree and MemAvailable are what is left of it; Committed_AS,
//     AnonPages and Active(anon) are what is charged. The account does not
//     tell anonymous memory from in-memory file data (tmpfs, overlay
//     copies, memfds), so all of it shows as anonymous memory, and there is
//     no page cache, swap, slab or huge page to report: those lines are 0.
//   - VmallocTotal and Hugepagesize are x86-64's constants. The lines
//     about the host's physical memory map (DirectMap*) are absent.

// vmallocTotalKB is VMALLOC_TOTAL on x86-64 with 4-level page tables.
const vmallocTotalKB = 34359738367

// memory returns the sandbox's memory limit and what of it is used.
func memory(k *kernel.Kernel) (total, used uint64) {
	total = k.Memory.Limit()
	if total == 0 {
		total = usage.DefaultLimit()
	}
	return total, min(k.Memory.Used(), total)
}

// meminfo is /proc/meminfo.
func meminfo(k *kernel.Kernel) string {
	total, used := memory(k)
	free := total - used
	kb := func(b uint64) uint64 { return b >> 10 }
	lines := []struct {
		name string
		kb   uint64
	}{
		{"MemTotal", kb(total)}, {"MemFree", kb(free)}, {"MemAvailable", kb(free)},
		{"Buffers", 0}, {"Cached", 0}, {"SwapCached", 0},
		{"Active", kb(used)}, {"Inactive", 0}, {"Active(anon)", kb(used)}, {"Inactive(anon)", 0},
		{"Active(file)", 0}, {"Inactive(file)", 0}, {"Unevictable", 0}, {"Mlocked", 0},
		{"SwapTotal", 0}, {"SwapFree", 0}, {"Dirty", 0}, {"Writeback", 0},
		{"AnonPages", kb(used)}, {"Mapped", 0}, {"Shmem", 0}, {"KReclaimable", 0},
		{"Slab", 0}, {"SReclaimable", 0}, {"SUnreclaim", 0}, {"KernelStack", 0}, {"PageTables", 0},
		{"NFS_Unstable", 0}, {"Bounce", 0}, {"WritebackTmp", 0},
		{"CommitLimit", kb(total)}, {"Committed_AS", kb(used)},
		{"VmallocTotal", vmallocTotalKB}, {"VmallocUsed", 0}, {"VmallocChunk", 0}, {"Percpu", 0},
		{"HardwareCorrupted", 0}, {"AnonHugePages", 0}, {"ShmemHugePages", 0}, {"ShmemPmdMapped", 0},
		{"FileHugePages", 0}, {"FilePmdMapped", 0},
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%-16s%8d kB\n", l.name+":", l.kb)
	}
	b.WriteString("HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n")
	b.WriteString("Hugepagesize:       2048 kB\nHugetlb:               0 kB\n")
	return b.String()
}

// vmstat is /proc/vmstat: the memory account in pages, as meminfo shows
// it; the sentry counts no paging or faults (the host handles them), so
// those counters are 0.
func vmstat(k *kernel.Kernel) string {
	total, used := memory(k)
	const page = abi.PageSize
	var b strings.Builder
	fmt.Fprintf(&b, "nr_free_pages %d\nnr_anon_pages %d\nnr_mapped 0\nnr_file_pages 0\nnr_dirty 0\nnr_writeback 0\nnr_shmem 0\n", (total-used)/page, used/page)
	for _, name := range []string{"pgpgin", "pgpgout", "pswpin", "pswpout", "pgfault", "pgmajfault", "oom_kill"} {
		fmt.Fprintf(&b, "%s 0\n", name)
	}
	return b.String()
}
