package strace

import (
	"fmt"
	"strings"

	"runsc-lite/sentry/kernel"
)

// classes are strace's syscall classes for -e trace=%class.
var classes = map[string][]string{
	"file": {"open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat", "statx", "access", "faccessat",
		"faccessat2", "execve", "execveat", "chdir", "chroot", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat",
		"rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "readlink", "readlinkat",
		"chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "truncate", "utime", "utimes", "utimensat",
		"futimesat", "mknod", "mknodat", "getxattr", "lgetxattr", "setxattr", "lsetxattr", "listxattr", "llistxattr",
		"removexattr", "lremovexattr", "statfs", "mount", "umount2", "pivot_root", "swapon", "swapoff", "acct",
		"inotify_add_watch", "fanotify_mark", "name_to_handle_at", "quotactl", "uselib", "open_tree", "move_mount",
		"mount_setattr"},
	"network": {"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname",
		"getpeername", "sendto", "recvfrom", "setsockopt", "getsockopt", "shutdown", "sendmsg", "recvmsg",
		"sendmmsg", "recvmmsg"},
	"process": {"clone", "clone3", "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
		"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal", "pidfd_open", "unshare"},
	"signal": {"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
		"rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "kill", "tkill", "tgkill",
		"pause", "signalfd", "signalfd4", "pidfd_send_signal"},
	"memory": {"brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "mlock", "mlock2", "munlock", "mlockall",
		"munlockall", "mincore", "msync", "remap_file_pages", "mbind", "set_mempolicy", "get_mempolicy",
		"migrate_pages", "move_pages", "pkey_mprotect", "shmat", "shmdt", "process_madvise"},
	"ipc": {"shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop", "msgget", "msgsnd",
		"msgrcv", "msgctl"},
}

// ParseFilter reads strace's -e trace= syntax: an optional "trace=", an
// optional "!" that negates, then names and %classes (%file, %network or
// %net, %process, %signal, %memory, %ipc) separated by commas. It returns
// the set of syscall numbers to show.
func ParseFilter(expr string, table *kernel.SyscallTable) (map[uintptr]bool, error) {
	expr = strings.TrimPrefix(expr, "trace=")
	negate := strings.HasPrefix(expr, "!")
	expr = strings.TrimPrefix(expr, "!")
	byName := map[string]uintptr{}
	for nr, s := range table.Entries {
		byName[s.Name] = nr
	}
	want := map[uintptr]bool{}
	for _, item := range strings.Split(expr, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "all":
			for nr := range table.Entries {
				want[nr] = true
			}
		case item == "none":
		case strings.HasPrefix(item, "%"):
			class := strings.TrimPrefix(item, "%")
			if class == "net" {
				class = "network"
			}
			names, ok := classes[class]
			if !ok {
				return nil, fmt.Errorf("invalid system call class %q (have %%file, %%network, %%process, %%signal, %%memory, %%ipc)", item)
			}
			for _, n := range names {
				if nr, ok := byName[n]; ok {
					want[nr] = true
				}
			}
		default:
			nr, ok := byName[item]
			if !ok {
				return nil, fmt.Errorf("invalid system call %q", item)
			}
			want[nr] = true
		}
	}
	if negate {
		all := map[uintptr]bool{}
		for nr := range table.Entries {
			if !want[nr] {
				all[nr] = true
			}
		}
		want = all
	}
	return want, nil
}
