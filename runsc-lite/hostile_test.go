package main

// TestAttackHostile: attacks from inside the sandbox on the host, one row
// per attempt, each run on both platforms. Every row runs
// testdata/attack/hostile.c (compiled once) in `runsc-lite run` in a session
// of its own, next to a native witness process (platformtest.Witness) whose
// pid and memory are the attack's targets, and checks:
//
//   - the program's output, line for line: each attempt's result (an errno,
//     a signal, how a child ended), and that the sandbox still serves the
//     program afterwards ("alive: yes");
//   - runsc-lite's exit status 0 and empty stderr (the sentry's own log goes
//     to --debug-log), and that no process of the run's session is left;
//   - the witness: alive, not stopped or traced, its memory unchanged, no
//     signal received;
//   - the host: hostname, domain name, clock, mounts, the kernel settings
//     the attacks write, the row's own directory (no file made or changed)
//     and its host sockets (never connected to).
//
// The attacks that need the stub's layout (where its code, data and shared
// region are) get addresses from package stub and sysmsg and from the stub
// image's symbol table. What a hijacked stub process could do is tested
// where it is a platform property, in platformtest's Hijack suite.

import (
	"bytes"
	"debug/elf"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform/platformtest"
	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

// hostileRow is one attack: hostile's mode and arguments, the flags of
// `runsc-lite run`, and the output it must print.
type hostileRow struct {
	name  string
	mode  string
	args  func(e *attackEnv) []string // key=value arguments
	flags []string                    // runsc-lite run flags
	// want is the output on every platform, or, by platform, on.
	want string
	on   map[string]string
	// match: want is a regular expression of the whole output.
	match bool
	// native: the program is a non-hostile differential program whose
	// output natively is the one wanted.
	native string
	// root: the sandbox's root is a fresh directory holding only the
	// program, next to a marker file it must not reach.
	root bool
	// known: the attack succeeds today; the test is skipped with this
	// reason (and the bug is written up).
	known string
}

// attackEnv is what a row's attack aims at.
type attackEnv struct {
	platform string
	witness  *platformtest.Witness
	dir      string // the row's working directory on the host
	sock     string // a Unix socket the test listens on in dir
	abstract string // an abstract Unix socket the test listens on
	syms     stub.Symbols
	image    map[string]uint64 // symbols of the stub image
	// listeners are the test's end of sock and abstract.
	listeners []*net.UnixListener
}

func (e *attackEnv) hex(key string, v uint64) string { return fmt.Sprintf("%s=%#x", key, v) }

// sym is an address in the stub image by symbol name.
func (e *attackEnv) sym(name string) uint64 { return e.image[name] }

// hostileRows are the attacks. Where the platforms differ, it is because a
// ptrace stub has no shared region: its "control page" is the scratch page
// of its remote recvmsg calls, which application code may write, and the
// rest of systrap's region is not mapped.
var hostileRows = []hostileRow{
	// The original hijack: writes to the stub's memory from an application
	// thread. Its code, read-only data, data and bss (where the syscall
	// thread's stack used to be) are read-only and sealed.
	{name: "write stub code", mode: "poke", args: func(e *attackEnv) []string { return []string{e.hex("addr", uint64(e.syms.SyscallSite))} },
		want: "write: SIGSEGV\nalive: yes\n"},
	{name: "write stub rodata", mode: "poke", args: func(e *attackEnv) []string { return []string{e.hex("addr", e.sym("thread_setup_mask"))} },
		want: "write: SIGSEGV\nalive: yes\n"},
	{name: "write stub data", mode: "poke", args: func(e *attackEnv) []string { return []string{e.hex("addr", uint64(e.syms.DataStart))} },
		want: "write: SIGSEGV\nalive: yes\n"},
	{name: "write old syscall thread stack in bss", mode: "poke", args: func(e *attackEnv) []string { return []string{e.hex("addr", e.sym("fs_stack_top")-8)} },
		want: "write: SIGSEGV\nalive: yes\n"},
	{name: "write control page", mode: "poke", args: func(e *attackEnv) []string { return []string{e.hex("addr", sysmsg.Region)} },
		on: map[string]string{"systrap": "write: SIGSEGV\nalive: yes\n", "ptrace": "write: no fault\nalive: yes\n"}},
	{name: "write thread set-up block", mode: "poke", args: func(e *attackEnv) []string { return []string{e.hex("addr", uint64(sysmsg.SetupAddr(1)))} },
		want: "write: SIGSEGV\nalive: yes\n"},
	{name: "write response page", mode: "poke", args: func(e *attackEnv) []string { return []string{e.hex("addr", sysmsg.RWBase)} },
		on: map[string]string{"systrap": "write: no fault\nalive: yes\n", "ptrace": "write: SIGSEGV\nalive: yes\n"}},
	{name: "write vDSO", mode: "poke", args: func(e *attackEnv) []string { return []string{"addr=vdso"} },
		want: "write: SIGSEGV\nalive: yes\n"},

	// Forged protocol state: one thread overwrites shared words while
	// another makes syscalls, maps memory, starts threads and forks, in a
	// child whose end the parent reports. Any end is fine but a hang: the
	// sandbox must be able to end the forger, and go on.
	{name: "forge sysmsg state words", mode: "forge", args: forgeArgs("state", slot0), on: forgeWant, match: true},
	{name: "forge sysmsg state held at resume", mode: "forge", args: forgeArgs("resume", slot0), on: forgeWant, match: true},
	{name: "forge sysmsg frame pointers", mode: "forge", args: forgeArgs("frame", slot0), on: forgeWant, match: true},
	{name: "forge siginfo in the signal frame", mode: "forge", args: forgeArgs("siginfo", slot0), on: forgeWant, match: true},
	{name: "forge fs and gs bases", mode: "forge", args: forgeArgs("bases", slot0), on: forgeWant, match: true},
	// The CPU words only choose how the forger's threads and the sentry's
	// wait, and whether the sentry moves its own thread to another CPU
	// (sysmsg/cpu.go): every answer stays right.
	{name: "forge the CPU words while the sentry moves its threads", mode: "forge", args: forgeArgs("cpu", slot0), match: true,
		on: map[string]string{"systrap": "writable: yes\nforger: exit 0\nalive: yes\n", "ptrace": "writable: no\nalive: yes\n"}},
	{name: "forge response seq while mapping, cloning, forking", mode: "forge", args: forgeArgs("response", sysmsg.RWBase), on: forgeWant, match: true},
	{name: "forge ptrace scratch page while forking", mode: "forge", args: forgeArgs("scratch", sysmsg.Region), match: true,
		on: map[string]string{"systrap": "writable: no\nalive: yes\n", "ptrace": forgerRE}},
	{name: "overwrite another thread's signal stack", mode: "sigstack", args: func(e *attackEnv) []string { return []string{e.hex("slot", uint64(sysmsg.SlotAddr(1)))} },
		match: true, on: map[string]string{
			"systrap": `writable: yes\noverwritten thread: ` + childEndRE + `\nalive: yes\n`,
			"ptrace":  "writable: no\nalive: yes\n"}},

	// Forged sigreturn frames.
	{name: "rt_sigreturn with garbage", mode: "sigreturn", args: fixed("fix=garbage"),
		want: "sigreturn: killed by SIGSEGV\nalive: yes\n"},
	{name: "rt_sigreturn with kernel segment selectors", mode: "sigreturn", args: fixed("fix=kernel-cs"),
		want: "after sigreturn: cs 0x33 ss 0x2b\nsigreturn: exit 0\nalive: yes\n"},
	{name: "rt_sigreturn with a huge xsave size", mode: "sigreturn", args: fixed("fix=huge-xsave"),
		want: "after sigreturn: cs 0x33 ss 0x2b\nsigreturn: exit 0\nalive: yes\n"},
	{name: "rt_sigreturn with fpstate in the reserved range", mode: "sigreturn",
		args: func(e *attackEnv) []string { return []string{"fix=fpstate-reserved", e.hex("reserved", sysmsg.Region)} },
		want: "sigreturn: killed by SIGSEGV\nalive: yes\n"},
	{name: "rt_sigreturn with fpstate in the kernel", mode: "sigreturn", args: fixed("fix=fpstate-kernel"),
		want: "sigreturn: killed by SIGSEGV\nalive: yes\n"},

	// Jumps into stub code: every syscall instruction (it is the sandbox's
	// syscall wherever it is; control comes back only as the application
	// arranged), the set-up code, the signal handler, and the syscalls an
	// application thread's filter allows at the stub's own sites.
	{name: "jump to syscall thread site", mode: "jump", args: jumpArgs(func(s stub.Symbols) uintptr { return s.SyscallSite }),
		want: "came back: by our return path\nopenat: a descriptor\nfile in the sandbox: yes\nalive: yes\n"},
	{name: "jump to handler site", mode: "jump", args: jumpArgs(func(s stub.Symbols) uintptr { return s.HandlerSite }),
		want: "came back: by our return path\nopenat: a descriptor\nfile in the sandbox: yes\nalive: yes\n"},
	{name: "jump to restorer site", mode: "jump", args: jumpArgs(func(s stub.Symbols) uintptr { return s.RestorerSite }),
		want: "came back: ILL\nopenat: no result\nfile in the sandbox: yes\nalive: yes\n"},
	{name: "jump to ptrace_wait site", mode: "jump", args: jumpArgs(func(s stub.Symbols) uintptr { return s.PtraceSite }),
		want: "came back: ALRM\nopenat: no result\nfile in the sandbox: yes\nalive: yes\n"},
	{name: "jump to stub_enter with an allow-all filter", mode: "jumpcode",
		args: func(e *attackEnv) []string { return []string{"what=enter", e.hex("enter", e.sym("stub_enter"))} },
		want: "stub_enter: exit 127\nalive: yes\n"},
	{name: "jump to the thread set-up code with a forged set-up block", mode: "jumpcode",
		args: func(e *attackEnv) []string {
			return []string{"what=thread-setup", e.hex("setup", e.sym("thread_setup_code"))}
		},
		want: "thread set-up: exit 1\nalive: yes\n"},
	{name: "jump to sysmsg_handler with a fake slot", mode: "jumpcode",
		args: func(e *attackEnv) []string {
			return []string{"what=handler", e.hex("handler", e.sym("sysmsg_handler"))}
		},
		want: "handler came back: ALRM\nsysmsg_handler: exit 0\nalive: yes\n"},
	{name: "host exit at the handler's site", mode: "allowed", args: allowedArgs("exit"), on: map[string]string{
		"systrap": "thread exit at the handler's site: killed by SIGKILL\nalive: yes\n",
		"ptrace":  "thread exit at the handler's site: exit 0\nalive: yes\n"}},
	{name: "host futex wait at the handler's site", mode: "allowed", args: allowedArgs("futex"), on: map[string]string{
		"systrap": "futex wait at the handler's site: killed by SIGKILL (the parent killed it)\nalive: yes\n",
		"ptrace":  "futex wait at the handler's site: exit 0\nalive: yes\n"}},
	{name: "host arch_prctl at the handler's site", mode: "allowed", args: allowedArgs("setgs"),
		want: "arch_prctl(ARCH_SET_GS) at the handler's site: done\narch_prctl at the handler's site: exit 0\nalive: yes\n"},
	// The mapping changes the handler makes at a resume
	// (platform/systrap/resume_call.go), made by the application itself
	// at the handler's site: allowed on its own anonymous memory, trapped
	// (and answered by the sentry as its own syscall) anywhere else.
	{name: "anonymous mapping changes at the handler's site", mode: "resumecall", args: resumeCallArgs("own"),
		want: "anonymous mmap over our own page: done, reads 0\nmprotect(PROT_READ): done, write: SIGSEGV\nmunmap: done, read: SIGSEGV\nalive: yes\n"},
	{name: "map over the control page at the handler's site", mode: "resumecall", args: resumeCallArgs("control"), on: map[string]string{
		"systrap": "anonymous mmap over the control page: ENOMEM\nmunmap of the control page: EINVAL\ncontrol page write: SIGSEGV\nalive: yes\n",
		"ptrace":  "anonymous mmap over the control page: ENOMEM\nmunmap of the control page: EINVAL\ncontrol page write: no fault\nalive: yes\n"}},
	{name: "unmap the stub's image at the handler's site", mode: "resumecall", args: resumeCallArgs("image"),
		want: "munmap of the stub's image: EINVAL\nmprotect of the stub's image: ENOMEM\nalive: yes\n"},
	// A file mapping left to a resume: its descriptor comes on the
	// control socket, which is all the handler may receive on, and the
	// socket itself is neither mapped nor closed from there.
	{name: "descriptors at the handler's site", mode: "resumecall", args: resumeCallArgs("fds"), on: map[string]string{
		"systrap": "recvmsg on the control socket: EAGAIN\nmmap of the control socket: EBADF\nclose of the control socket: EBADF\ndescriptors 4-63 mapped: 0\na file's mapping afterwards: intact\nalive: yes\n",
		"ptrace":  "recvmsg on the control socket: EBADF\nmmap of the control socket: EBADF\nclose of the control socket: EBADF\ndescriptors 4-63 mapped: 0\na file's mapping afterwards: intact\nalive: yes\n"}},
	{name: "forge the host's answer to a resume's call", mode: "resumecall", args: resumeCallArgs("answer"), on: map[string]string{
		"systrap": "forged answer to a resume's call: killed by SIGKILL\nalive: yes\n",
		"ptrace":  "message writable: no\nforged answer to a resume's call: exit 0\nalive: yes\n"}},
	// The host maps a shared mapping that may never be writable as
	// private (mm.VMA.hostShared): the thread's write stays its own.
	{name: "make a read-only shared file mapping writable at the handler's site", mode: "resumecall", args: resumeCallArgs("file"), on: map[string]string{
		"systrap": "mprotect(PROT_WRITE) of a read-only shared file mapping: done\nwritable shared mmap of it: EACCES\nwrite: no fault\nfile afterwards: original\n" +
			"mprotect(PROT_WRITE) of a SHM_RDONLY attachment: done\nwrite: no fault\nsegment afterwards: original\nalive: yes\n",
		"ptrace": "mprotect(PROT_WRITE) of a read-only shared file mapping: EACCES\nwritable shared mmap of it: EACCES\nwrite: SIGSEGV\nfile afterwards: original\n" +
			"mprotect(PROT_WRITE) of a SHM_RDONLY attachment: EACCES\nwrite: SIGSEGV\nsegment afterwards: original\nalive: yes\n"}},
	{name: "host rt_sigreturn blocking every host signal", mode: "allowed", args: allowedArgs("sigreturn"),
		want: "host rt_sigreturn blocking every signal: killed by SIGKILL (the parent killed it)\nalive: yes\n"},

	// 32-bit syscalls, each kill(witness, SIGWINCH): a signal, never the
	// host kernel; sysenter is undefined in 64-bit mode on AMD.
	{name: "int 0x80", mode: "syscall32", args: fixed("how=int80"), want: "int80 kill: SYS\nalive: yes\n"},
	{name: "sysenter", mode: "syscall32", args: fixed("how=sysenter"), match: true, want: "sysenter kill: (SYS|ILL)\nalive: yes\n"},
	{name: "syscall from a 32-bit code segment", mode: "syscall32", args: fixed("how=compat-syscall"), match: true, want: "compat-syscall kill: (SYS|ILL)\nalive: yes\n"},
	{name: "int 0x80 from a 32-bit code segment", mode: "syscall32", args: fixed("how=compat-int80"), want: "compat-int80 kill: SYS\nalive: yes\n"},
	{name: "vsyscall page", mode: "vsyscall",
		want: "gettimeofday: 0, now\ntime: now\ngetcpu: 0, valid\nvsyscall+0x100: SEGV\nalive: yes\n"},

	// Host processes, through the sentry's emulated syscalls.
	{name: "kill, tkill, tgkill of host pids", mode: "kill", want: `kill(witness, SIGWINCH) = -1 ESRCH
kill(witness, 0) = -1 ESRCH
kill(-witness, SIGWINCH) = -1 ESRCH
kill(test, SIGWINCH) = -1 ESRCH
syscall(SYS_tkill, witness, SIGWINCH) = -1 ESRCH
syscall(SYS_tgkill, witness, witness, SIGWINCH) = -1 ESRCH
`},
	{name: "rt_sigqueueinfo of a host pid", mode: "sigqueue", want: `syscall(SYS_rt_sigqueueinfo, witness, SIGWINCH, &si) = -1 ESRCH
syscall(SYS_rt_tgsigqueueinfo, witness, witness, SIGWINCH, &si) = -1 ESRCH
sigqueue(witness, SIGWINCH, (union sigval){0}) = -1 ESRCH
`},
	{name: "pidfd_open of host pids", mode: "pidfd", want: `syscall(SYS_pidfd_open, witness, 0) = -1 ESRCH
syscall(SYS_pidfd_open, test, 0) = -1 ESRCH
syscall(SYS_pidfd_send_signal, self, 0, NULL, 0) = 0
syscall(SYS_pidfd_getfd, self, witness, 0) = -1 EBADF
`},
	{name: "kill -1 and kill 0", mode: "broadcast", want: `kill(-1, SIGWINCH) = 0
kill(0, SIGWINCH) = 0
kill(-1, SIGWINCH) = -1 ESRCH
`},
	// ptrace and process_vm_* reach only the sandbox's processes: a
	// host pid is ESRCH, as in gVisor (no such pid in the sandbox).
	{name: "ptrace and process_vm of a host pid", mode: "ptrace", want: `ptrace(PTRACE_ATTACH, witness, 0, 0) = -1 ESRCH
ptrace(PTRACE_SEIZE, witness, 0, 0) = -1 ESRCH
ptrace(PTRACE_POKEDATA, witness, pattern, 0) = -1 ESRCH
process_vm_readv(witness, &local, 1, &remote, 1, 0) = -1 ESRCH
process_vm_writev(witness, &local, 1, &remote, 1, 0) = -1 ESRCH
open(witness_mem, O_RDWR) = -1 ENOENT
open(witness_status, O_RDONLY) = -1 ENOENT
`},

	// Host sockets: the sandbox has its own Unix socket namespace, and
	// its Internet, netlink and packet sockets are its own stack's (lo
	// only; what they reach and hear is TestAttackNetworkPrivacy's and
	// TestAttackNetNSPrivacy's); no vsock sockets.
	{name: "host Unix sockets and networks", mode: "sockets",
		args: func(e *attackEnv) []string {
			return []string{"path=" + e.sock, "abstract=" + e.abstract, "newpath=" + filepath.Join(e.dir, "new.sock")}
		},
		want: `connect(stream, (void *)&host_path, sizeof host_path) = -1 ECONNREFUSED
connect(stream, (void *)&host_abstract, abstract_len) = -1 ECONNREFUSED
sendto(dgram, "x", 1, 0, (void *)&host_path, sizeof host_path) = -1 ECONNREFUSED
sendto(dgram, "x", 1, 0, (void *)&host_abstract, abstract_len) = -1 ECONNREFUSED
bind(dgram, (void *)&new_path, sizeof new_path) = 0
socket(AF_INET, SOCK_STREAM, 0) = 3
socket(AF_INET6, SOCK_DGRAM, 0) = 4
socket(AF_NETLINK, SOCK_RAW, 0) = 5
socket(AF_PACKET, SOCK_RAW, 0) = 6
socket(AF_VSOCK, SOCK_STREAM, 0) = -1 EAFNOSUPPORT
`},

	// Devices and the kernel's settings. /dev/loop0 is the sandbox's own
	// loop device, whose blocks are a file of the sandbox. Device nodes
	// made inside open the sandbox's devices by number: none for these.
	{name: "host devices and mknod", mode: "devices", want: `/dev/mem: ENOENT
/dev/kmem: ENOENT
/dev/port: ENOENT
/dev/vda: ENOENT
/dev/sda: ENOENT
/dev/kvm: ENOENT
/dev/kmsg: ENOENT
/dev/loop0: 3
/dev/fuse: ENOENT
/dev/net/tun: ENOENT
/dev/cpu/0/msr: ENOENT
mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1)) = 0
open("/tmp/mem", O_RDWR) = -1 ENXIO
mknod("/tmp/vda", S_IFBLK | 0600, makedev(253, 0)) = 0
open("/tmp/vda", O_RDWR) = -1 ENXIO
mknod("mem", S_IFCHR | 0600, makedev(1, 1)) = 0
open("mem", O_RDONLY) = -1 ENXIO
mknodat(AT_FDCWD, "kvm", S_IFCHR | 0600, makedev(10, 232)) = 0
open("kvm", O_RDWR) = -1 ENXIO
open("/proc/sysrq-trigger", O_WRONLY) = -1 ENOENT
open("/proc/kcore", O_RDONLY) = -1 ENOENT
open("/sys/firmware/efi/efivars", O_RDONLY) = -1 ENOENT
`},
	// The sandbox's /sys and /proc are its own (the host's files are
	// compared after the run); its core_pattern is read-only. Its root may
	// open kernel/hostname for writing, as Linux's: the name is the
	// sandbox's UTS namespace's, as with sethostname below.
	{name: "open kernel settings in /sys and /proc/sys for writing", mode: "kfiles", want: `/sys/kernel/mm/ksm/run: ENOENT
/sys/devices/system/cpu/cpu1/online: EROFS
/sys/devices/system/cpu/online: EROFS
/sys/kernel/mm/transparent_hugepage/enabled: ENOENT
/proc/sys/kernel/hostname: 3
/proc/sys/vm/drop_caches: ENOENT
/proc/sys/kernel/core_pattern: EACCES
`},
	// sethostname and setdomainname change the sandbox's own UTS
	// namespace (its root holds CAP_SYS_ADMIN there), never the host's:
	// the host's uname is compared after the run (snapshotHost).
	{name: "set hostname and domain name", mode: "uts", want: `sethostname("pwned", 5) = 0
setdomainname("pwned", 5) = 0
hostname unchanged: NO
write(fd, "pwned2\n", 7) = 7
write(fd, "pwned2\n", 7) = 7
sandbox's names: pwned2 pwned2
`},
	{name: "set the clock", mode: "clock", want: `settimeofday(&in_1970, NULL) = -1 EPERM
clock_settime(CLOCK_REALTIME, &ts_1970) = -1 EPERM
clock_settime(CLOCK_MONOTONIC, &ts_1970) = -1 EINVAL
adjtimex(&back_11_days) = -1 ENOSYS
clock_adjtime(CLOCK_REALTIME, &back_11_days) = -1 ENOSYS
adjtimex(&fast) = -1 ENOSYS
`},
	// The sandbox's root may mount a tmpfs of its own and bind mounts of
	// the sandbox's files, move mounts, pivot_root and make mount
	// namespaces (the host's mounts are compared after the run); the
	// mounts the sandbox starts with cannot be remounted, unmounted
	// (EBUSY), moved or made the root (EINVAL), in any namespace, nor
	// left by a file open below them.
	// File handles are the VFS's own (device and inode of files it gave
	// handles for): a forged one, the "shocker" host root, is ESTALE.
	{name: "mounts and handles", mode: "mounts", want: `mount("none", "/tmp", "tmpfs", 0, NULL) = 0
mount("/", "/tmp", NULL, MS_BIND | MS_REC, NULL) = 0
mount(NULL, "/", NULL, MS_REMOUNT, NULL) = -1 EBUSY
umount2("/", MNT_DETACH) = -1 EBUSY
umount2("/proc", 0) = -1 EBUSY
mount("/proc", "/tmp", NULL, MS_MOVE, NULL) = -1 EINVAL
mount(NULL, "/sys/fs/cgroup", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOEXEC, NULL) = 0
mount(NULL, "/sys/fs/cgroup", NULL, MS_REMOUNT | MS_BIND | MS_NOEXEC, NULL) = -1 EPERM
syscall(SYS_pivot_root, "/proc", "/proc/self") = -1 EINVAL
mount("/proc/self/ns/mnt", "/tmp/etc/hostname", NULL, MS_BIND, NULL) = -1 EINVAL
mount("/proc/self/root/..", "/tmp", NULL, MS_BIND, NULL) = -1 EINVAL
umount2("/tmp/proc", MNT_DETACH) = -1 EBUSY
stat("/tmp/proc/self/ns/mnt", &st) = 0
setns(0, 0) = -1 EINVAL
syscall(SYS_fsopen, "tmpfs", 0) = -1 ENOSYS
syscall(SYS_open_tree, AT_FDCWD, "/", 0) = -1 ENOSYS
name_to_handle_at(AT_FDCWD, "/", handle, &mnt, 0) = 0
open_by_handle_at(AT_FDCWD, host_root, O_RDONLY) = -1 ESTALE
stat("/proc", &proc) = 0
mkdir("/tmp/r", 0755) = 0
mount("/", "/tmp/r", NULL, MS_BIND | MS_REC, NULL) = 0
umount2("/tmp/r", MNT_DETACH) = 0
fstatat(r, "proc", &st, 0) = 0
the sandbox's /proc in the detached bind: 1
unshare(CLONE_NEWNS) = 0
setns(first, CLONE_NEWNS) = 0
fstatat(r, "proc", &st, 0) = 0
the sandbox's /proc in the gone namespace: 1
unshare(CLONE_NEWNS | CLONE_NEWUSER) = 0
umount2("/proc", MNT_DETACH) = -1 EBUSY
umount2("/tmp", MNT_DETACH) = -1 EINVAL
mount("none", "/proc", "tmpfs", 0, NULL) = 0
mkdir("/tmp/new", 0755) = 0
mount("none", "/tmp/new", "tmpfs", 0, NULL) = 0
mkdir("/tmp/new/old", 0755) = 0
chdir("/tmp/new") = 0
syscall(SYS_pivot_root, ".", "old") = 0
umount2("/old", MNT_DETACH) = 0
stat("/old/proc", &st) = -1 ENOENT
fstatat(r, "proc", &st, 0) = 0
the sandbox's /proc in the old root: 1
`},
	// Random sequences of every mount operation, namespaces, chroots
	// and files kept open (seeds 1-6, 2,000 operations each): the
	// sentry answers all of it (the host's mounts are compared after
	// the run), and the first namespace's /proc is still the sandbox's.
	{name: "random mount sequences", mode: "mountseq", want: `stat("/proc", &proc) = 0
mkdir("/tmp/f", 0755) = 0
seed 1: status 0, /proc still the sandbox's: 1
seed 2: status 0, /proc still the sandbox's: 1
seed 3: status 0, /proc still the sandbox's: 1
seed 4: status 0, /proc still the sandbox's: 1
seed 5: status 0, /proc still the sandbox's: 1
seed 6: status 0, /proc still the sandbox's: 1
`},
	// A PID namespace of its own reaches no process outside it by any
	// ID, nor kills one with kill(-1); then random sequences of forks,
	// namespaces, setns, signals and exits (seeds 1-4).
	{name: "pid namespaces", mode: "pidns", want: `IDs 2-1024 reached from the namespace: 0
getpid 1, getppid 0
kill(-1, SIGKILL) = -1 ESRCH
ioctl(self, NS_GET_PARENT) = -1 EPERM
mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) = 0
mount("proc", "/proc", "proc", 0, NULL) = 0
processes in its /proc: 1
/proc/2-1024 found: 0
init: status 0
namespace's parent: status 0
seed 1: status 0, still in the first namespace: 1
seed 2: status 0, still in the first namespace: 1
seed 3: status 0, still in the first namespace: 1
seed 4: status 0, still in the first namespace: 1
`},
	{name: "chroot escape", mode: "chroot", root: true, args: fixed("marker=outside-marker"), want: `stat(up, &st) = -1 ENOENT
mkdir("/jail", 0755) = 0
chroot("/jail") = 0
chdir("../../../..") = 0
chroot(".") = 0
stat(up, &st) = -1 ENOENT
stat(up4, &st) = -1 ENOENT
symlink("/../../..", "/esc") = 0
stat(esc, &st) = -1 ENOENT
stat(proc_root, &st) = -1 ENOENT
stat(proc_cwd, &st) = -1 ENOENT
openat(root, rel, O_RDONLY) = -1 ENOENT
syscall(SYS_openat2, root, rel, &how, sizeof how) = -1 ENOENT
fchdir(root) = 0
stat(rel, &st) = -1 ENOENT
stat("/hostile", &st) = 0
`},
	{name: "reboot, kexec, modules, I/O ports", mode: "kernel", want: `syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, 0x12345678, NULL) = -1 ENOSYS
syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL) = -1 ENOSYS
syscall(SYS_kexec_load, 0, 0, NULL, 0) = -1 ENOSYS
syscall(SYS_kexec_file_load, -1, -1, 0, "", 0) = -1 ENOSYS
syscall(SYS_init_module, NULL, 0, "") = -1 ENOSYS
syscall(SYS_finit_module, 0, "", 0) = -1 ENOSYS
syscall(SYS_delete_module, "ext4", O_NONBLOCK) = -1 ENOSYS
syscall(SYS_iopl, 3) = -1 ENOSYS
syscall(SYS_ioperm, 0x70, 2, 1) = -1 ENOSYS
syscall(SYS_modify_ldt, 1, NULL, 0) = -1 ENOSYS
syscall(SYS_swapoff, "/swap") = -1 ENOSYS
syscall(SYS_acct, NULL) = -1 ENOSYS
syscall(SYS_syslog, 10, NULL, 0) = -1 ENOSYS
syscall(SYS_quotactl, 0, NULL, 0, NULL) = -1 ENOSYS
`},
	// The application's seccomp filter is the sentry's to run (its BPF
	// interpreter, sentry/kernel/seccomp.go): no host program is loaded.
	{name: "bpf, perf, userfaultfd, keys, io_uring", mode: "bpf", want: `syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load) = -1 ENOSYS
syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &allow_all) = 0
syscall(SYS_perf_event_open, &cycles, -1, 0, -1, 0) = -1 ENOSYS
syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY) = -1 ENOSYS
syscall(SYS_userfaultfd, O_CLOEXEC) = -1 ENOSYS
syscall(SYS_add_key, "user", "k", "v", 1, KEY_SPEC_USER_KEYRING) = -1 ENOSYS
syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "x") = -1 ENOSYS
syscall(SYS_request_key, "user", "k", NULL, 0) = -1 ENOSYS
syscall(SYS_io_uring_setup, 8, &params) = -1 ENOSYS
syscall(SYS_process_madvise, 0, NULL, 0, 0, 0) = -1 ENOSYS
syscall(SYS_memfd_secret, 0) = -1 ENOSYS
syscall(SYS_fanotify_init, 0, 0) = -1 ENOSYS
syscall(SYS_landlock_create_ruleset, NULL, 0, 1) = -1 ENOSYS
`},

	// The reserved range through the sentry's memory syscalls, its copies
	// and /proc/self/mem.
	{name: "mmap family, copies and /proc/self/mem on the reserved range", mode: "reserved",
		args: func(e *attackEnv) []string {
			return []string{e.hex("image", stub.ImageBase), e.hex("control", sysmsg.Region), e.hex("rw", sysmsg.RWBase),
				e.hex("bss", e.sym("fs_stack_top")-16), e.hex("end", sysmsg.RegionEnd)}
		},
		want: `MAPPED(mmap(image, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)) = -1 ENOMEM
MAPPED(mmap(control, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)) = -1 ENOMEM
hint + len <= (uintptr_t)image || hint >= end: yes
mprotect(image, len, PROT_READ | PROT_WRITE | PROT_EXEC) = -1 ENOMEM
mprotect(control, 4096, PROT_READ | PROT_WRITE) = -1 ENOMEM
munmap(image, len) = -1 EINVAL
munmap(control, 4096) = -1 EINVAL
madvise(image, len, MADV_DONTNEED) = -1 ENOMEM
madvise(control, 4096, MADV_REMOVE) = -1 ENOMEM
msync(image, len, MS_SYNC) = -1 ENOMEM
mlock(image, len) = -1 ENOMEM
mincore(image, len, vec) = -1 ENOMEM
MAPPED(mremap(mine, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, image)) = -1 ENOMEM
MAPPED(mremap(mine, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, control)) = -1 ENOMEM
MAPPED(mremap(image, 4096, 8192, MREMAP_MAYMOVE)) = -1 EFAULT
MAPPED(mremap(control, 4096, 4096, MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) = -1 EFAULT
brk(image) = -1 ENOMEM
sbrk(0) == brk0: yes
syscall(SYS_pkey_mprotect, image, len, PROT_READ | PROT_WRITE, -1L) = -1 ENOMEM
syscall(SYS_pkey_mprotect, image, len, PROT_READ | PROT_WRITE, 0L) = -1 EINVAL
read(zero, image, 16) = -1 EFAULT
read(zero, control, 16) = -1 EFAULT
read(zero, bss, 16) = -1 EFAULT
write(1, image, 16) = -1 EFAULT
pread(zero, rw, 16, 0) = -1 EFAULT
uname(control) = -1 EFAULT
syscall(SYS_clock_gettime, CLOCK_REALTIME, image) = -1 EFAULT
readv(zero, &into_image, 1) = -1 EFAULT
process_vm_writev(getpid(), &ours, 1, &into_image, 1, 0) = -1 EFAULT
process_vm_readv(getpid(), &ours, 1, &into_image, 1, 0) = -1 EFAULT
OK(mem = open("/proc/self/mem", O_RDWR)) = 0
pwrite(mem, &x, 8, (off_t)(uintptr_t)image) = -1 EIO
pwrite(mem, &x, 8, (off_t)(uintptr_t)control) = -1 EIO
pwrite(mem, &x, 8, (off_t)(uintptr_t)rw) = -1 EIO
pwrite(mem, &x, 8, (off_t)(uintptr_t)bss) = -1 EIO
pread(mem, &x, 8, (off_t)(uintptr_t)image) = -1 EIO
pwrite(mem, &x, 8, (off_t)(uintptr_t)mine) = 8
alive: yes
`},

	// Storms.
	{name: "descriptor storm to RLIMIT_NOFILE", mode: "fdstorm", args: fixed("nofile=4096"),
		want: `setrlimit(RLIMIT_NOFILE, &past_nr_open) = -1 EPERM
setrlimit(RLIMIT_NOFILE, &lim) = 0
dup: EMFILE after RLIMIT_NOFILE descriptors
pipe: EMFILE after RLIMIT_NOFILE/2 pipes
alive: yes
`},
	{name: "thread storm to --pids-limit", mode: "threadstorm", flags: []string{"--pids-limit", "32"}, args: fixed("limit=32"),
		want: "pthread_create: EAGAIN\nn + 1 == (int)argu(\"limit\"): yes\nfork: EAGAIN\n"},
	{name: "pipe buffer storm under --memory-limit", mode: "pipestorm", flags: []string{"--memory-limit", "64m"},
		want: `pipes: ENOMEM after (4\d|5\d|6[0-4]) MiB\n`, match: true},

	// Packet rings: memory shared with the sentry, which fills and sends
	// frames while two threads scribble over every status word, length,
	// offset and block descriptor; requests whose sizes overflow.
	{name: "packet rings forged while the sentry fills and sends them", mode: "pktring", flags: []string{"--memory-limit", "256m"},
		want: `huge ring: ENOMEM
ring past the memory limit: ENOMEM
frame count that overflows: EINVAL
v1 rx: odd results 0, guards intact yes, statistics ok
v1 tx: odd results 0, guards intact yes, statistics ok
v2 rx: odd results 0, guards intact yes, statistics ok
v2 tx: odd results 0, guards intact yes, statistics ok
v3 rx: odd results 0, guards intact yes, statistics ok
v3 tx: odd results 0, guards intact yes, statistics ok
alive: yes
`},

	// Huge arguments: the differential program, whose native output is
	// Linux's answer.
	{name: "huge arguments", native: "hugeargs"},

	// execve of the stub image, which is linked in the reserved range; the
	// forkserver's memfd is no descriptor of the sandbox.
	{name: "execve of the stub image", mode: "exec",
		args: func(e *attackEnv) []string {
			// A copy in the row's directory, which the sandbox's host
			// identity can read wherever the checkout is.
			image := filepath.Join(e.dir, "stub.bin")
			if b, err := os.ReadFile(filepath.Join("..", "stub", "stub.bin")); err == nil {
				os.WriteFile(image, b, 0o755)
			}
			return []string{"image_file=" + image}
		},
		want: `execve(image_file, argv0, env0) = -1 ENOMEM
execve("/proc/self/fd/3", argv0, env0) = -1 ENOENT
execveat(AT_FDCWD, "", argv0, env0, AT_EMPTY_PATH) = -1 EBADF
syscall(SYS_execveat, image, "", argv0, env0, AT_EMPTY_PATH) = -1 ENOMEM
MAPPED(mmap((void *)0x7ff000000000, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, image, 0)) = -1 ENOMEM
alive: yes
`},
}

// slot0 is thread slot 0 of systrap's shared region, where a forger starts
// (it writes the first 8 slots).
var slot0 = uint64(sysmsg.SlotAddr(0))

// childEndRE is any way a child may end, even by its parent's SIGKILL: a
// forger may only hurt its own process, and the sandbox must end it.
const childEndRE = `(exit [01]|killed by SIG[A-Z0-9]+|killed by signal \d+)( \(the parent killed it\))?`

const forgerRE = `writable: yes\nforger: ` + childEndRE + `\nalive: yes\n`

// forgeWant: systrap's region is writable, ptrace has none there.
var forgeWant = map[string]string{"systrap": forgerRE, "ptrace": "writable: no\nalive: yes\n"}

func forgeArgs(kind string, base uint64) func(*attackEnv) []string {
	return func(e *attackEnv) []string { return []string{"kind=" + kind, e.hex("base", base)} }
}

func fixed(args ...string) func(*attackEnv) []string {
	return func(*attackEnv) []string { return args }
}

func jumpArgs(site func(stub.Symbols) uintptr) func(*attackEnv) []string {
	return func(e *attackEnv) []string {
		return []string{e.hex("insn", uint64(site(e.syms))-2), "path=" + filepath.Join(e.dir, "created-through-the-stub")}
	}
}

func allowedArgs(what string) func(*attackEnv) []string {
	return func(e *attackEnv) []string {
		return []string{"what=" + what, e.hex("handler_insn", uint64(e.syms.HandlerSite)-2),
			e.hex("restorer_insn", uint64(e.syms.RestorerSite)-2), e.hex("state", slot0)}
	}
}

func resumeCallArgs(what string) func(*attackEnv) []string {
	return func(e *attackEnv) []string {
		return []string{"what=" + what, e.hex("handler_insn", uint64(e.syms.HandlerSite)-2),
			e.hex("region", sysmsg.Region), e.hex("image", stub.ImageBase), e.hex("callret", slot0+sysmsg.CallRetOffset)}
	}
}

func TestAttackHostile(t *testing.T) {
	if len(hostileRows) < 40 {
		t.Errorf("%d attacks, want at least 40", len(hostileRows))
	}
	prog := buildC(t, filepath.Join("testdata", "attack", "hostile.c"), true)
	syms, err := stub.LoadSymbols()
	if err != nil {
		t.Fatal(err)
	}
	image := stubImageSymbols(t)
	noIA32 := !hostRunsIA32(t, prog)
	host := snapshotHost(t)
	natives := nativeOutputs{}
	for _, row := range hostileRows {
		if row.native != "" {
			natives.build(t, row.native)
		}
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			for _, row := range hostileRows {
				t.Run(row.name, func(t *testing.T) {
					if row.known != "" {
						t.Skip("known: " + row.known)
					}
					t.Parallel()
					e := newAttackEnv(t, platform, syms, image)
					if row.mode == "syscall32" && noIA32 {
						row = withoutIA32(row)
					}
					runHostileRow(t, e, row, prog, &natives)
					host.check(t)
				})
			}
		})
	}
}

