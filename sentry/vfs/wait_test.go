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
