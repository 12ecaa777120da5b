package proc

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// /proc/version and /proc/sys name the Linux ABI the sentry emulates
// (kernel.Release), never the host's, and the sandbox's own limits:
// threads-max is its task limit, vm/overcommit_memory is 2 because the
// memory account is by commitment (package usage), kernel/random/boot_id
// is the sandbox's, made when it starts.

// version is /proc/version (linux_proc_banner).
func version() string {
	return fmt.Sprintf("%s version %s (runsc-lite@runsc-lite) (runsc-lite) %s\n", kernel.OSType, kernel.Release, kernel.Version)
}

// filesystems is /proc/filesystems: the types of the sandbox's mounts.
func filesystems() string {
	return "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tcgroup2\nnodev\toverlay\n"
}

// newUUID returns a random (version 4) UUID as the kernel prints one.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x\n", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// sysDir is /proc/sys.
func (fs *FileSystem) sysDir() *kernfs.Dir {
	tr, k := fs.tree, fs.k
	num := func(n int) kernfs.Content { return kernfs.Static(strconv.Itoa(n) + "\n") }
	random := tr.Fixed("/sys/kernel/random", map[string]vfs.Inode{
		"boot_id":       tr.File("/sys/kernel/random/boot_id", kernfs.Static(fs.bootID)),
		"uuid":          tr.File("/sys/kernel/random/uuid", func(context.Context) (string, error) { return newUUID(), nil }),
		"entropy_avail": tr.File("/sys/kernel/random/entropy_avail", num(256)),
		"poolsize":      tr.File("/sys/kernel/random/poolsize", num(256)),
	})
	kernelDir := tr.Fixed("/sys/kernel", map[string]vfs.Inode{
		"cap_last_cap": tr.File("/sys/kernel/cap_last_cap", num(unix.CAP_LAST_CAP)),
		"domainname":   tr.File("/sys/kernel/domainname", kernfs.Static(kernel.DomainName+"\n")),
		"hostname":     tr.File("/sys/kernel/hostname", func(context.Context) (string, error) { return k.Hostname + "\n", nil }),
		"ngroups_max":  tr.File("/sys/kernel/ngroups_max", num(65536)),
		"osrelease":    tr.File("/sys/kernel/osrelease", kernfs.Static(kernel.Release+"\n")),
		"ostype":       tr.File("/sys/kernel/ostype", kernfs.Static(kernel.OSType+"\n")),
		"overflowgid":  tr.File("/sys/kernel/overflowgid", num(65534)),
		"overflowuid":  tr.File("/sys/kernel/overflowuid", num(65534)),
		"pid_max":      tr.File("/sys/kernel/pid_max", num(kernel.MaxPID)),
		"random":       random,
		"threads-max":  tr.File("/sys/kernel/threads-max", func(context.Context) (string, error) { return strconv.Itoa(k.TaskLimit()) + "\n", nil }),
		"version":      tr.File("/sys/kernel/version", kernfs.Static(kernel.Version+"\n")),
	})
	vm := tr.Fixed("/sys/vm", map[string]vfs.Inode{
		"overcommit_memory": tr.File("/sys/vm/overcommit_memory", num(2)),
	})
	return tr.Fixed("/sys", map[string]vfs.Inode{"kernel": kernelDir, "vm": vm})
}
