package inotify

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// TestMaxUserInstances: a user's instances past max_user_instances are
// EMFILE, another user's are not, a closed instance frees its place, and
// a lowered limit keeps the instances already open.
func TestMaxUserInstances(t *testing.T) {
	var v *vfs.VFS // no watches: the instances never reach it
	u := NewUsers()
	if got := u.MaxInstances(); got != DefaultMaxUserInstances {
		t.Fatalf("default max_user_instances %d, want %d", got, DefaultMaxUserInstances)
	}
	if err := u.SetMaxInstances(2); err != nil {
		t.Fatal(err)
	}
	alice, bob := Account{Users: u, UID: 1000}, Account{Users: u, UID: 1001}
	var open []*vfs.File
	for i := 0; i < 2; i++ {
		f, err := New(v, 0, alice)
		if err != nil {
			t.Fatalf("instance %d of 2: %v", i+1, err)
		}
		open = append(open, f)
	}
	if _, err := New(v, 0, alice); !errors.Is(err, unix.EMFILE) {
		t.Errorf("a third instance: %v, want EMFILE", err)
	}
	f, err := New(v, 0, bob)
	if err != nil {
		t.Errorf("another user's instance: %v", err)
	} else {
		f.DecRef()
	}
	open[0].DecRef()
	if f, err := New(v, 0, alice); err != nil {
		t.Errorf("an instance after one closed: %v", err)
	} else {
		open[0] = f
	}
	if err := u.SetMaxInstances(0); err != nil {
		t.Fatal(err)
	}
	if _, err := New(v, 0, bob); !errors.Is(err, unix.EMFILE) {
		t.Errorf("an instance with max_user_instances 0: %v, want EMFILE", err)
	}
	if err := u.SetMaxInstances(1 << 63); !errors.Is(err, unix.EINVAL) {
		t.Errorf("max_user_instances past LONG_MAX: %v, want EINVAL", err)
	}
	for _, f := range open {
		f.DecRef()
	}
	if n := len(u.count); n != 0 {
		t.Errorf("%d users still counted after every instance closed", n)
	}
}
