package proc

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"sync"

	"runsc-lite/sentry/kernel"
)

// /proc/config.gz is the build configuration of the kernel the sandbox is
// (Linux's CONFIG_IKCONFIG_PROC), which programs and test suites (LTP's
// needs_kconfigs) read to learn what the kernel offers before they use it.
//
// Decision: an option is y only when the sentry implements what it stands
// for; the options programs ask about that the sentry does not implement
// (PID and mount namespaces, io_uring, seccomp for applications, userfaultfd, NUMA,
// swap, fanotify, keys, BPF, quotas, debug
// and sanitizer builds, the whole loop driver) are listed as "is not set", so a program that
// checks skips them instead of failing on ENOSYS. Add an option here with
// the feature that implements it.
//
// Changes of session 8, each with why: AIO (sentry/kernel/aio) and
// DNOTIFY (sentry/vfs/dnotify.go) are implemented; POSIX_MQUEUE was
// listed as missing although sentry/kernel/mqueue serves mq_open and
// friends (and the mqueue sysctls), so it is y. INET and IPV6 were
// listed as missing from before the sandbox had Internet sockets
// (netstack, sentry/socket/inet): y; PACKET (AF_PACKET sockets, without
// rings) and NET_NS (CLONE_NEWNET, sentry/kernel/netns.go) are
// implemented, and NAMESPACES with it; so is IPC_NS (CLONE_NEWIPC,
// sentry/kernel/ipcns.go). The other kinds' options stay not set: their
// CLONE_NEW* are EINVAL.
//
// Session 9: PACKET's sockets have their mmap'ed rings (PACKET_RX_RING,
// PACKET_TX_RING, TPACKET_V1 to V3, packetring.go), which in Linux 6.1
// come with PACKET itself (no PACKET_MMAP option any more); PACKET_DIAG
// (sock_diag of packet sockets) is not there and stays unlisted.
//
// Session 10: CHECKPOINT_RESTORE is y. Its part a program can see
// without CRIU's own machinery is there: the IPC *_next_id sysctls
// (/proc/sys/kernel/msg_next_id, sem_next_id, shm_next_id, per IPC
// namespace, used by the next msgget, semget or shmget and reset to -1, as
// ipc_idr_alloc) and msgrcv's MSG_COPY (sentry/kernel/ipc/msg.go), which
// without the option Linux refuses (ENOSYS) and LTP's msgget04/05,
// msgrcv03 and shmget05/06 skip. Session 27: /proc/sys/kernel/ns_last_pid
// (kernel.SetLastPID). What CRIU goes on to use (/proc/PID/map_files,
// prctl PR_SET_MM_MAP, kcmp KCMP_EPOLL_TFD) is still missing: CRIU's own
// checks (criu check) fail on those, with ENOENT or EINVAL, rather than
// skip. TIME_NS is y with time namespaces (CLONE_NEWTIME,
// sentry/kernel/timens.go).
//
// Session 30: MNT_NS (mount namespaces, sentry/kernel/mntns.go, since
// session 29) and PID_NS (sentry/kernel/pidns.go) are y.
//
// Session 10: iptables' socket options (sentry/socket/inet/netfilter.go)
// on netstack's packet filter: NETFILTER, NETFILTER_XTABLES,
// IP_NF_IPTABLES and IP_NF_FILTER, with the REJECT target
// (IP_NF_TARGET_REJECT) and the "state" match (NETFILTER_XT_MATCH_STATE,
// on netstack's connection tracking: NF_CONNTRACK, which lo's packets
// lack, so they are INVALID there); nftables, ip6tables and the 32-bit
// compat layout are not there (not set).

