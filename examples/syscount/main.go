// Command syscount runs a program in a sandbox, then prints per syscall its calls and their latencies.
package main

import (
	"fmt"
	"log"
	"maps"
	"math/bits"
	"os"
	"slices"
	"sync"

	"runsc-lite/interpose"
	"runsc-lite/sentry/sandbox"
)

// counter returns hooks that count calls into hist: per syscall, [all calls, under 1µs, under 2µs, 4µs, ...].
func counter() (*interpose.Hooks, map[string][22]int) {
	h, hist, mu := &interpose.Hooks{}, map[string][22]int{}, new(sync.Mutex) // mu guards hist: tasks run hooks concurrently
	h.After(interpose.All, func(c *interpose.Call, r *interpose.Result) {
		mu.Lock()
		defer mu.Unlock()
		a, b := hist[c.Name], 1+min(20, bits.Len64(uint64(r.Duration.Microseconds())))
		a[0], a[b] = a[0]+1, a[b]+1
		hist[c.Name] = a
	})
	return h, hist
}

func main() {
	h, hist := counter()
	st, err := sandbox.Run(sandbox.Config{Root: "/", Platform: "systrap", Argv: os.Args[1:], Env: os.Environ(), Hooks: h})
	for _, name := range slices.Sorted(maps.Keys(hist)) {
		fmt.Fprintf(os.Stderr, "%-20s %v\n", name, hist[name])
	}
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(st.Code)
}
