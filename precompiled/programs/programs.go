// Package programs lists the seccomp programs package precompiled holds:
// every program that starting a sandbox builds, on both platforms.
package programs

import (
	"fmt"
	"sync"

	"gvisor.dev/gvisor/pkg/bpf"

	"runsc-lite/netfwd"
	"runsc-lite/platform/ptrace"
	"runsc-lite/platform/systrap"
	"runsc-lite/precompiled"
	"runsc-lite/sentry/confine"
	"runsc-lite/stub"
)

// ThreadSlots is how many systrap application-thread programs (one per
// thread slot, numbered from 0) are precompiled; a program with more
// threads builds the others when it starts them.
const ThreadSlots = 64

// All builds every program, as the packages build them, and returns them
// by precompiled.Key.
func All() (map[string][]bpf.Instruction, error) {
	var mu sync.Mutex // guards progs
	progs := make(map[string][]bpf.Instruction)
	precompiled.Record(func(key string, insns []bpf.Instruction) {
		mu.Lock()
		progs[key] = insns
		mu.Unlock()
	})
	defer precompiled.Record(nil)
	syms, err := stub.LoadSymbols()
	if err != nil {
		return nil, err
	}
	builders := []func() error{
		func() error { _, err := systrap.BaseFilter(syms); return err },
		func() error { _, err := ptrace.StubFilter(syms); return err },
		func() error { _, err := stub.ForkserverFilter(syms); return err },
	}
	// The sentry's, for binaries linked with C (cgo) and without
	// (CGO_ENABLED=0, as runsc-lite is built).
	// Each with --network=host's entries and without.
	for _, platform := range []string{"systrap", "ptrace"} {
		for _, cgo := range []bool{false, true} {
			for _, hostNet := range []bool{false, true} {
				builders = append(builders, func() error { _, err := confine.FilterLinked(platform, cgo, hostNet); return err })
			}
		}
	}
	// The network forwarder's, both ways too, in sandbox and host mode.
	for _, cgo := range []bool{false, true} {
		for _, host := range []bool{false, true} {
			builders = append(builders, func() error { _, err := netfwd.Filter(cgo, host); return err })
		}
	}
	for i := 0; i < ThreadSlots; i++ {
		builders = append(builders, func() error { _, err := systrap.ThreadFilter(syms, i); return err })
	}
	for i, b := range builders {
		if err := b(); err != nil {
			return nil, fmt.Errorf("program %d: %w", i, err)
		}
	}
	return progs, nil
}
