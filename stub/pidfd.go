package stub

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// pidfdInfo asks the kernel which process pidfd names
// (platform.PidfdInfo), or on kernels without PIDFD_GET_INFO the pidfd's
// fdinfo and the process's status. The pids are in the caller's PID
// namespace. It fails for a descriptor that is not a pidfd and for a
// process already reaped.
func pidfdInfo(pidfd int) (unix.PidfdInfo, error) {
	info, err := platform.PidfdInfo(pidfd)
	if errors.Is(err, platform.ErrNoThreadInfo) {
		return pidfdInfoFromProc(pidfd)
	}
	return info, err
}

// pidfdInfoFromProc reads what PIDFD_GET_INFO would say from /proc, for a
// descriptor platform.PidfdInfo found to be a pidfd.
func pidfdInfoFromProc(pidfd int) (unix.PidfdInfo, error) {
	var info unix.PidfdInfo
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
