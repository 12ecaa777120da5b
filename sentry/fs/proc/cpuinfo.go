package proc

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gvisor.dev/gvisor/pkg/cpuid"

	"runsc-lite/sentry/kernel"
)

// /proc/cpuinfo describes the CPUs the sandbox may use (kernel.CPUs),
// numbered from 0, in the format of Linux's show_cpuinfo on x86.
//
// Decisions:
//   - The processor's identity and features come from CPUID, which the
//     application can execute itself anyway: vendor, family, model,
//     stepping, model name (the brand string), flags (Linux's names for
//     the feature bits), cpuid level, cache size, address sizes.
//   - The topology is the sandbox's: one package whose cores are the
//     sandbox's CPUs, each its own core (siblings = cpu cores = N).
//   - Figures only the host knows are left out: "microcode" (the host's
//     patch level), "bugs" (the host kernel's assessment of it) and the
//     power management features are absent or empty.
//   - "cpu MHz" is the nominal frequency, the same on every CPU and for
//     the sandbox's life, never the current one (which drifts with the
//     host's load): the one in the brand string ("@ 2.40GHz") when it
//     names one, else the host's, read once when the sandbox starts and
//     rounded to a whole MHz (the rate of the TSC, which the application can measure
//     with rdtsc). bogomips is twice it, as Linux's TSC calibration makes
//     it.
//   - CPUID is read once (the CPUs do not change); only the CPU numbers
//     differ from one processor block to the next.

// cpuText is what every processor block of /proc/cpuinfo holds before
// and after its topology lines.
type cpuText struct{ ident, features string }

// cpuDescription reads CPUID once.
var cpuDescription = sync.OnceValue(func() cpuText {
	fs := cpuid.FeatureSet{Function: &cpuid.Native{}}
	q := func(eax uint32) cpuid.Out { return fs.Query(cpuid.In{Eax: eax}) }
	leaf0, leaf1 := q(0), q(1)
	vendor := make([]byte, 0, 12)
	for _, r := range []uint32{leaf0.Ebx, leaf0.Edx, leaf0.Ecx} {
		vendor = binary.LittleEndian.AppendUint32(vendor, r)
	}
	sig := leaf1.Eax
	family, model := sig>>8&0xf, sig>>4&0xf
	if family == 0xf {
		family += sig >> 20 & 0xff
	}
	if family >= 6 {
		model += (sig >> 16 & 0xf) << 4
	}
	clflush := (leaf1.Ebx >> 8 & 0xff) * 8
	name, mhz := cpuName()
	physBits, virtBits := uint32(36), uint32(48)
	if q(0x80000000).Eax >= 0x80000008 {
		sizes := q(0x80000008).Eax
		physBits, virtBits = sizes&0xff, sizes>>8&0xff
	}
	var id, feat strings.Builder
	fmt.Fprintf(&id, "vendor_id\t: %s\n", strings.TrimRight(string(vendor), "\x00"))
	fmt.Fprintf(&id, "cpu family\t: %d\nmodel\t\t: %d\nmodel name\t: %s\nstepping\t: %d\n", family, model, name, sig&0xf)
	fmt.Fprintf(&id, "cpu MHz\t\t: %d.000\n", mhz)
	if kb := cacheKB(fs, q); kb > 0 {
		fmt.Fprintf(&id, "cache size\t: %d KB\n", kb)
	}
	fmt.Fprintf(&feat, "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %d\nwp\t\t: yes\n", leaf0.Eax)
	fmt.Fprintf(&feat, "flags\t\t: %s\n", fs.FlagString())
	fmt.Fprintf(&feat, "bogomips\t: %d.00\n", 2*mhz)
	fmt.Fprintf(&feat, "clflush size\t: %d\ncache_alignment\t: %d\n", clflush, clflush)
	fmt.Fprintf(&feat, "address sizes\t: %d bits physical, %d bits virtual\n", physBits, virtBits)
	feat.WriteString("power management:\n\n")
	return cpuText{ident: id.String(), features: feat.String()}
})

// cpuName returns the processor's name and nominal frequency in MHz. New
// asks for them when the sandbox starts, while the host's /proc is still
// there to read.
var cpuName = sync.OnceValues(func() (string, int) {
	name := brandString(func(eax uint32) cpuid.Out { return (&cpuid.Native{}).Query(cpuid.In{Eax: eax}) })
	return name, nominalMHz(name)
})

// brandString is the processor's name from CPUID leaves 0x80000002 to
// 0x80000004, "unknown" if it has none.
func brandString(q func(uint32) cpuid.Out) string {
	if q(0x80000000).Eax < 0x80000004 {
		return "unknown"
	}
	var b []byte
	for leaf := uint32(0x80000002); leaf <= 0x80000004; leaf++ {
		o := q(leaf)
		for _, r := range []uint32{o.Eax, o.Ebx, o.Ecx, o.Edx} {
			b = binary.LittleEndian.AppendUint32(b, r)
		}
	}
	name := strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
	if name == "" {
		return "unknown"
	}
	return name
}

// brandGHz finds the nominal frequency in a brand string.
var brandGHz = regexp.MustCompile(`@ *([0-9]+(\.[0-9]+)?) *GHz`)

// nominalMHz is the CPU's nominal frequency: the brand string's, or the
// host's first "cpu MHz", rounded; 0 if neither says.
func nominalMHz(brand string) int {
	if m := brandGHz.FindStringSubmatch(brand); m != nil {
		if ghz, err := strconv.ParseFloat(m[1], 64); err == nil {
			return int(ghz*1000 + 0.5)
		}
	}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, value, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(name) == "cpu MHz" {
			mhz, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
			return int(mhz + 0.5)
		}
	}
	return 0
}

// cacheKB is the cache size Linux shows: the last level's on Intel (CPUID
// leaf 4), the L2's on others (leaf 0x80000006); 0 if CPUID does not say.
func cacheKB(fs cpuid.FeatureSet, q func(uint32) cpuid.Out) uint32 {
	if fs.Intel() {
		var last uint32
		for i := uint32(0); i < 16; i++ {
			o := fs.Query(cpuid.In{Eax: 4, Ecx: i})
			if o.Eax&0xf == 0 {
				break
			}
			ways, parts, line, sets := o.Ebx>>22+1, o.Ebx>>12&0x3ff+1, o.Ebx&0xfff+1, o.Ecx+1
			last = ways * parts * line * sets / 1024
		}
		return last
	}
	if q(0x80000000).Eax >= 0x80000006 {
		return q(0x80000006).Ecx >> 16
	}
	return 0
}

// cpuinfo is /proc/cpuinfo: one block per CPU of the sandbox.
func cpuinfo(k *kernel.Kernel) string {
	d := cpuDescription()
	n := k.CPUs()
	var b strings.Builder
	for cpu := range n {
		fmt.Fprintf(&b, "processor\t: %d\n", cpu)
		b.WriteString(d.ident)
		fmt.Fprintf(&b, "physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n", n, cpu, n)
		fmt.Fprintf(&b, "apicid\t\t: %d\ninitial apicid\t: %d\n", cpu, cpu)
		b.WriteString(d.features)
	}
	return b.String()
}
