// Command syscount runs a program in a sandbox, then prints per syscall its calls and their latencies.
package main

import (
	"fmt"
	"io"
	"log"
	"maps"
	"math/bits"
	"os"
	"slices"
	"sync"

	"runsc-lite/interpose"
	"runsc-lite/sentry/sandbox"
)

// counter returns hooks that count calls, and a function that prints the counts.
func counter() (*interpose.Hooks, func(io.Writer)) {
	var mu sync.Mutex            // guards hist
	hist := map[string][22]int{} // per syscall: [all calls, under 1µs, under 2µs, under 4µs, ...]
	h := &interpose.Hooks{}
	h.After(interpose.All, func(c *interpose.Call, r *interpose.Result) {
		mu.Lock()
		defer mu.Unlock()
		a, b := hist[c.Name], 1+min(20, bits.Len64(uint64(r.Duration.Microseconds())))
		a[0], a[b] = a[0]+1, a[b]+1
		hist[c.Name] = a
	})
	return h, func(w io.Writer) {
		mu.Lock()
		defer mu.Unlock()
		for _, name := range slices.Sorted(maps.Keys(hist)) {
			fmt.Fprintf(w, "%-20s %v\n", name, hist[name]) // [all calls, under 1µs, under 2µs, ...]
		}
	}
}

func main() {
	h, print := counter()
	st, err := sandbox.Run(sandbox.Config{Root: "/", Platform: "systrap", Argv: os.Args[1:], Env: os.Environ(), Hooks: h})
	print(os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(st.Code)
}
