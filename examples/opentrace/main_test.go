package main

import (
	"bytes"
	"strings"
	"testing"

	"runsc-lite/examples/internal/extest"
)

// TestTracer: every open, with its path and its result, in order.
func TestTracer(t *testing.T) {
	bin := extest.Build(t, `#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
	open("/etc/passwd", O_RDONLY);
	openat(AT_FDCWD, "/no/such/file", O_RDONLY);
	syscall(SYS_open, "/dev/null", O_WRONLY);
	return 0;
}`)
	var out bytes.Buffer
	if st := extest.Run(t, "systrap", tracer(&out), bin); st.Code != 0 {
		t.Fatalf("exit status %+v", st)
	}
	want := `[1] openat "/etc/passwd" = 3
[1] openat "/no/such/file" = -1 ENOENT
[1] open "/dev/null" = 4
`
	if !strings.HasSuffix(out.String(), want) {
		t.Errorf("got\n%s\nwant it to end with\n%s", out.Bytes(), want)
	}
}
