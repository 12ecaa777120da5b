package stub

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzRecvPidfd sends the sentry what a hostile stub could after a fork
// request, in place of its child's pidfd: any bytes, with no descriptor, a
// pipe, a pidfd of a process that is not a stub, a memfd, or two of them.
// The invariants: RecvPidfd never accepts one (none names a child of the
// forkserver), and it leaks no descriptor.
func FuzzRecvPidfd(f *testing.F) {
	f.Add([]byte{0}, uint8(0))
	f.Add([]byte{0}, uint8(1))
	f.Add([]byte{0}, uint8(2))
	f.Add([]byte{1, 2, 3, 4}, uint8(3))
	f.Add([]byte{}, uint8(4))
	fs := &Forkserver{live: make(map[int]struct{}), cmd: &exec.Cmd{Process: &os.Process{Pid: 1}}}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		before := openFDs(t)
		socks, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(socks[0])
		defer unix.Close(socks[1])
		var fds []int
		defer func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}()
		for i := 0; i < 1+int(kind/5)%2; i++ {
			switch kind % 5 {
			case 1:
				var p [2]int
				if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
					t.Fatal(err)
				}
				fds = append(fds, p[0], p[1])
			case 2:
				pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
				if err != nil {
					t.Fatal(err)
				}
				fds = append(fds, pidfd)
			case 3:
				mfd, err := unix.MemfdCreate("fuzz", unix.MFD_CLOEXEC)
				if err != nil {
					t.Fatal(err)
				}
				fds = append(fds, mfd)
			}
		}
		var oob []byte
		if len(fds) > 0 {
			oob = unix.UnixRights(fds...)
		}
		if len(data) > 4096 {
			data = data[:4096]
		}
		if err := unix.Sendmsg(socks[1], data, oob, nil, 0); err != nil {
			return
		}
		if p, err := fs.RecvPidfd(socks[0]); err == nil {
			unix.Close(p.Pidfd)
			t.Fatalf("RecvPidfd accepted process %d", p.Pid)
		}
		unix.Close(socks[0])
		unix.Close(socks[1])
		for _, fd := range fds {
			unix.Close(fd)
		}
		fds = nil
		if after := openFDs(t); after != before {
			t.Fatalf("%d descriptors open before, %d after", before, after)
		}
	})
}

// FuzzParseRights: control messages of any shape parse or fail, never
// panic.
func FuzzParseRights(f *testing.F) {
	f.Add(unix.UnixRights(3, 4, 5))
	f.Add([]byte{16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0})
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 127, 1, 0, 0, 0, 1, 0, 0, 0, 7})
	f.Fuzz(func(t *testing.T, oob []byte) {
		parseRights(oob)
	})
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