// hostRunsIA32 reports whether the host kernel runs 32-bit syscalls at
// all: one built or booted without IA32 emulation answers int 0x80 with
// SIGSEGV before seccomp sees it (the probe, run natively, is a getpid).
func hostRunsIA32(t *testing.T, prog string) bool {
	out, err := exec.Command(prog, "ia32probe").Output()
	if err != nil {
		t.Fatalf("%s ia32probe: %v", prog, err)
	}
	return string(out) == "int80 getpid: no signal\n"
}

// withoutIA32 is a 32-bit syscall row as a host without IA32 emulation
// ends it: a SIGSEGV from the host kernel instead of seccomp's SIGSYS,
// which reaches the host kernel's syscall table no more than the trap.
func withoutIA32(row hostileRow) hostileRow {
	if !row.match {
		row.want = regexp.QuoteMeta(row.want)
		row.match = true
	}
	row.want = strings.Replace(row.want, "kill: SYS", "kill: (SYS|SEGV)", 1)
	row.want = strings.Replace(row.want, "kill: (SYS|ILL)", "kill: (SYS|ILL|SEGV)", 1)
	return row
}

// runHostileRow runs one row in e and checks its output and the host.
func runHostileRow(t *testing.T, e *attackEnv, row hostileRow, prog string, natives *nativeOutputs) {
	t.Helper()
	want := row.want
	if w, ok := row.on[e.platform]; ok {
		want = w
	}
	argv := []string{prog, row.mode}
	if row.native != "" {
		want = natives.outs[row.native]
		argv = []string{natives.bins[row.native], e.dir}
	} else {
		argv = append(argv, e.witness.Args()...)
		argv = append(argv, "test="+strconv.Itoa(os.Getpid()))
		if row.args != nil {
			argv = append(argv, row.args(e)...)
		}
	}
	cwd := e.dir
	if row.root {
		// A root of one file, next to a marker the attack must not reach.
		root := filepath.Join(e.dir, "root")
		must(t, os.Mkdir(root, 0o755))
		must(t, os.WriteFile(filepath.Join(e.dir, "outside-marker"), []byte("outside\n"), 0o644))
		b, err := os.ReadFile(prog)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(root, "hostile"), b, 0o755))
		row.flags = append([]string{"--rootfs", root}, row.flags...)
		cwd, argv[0] = "/", "/hostile"
	}
	flags := []string{"--platform", e.platform, "--cwd", cwd, "--debug-log", filepath.Join(e.dir, "sentry.log")}
	flags = append(flags, row.flags...)
	before := dirListing(t, e.dir)
	start := time.Now()
	out, code := runAttackWitnessed(t, e.witness, append(append([]string{"run"}, flags...), append([]string{"--"}, argv...)...)...)
	t.Logf("%s on %s: %v", row.name, e.platform, time.Since(start).Round(time.Millisecond))
	if code != 0 {
		t.Errorf("exit %d, want 0; output:\n%s%s", code, out, sentryLog(e))
	}
	if row.match {
		if !regexp.MustCompile(`\A` + want + `\z`).MatchString(out) {
			t.Errorf("output does not match\n%s\ngot:\n%s%s", want, out, sentryLog(e))
		}
	} else if out != want {
		t.Errorf("output differs (- want, + got):\n%s%s", lineDiff(want, out), sentryLog(e))
	}
	os.Remove(filepath.Join(e.dir, "sentry.log"))
	if after := dirListing(t, e.dir); after != before {
		t.Errorf("the attack changed the host directory it ran in:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	e.checkSockets(t)
}

// sentryLog returns the sentry's debug log of the run, for a failure.
func sentryLog(e *attackEnv) string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "sentry.log"))
	if len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	var errs []string
	for _, l := range lines {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			errs = append(errs, l)
		}
	}
	return "\nsentry errors:\n" + clip(strings.Join(errs, "\n"))
}

