package kernel

import "golang.org/x/sys/unix"

// DefaultTaskLimit is how many tasks (threads, zombies included) a sandbox
// holds by default. Each task is a host thread, and each process a host
// stub process, so a fork bomb must stop well before the host's own limits:
// like a pids cgroup, the limit applies to every user, root included.
const DefaultTaskLimit = 4096

// SetTaskLimit bounds the sandbox's tasks; n <= 0 means DefaultTaskLimit.
// Call it before the first process starts.
func (k *Kernel) SetTaskLimit(n int) {
	if n <= 0 {
		n = DefaultTaskLimit
	}
	k.taskLimit = n
}

// admitTaskLocked says whether the sandbox may hold one more task: EAGAIN,
// as fork(2) fails at a pids cgroup's limit. RLIMIT_NPROC is reported but
// not counted per user: the sandbox's processes are one user's, and its
// root, whom Linux exempts, is the usual one. k.mu is held.
func (k *Kernel) admitTaskLocked() error {
	if len(k.tasks) >= k.TaskLimit() {
		return unix.EAGAIN
	}
	return nil
}

// admitTask is admitTaskLocked for callers not holding k.mu: a cheap check
// before the costly part of a fork, which admitTaskLocked repeats exactly.
func (k *Kernel) admitTask() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.admitTaskLocked()
}

// TaskLimit returns how many tasks the sandbox may hold (pids.max).
func (k *Kernel) TaskLimit() int {
	if k.taskLimit <= 0 {
		return DefaultTaskLimit
	}
	return k.taskLimit
}
