package platform

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
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

// ErrNoThreadInfo means the host kernel cannot say which thread a pidfd
// names (no PIDFD_GET_INFO: Linux before 6.13); the caller falls back to
// HostTID.
var ErrNoThreadInfo = errors.New("the host kernel has no PIDFD_GET_INFO")

// ThreadOfPidfd returns the host id of the thread pidfd names, which a stub
// sent after starting a thread, once the kernel says it is a thread of stub
// process pid that known does not claim. It closes pidfd. A stub that sends
// another descriptor, or the pidfd of another process or of a thread it
// already has, gets an error; the caller ends the stub.
//
// Unlike HostTID it reads nothing under the stub's /proc directory: each
// dentry made there is work for the host when the stub is reaped (about
// 5 ms of kernel CPU per reaped stub in the bash fork+exec loop).
func ThreadOfPidfd(pidfd, pid int, known func(tid int) bool) (int, error) {
	defer unix.Close(pidfd)
	info, err := PidfdInfo(pidfd)
	if err != nil {
		return 0, fmt.Errorf("stub process %d sent a thread's pidfd: %w", pid, err)
	}
	tid := int(info.Pid)
	if info.Mask&unix.PIDFD_INFO_PID == 0 || int(info.Tgid) != pid || tid == pid || known(tid) {
		return 0, fmt.Errorf("stub process %d sent the pidfd of thread %d of process %d, not a new thread of its own",
			pid, tid, info.Tgid)
	}
	return tid, nil
}

// PidfdInfo asks the kernel which process or thread pidfd, a descriptor a
// stub may have sent, names (PIDFD_GET_INFO, for its pid, thread group
// and parent). The filesystem is checked first: PIDFD_GET_INFO's number
// means something else, with another size, to another file's ioctl. It
// fails with ErrNoThreadInfo for a pidfd the host cannot describe (before
// pidfs, Linux 6.9, pidfds were anonymous inodes; PIDFD_GET_INFO came in
// 6.13) and with another error for any other descriptor.
func PidfdInfo(pidfd int) (unix.PidfdInfo, error) {
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_PID}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(pidfd, &fs); err != nil {
		return info, fmt.Errorf("fstatfs of a pidfd: %w", err)
	}
	const anonInodeFS, pidFS = 0x09041934, 0x50494446
	switch fs.Type {
	case pidFS:
	case anonInodeFS:
		return info, ErrNoThreadInfo
	default:
		return info, errors.New("the descriptor is not a pidfd")
	}
	if err := unix.IoctlPidfdInfo(pidfd, &info); err != nil {
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
			return info, ErrNoThreadInfo
		}
		return info, fmt.Errorf("PIDFD_GET_INFO: %w", err)
	}
	return info, nil
}