func newAttackEnv(t *testing.T, platform string, syms stub.Symbols, image map[string]uint64) *attackEnv {
	t.Helper()
	e := &attackEnv{platform: platform, witness: platformtest.StartWitness(t), dir: workDir(t, "attack"), syms: syms, image: image}
	e.sock = filepath.Join(e.dir, "host.sock")
	e.abstract = fmt.Sprintf("runsc-lite-attack-%d-%d", os.Getpid(), time.Now().UnixNano())
	for _, addr := range []string{e.sock, "@" + e.abstract} {
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
		if err != nil {
			t.Fatalf("listening on %s: %v", addr, err)
		}
		t.Cleanup(func() { l.Close() })
		e.listeners = append(e.listeners, l)
	}
	return e
}

// checkSockets fails t if anything connected to the env's host sockets.
func (e *attackEnv) checkSockets(t *testing.T) {
	t.Helper()
	for _, l := range e.listeners {
		l.SetDeadline(time.Now())
		if c, err := l.Accept(); err == nil {
			c.Close()
			t.Errorf("something connected to the host socket %s", l.Addr())
		}
	}
}

// dirListing describes the files under dir: names, sizes and modes.
func dirListing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", path, err)
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "sentry.log" {
			return nil
		}
		fmt.Fprintf(&b, "%s %v %d\n", rel, info.Mode(), info.Size())
		return nil
	})
	return b.String()
}

