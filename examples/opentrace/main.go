// Command opentrace runs a program in a sandbox and prints every path it opens, and the result.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/sentry/sandbox"
)

// tracer returns hooks that print to w each path opened, and the result.
func tracer(w io.Writer) *interpose.Hooks {
	h := &interpose.Hooks{}
	for nr, arg := range map[uintptr]int{unix.SYS_OPEN: 0, unix.SYS_CREAT: 0, unix.SYS_OPENAT: 1, unix.SYS_OPENAT2: 1} {
		h.After(nr, func(c *interpose.Call, r *interpose.Result) {
			path, _ := c.String(arg, unix.PathMax) // "" if the path cannot be read
			res := fmt.Sprint(r.Value)
			if r.Errno != 0 {
				res = "-1 " + unix.ErrnoName(r.Errno)
			}
			fmt.Fprintf(w, "[%d] %s %q = %s\n", c.Task.TID, c.Name, path, res)
		})
	}
	return h
}

func main() {
	st, err := sandbox.Run(sandbox.Config{Root: "/", Platform: "systrap", Argv: os.Args[1:], Env: os.Environ(), Hooks: tracer(os.Stderr)})
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(st.Code)
}
