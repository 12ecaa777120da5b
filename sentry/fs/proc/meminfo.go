package proc

import (
	"fmt"
	"strings"

	"runsc-lite/abi"
	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
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

// meminfo is /proc/meminfo.
func meminfo(k *kernel.Kernel) string {
	total, used := k.Memory.Shown()
	free := total - used
	kb := func(b uint64) uint64 { return b >> 10 }
	lines := []kernfs.KBLine{
		{Name: "MemTotal", KB: kb(total)}, {Name: "MemFree", KB: kb(free)}, {Name: "MemAvailable", KB: kb(free)},
		{Name: "Buffers", KB: 0}, {Name: "Cached", KB: 0}, {Name: "SwapCached", KB: 0},
		{Name: "Active", KB: kb(used)}, {Name: "Inactive", KB: 0}, {Name: "Active(anon)", KB: kb(used)}, {Name: "Inactive(anon)", KB: 0},
		{Name: "Active(file)", KB: 0}, {Name: "Inactive(file)", KB: 0}, {Name: "Unevictable", KB: 0}, {Name: "Mlocked", KB: 0},
		{Name: "SwapTotal", KB: 0}, {Name: "SwapFree", KB: 0}, {Name: "Dirty", KB: 0}, {Name: "Writeback", KB: 0},
		{Name: "AnonPages", KB: kb(used)}, {Name: "Mapped", KB: 0}, {Name: "Shmem", KB: 0}, {Name: "KReclaimable", KB: 0},
		{Name: "Slab", KB: 0}, {Name: "SReclaimable", KB: 0}, {Name: "SUnreclaim", KB: 0}, {Name: "KernelStack", KB: 0}, {Name: "PageTables", KB: 0},
		{Name: "NFS_Unstable", KB: 0}, {Name: "Bounce", KB: 0}, {Name: "WritebackTmp", KB: 0},
		{Name: "CommitLimit", KB: kb(total)}, {Name: "Committed_AS", KB: kb(used)},
		{Name: "VmallocTotal", KB: vmallocTotalKB}, {Name: "VmallocUsed", KB: 0}, {Name: "VmallocChunk", KB: 0}, {Name: "Percpu", KB: 0},
		{Name: "HardwareCorrupted", KB: 0}, {Name: "AnonHugePages", KB: 0}, {Name: "ShmemHugePages", KB: 0}, {Name: "ShmemPmdMapped", KB: 0},
		{Name: "FileHugePages", KB: 0}, {Name: "FilePmdMapped", KB: 0},
	}
	var b strings.Builder
	b.WriteString(kernfs.KBLines("", lines))
	b.WriteString("HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n")
	b.WriteString("Hugepagesize:       2048 kB\nHugetlb:               0 kB\n")
	return b.String()
}

// vmstat is /proc/vmstat: the memory account in pages, as meminfo shows
// it; the sentry counts no paging or faults (the host handles them), so
// those counters are 0.
func vmstat(k *kernel.Kernel) string {
	total, used := k.Memory.Shown()
	const page = abi.PageSize
	var b strings.Builder
	fmt.Fprintf(&b, "nr_free_pages %d\nnr_anon_pages %d\nnr_mapped 0\nnr_file_pages 0\nnr_dirty 0\nnr_writeback 0\nnr_shmem 0\n", (total-used)/page, used/page)
	for _, name := range []string{"pgpgin", "pgpgout", "pswpin", "pswpout", "pgfault", "pgmajfault", "oom_kill"} {
		fmt.Fprintf(&b, "%s 0\n", name)
	}
	return b.String()
}
