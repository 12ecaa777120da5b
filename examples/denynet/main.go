// Command denynet runs a program in a sandbox where every network syscall
// fails with EACCES, and logs each attempt.
package main

import (
	"log"
	"log/slog"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/sentry/sandbox"
)

var network = []uintptr{unix.SYS_SOCKET, unix.SYS_SOCKETPAIR, unix.SYS_CONNECT, unix.SYS_BIND,
	unix.SYS_LISTEN, unix.SYS_ACCEPT, unix.SYS_ACCEPT4, unix.SYS_SENDTO, unix.SYS_RECVFROM,
	unix.SYS_SENDMSG, unix.SYS_RECVMSG, unix.SYS_SENDMMSG, unix.SYS_RECVMMSG}

// policy returns hooks that deny network syscalls and log them on l.
func policy(l *slog.Logger) *interpose.Hooks {
	h := &interpose.Hooks{}
	for _, nr := range network {
		h.Before(nr, func(c *interpose.Call) interpose.Action {
			l.Warn("denied", "syscall", c.Name, "pid", c.Task.PID, "exe", c.Task.Exe, "arg0", c.Args[0])
			return interpose.Deny(unix.EACCES)
		})
	}
	return h
}

func main() {
	h := policy(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	st, err := sandbox.Run(sandbox.Config{Root: "/", Platform: "systrap", Argv: os.Args[1:], Env: os.Environ(), Hooks: h})
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(st.Code)
}
