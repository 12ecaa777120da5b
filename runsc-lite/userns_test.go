package main

import (
	"path/filepath"
	"testing"
)

// TestAttackUserNamespace: a process of uid 1000 that made a user
// namespace of its own and holds every capability in it
// (testdata/attack/userns.c) gains no power over the parent namespace's
// objects: root's and another uid's processes (signals, ptrace, memory,
// priority), files it does not own (read, write, chown, chmod, times,
// entries of root's directory), global privileges (mount, mknod, the
// clock, hard rlimits, the host name, raw sockets and low ports, System V
// IPC objects of root), maps reaching IDs it does not
// hold, forged SCM_CREDENTIALS. What it does in its own namespaces it
// does as uid 1000 (its new file, its credentials as a receiver in the
// parent sees them) or to namespaces of its own (a host name). The want
// is Linux's output for the same program (run as root on a 6.18 host).
func TestAttackUserNamespace(t *testing.T) {
	prog := buildC(t, filepath.Join("testdata", "attack", "userns.c"), false)
	const want = `unshare user: 0
map self to root: 0
uid inside: 0 euid 0
kill root's process: EPERM
kill other uid's process: EPERM
kill init: EPERM
attach root's process: EPERM
seize other uid's process: EPERM
open root's mem: EACCES
open other's mem: EACCES
process_vm_readv root's: EPERM
setpriority root's: EPERM
read root's 0600 file: EACCES
write root's 0644 file: EACCES
chown root's file: EPERM
chmod root's file: EPERM
unlink in root's dir: EACCES
create in root's dir: EACCES
read other uid's 0600 file: EACCES
chown other uid's file: EPERM
utimes root's file: EPERM
setuid to an unmapped uid: EINVAL
setgroups: EPERM
mount tmpfs: EPERM
mknod a device: EPERM
settimeofday: EPERM
raise a hard rlimit: EPERM
sethostname: EPERM
raw socket: EPERM
bind port 80: EACCES
attach root's 0600 shm: EACCES
remove root's shm: EPERM
write /proc/sys/kernel/hostname: EACCES
nested map of its own root (uid 1000): 0
nested map of every uid: EPERM
claim uid 0: 1
claim uid 2000: EINVAL
own a new file: 0
unshare uts: 0
sethostname in own uts: 0
credentials received: uid 1000 gid 1000
root's process alive: yes
other's process alive: yes
public: mode 644 uid 0 size 4
rootdir/file there: yes
mine: uid 1000 gid 1000
hostname unchanged: yes
shm there: yes
`
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			dir := workDir(t, "userns")
			out, code := runAttack(t, "run", "--platform", platform, "--cwd", dir, "--", prog, dir)
			if code != 0 || out != want {
				t.Errorf("exit %d; output differs (- want, + got):\n%s", code, lineDiff(want, out))
			}
		})
	}
}