// stubImageSymbols reads the symbol table of the stub image.
func stubImageSymbols(t *testing.T) map[string]uint64 {
	t.Helper()
	f, err := elf.Open(filepath.Join("..", "stub", "stub.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]uint64{}
	for _, s := range syms {
		m[s.Name] = s.Value
	}
	for _, name := range []string{"thread_setup_mask", "fs_stack_top", "stub_enter", "sysmsg_handler"} {
		if m[name] == 0 {
			t.Fatalf("the stub image has no symbol %s", name)
		}
	}
	// A new thread's set-up code (stub_amd64.S, after .Lnew_thread's
	// clone).
	if m["stub_thread_setup"] == 0 {
		t.Fatal("the stub image has no symbol stub_thread_setup")
	}
	m["thread_setup_code"] = m["stub_thread_setup"]
	return m
}

// nativeOutputs are differential programs, built and run natively once,
// for rows whose expected output is Linux's.
type nativeOutputs struct {
	bins map[string]string
	outs map[string]string
}

func (n *nativeOutputs) build(t *testing.T, name string) {
	t.Helper()
	if n.bins == nil {
		n.bins, n.outs = map[string]string{}, map[string]string{}
	}
	b := buildC(t, filepath.Join("testdata", "diff", name+".c"), true)
	dir := workDir(t, "native")
	r := runOut(t, runOpts{dir: dir}, b, dir)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("%s fails natively: %v", name, r)
	}
	n.bins[name], n.outs[name] = b, r.stdout
}

// hostState is what no attack may change on the host.
type hostState struct {
	uts      string
	mounts   string
	clock    time.Duration // CLOCK_REALTIME - CLOCK_MONOTONIC
	settings map[string]string
}

// kernelSettings are host files the kfiles attack opens for writing.
var kernelSettings = []string{"/sys/kernel/mm/ksm/run", "/sys/kernel/mm/transparent_hugepage/enabled",
	"/sys/devices/system/cpu/online", "/proc/sys/kernel/core_pattern"}

func snapshotHost(t *testing.T) *hostState {
	t.Helper()
	var u unix.Utsname
	must(t, unix.Uname(&u))
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	must(t, err)
	h := &hostState{
		uts:      string(bytes.TrimRight(u.Nodename[:], "\x00")) + " " + string(bytes.TrimRight(u.Domainname[:], "\x00")),
		mounts:   string(mounts),
		clock:    clockOffset(),
		settings: map[string]string{},
	}
	for _, f := range kernelSettings {
		b, _ := os.ReadFile(f)
		h.settings[f] = string(b)
	}
	return h
}

func clockOffset() time.Duration {
	var rt, mono unix.Timespec
	unix.ClockGettime(unix.CLOCK_REALTIME, &rt)
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono)
	return time.Duration(rt.Nano() - mono.Nano())
}

// check fails t if the host changed since the snapshot.
func (h *hostState) check(t *testing.T) {
	t.Helper()
	now := snapshotHost(t)
	if now.uts != h.uts {
		t.Errorf("the host's hostname and domain name changed from %q to %q", h.uts, now.uts)
	}
	if now.mounts != h.mounts {
		t.Errorf("the host's mounts changed (- before, + after):\n%s", lineDiff(h.mounts, now.mounts))
	}
	if d := now.clock - h.clock; d > time.Second || d < -time.Second {
		t.Errorf("the host's clock moved by %v", d)
	}
	for f, v := range h.settings {
		if now.settings[f] != v {
			t.Errorf("the host's %s changed from %q to %q", f, v, now.settings[f])
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
