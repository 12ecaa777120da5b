package main

// Differential tests: each testdata/diff/NAME.c is compiled with gcc, static
// and dynamic, and run natively and in the sandbox, each run in a fresh
// directory given as argv[1]; stdout and exit status must be the same. The
// programs print only deterministic facts (results and errno names, never
// addresses, pids, times or inode numbers); see testdata/diff/common.h.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// diffPrograms are the programs under testdata/diff, one per syscall family.
var diffPrograms = []string{
	"fileio",        // open/openat/creat/read/write/pread/pwrite/readv/writev/lseek
	"atime",         // reads, getdents, mmap and readlink move the access time under relatime; O_NOATIME and FS_NOATIME_FL keep it
	"stat",          // stat/fstat/lstat/fstatat/statx, statx's birth times (which files have one, kept by writes, links and renames)
	"dirs",          // mkdir/rmdir/getdents64/getcwd/chdir/fchdir
	"links",         // link/symlink/readlink/unlink/rename/renameat2
	"cwdrename",     // names that follow renames (d_path): getcwd, /proc/self/cwd, fd and exe links after the directory, a directory above it or the file itself is renamed, nested and across directories, " (deleted)" once removed; ".." of a moved directory; EINVAL for a directory moved below itself
	"cwdmount",      // names that follow renames across mounts (needs a root host): a renamed directory above a tmpfs mount (getcwd, fd links, mountinfo), moves within the tmpfs, ".." up through its root, a bind mount's view of a directory renamed through the other mount
	"perms",         // chmod/fchmod/umask/access/faccessat (needs a root host)
	"fds",           // dup/dup2/dup3/fcntl/close_range/pipe2, what O_PATH descriptors may do
	"truncate",      // truncate/ftruncate/fallocate
	"ioctl",         // TCGETS/FIONREAD/FIONBIO/FIOCLEX on non-terminals
	"inodeflags",    // FS_IOC_GETFLAGS/SETFLAGS/FSGETXATTR/FSSETXATTR, statx attributes, immutable and append-only files on tmpfs (needs a root host)
	"identity",      // uids, gids, groups, pids: relations only
	"time",          // clock_gettime/clock_getres/nanosleep/gettimeofday/time
	"system",        // uname/getrandom/rlimits/sched_getaffinity/prctl/sysinfo
	"rlimit",        // RLIMIT_AS/RLIMIT_DATA on mmap/mremap/brk/mprotect and fork, RLIMIT_CPU values, CPU time in getrusage/clock_gettime, RLIMIT_NOFILE's ceiling nr_open
	"yama",          // Yama's ptrace scope as the host's kernel has it (the sandbox's: 1): PR_SET_PTRACER (EINVAL without Yama), attaches, process_vm_readv and /proc/PID/mem of uid-1000 processes to siblings, ancestors' exceptions, PTRACE_ANY, own children and PTRACE_TRACEME, ptrace_scope's writes (EINVAL, EACCES, EPERM in a user namespace) (needs a root host)
	"nropen",        // /proc/sys/fs/nr_open written by root (EINVAL outside its range, its own value and values up to 2^31-64 taken; lowered below the hard RLIMIT_NOFILE: the limit and descriptors above stay, setrlimit past it EPERM), EACCES for another user and a user namespace's root that is not the real root (needs a root host)
	"memory",        // mmap/munmap/mprotect/brk/mremap/madvise/msync
	"maxrss",        // high-water marks: ru_maxrss of getrusage (SELF, THREAD, CHILDREN: the largest waited-for descendant's), wait4 and waitid; VmHWM and VmPeak after munmap; kept across execve while the new program's marks start again
	"noreserve",     // MAP_NORESERVE reservations far beyond the sandbox's memory (ASan's shadow): not committed, pages touched, mprotect, mremap, fork, smaps "nr"
	"efault",        // bad pointers everywhere
	"process",       // fork/vfork/wait4/waitid/execve, pipes between processes
	"sharedmem",     // memfd_create, MAP_SHARED across fork, process-shared semaphores
	"copyxdev",      // copy_file_range across file systems (EXDEV: memfd and /dev/shm, /dev/shm and the working directory) and within one, Linux 6.1's order of checks: descriptors, offsets' pointers, flags, the files, EXDEV, overflow; lengths cut at EOF, overlaps in one file
	"filetimes",     // mtime and ctime set to one time by write, pwrite, writev, ftruncate, fallocate (allocating, KEEP_SIZE, a punched hole), futimens and utimensat with UTIME_NOW, truncate, O_TRUNC, copy_file_range on a memfd and a tmpfs file; a pipe's times
	"memfdseals",    // fcntl F_ADD_SEALS/F_GET_SEALS: each seal and errno, writes, truncations, fallocate, mmap and mprotect past them, fork
	"timerfd",       // timerfd_create/settime/gettime, read, poll, epoll
	"posixtimer",    // timer_create/settime/getoverrun: re-arm at delivery, overruns, RLIMIT_SIGPENDING
	"procexe",       // /proc/self/exe opened, stat'ed and executed again once the binary is unlinked or renamed over, readlink's " (deleted)"; EACCES for another process's without ptrace read access (fsuid, capabilities, dumpable) (needs a root host)
	"etxtbsy",       // ETXTBSY: open for writing and truncate of a running program's file (hard links, /proc/PID/exe, zombies, forks, a second execve), execve of a file open for writing (mapped after its close, in another process, memfds and O_TMPFILE), scripts and their interpreters, the ELF interpreter and libraries only while loaded
	"fdreopen",      // /proc/self/fd/N opened again as the same inode (memfds, pipes, deleted files, O_PATH), seals and O_TRUNC, ENXIO for sockets, openat2's refusals, execveat of a memfd
	"altstack",      // sigaltstack: the flags a query reports, the modes and errnos, uc_stack in a frame, nested handlers, SS_AUTODISARM, rt_sigreturn restoring an edited uc_stack, fork and thread inheritance
	"coredump",      // core dumps: which signals, dumpable, RLIMIT_CORE, an existing "core", the core bit and CLD_DUMPED; the ELF core's notes and memory
	"dumpable",      // PR_SET_DUMPABLE 0 keeps another process of the same user (uid 1000, no capabilities) from ptrace attach and process_vm_readv, kill still works; back to 1 it can again; EINVAL for 2; fork keeps the setting (needs a root host)
	"execinplace",   // execve empties the process (systrap keeps a single-threaded program's host process): the old program's page faults in the new one, from a forked child, after failed execs, from a process that had a second thread, and from the first process
	"execreset",     // what execve resets (POSIX timers and their queued signals, handlers, the alternate stack) and keeps (other pending signals, the mask, SIG_IGN, ITIMER_REAL, the parent death signal, the next timer ID)
	"signalfd",      // signalfd/signalfd4, reads of pending signals, poll, epoll
	"sigqueue",      // rt_sigqueueinfo/rt_tgsigqueueinfo: si_code claims, targets; kill of a thread's ID
	"sigpending",    // RLIMIT_SIGPENDING: EAGAIN for real-time signals past it, siginfos lost, the count freed by taking, SIG_IGN and exit (needs a root host)
	"restart",       // SA_RESTART: which interrupted syscalls restart, EINTR, nanosleep time left
	"futex2",        // FUTEX_WAKE_OP, PI futexes, robust lists
	"reaper",        // PR_SET_CHILD_SUBREAPER adoption, PR_SET_PDEATHSIG when the creating process or thread exits, PTRACE_TRACEME racing the parent's exit
	"stopcont",      // SIGSTOP/SIGTSTP/SIGCONT, WUNTRACED/WCONTINUED, CLD_STOPPED/CLD_CONTINUED, the usage so far (own and waited-for children's CPU time, ru_maxrss) a stop or continue reports
	"tty",           // terminal ioctls on non-terminals, /dev/tty without a controlling terminal
	"pidfd",         // pidfd_open/pidfd_send_signal/pidfd_getfd, CLONE_PIDFD, waitid(P_PIDFD), poll and epoll
	"capsets",       // bounding and ambient sets, securebits, capset's limits, what execve leaves of them for root, another user and SECBIT_NOROOT; /proc/self/status's Cap lines (needs a root host)
	"sched",         // getpriority/setpriority, capget/capset, personality, chroot, fadvise64/readahead/sync_file_range/mlock
	"ipc",           // System V IPC: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/semctl, msgget/msgsnd/msgrcv/msgctl
	"inotify",       // inotify_init/inotify_init1/inotify_add_watch/inotify_rm_watch: events of file operations, reads, poll, epoll
	"sockets",       // AF_UNIX: socketpair, bind/listen/connect/accept, datagrams, SCM_RIGHTS/SCM_CREDENTIALS, shutdown, poll
	"membarrier",    // membarrier: query, global and private expedited barriers, registration across fork and execve
	"mempolicy",     // NUMA policy on one node: set_mempolicy/get_mempolicy modes, flags, masks of every size and what is written back, mbind's per-mapping policy (maps splits and merges, holes, mprotect, mremap, fork), the task's across fork, threads and execve, set_mempolicy_home_node, migrate_pages, move_pages statuses
	"mseal",         // mseal: argument errors, what a sealed mapping refuses (munmap, mprotect, mremap, MAP_FIXED, discards of read-only anonymous memory), fork, smaps
	"mapsrename",    // /proc/self/maps and smaps name a file mapping by its file's path now (d_path): after the file is renamed, its directory renamed or moved, the file moved; " (deleted)" once removed; a split joined again is one line; a forked child's view
	"mremap",        // mremap moves of shared, memfd and private mappings across fork, MREMAP_FIXED/DONTUNMAP, errors; mincore residency
	"xattr",         // setxattr/getxattr/listxattr/removexattr and their l- and f- forms
	"epoll",         // epoll_ctl: instances watching instances, the depth limit and loops (ELOOP), EPOLLEXCLUSIVE, errors
	"mount",         // mount/umount2 of tmpfs: options, size, read-only remounts (EROFS), stacking, lazy unmounts, noexec, errors; proc mounted again, a devpts instance of its own (options, its ptmx and slaves), bind remounts (needs a root host)
	"schedpolicy",   // sched_setscheduler/getscheduler/setparam/getparam/setattr/getattr, RESET_ON_FORK, EPERM without CAP_SYS_NICE (needs a root host)
	"procfs",        // /proc and /sys as programs parse them: CPUs, meminfo/sysinfo, loadavg, uptime, uname, mountinfo devices, inode numbers, process states
	"ptrace",        // ptrace of children: TRACEME, syscall stops, register and syscall changes, PEEK/POKE, signal suppression and injection, fork/exec events, int3, single steps, ATTACH/SEIZE/INTERRUPT/DETACH, LISTEN, EVENT_EXIT at death by a signal, PEEKSIGINFO, ARCH_PRCTL, ATTACH to a stopped child, debug registers, a tracer that is not the parent
	"pty",           // pseudo-terminals: openpt/grantpt/unlockpt/ptsname, line discipline (canonical, echo, erase, kill, EOF, ONLCR, raw, VMIN), packet mode, ^C and SIGWINCH to the foreground group, hang-up, master EIO, VMIN/VTIME, TIOCGPTPEER, TIOCSTI, IXON/IXANY and tcflow, TCGETA/TCSETA*
	"hugeargs",      // lengths near 2^64, counts past UIO_MAXIOV, a 1 GiB path: the errno Linux gives, nothing copied past the buffer
	"fhandle",       // name_to_handle_at/open_by_handle_at: round trips, the size handshake, stale handles, CAP_DAC_READ_SEARCH (needs a root host)
	"openat2",       // openat2's open_how checks and RESOLVE_* (symlinks, magic links, mounts, beneath, in root, cached); fchmodat2
	"mqueue",        // POSIX message queues: mq_open/mq_unlink/mq_timedsend/mq_timedreceive/mq_notify (signal and SIGEV_THREAD)/mq_getsetattr, priorities, limits, timeouts, errors
	"leases",        // F_SETLEASE/F_GETLEASE: when a lease may be taken, breaks by open and truncate, SIGIO, EWOULDBLOCK, downgrade and unlock
	"devmem",        // /dev/null, /dev/zero, /dev/full: writes that never read the buffer, reads of nothing, zero fills cut at a hole
	"madvise_drop",  // MADV_DONTNEED/MADV_FREE across stacks, file and shared mappings, holes
	"patchsites",    // one `mov $nr,%eax; syscall` site and one `syscall; cmp $-4095,%rax` register site (and glibc's syscall(2)) and the register sites of glibc's pthread_create and start_thread (`syscall; mov 0x28(%r12),%rax`, `syscall; cmpb $0,disp32(%rbx)`) made hot (systrap patches them): results, flags, rcx/r11, threads, fork, SA_RESTART and restart_syscall restarts; signal handlers returning through glibc's __restore_rt (mov $15,%rax; syscall) with r12 changed in the frame
	"sockdiag",      // NETLINK_SOCK_DIAG as ss uses it: SOCK_DIAG_BY_FAMILY dumps of TCP and UDP over 127.0.0.1 (a listener's accept queue and backlog, connected and queued connections, bound and connected UDP), state and port filters, an exact lookup, inodes as fstat's, errors of short requests, unknown types, families and protocols
	"inet",          // TCP and UDP on 127.0.0.1 and ::1 (netstack): refused and non-blocking connects, backlog, half-close, resets, flags, poll/epoll, options, bad arguments
	"oob",           // TCP urgent data on 127.0.0.1: MSG_OOB sends and receives, reads stopping at the mark, SO_OOBINLINE, SIOCATMARK, POLLPRI and select's exceptional set
	"peekoff",       // SO_PEEK_OFF: values, and MSG_PEEK from the offset on Unix stream, datagram and seqpacket sockets, TCP and UDP on 127.0.0.1
	"rawsock",       // raw ICMP and ICMPv6 sockets on loopback (CAP_NET_RAW, needs a root host): echo request and reply with the IPv4 header, IP_HDRINCL, IPPROTO_RAW
	"sigio",         // F_SETOWN/F_SETOWN_EX/F_SETSIG and their errors, SIGIO and F_SETSIG signals (si_code, si_fd, si_band) from O_ASYNC pipes, FIFOs, Unix and TCP sockets to a process, thread, group or child, open's O_ASYNC, SIGURG on TCP urgent data
	"sigfpstate",    // FP/SSE state across signals: a fresh state in handlers (MXCSR, x87 control word, xmm), the frame's fpregs, edits of them restored by rt_sigreturn, nested handlers, 2000 rounds
	"aio",           // native AIO: io_setup/io_submit/io_getevents/io_pgetevents/io_cancel/io_destroy, the ring libaio reads (head, tail, magic), reads, writes, vectors, fsync, poll and its cancel, IOCB_FLAG_RESFD, RWF_NOWAIT, every errno, aio-max-nr, a scribbled ring, fork, signals
	"dnotify",       // fcntl F_NOTIFY: each DN_* event on entries and the directory itself, single-shot and DN_MULTISHOT, masks adding up, F_NOTIFY 0 and close removing a request, SIGIO and F_SETSIG's si_fd/si_code, renames inside and across directories
	"nextid",        // /proc/sys/kernel/{msg,sem,shm}_next_id: the next msgget/semget/shmget's identifier, a taken one, the reset to -1, refused values (needs a root host: natively in an IPC namespace of its own)
	"userns",        // user and UTS namespaces: unshare -r maps, IDs inside and outside, bad map and setgroups writes, capabilities, a namespace's root against the parent's files and processes, a parent writing a child's maps, sethostname, nesting, clone/unshare flag rules, si_uid (needs a root host)
	"netns",         // CLONE_NEWNET (needs a root host): a new namespace's lo (down, then up), isolation of 127.0.0.1 and abstract AF_UNIX names from the first namespace, /proc/net, if_nameindex, setns back, clone(CLONE_NEWNET), EPERM without CAP_SYS_ADMIN; AF_PACKET SOCK_DGRAM and SOCK_RAW on lo
	"sysnet",        // sysfs mounted in a network namespace shows its mounter's interfaces, whoever looks (needs a root host); lo's attributes down and up, one superblock per namespace, a gone namespace lists nothing, EINVAL on options, EPERM without CAP_SYS_ADMIN
	"packetring",    // AF_PACKET rings in a network namespace of its own (needs a root host): PACKET_VERSION/HDRLEN/RESERVE/VNET_HDR/LOSS, every PACKET_RX_RING/TX_RING errno of packet_set_ring, mmap of the rings (offset, size), V1/V2 frames and V3 blocks (descriptor, private area, tp_next_offset chain, retire timeout) filled by UDP on lo, SOCK_RAW and SOCK_DGRAM, overflow and PACKET_STATISTICS, TX ring sends, EMSGSIZE/EINVAL frames, RX and TX in one mapping
	"bind",          // MS_BIND (needs a root host): a directory and a file shown elsewhere, writes through either name, the root field of mountinfo, submounts only with MS_REC, a read-only bind remount that leaves the source writable, ENOTDIR/ENOENT/EINVAL
	"pivot",         // pivot_root and MS_MOVE (needs a root host): a mount moved with the mounts on it, pivot_root to a tmpfs with the old root on put_old and unmounted, root and cwd moved, runc's pivot_root(".", ".") and umount2(".", MNT_DETACH), EBUSY/EINVAL/ENOTDIR/ENOENT/EPERM, ELOOP
	"mntns",         // CLONE_NEWNS (needs a root host): a copy of the mounts with IDs of their own, mounts and unmounts that stay in it, the working directory moved into it, setns through /proc/PID/ns/mnt and back (root and cwd to /), an open ns file keeps it, locked mounts under a new user namespace, mount EPERM outside the owner's namespace, NS_GET_NSTYPE, EINVAL for CLONE_NEWNS|CLONE_FS and a shared root, EPERM for nobody; the PID and cgroup namespaces as files (NS_GET_*, setns into them)
	"ipcns",         // CLONE_NEWIPC (needs a root host): a new namespace has none of the first one's System V objects or POSIX queues, ids of its own, its own shm_next_id and shmmax, /proc/sysvipc of its own; an attached segment stays mapped; unshare undoes SEM_UNDO; setns back through /proc/PPID/ns/ipc; NS_GET_NSTYPE/NS_GET_USERNS; an open ns file keeps it; EPERM without CAP_SYS_ADMIN
	"msgcopy",       // msgrcv MSG_COPY: the message at an index, left queued; EINVAL without IPC_NOWAIT or with MSG_EXCEPT, ENOMSG past the end, E2BIG, EINVAL for a short buffer with MSG_NOERROR and past msgmax (needs a root host: natively in an IPC namespace of its own)
	"vdsomap",       // the vDSO and its data page as Linux's special mappings: munmap of [vdso] and [vvar] whole, mremap moving [vdso] whole (growing EFAULT, shrinking, DONTUNMAP and duplication EINVAL), MAP_FIXED over it, mprotect of the moved one; [vvar] never writable; an execve after each gives a fresh vDSO at AT_SYSINFO_EHDR
	"timens",        // CLONE_NEWTIME (needs a root host): unshare makes the children's namespace, timens_offsets written until entered (EACCES after, EINVAL/ERANGE), clocks moved through libc (the vDSO) and the syscall, through a vDSO moved with its data pages (the sentry follows it), the old place of an unmapped vDSO never written, sysinfo and /proc/uptime, absolute clock_nanosleep/timerfd/futex on the namespace's clock, setns back, vfork and exec, clone3(CLONE_NEWTIME), NS_GET_*, EPERM for nobody
	"vdso",          // the vDSO's clock_gettime, gettimeofday and time against the system calls (never back, coarse not ahead, TAI whole seconds, timezone 0), clock_getres, getcpu, sleeps and timeouts timed by the vDSO never early (nanosleep, absolute clock_nanosleep, poll, select, epoll_wait, futex, timerfd), the [vvar] page neither made writable nor executable (EACCES) nor written (SIGSEGV), but made PROT_NONE (reads fault) and readable again; the [vdso] made writable: a private copy (a child forked before does not see the write, one forked after does, a new program's is pristine)
	"unixoob",       // MSG_OOB on Unix stream sockets (CONFIG_AF_UNIX_OOB): reads stopping at and dropping the byte, recv(MSG_OOB), MSG_PEEK, replacement, SO_OOBINLINE, SIOCATMARK, POLLPRI, select, FIONREAD, SIGURG; EOPNOTSUPP elsewhere
	"sigionet",      // signal-driven I/O signal by signal: UDP (POLL_IN, POLL_ERR for ICMP), TCP (POLL_IN per segment and connection, POLL_OUT only after a full send buffer, POLL_IN for a FIN, POLL_HUP then POLL_IN when both are shut, POLL_ERR for a reset), pseudo-terminals (the slave hears of committed lines or raw bytes, the master of output and echo)
	"unixoobpeek",   // MSG_OOB on Unix stream sockets with SO_PEEK_OFF (Linux 6.18): peeks from the offset stop at and pass the out-of-band byte as manage_oob does, the offset's skip passing over it, reads moving the offset back, a replacing byte, SO_OOBINLINE
	"mcast6",        // IPV6_MULTICAST_HOPS/LOOP/IF on UDP and TCP IPv6 sockets: defaults, ranges (-1 the default hop limit), EINVAL for short lengths and bad values, ENODEV for unknown interfaces, ENOPROTOOPT for setting hops or interface on TCP, short reads
	"mcast4",        // IP_MULTICAST_IF on UDP, TCP and IPv6 UDP sockets: struct in_addr, ip_mreq and ip_mreqn by length, 0.0.0.0 resetting, EADDRNOTAVAIL for addresses and indexes of no interface, getsockopt's address and short reads, EINVAL on TCP and for short values
	"sendunspec",    // sendto with an AF_UNSPEC address: the destination on IPv4 UDP and raw sockets (needs a root host), the connected peer on IPv6
	"sigiocount",    // signal-driven I/O counted: one F_SETSIG real-time signal per UDP datagram (three at once, one more unread, after a read), per pipe write, Unix datagram and stream send, pty line; FIONREAD, MSG_PEEK, MSG_TRUNC after; nothing once disarmed
	"anyaddr",       // 0.0.0.0 as a destination in a network namespace of its own (needs a root host): UDP and raw sends succeed on a lo never up (dropped), connects ENETUNREACH, the port autobound; with lo up UDP and TCP reach wildcard listeners; IPv6's :: is ::1
	"setgidstrip",   // a setgid directory's new files lose a group-executable setgid mode when their maker is outside the directory's group, before the umask applies (CVE-2018-13405, CVE-2021-4037); members, the group's own gid and root keep it; creat, open, mknod; mkdir inherits (needs a root host)
	"tcpclosed",     // poll of TCP sockets in TCP_CLOSE as tcp_poll: new, bound, shut before connecting, refused blocking (disconnected) and non-blocking connects before and after SO_ERROR, reset by the peer, a listener
	"edgeerrnos",    // errnos of rarer requests: arch_prctl CPUID faulting, MAP_SHARED_VALIDATE and MAP_SYNC flags, FICLONE/FICLONERANGE on tmpfs and across filesystems, /dev/random and /dev/urandom ioctls (unprivileged ones fail), remap_file_pages (pages, /proc/self/maps offsets and merges, errors)
	"netfilter",     // iptables socket options in a network namespace of its own (needs a root host): GET_INFO/GET_ENTRIES of the initial tables byte for byte, revisions, SET_REPLACE's errnos (translate_table's checks, LTP setsockopt08's table), ADD_COUNTERS, EPERM without CAP_NET_ADMIN over the namespace, a table per namespace; UDP/TCP DROP, REJECT (port unreachable, TCP reset), interface and inverted address matches, a user chain with RETURN, per-rule counters on loopback traffic
	"seccompnotify", // seccomp user notification: a thread's listener and the main thread as supervisor (poll, RECV, ID_VALID, SEND with a value, an error, CONTINUE; ADDFD with SETFD and SEND), the ioctls' errnos, a signal's restart, the listener's close (ENOSYS), EBUSY, POLLHUP, the flag rules
	"seccomp",       // the application's own seccomp: strict mode's kill, each filter answer (ERRNO capped at 4095, TRAP's SIGSYS siginfo and rolled-back return, KILL_PROCESS, KILL_THREAD of one thread of two and of the only one, TRACE and USER_NOTIF as ENOSYS, LOG), the newest of equal answers and the most severe winning, fork/thread/execve inheritance, TSYNC, /proc/self/status, the filter checks' errnos, GET_ACTION_AVAIL, GET_NOTIF_SIZES, EACCES without no_new_privs (needs a root host)
	"pipepages",     // per-user pipe pages under Linux's default limits (needs a root host to become an unprivileged uid): the pipe-* sysctls' defaults, 1024 pipes of 16 pages reach pipe-user-pages-soft, then pipes and FIFOs of 2 pages, F_SETPIPE_SZ's EPERM for growth over the limit or above pipe-max-size, the pages given back on close
	"tmpfile",       // open(O_TMPFILE): the flag checks (openat2's mode too), an unnamed file's link count, mode, /proc/self/fd name, its one link (through /proc/self/fd or AT_EMPTY_PATH; none with O_EXCL), ENOENT for linking a file whose last name is gone
	"cgroupns",      // CLONE_NEWCGROUP (needs a root host): clone's child and unshare's caller get a new one, a fork inherits it, /proc/self/cgroup's v2 line relative to it, setns there and back, NS_GET_NSTYPE, NS_GET_PARENT EINVAL, NS_GET_USERNS, EPERM for nobody (unshare, clone, setns), allowed with CLONE_NEWUSER
	"threadcpu",     // per-thread CPU time: a thread that spun 200 ms and one that slept, each through CLOCK_THREAD_CPUTIME_ID, the other's pthread_getcpuclockid clock, getrusage(RUSAGE_THREAD) and /proc/self/task/TID/stat; the process's clock, RUSAGE_SELF and /proc/self/stat covering both
	"aslr",          // the layout of an execve's program by the persona's ADDR_NO_RANDOMIZE (nothing moves; a PIE at ELF_ET_DYN_BASE, the stack at the top, the heap right after the program) and randomize_va_space (what moves from run to run), /proc/self/personality, personality's query, the persona kept by fork and execve
	"pidns",         // CLONE_NEWPID (needs a root host): unshare/clone/clone3 into a new namespace (pid 1, getppid 0, pid_for_children), the init's children and adopted orphans, the group and session it inherited (0) and setsid, signals the init ignores from inside (and SIGTERM from outside) and SIGKILL from outside, si_pid across namespaces, the init's death killing the namespace and ENOMEM after, EINVAL for threads, a second unshare and the init's CLONE_PARENT, EPERM without CAP_SYS_ADMIN, proc mounted inside (pids, /proc/self, NSpid), setns into a child namespace, nesting and NS_GET_PARENT, kill(-1) inside
}

