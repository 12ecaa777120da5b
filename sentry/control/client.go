package control

import (
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"time"
)

// SocketName is the control socket's name in a sandbox's state directory.
const SocketName = "control.sock"

// Client calls one sandbox's control server.
type Client struct {
	// Dir is the sandbox's state directory.
	Dir string
}

// dial connects to the control socket. A path too long for a socket
// address (108 bytes) is reached through the directory's descriptor.
//
// The connection is a blocking descriptor, as the server's: package net
// would link the C resolver into runsc-lite, and the sentry, the same
// binary, must run without a dynamic loader (package confine).
func (c Client) dial() (fdConn, error) {
	path := filepath.Join(c.Dir, SocketName)
	if len(path) >= 100 {
		d, err := os.Open(c.Dir)
		if err != nil {
			return -1, fmt.Errorf("the sandbox's state: %w", err)
		}
		defer d.Close()
		path = fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), SocketName)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("the sandbox's control socket: %w", err)
	}
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("the sandbox's control socket: %w", err)
	}
	return fdConn(fd), nil
}

func (c fdConn) Close() error { return unix.Close(int(c)) }

// Call makes one request, with files attached, and returns its answer; an
// error the server returned is an error here.
func (c Client) Call(req Request, files ...*os.File) (Response, error) {
	conn, err := c.dial()
	if err != nil {
		return Response{}, err
	}
	defer conn.Close()
	var fds []int
	for _, f := range files {
		fds = append(fds, int(f.Fd()))
	}
	if err := writeFrame(conn, req, fds); err != nil {
		return Response{}, fmt.Errorf("%s: %w", req.Method, err)
	}
	var resp Response
	if _, err := readFrame(conn, &resp); err != nil {
		return Response{}, fmt.Errorf("%s: the sandbox did not answer: %w", req.Method, err)
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

// Events streams the sandbox's events, stats every interval (0: none), to
// fn until fn returns false, the sandbox ends or the connection fails.
func (c Client) Events(interval time.Duration, fn func(Event) bool) error {
	conn, err := c.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := writeFrame(conn, Request{Method: MethodEvents, Interval: interval}, nil); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	for {
		var resp Response
		if _, err := readFrame(conn, &resp); err != nil {
			return nil // the sandbox has ended
		}
		if resp.Error != "" {
			return errors.New(resp.Error)
		}
		if resp.Event != nil && !fn(*resp.Event) {
			return nil
		}
	}
}
