package main

import (
	"regexp"
	"testing"
)

// TestProcPIDReuse runs testdata/e2e/pidreuse.c, which makes a PID come
// back through /proc/sys/kernel/ns_last_pid (so it runs only in the
// sandbox, never natively), and compares its output with pidreuse.out,
// what Linux printed in a PID namespace of its own: a /proc/PID directory
// opened for the first process fails lookups with ESRCH and listings
// with ENOENT once it is gone, signals nothing through pidfd_send_signal,
// and has other inode numbers than the directory of the process that got
// the PID since.
func TestProcPIDReuse(t *testing.T) {
	runAgainstOutput(t, "pidreuse", true)
}

// TestProcVMSysctls: root sets vm.max_map_count and vm.overcommit_memory
// through /proc/sys/vm, and the sandbox's memory account enforces them
// (mmap stops at the count). The files were bound to the account before
// the sandbox made it: every write was EINVAL (LTP's munmap04 broke
// restoring max_map_count). testdata/e2e/vmsysctl.out is what Linux
// prints as root; the program never runs natively, as it would change
// the host's sysctls.
func TestProcVMSysctls(t *testing.T) {
	runAgainstOutput(t, "vmsysctl", true)
}

// TestRandomizeVASysctl: root sets kernel.randomize_va_space through
// /proc/sys/kernel, and the execs that follow are laid out as it says
// (testdata/e2e/randomizeva.c, a PIE; never run natively, as it would
// change the host's sysctl; the file was missing, and every layout was
// random).
func TestRandomizeVASysctl(t *testing.T) {
	runAgainstOutput(t, "randomizeva", false)
}

// TestMeminfoShowsTheLimit: /proc/meminfo and node 0's meminfo in /sys
// both show the sandbox's --memory-limit. The /sys one was made before
// the sandbox's account, and showed the default limit.
func TestMeminfoShowsTheLimit(t *testing.T) {
	r := runscLite(t, runOpts{}, "run", "--memory-limit=256m", "--", "/bin/sh", "-c",
		"grep -h MemTotal /proc/meminfo /sys/devices/system/node/node0/meminfo")
	if r.code != 0 || !regexp.MustCompile(`^MemTotal: +262144 kB\nNode 0 MemTotal: +262144 kB\n$`).MatchString(r.stdout) {
		t.Errorf("want both MemTotal lines at 262144 kB: %v", r)
	}
}
