package linux_test

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPipeUserPages: the pipe limits root sets (as through
// /proc/sys/fs) bind an unprivileged user's pipe2 and fcntl: over
// pipe-user-pages-soft a new pipe has 2 pages and may not grow, over
// pipe-user-pages-hard pipe2 is ENFILE and a FIFO's first open ENOMEM;
// closing pipes gives their pages back.
func TestPipeUserPages(t *testing.T) {
	p := newProc(t)
	cwd := uintptr(1<<64 + unix.AT_FDCWD) // AT_FDCWD as a register holds it
	a := p.task.K.Pipes
	a.SetUserPagesSoft(32)
	a.SetUserPagesHard(36)
	fifo := p.str("/fifo")
	p.ok(unix.SYS_MKNODAT, cwd, fifo, unix.S_IFIFO|0o666, 0)
	p.ok(unix.SYS_FCHMODAT, cwd, fifo, 0o666)
	p.ok(unix.SYS_SETRESUID, 1000, 1000, 1000)
	fds := p.alloc(8)
	pipe := func() (r, w uintptr) {
		p.ok(unix.SYS_PIPE2, fds, 0)
		b := p.read(fds, 8)
		return uintptr(binary.LittleEndian.Uint32(b)), uintptr(binary.LittleEndian.Uint32(b[4:]))
	}
	size := func(fd uintptr) uintptr { return p.ok(unix.SYS_FCNTL, fd, unix.F_GETPIPE_SZ) }
	r1, w1 := pipe()
	r2, w2 := pipe()
	if n := size(w1); n != 65536 {
		t.Errorf("pipe under the soft limit: %d bytes", n)
	}
	_, w3 := pipe() // 34 pages, over the soft limit
	if n := size(w3); n != 8192 {
		t.Errorf("pipe over the soft limit: %d bytes, want 8192", n)
	}
	p.fails(unix.EPERM, unix.SYS_FCNTL, w3, unix.F_SETPIPE_SZ, 16384)
	pipe() // 36 pages
	p.fails(unix.ENFILE, unix.SYS_PIPE2, fds, 0)
	p.fails(unix.ENOMEM, unix.SYS_OPENAT, cwd, fifo, unix.O_RDWR|unix.O_NONBLOCK, 0)
	if got := a.UserPages(1000); got != 36 {
		t.Errorf("user pages = %d, want 36", got)
	}
	for _, fd := range []uintptr{r1, w1, r2, w2} {
		p.ok(unix.SYS_CLOSE, fd)
	}
	if got := a.UserPages(1000); got != 4 {
		t.Errorf("user pages after closing two pipes = %d, want 4", got)
	}
	_, w := pipe()
	if n := size(w); n != 65536 {
		t.Errorf("pipe after closing two: %d bytes", n)
	}
}
