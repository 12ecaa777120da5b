package cgroup

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/usage"
)

func TestLimits(t *testing.T) {
	k := kernel.New(nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	k.Memory = usage.NewMemory(256 << 20)
	k.Memory.Charge(usage.Anon, 1<<20)
	k.SetTaskLimit(64)
	fs := New(k)
	ctx := context.Background()
	for path, want := range map[string]string{
		"memory.max":            "268435456\n",
		"memory.current":        "1048576\n",
		"memory.swap.max":       "0\n",
		"pids.max":              "64\n",
		"pids.current":          "0\n",
		"cpu.max":               "max 100000\n",
		"cpuset.cpus.effective": kernfs.CPUList(0, k.CPUs()) + "\n",
		"cgroup.controllers":    "cpuset cpu memory pids\n",
	} {
		if got, err := kernfs.ReadPath(ctx, fs.Root(), path); got != want || err != nil {
			t.Errorf("%s: %q, %v; want %q", path, got, err, want)
		}
	}
	if got, _ := kernfs.ReadPath(ctx, fs.Root(), "cpu.stat"); len(got) < len("usage_usec 0\n") || got[:11] != "usage_usec " {
		t.Errorf("cpu.stat: %q", got)
	}
}
