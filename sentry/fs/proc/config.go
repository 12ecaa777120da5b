package proc

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"

	"runsc-lite/sentry/kernel"
)

// /proc/config.gz is the build configuration of the kernel the sandbox is
// (Linux's CONFIG_IKCONFIG_PROC), which programs and test suites (LTP's
// needs_kconfigs) read to learn what the kernel offers before they use it.
//
// Decision: an option is y only when the sentry implements what it stands
// for; the options programs ask about that the sentry does not implement
// (namespaces but user and UTS ones, AIO, io_uring, seccomp for applications, userfaultfd, NUMA,
// swap, POSIX message queues, dnotify, fanotify, keys, BPF, quotas, debug
// and sanitizer builds, the whole loop driver) are listed as "is not set", so a program that
// checks skips them instead of failing on ENOSYS. Add an option here with
// the feature that implements it.

// configEnabled are the options the sentry implements.
var configEnabled = []string{
	"64BIT", "X86", "X86_64", "MMU", "SMP", "MULTIUSER", "SYSCTL", "PROC_FS", "PROC_SYSCTL", "SYSFS",
	"SYSVIPC", "SYSVIPC_SYSCTL", "POSIX_TIMERS", "HIGH_RES_TIMERS", "FUTEX", "FUTEX_PI", "EPOLL",
	"SIGNALFD", "TIMERFD", "EVENTFD", "SHMEM", "MEMFD_CREATE", "ADVISE_SYSCALLS", "MEMBARRIER",
	"FILE_LOCKING", "FSNOTIFY", "INOTIFY_USER", "TMPFS", "OVERLAY_FS", "NET", "UNIX",
	"BINFMT_ELF", "BINFMT_SCRIPT", "CGROUPS", "MEMCG", "TTY", "UNIX98_PTYS",
	"NAMESPACES", "USER_NS", "UTS_NS", // kernel/userns.go, kernel/uts.go
}

// configDisabled are options programs ask about that the sentry does not
// implement.
var configDisabled = []string{
	"IPC_NS", "PID_NS", "NET_NS", "TIME_NS", "MNT_NS",
	"CHECKPOINT_RESTORE", "AIO", "IO_URING", "SECCOMP", "SECCOMP_FILTER", "USERFAULTFD",
	"NUMA", "SWAP", "POSIX_MQUEUE", "DNOTIFY", "FANOTIFY", "KEYS", "BPF_SYSCALL",
	"PERF_EVENTS", "QUOTA", "HUGETLBFS", "TRANSPARENT_HUGEPAGE", "MEMORY_FAILURE",
	"HWPOISON_INJECT", "MANDATORY_FILE_LOCKING", "BLK_DEV_LOOP", "BLK_DEV_RAM", "BLK_DEV_INTEGRITY",
	"FS_VERITY", "INET", "IPV6", "TUN", "POSIX_AUX_CLOCKS", "RT_GROUP_SCHED", "BSD_PROCESS_ACCT",
	"KASAN", "KCSAN", "UBSAN", "UBSAN_SIGNED_OVERFLOW", "LOCKDEP", "PROVE_LOCKING",
	"DEBUG_SPINLOCK", "DEBUG_MUTEXES", "DEBUG_RT_MUTEXES", "DEBUG_OBJECTS", "SLUB_RCU_DEBUG",
	"FAULT_INJECTION", "PREEMPT_RT", "SECURITY_LOCKDOWN_LSM", "SECURITY_LOCKDOWN_LSM_EARLY",
	"MODULES", "KALLSYMS", "TRACING", "FTRACE", "KVM",
}

// kernelConfig is the uncompressed configuration.
func kernelConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86_64 %s Kernel Configuration (runsc-lite)\n#\n", kernel.Release)
	for _, o := range configEnabled {
		fmt.Fprintf(&b, "CONFIG_%s=y\n", o)
	}
	for _, o := range configDisabled {
		fmt.Fprintf(&b, "# CONFIG_%s is not set\n", o)
	}
	return b.String()
}

// configGz is /proc/config.gz: kernelConfig, gzip-compressed.
func configGz() string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(kernelConfig()))
	w.Close()
	return b.String()
}
