// Command gen writes package precompiled's table of programs.
package main

import (
	"flag"
	"fmt"
	"os"

	"runsc-lite/precompiled"
	"runsc-lite/precompiled/programs"
)

func main() {
	out := flag.String("o", "table.go", "the file to write")
	flag.Parse()
	progs, err := programs.All()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, precompiled.Encode(progs), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
