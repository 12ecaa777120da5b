package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"runsc-lite/examples/internal/extest"
)

// TestPolicy runs a program that tries a TCP socket, a Unix socket pair
// and an ordinary call: both network calls fail with EACCES and are
// logged, the other one works.
func TestPolicy(t *testing.T) {
	bin := extest.Build(t, `#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
	int sv[2];
	if (socket(AF_INET, SOCK_STREAM, 0) != -1 || errno != EACCES) return 1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != -1 || errno != EACCES) return 2;
	if (getppid() < 0) return 3;
	return 42;
}`)
	var log bytes.Buffer
	if st := extest.Run(t, "systrap", policy(slog.New(slog.NewTextHandler(&log, nil))), bin); st.Code != 42 {
		t.Fatalf("exit status %+v, want code 42; log:\n%s", st, log.Bytes())
	}
	for _, want := range []string{"syscall=socket pid=1 exe=" + bin + " arg0=2", "syscall=socketpair"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.Bytes())
		}
	}
}
