package platform

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// HostTID finds, among the threads of stub process pid that known does not
// claim, the one whose id in the stub's own PID namespace is nsTID, and
// returns its id in ours. A stub reports a new thread's id in its own
// namespace (clone's return); the kernel's NSpid lines translate it, so a
// stub that lies about it can only name another thread of its own process.
func HostTID(pid, nsTID int, known func(tid int) bool) (int, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("listing the threads of stub process %d: %w", pid, err)
	}
	for i := len(ents) - 1; i >= 0; i-- { // the newest threads come last
		tid, err := strconv.Atoi(ents[i].Name())
		if err != nil || known(tid) {
			continue
		}
		if ns, ok := innermostID(fmt.Sprintf("%s/%d/status", dir, tid)); ok && ns == nsTID {
			return tid, nil
		}
	}
	return 0, fmt.Errorf("stub process %d has no thread %d in its PID namespace", pid, nsTID)
}

// innermostID returns the last field of a /proc status file's NSpid line:
// the id in the task's own PID namespace.
func innermostID(status string) (int, bool) {
	f, err := os.Open(status)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "NSpid:"); ok {
			ids := strings.Fields(v)
			if len(ids) == 0 {
				return 0, false
			}
			id, err := strconv.Atoi(ids[len(ids)-1])
			return id, err == nil
		}
	}
	return 0, false
}
