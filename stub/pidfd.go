package stub

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pidfdInfo asks the kernel which process pidfd names: PIDFD_GET_INFO
// (Linux 6.13), or on older kernels the pidfd's fdinfo and the process's
// status. The pids are in the caller's PID namespace. It fails for a
// descriptor that is not a pidfd and for a process already reaped.
func pidfdInfo(pidfd int) (unix.PidfdInfo, error) {
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_PID}
	err := unix.IoctlPidfdInfo(pidfd, &info)
	if err == nil {
		return info, nil
	}
	if !errors.Is(err, unix.ENOTTY) && !errors.Is(err, unix.EINVAL) {
		return info, fmt.Errorf("PIDFD_GET_INFO: %w", err)
	}
	return pidfdInfoFromProc(pidfd)
}

func pidfdInfoFromProc(pidfd int) (unix.PidfdInfo, error) {
	var info unix.PidfdInfo
	var fs unix.Statfs_t
	if err := unix.Fstatfs(pidfd, &fs); err != nil {
		return info, fmt.Errorf("fstatfs of a pidfd: %w", err)
	}
	const anonInodeFS, pidFS = 0x09041934, 0x50494446
	if fs.Type != anonInodeFS && fs.Type != pidFS {
		return info, errors.New("descriptor is not a pidfd")
	}
	fdinfo, err := procFields(fmt.Sprintf("/proc/self/fdinfo/%d", pidfd))
	if err != nil {
		return info, err
	}
	pid, err := strconv.Atoi(fdinfo["Pid"])
	if err != nil || pid <= 0 {
		return info, fmt.Errorf("descriptor is not a pidfd of a live process (Pid %q)", fdinfo["Pid"])
	}
	st, err := procFields(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return info, err
	}
	tgid, err1 := strconv.Atoi(st["Tgid"])
	ppid, err2 := strconv.Atoi(st["PPid"])
	if err1 != nil || err2 != nil {
		return info, fmt.Errorf("status of process %d has no Tgid or PPid", pid)
	}
	info.Pid, info.Tgid, info.Ppid = uint32(pid), uint32(tgid), uint32(ppid)
	return info, nil
}

// procFields reads the "Key:\tvalue" lines of a /proc file.
func procFields(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		m[k] = strings.TrimSpace(v)
	}
	return m, sc.Err()
}