// rootOnly are programs whose native output is only comparable when the
// host runs them as root, as the sandbox does.
var rootOnly = map[string]bool{"perms": true, "xattr": true, "mount": true, "schedpolicy": true, "fhandle": true, "rawsock": true, "capsets": true, "sigpending": true, "nextid": true, "userns": true, "netns": true, "packetring": true, "sysnet": true, "sendunspec": true, "anyaddr": true, "ipcns": true, "mntns": true, "pidns": true, "cgroupns": true, "bind": true, "pivot": true, "msgcopy": true, "timens": true, "dumpable": true, "setgidstrip": true, "netfilter": true, "pipepages": true, "inodeflags": true, "seccomp": true, "procexe": true, "nropen": true, "yama": true, "cwdmount": true}

// hostWide are programs whose native runs change a host-wide setting for a
// moment (nropen lowers /proc/sys/fs/nr_open and puts it back): their
// variants run one at a time, or one's native run reads, and may "restore",
// the value another set.
var hostWide = map[string]bool{"nropen": true}

// hostNetworkVariant are the programs also run with --network=host (as
// the "host" variant, static): their sockets are then the host's, and
// the output must still be the native run's.
var hostNetworkVariant = map[string]bool{"inet": true, "sockdiag": true, "oob": true, "peekoff": true}

