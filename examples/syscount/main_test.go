package main

import (
	"testing"

	"runsc-lite/examples/internal/extest"
)

// TestCounter counts the calls of a program that makes a known number of
// getppid calls, on both platforms: 7 calls, each in one latency bucket.
func TestCounter(t *testing.T) {
	bin := extest.Build(t, `#include <unistd.h>
int main(void) { for (int i = 0; i < 7; i++) getppid(); return 3; }`)
	for _, platform := range []string{"systrap", "ptrace"} {
		h, hist := counter()
		if st := extest.Run(t, platform, h, bin); st.Code != 3 {
			t.Fatalf("%s: exit status %+v, want code 3", platform, st)
		}
		if got := hist["exit_group"][0]; got != 1 {
			t.Errorf("%s: %d exit_group calls counted, want 1", platform, got)
		}
		g := hist["getppid"]
		sum := 0
		for _, n := range g[1:] {
			sum += n
		}
		if g[0] != 7 || sum != 7 {
			t.Errorf("%s: getppid counted %v: want 7 calls, in buckets adding up to 7", platform, g)
		}
	}
}
