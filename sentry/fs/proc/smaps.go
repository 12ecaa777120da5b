package proc

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// The memory files of /proc/PID: smaps, smaps_rollup and statm, and the
// Vm lines of status, from the sentry's mirror of the process's mappings
// and the residency of its own pages (mm.Usage), in Linux's layouts
// (fs/proc/task_mmu.c). What the sentry cannot know is 0: sharing with
// other processes (every resident page counts as private, Pss as Rss),
// dirtiness (anonymous pages count as dirty, file pages as clean),
// swap, huge pages.

// memTotals sums a process's mappings as /proc/PID/status and statm do.
type memTotals struct {
	size, rss, rssAnon, rssFile, data, stack, exe, locked uint64
}

func totals(t *kernel.Task, usage []mm.MappingUsage) memTotals {
	var s memTotals
	exe := t.Exe()
	for i := range usage {
		u := &usage[i]
		n := uint64(u.End - u.Start)
		s.size += n
		s.rss += u.Resident
		if u.Anonymous() {
			s.rssAnon += u.Resident
		} else {
			s.rssFile += u.Resident
		}
		switch {
		case u.IsStack():
			s.stack += n
		case u.Data():
			s.data += n
		}
		if u.Prot&unix.PROT_EXEC != 0 && u.File != nil && u.Name == exe {
			s.exe += n
		}
		if u.Locked {
			s.locked += n
		}
	}
	return s
}

// statm is /proc/PID/statm: size resident shared text lib data dt, in
// pages ("shared" is the resident file pages, lib and dt are 0 as in
// Linux 2.6 on).
func statm(t *kernel.Task) string {
	s := totals(t, t.MM().Usage())
	p := func(b uint64) uint64 { return b / abi.PageSize }
	return fmt.Sprintf("%d %d %d %d 0 %d 0\n", p(s.size), p(s.rss), p(s.rssFile), p(s.exe), p(s.data+s.stack))
}

// statusMemory is the Vm and Rss lines of /proc/PID/status. The peaks
// (VmPeak, VmHWM) are at least the figures now, as task_mem makes them.
func statusMemory(t *kernel.Task) string {
	m := t.MM()
	s := totals(t, m.Usage())
	peakVM, hwm := max(m.HiwaterVM(), s.size), m.HiwaterRSS(s.rss)
	var b strings.Builder
	for _, l := range []struct {
		name string
		v    uint64
	}{
		{"VmPeak", peakVM}, {"VmSize", s.size}, {"VmLck", s.locked}, {"VmHWM", hwm}, {"VmRSS", s.rss}, {"RssAnon", s.rssAnon},
		{"RssFile", s.rssFile}, {"RssShmem", 0}, {"VmData", s.data}, {"VmStk", s.stack}, {"VmExe", s.exe},
	} {
		fmt.Fprintf(&b, "%s:\t%8d kB\n", l.name, l.v/1024) // task_mem's SEQ_PUT_DEC: a tab, then width 8
	}
	return b.String()
}

// smapsCounts are the figures of one smaps entry, in bytes.
type smapsCounts struct {
	rss, sharedClean, sharedDirty, privateClean, privateDirty, anonymous, locked uint64
}

func countsOf(u *mm.MappingUsage) smapsCounts {
	c := smapsCounts{rss: u.Resident}
	switch {
	case u.Shared:
		c.sharedDirty = u.Resident
	case u.File == nil:
		c.privateDirty, c.anonymous = u.Resident, u.Resident
	default:
		c.privateClean = u.Resident
	}
	if u.Locked {
		c.locked = u.Resident
	}
	return c
}

func (c *smapsCounts) add(o smapsCounts) {
	c.rss += o.rss
	c.sharedClean += o.sharedClean
	c.sharedDirty += o.sharedDirty
	c.privateClean += o.privateClean
	c.privateDirty += o.privateDirty
	c.anonymous += o.anonymous
	c.locked += o.locked
}

