// Package confine takes from the sentry process what it does not need on
// the host, once it runs as a child of the runsc-lite command in namespaces
// of its own (package launch): it is the layer beneath the sentry, so that
// a bug in the sentry is not a host compromise.
//
// In the order the sentry applies them:
//
//  1. EmptyRoot: an empty, read-only tmpfs is its root, with a fresh procfs
//     of its own PID namespace at /proc (its stubs' maps, pagemap, stat
//     and task status, and /proc/self/fd to execute the stub image from a
//     memfd); the host's root is detached. Host files are reached only
//     through descriptors opened before: the root file system's, which the
//     parent opened, the terminal and log files.
//  2. Drop: the identity it keeps (nobody, or the caller without root),
//     no capability in any set on any thread (but CAP_SETFCAP for a
//     sentry that stays uid 0, until Seal), and the parent-death signal
//     set again. The platform starts after Drop, so that the stubs' user
//     namespace is owned by that identity: ptrace and process_vm_readv of
//     a stub, which the kernel checks against the stub's user namespace,
//     need no capability, only ownership.
//  3. Dropped.Seal, once the platform has started: no capability left,
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
// keyctl or socket. Anything else is
// SECCOMP_RET_KILL_PROCESS: a sentry that makes a call it never makes is
// compromised, and going on with an error would hide it; the kernel logs
// the kill (audit type 1326, with the syscall number) and runsc-lite
// reports it in one line. RUNSC_LITE_SECCOMP_TRAP=1 in runsc-lite's
// environment traps instead, and the Go runtime then prints where the call
// came from. clone3 fails with ENOSYS (C code falls back to clone, whose
// flags the filter can read).
//
// Where Go cannot make a syscall on every thread (builds with cgo: the race
// detector), the bounding set, and the capabilities of a sentry that stays
// uid 0, are dropped on the calling thread only; Dropped.AllThreads says
// so and the sentry logs it. Identity changes reach every thread anyway.
package confine
