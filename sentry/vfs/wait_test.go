package vfs

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestQueueExclusive: a notification calls every ordinary entry, and the
// exclusive ones oldest first until one says it woke a waiter
// (EPOLLEXCLUSIVE's wake-one); a removed exclusive entry is skipped.
func TestQueueExclusive(t *testing.T) {
	var q Queue
	var calls []string
	ordinary := NewEntry(unix.POLLIN, func(int16) { calls = append(calls, "ordinary") })
	excl := func(name string, woke bool) *Entry {
		return NewExclusiveEntry(unix.POLLIN, func(int16) bool { calls = append(calls, name); return woke })
	}
	a, b, c, d := excl("a", false), excl("b", true), excl("c", true), excl("d", true)
	for _, e := range []*Entry{ordinary, a, b, c, d} {
		q.Add(e)
	}
	q.Notify(unix.POLLIN)
	if got := join(calls); got != "ordinary a b" {
		t.Errorf("first notification called %q, want %q", got, "ordinary a b")
	}
	calls = nil
	q.Remove(b)
	q.Notify(unix.POLLIN)
	if got := join(calls); got != "ordinary a c" {
		t.Errorf("after removing b: %q, want %q", got, "ordinary a c")
	}
	calls = nil
	q.Notify(unix.POLLOUT)
	if len(calls) != 0 {
		t.Errorf("POLLOUT reached entries for POLLIN: %q", join(calls))
	}
}

func join(s []string) string { return strings.Join(s, " ") }

// TestQueueSetMask: an entry's new mask decides which notifications reach
// it (epoll_ctl's EPOLL_CTL_MOD), with POLLHUP and POLLERR always among
// them, and the callback gets only the events it asked for.
func TestQueueSetMask(t *testing.T) {
	var q Queue
	var got []int16
	e := NewEntry(unix.POLLOUT, func(ev int16) { got = append(got, ev) })
	q.Add(e)
	q.SetMask(e, unix.POLLIN)
	q.Notify(unix.POLLOUT)
	q.Notify(unix.POLLIN | unix.POLLOUT)
	q.Notify(unix.POLLHUP)
	want := []int16{unix.POLLIN, unix.POLLHUP}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("after SetMask(POLLIN) the entry was called with %v, want %v", got, want)
	}
}
