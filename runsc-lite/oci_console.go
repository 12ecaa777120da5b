package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// newConsole makes a host pseudo-terminal for a container with a terminal
// and sends its master to the Unix socket at consoleSocket, as runc does
// (SCM_RIGHTS, the terminal's name as the message): containerd's shim and
// Docker copy between it and the user. The returned slave becomes the
// sandbox's stdin, stdout and stderr, which the sentry takes as its
// terminal (job control, window size).
func newConsole(consoleSocket string) (*os.File, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--console-socket: a pseudo-terminal: %w", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return nil, fmt.Errorf("--console-socket: unlocking the pseudo-terminal: %w", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return nil, fmt.Errorf("--console-socket: the pseudo-terminal's number: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--console-socket: %s: %w", name, err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		slave.Close()
		return nil, fmt.Errorf("--console-socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: consoleSocket}); err != nil {
		slave.Close()
		return nil, fmt.Errorf("--console-socket %s: %w", consoleSocket, err)
	}
	if err := unix.Sendmsg(fd, []byte(name), unix.UnixRights(int(master.Fd())), nil, 0); err != nil {
		slave.Close()
		return nil, fmt.Errorf("--console-socket %s: sending the terminal: %w", consoleSocket, err)
	}
	return slave, nil
}