func TestDiff(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatal("the differential tests need gcc")
	}
	srcs, _ := filepath.Glob(filepath.Join("testdata", "diff", "*.c"))
	if len(srcs) != len(diffPrograms) {
		t.Errorf("testdata/diff has %d programs, diffPrograms lists %d: keep them in step", len(srcs), len(diffPrograms))
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			for _, name := range diffPrograms {
				t.Run(name, func(t *testing.T) {
					if rootOnly[name] && os.Geteuid() != 0 {
						t.Skip("compares against a native run as root, as in the sandbox; the host is not root")
					}
					if name == "inet" || name == "rawsock" {
						skipWithoutIPv6Loopback(t)
					}
					if name == "coredump" {
						skipWithoutPlainCores(t)
					}
					variants := []string{"static", "dynamic"}
					if hostNetworkVariant[name] {
						variants = append(variants, "host")
					}
					for _, variant := range variants {
						t.Run(variant, func(t *testing.T) {
							skipKnownGap(t)
							if !hostWide[name] {
								t.Parallel()
							}
							prog := buildC(t, filepath.Join("testdata", "diff", name+".c"), variant != "dynamic")
							nd, sd := workDir(t, "native"), workDir(t, "sandbox")
							var flags []string
							if variant == "host" {
								flags = []string{"--network=host"}
							}
							native, _ := compareRunsFlags(t, platform, nd, sd, false, flags, []string{prog, nd}, []string{prog, sd})
							if native.code != 0 || native.stderr != "" {
								t.Errorf("the program fails natively: %v", native)
							}
						})
					}
				})
			}
		})
	}
}

// buildC compiles src into a fresh directory the sandbox can see and returns
// the binary's path (the source's base name without .c).
func buildC(t *testing.T, src string, static bool) string {
	t.Helper()
	out := filepath.Join(workDir(t, "bin"), strings.TrimSuffix(filepath.Base(src), ".c"))
	args := []string{"-O0", "-w", "-o", out, src}
	if static {
		args = append(args, "-static")
	}
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}

// skipWithoutPlainCores skips when the host writes core files elsewhere
// than "core" in the working directory (a pipe to systemd-coredump or
// apport): the sandbox's core_pattern is Linux's default, so there is
// nothing native to compare with.
func skipWithoutPlainCores(t *testing.T) {
	t.Helper()
	pattern, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	usesPid, err2 := os.ReadFile("/proc/sys/kernel/core_uses_pid")
	if err != nil || err2 != nil || string(pattern) != "core\n" || string(usesPid) != "0\n" {
		t.Skipf("the host's core_pattern is %q (core_uses_pid %q), not Linux's default \"core\"", pattern, usesPid)
	}
}
