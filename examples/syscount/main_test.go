package main

import (
	"bytes"
	"regexp"
	"testing"

	"runsc-lite/examples/internal/extest"
)

// TestCounter counts the calls of a program that makes a known number of
// getppid calls, on both platforms.
func TestCounter(t *testing.T) {
	bin := extest.Build(t, `#include <unistd.h>
int main(void) { for (int i = 0; i < 7; i++) getppid(); return 3; }`)
	for _, platform := range []string{"systrap", "ptrace"} {
		h, print := counter()
		if st := extest.Run(t, platform, h, bin); st.Code != 3 {
			t.Fatalf("%s: exit status %+v, want code 3", platform, st)
		}
		var out bytes.Buffer
		print(&out)
		for _, want := range []string{`(?m)^getppid +\[7 `, `(?m)^exit_group +\[1 `} {
			if !regexp.MustCompile(want).Match(out.Bytes()) {
				t.Errorf("%s: no line matching %s in\n%s", platform, want, out.Bytes())
			}
		}
		// Every call falls in one bucket: the buckets add up to the count.
		ms := regexp.MustCompile(`(?m)^getppid +\[7 ([0-9 ]+)\]`).FindAllSubmatch(out.Bytes(), -1)
		if len(ms) != 1 {
			t.Fatalf("%s: no histogram of getppid in\n%s", platform, out.Bytes())
		}
		for _, m := range ms {
			sum := 0
			for _, f := range bytes.Fields(m[1]) {
				n := 0
				for _, d := range f {
					n = n*10 + int(d-'0')
				}
				sum += n
			}
			if sum != 7 {
				t.Errorf("%s: getppid's buckets add up to %d, want 7", platform, sum)
			}
		}
	}
}
