// Package confine takes from the sentry process what it does not need on
// the host, once it runs as a child of the runsc-lite command in namespaces
// of its own (package launch): it is the layer beneath the sentry, so that
// a bug in the sentry is not a host compromise.
//
// In the order the sentry applies them:
//
//  1. Enter, as the sentry starts, root of its namespaces: EmptyRoot
//     makes an empty, read-only tmpfs its root, with a fresh procfs of its
//     own PID namespace at /proc (its stubs' maps, pagemap, stat and task
//     status, and /proc/self/fd to execute the stub image from a memfd),
//     and detaches the host's root. Host files are reached only through
//     descriptors opened before: the root file system's, which the parent
//     opened, the terminal and log files. Then it empties the bounding and
//     ambient sets and takes the identity it keeps (nobody, or the caller
//     without root), with no capability (but CAP_SETFCAP and CAP_SETPCAP
//     for a sentry of uid 0, until Seal), on every thread: a capability
//     set is per thread, so each change is a stop-the-world round of the
//     Go runtime (syscall.AllThreadsSyscall), about 45 of them, 4-5 ms on
//     the 2-core VM. The sentry used to change them on one thread and
//     execute itself again, for a second stage that started with that
//     thread alone; but a start of the Go runtime costs more there (its
//     page faults above all): from the sentry's start to its forkserver's
//     took 46-52 ms that way and 32-42 ms this way.
//  2. Entered.Resume: the parent-death signal again (an identity change
//     clears it), and dumpable while the platform starts. The
//     platform starts after the identity change, so that the stubs' user
//     namespace is owned by that identity: ptrace and process_vm_readv of
//     a stub, which the kernel checks against the stub's user namespace,
//     need no capability, only ownership.
//  3. Entered.Seal, once the platform has started: no capability left,
//     not dumpable (processes of the same uid, the stubs first, cannot
//     trace it or read its memory), no_new_privs and the seccomp
//     allow-list, on every thread.
//
// The allow-list (hostSyscalls) is one list: entries marked for one
// platform (ptrace needs ptrace, wait4 and pidfd_getfd; systrap does not)
// or for the race-enabled build (its C runtime). Arguments are checked
// where a filter can read them: clone only with the Go runtime's thread
// flags, openat only relative to the working directory, in the empty root
// (so nothing but the sentry's /proc), and read-only, openat2 only below a
// descriptor (the root file system's; the resolve flags that keep a lookup
// below it are in a struct a filter cannot read), mmap without PROT_EXEC,
// socketpair only AF_UNIX, ioctl only the terminal's and PIDFD_GET_INFO,
// fcntl only the commands the sentry uses, ptrace only the requests the
// ptrace platform makes. There is no execve, mount, unshare, setns, bpf,
// keyctl or socket. With --network=host the sentry installs a second
// program (entries marked "hostnet", as runsc adds its hostinet rules only
// with --network=host): the calls on the host sockets the network
// forwarder created for the application (bind, connect, listen,
// accept4, getsockname, getpeername, shutdown, the options of
// HostSocketOptions and the ioctls of HostIfreqIoctls, lengths bounded);
// still no socket. Anything else is
// SECCOMP_RET_KILL_PROCESS: a sentry that makes a call it never makes is
// compromised, and going on with an error would hide it; the kernel logs
// the kill (audit type 1326, with the syscall number) and runsc-lite
// reports it in one line. RUNSC_LITE_SECCOMP_TRAP=1 in runsc-lite's
// environment traps instead, and the Go runtime then prints where the call
// came from. clone3 fails with ENOSYS (C code falls back to clone, whose
// flags the filter can read).
//
// In a binary with cgo (the race detector) Go cannot make a raw syscall
// on every thread: the identity still changes on every thread (libc does
// it), but the bounding, ambient and capability sets on the calling thread
// only; Entered.AllThreads says so and the sentry logs it. The identity
// change from root clears every thread's capabilities anyway.
//
// The seccomp program is precompiled (package precompiled): built at run
// time, it cost more CPU than the rest of a sandbox's start.
package confine
