package sysmsg

import (
	"testing"
	"time"
)

func TestSpinUntil(t *testing.T) {
	calls := 0
	if spinUntil(0, func() bool { calls++; return true }) || calls != 0 {
		t.Errorf("a spin of 0 ticks polled %d times or succeeded", calls)
	}
	calls = 0
	if !spinUntil(1<<31, func() bool { calls++; return calls == 3 }) || calls != 3 {
		t.Errorf("spin did not end at the third poll, which succeeded (%d polls)", calls)
	}
	// A spin whose condition never holds ends: after its first batch of
	// polls, one tick has passed.
	calls = 0
	if spinUntil(1, func() bool { calls++; return false }) {
		t.Error("a spin whose condition never held succeeded")
	}
	if calls < pollBatch {
		t.Errorf("polled %d times, want at least a batch (%d)", calls, pollBatch)
	}
}

func TestTicks(t *testing.T) {
	r := TicksPerMicrosecond()
	if got := Ticks(0); got != 0 {
		t.Errorf("Ticks(0) = %d", got)
	}
	if got := Ticks(10 * time.Microsecond); uint64(got) != 10*r {
		t.Errorf("Ticks(10us) = %d, want %d at %d ticks/us", got, 10*r, r)
	}
	if got := Ticks(time.Hour); got != 1<<32-1 {
		t.Errorf("Ticks(1h) = %d, want the saturated %d", got, uint32(1<<32-1))
	}
}
