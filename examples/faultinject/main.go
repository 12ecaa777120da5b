// Command faultinject runs a program in a sandbox where every Nth write
// fails with EIO, to test the program's error paths: faultinject N CMD...
package main

import (
	"log"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/sentry/sandbox"
)

// everyNth returns hooks that fail every nth write with EIO.
func everyNth(n int64) *interpose.Hooks {
	var writes atomic.Int64
	h := &interpose.Hooks{}
	h.Before(unix.SYS_WRITE, func(c *interpose.Call) interpose.Action {
		if writes.Add(1)%n == 0 {
			return interpose.Deny(unix.EIO)
		}
		return interpose.Continue()
	})
	return h
}

func main() {
	n, err := strconv.ParseInt(os.Args[1], 10, 64)
	if err != nil || n < 1 {
		log.Fatalf("usage: faultinject N CMD...: N must be a positive number")
	}
	st, err := sandbox.Run(sandbox.Config{Root: "/", Platform: "systrap", Argv: os.Args[2:], Env: os.Environ(), Hooks: everyNth(n)})
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(st.Code)
}
