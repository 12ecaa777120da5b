package platform

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// threadPidfd returns a pidfd of a thread of this process other than the
// leader, and its id; the thread lives until the test ends.
func threadPidfd(t *testing.T) (int, int) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	tid := os.Getpid()
	// A goroutine may run on the main thread; that one stays locked to
	// it, so the next runs on another.
	for i := 0; i < 3 && tid == os.Getpid(); i++ {
		tids := make(chan int)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			tids <- unix.Gettid()
			<-done
		}()
		tid = <-tids
	}
	if tid == os.Getpid() {
		t.Fatal("no goroutine ran on a thread other than the main one")
	}
	fd, err := unix.PidfdOpen(tid, unix.PIDFD_THREAD)
	if err != nil {
		t.Skipf("pidfd_open(PIDFD_THREAD): %v (Linux before 6.9)", err)
	}
	return fd, tid
}

func none(int) bool { return false }

func TestThreadOfPidfd(t *testing.T) {
	fd, tid := threadPidfd(t)
	got, err := ThreadOfPidfd(fd, os.Getpid(), none)
	if errors.Is(err, ErrNoThreadInfo) {
		t.Skip(err)
	}
	if err != nil || got != tid {
		t.Fatalf("ThreadOfPidfd = %d, %v; want thread %d", got, err, tid)
	}
}

// A stub may send any descriptor it has as a new thread's pidfd: each of
// these must be refused.
func TestThreadOfPidfdRefuses(t *testing.T) {
	memfd, err := unix.MemfdCreate("not-a-pidfd", 0)
	if err != nil {
		t.Fatal(err)
	}
	leader, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		t.Fatal(err)
	}
	otherFD, _ := threadPidfd(t)
	knownFD, knownTID := threadPidfd(t)
	for _, c := range []struct {
		name  string
		fd    int
		pid   int
		known func(int) bool
		want  string
	}{
		{"a memfd", memfd, os.Getpid(), none, "not a pidfd"},
		{"the process itself", leader, os.Getpid(), none, "not a new thread"},
		{"a thread of another process", otherFD, os.Getppid(), none, "not a new thread"},
		{"a thread already known", knownFD, os.Getpid(), func(t int) bool { return t == knownTID }, "not a new thread"},
	} {
		got, err := ThreadOfPidfd(c.fd, c.pid, c.known)
		if errors.Is(err, ErrNoThreadInfo) {
			t.Skip(err)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: ThreadOfPidfd = %d, %v; want an error saying %q", c.name, got, err, c.want)
		}
		if _, err := unix.FcntlInt(uintptr(c.fd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
			t.Errorf("%s: ThreadOfPidfd left the descriptor open", c.name)
		}
	}
}