// kbLine is one "Name:   N kB" line of smaps (SEQ_PUT_DEC).
func kbLine(b *strings.Builder, name string, bytes uint64) {
	fmt.Fprintf(b, "%-16s%8d kB\n", name+":", bytes>>10)
}

// write writes the lines from Rss on; rollup adds the Pss_ split.
func (c smapsCounts) write(b *strings.Builder, rollup bool) {
	kbLine(b, "Rss", c.rss)
	kbLine(b, "Pss", c.rss)
	kbLine(b, "Pss_Dirty", c.sharedDirty+c.privateDirty)
	if rollup {
		kbLine(b, "Pss_Anon", c.anonymous)
		kbLine(b, "Pss_File", c.rss-c.anonymous)
		kbLine(b, "Pss_Shmem", 0)
	}
	kbLine(b, "Shared_Clean", c.sharedClean)
	kbLine(b, "Shared_Dirty", c.sharedDirty)
	kbLine(b, "Private_Clean", c.privateClean)
	kbLine(b, "Private_Dirty", c.privateDirty)
	kbLine(b, "Referenced", c.rss)
	kbLine(b, "Anonymous", c.anonymous)
	for _, name := range []string{"KSM", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss"} {
		kbLine(b, name, 0)
	}
	kbLine(b, "Locked", c.locked)
}

// vmFlags is an smaps entry's VmFlags line (show_smap_vma_flags).
func vmFlags(u *mm.MappingUsage) string {
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{
		{u.Prot&unix.PROT_READ != 0, "rd"}, {u.Prot&unix.PROT_WRITE != 0, "wr"}, {u.Prot&unix.PROT_EXEC != 0, "ex"},
		{u.Shared, "sh"}, {true, "mr"}, {true, "mw"}, {true, "me"}, {u.Shared, "ms"}, {u.IsStack(), "gd"},
		{u.Locked, "lo"}, {!u.Shared && u.Prot&unix.PROT_WRITE != 0 && !u.NoReserve(), "ac"}, {u.NoReserve(), "nr"},
		{u.Sealed(), "sl"},
	} {
		if f.on {
			flags = append(flags, f.name+" ")
		}
	}
	return "VmFlags: " + strings.Join(flags, "") + "\n"
}

// smaps is /proc/PID/smaps: each mapping's maps line and its figures.
func smaps(t *kernel.Task) string {
	var b strings.Builder
	usage, name := t.MM().Usage(), mapNamer(t)
	for i := range usage {
		u := &usage[i]
		b.WriteString(u.MapsLine(name))
		kbLine(&b, "Size", uint64(u.End-u.Start))
		kbLine(&b, "KernelPageSize", abi.PageSize)
		kbLine(&b, "MMUPageSize", abi.PageSize)
		countsOf(u).write(&b, false)
		b.WriteString("THPeligible:    0\n")
		b.WriteString(vmFlags(u))
	}
	return b.String()
}

// smapsRollup is /proc/PID/smaps_rollup: the figures of smaps summed, under
// a line spanning the mappings (empty for a process without any).
func smapsRollup(t *kernel.Task) string {
	usage := t.MM().Usage()
	if len(usage) == 0 {
		return ""
	}
	var c smapsCounts
	for i := range usage {
		c.add(countsOf(&usage[i]))
	}
	var b strings.Builder
	head := fmt.Sprintf("%08x-%08x ---p 00000000 00:00 0", usage[0].Start, usage[len(usage)-1].End)
	fmt.Fprintf(&b, "%-73s[rollup]\n", head+" ")
	c.write(&b, true)
	return b.String()
}

// mapNamer names t's file mappings as d_path does when maps or smaps is
// read: the file's path now, from t's root, after any rename of the file
// or its directories (the sandbox's /proc names paths from the process's
// root, as its fd links do).
func mapNamer(t *kernel.Task) mm.Namer {
	fs := t.FS()
	if fs == nil {
		return nil
	}
	root := fs.Root()
	return func(s mm.NameSource) string {
		if d, ok := s.(*vfs.Dentry); ok && d != nil {
			return vfs.PathOf(root, d)
		}
		return ""
	}
}
