package main

import (
	"testing"

	"runsc-lite/examples/internal/extest"
)

// TestEveryNth: of 10 writes, the 3rd, 6th and 9th fail with EIO and no
// other; the program's exit status is the mask of the writes that failed so.
func TestEveryNth(t *testing.T) {
	bin := extest.Build(t, `#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
int main(void) {
	int fd = open("/dev/null", O_WRONLY), mask = 0;
	for (int i = 1; i <= 10; i++) {
		ssize_t n = write(fd, "x", 1);
		if (n == -1 && errno == EIO) mask |= 1 << (i-1) >> 1;
		else if (n != 1) return 255;
	}
	return mask;
}`)
	// Bits 1, 4 and 7 (after the shift by one): writes 3, 6 and 9.
	if st := extest.Run(t, "systrap", everyNth(3), bin); st.Code != 1<<1|1<<4|1<<7 {
		t.Fatalf("exit status %+v, want code %d", st, 1<<1|1<<4|1<<7)
	}
}