// configEnabled are the options the sentry implements.
var configEnabled = []string{
	"64BIT", "X86", "X86_64", "MMU", "SMP", "MULTIUSER", "SYSCTL", "PROC_FS", "PROC_SYSCTL", "SYSFS",
	"SYSVIPC", "SYSVIPC_SYSCTL", "POSIX_TIMERS", "HIGH_RES_TIMERS", "FUTEX", "FUTEX_PI", "EPOLL",
	"SIGNALFD", "TIMERFD", "EVENTFD", "SHMEM", "MEMFD_CREATE", "ADVISE_SYSCALLS", "MEMBARRIER",
	"FILE_LOCKING", "FSNOTIFY", "INOTIFY_USER", "TMPFS", "OVERLAY_FS", "NET", "UNIX",
	"BINFMT_ELF", "BINFMT_SCRIPT", "CGROUPS", "MEMCG", "TTY", "UNIX98_PTYS",
	"AIO",                             // native AIO: sentry/kernel/aio
	"DNOTIFY",                         // fcntl F_NOTIFY: sentry/vfs/dnotify.go
	"POSIX_MQUEUE",                    // sentry/kernel/mqueue
	"NAMESPACES", "USER_NS", "UTS_NS", // kernel/userns.go, kernel/uts.go
	"NET_NS",       // CLONE_NEWNET: sentry/kernel/netns.go
	"IPC_NS",       // CLONE_NEWIPC: sentry/kernel/ipcns.go
	"TIME_NS",      // CLONE_NEWTIME: sentry/kernel/timens.go
	"MNT_NS",       // CLONE_NEWNS: sentry/kernel/mntns.go
	"PID_NS",       // CLONE_NEWPID: sentry/kernel/pidns.go
	"INET", "IPV6", // sentry/socket/inet (netstack)
	"PACKET",               // AF_PACKET sockets and their rings: sentry/socket/inet/packet.go, packetring.go
	"COREDUMP", "ELF_CORE", // core files: sentry/kernel/coredump.go, sentry/coredump
	"CHECKPOINT_RESTORE",        // IPC *_next_id sysctls, msgrcv MSG_COPY: sentry/kernel/ipc
	"SECCOMP", "SECCOMP_FILTER", // the application's own: sentry/kernel/seccomp.go
	// iptables (IPv4, legacy socket options) on netstack's packet filter:
	// sentry/socket/inet/netfilter.go, with its REJECT target and its
	// "state" match on netstack's connection tracking.
	"NETFILTER", "NETFILTER_XTABLES", "IP_NF_IPTABLES", "IP_NF_FILTER", "IP_NF_TARGET_REJECT",
	"NF_CONNTRACK", "NETFILTER_XT_MATCH_STATE",
}

// configDisabled are options programs ask about that the sentry does not
// implement.
var configDisabled = []string{
	"IO_URING", "USERFAULTFD",
	"NUMA", "SWAP", "FANOTIFY", "KEYS", "BPF_SYSCALL",
	"PERF_EVENTS", "QUOTA", "HUGETLBFS", "TRANSPARENT_HUGEPAGE", "MEMORY_FAILURE",
	"HWPOISON_INJECT", "MANDATORY_FILE_LOCKING", "BLK_DEV_LOOP", "BLK_DEV_RAM", "BLK_DEV_INTEGRITY",
	"FS_VERITY", "TUN", "POSIX_AUX_CLOCKS", "RT_GROUP_SCHED", "BSD_PROCESS_ACCT",
	"KASAN", "KCSAN", "UBSAN", "UBSAN_SIGNED_OVERFLOW", "LOCKDEP", "PROVE_LOCKING",
	"DEBUG_SPINLOCK", "DEBUG_MUTEXES", "DEBUG_RT_MUTEXES", "DEBUG_OBJECTS", "SLUB_RCU_DEBUG",
	"FAULT_INJECTION", "PREEMPT_RT", "SECURITY_LOCKDOWN_LSM", "SECURITY_LOCKDOWN_LSM_EARLY",
	"MODULES", "KALLSYMS", "TRACING", "FTRACE", "KVM",
	"NF_TABLES", "IP6_NF_IPTABLES", "NETFILTER_XTABLES_COMPAT", // nftables, ip6tables, 32-bit iptables
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

// configGz is /proc/config.gz: kernelConfig, gzip-compressed, made when
// a sandbox first opens it (the compression took 2-2.5 ms of CPU, at every
// sandbox's start when it was made with /proc, on the 2-core VM).
var configGz = sync.OnceValue(func() string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(kernelConfig()))
	w.Close()
	return b.String()
})
