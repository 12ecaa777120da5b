package main

import (
	"testing"
	"time"
)

// TestAnnouncements checks that the LTP library's limit is found in a
// test's output however the writes split its line, and only there.
func TestAnnouncements(t *testing.T) {
	var got []time.Duration
	a := &announcements{extend: func(d time.Duration) { got = append(got, d) }}
	out := "tst_test.c:1900: TINFO: LTP version: 20260529\n" +
		"tst_test.c:1876: TINFO: Overall timeout per run is 0h 03m 00s\n" +
		"sendmsg03.c:90: TINFO: Overall timeout per run is 1h 02m 05s (quoted by a test, no line end)"
	for i := 0; i < len(out); i += 7 {
		a.Write([]byte(out[i:min(i+7, len(out))]))
	}
	want := []time.Duration{3 * time.Minute}
	if len(got) != len(want) || got[0] != want[0] {
		t.Errorf("limits found: %v, want %v", got, want)
	}
}

// TestDeadlineExtend checks that an announced limit moves the kill
// later and never earlier than -timeout.
func TestDeadlineExtend(t *testing.T) {
	killed := make(chan time.Time, 1)
	d := newDeadline(50*time.Millisecond, func() { killed <- time.Now() })
	start := time.Now()
	d.start()
	d.extend(-librarySlack + 10*time.Millisecond) // shorter: ignored
	d.extend(-librarySlack + 300*time.Millisecond)
	at := <-killed
	if e := at.Sub(start); e < 250*time.Millisecond {
		t.Errorf("killed after %v, want about 300ms", e)
	}
	d.stop()
}
