package kernel_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
)

// nr_open bounds RLIMIT_NOFILE's hard limit for the privileged too, once
// lowered; it takes NROpenMin through NROpenMax, and limits already set
// stay (do_prlimit, proc_douintvec_minmax).
func TestNROpen(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	k, tg := task.K, task.TG
	if got := k.NROpen(); got != kernel.NROpenDefault {
		t.Fatalf("nr_open %d, want %d", got, kernel.NROpenDefault)
	}
	if kernel.NROpenMax != 2147483584 {
		t.Errorf("NROpenMax %d, want sysctl_nr_open_max, 2147483584", kernel.NROpenMax)
	}
	for _, n := range []uint64{0, kernel.NROpenMin - 1, kernel.NROpenMax + 1, 1 << 31} {
		if err := k.SetNROpen(n); err != unix.EINVAL {
			t.Errorf("SetNROpen(%d): %v, want EINVAL", n, err)
		}
	}
	for _, n := range []uint64{kernel.NROpenMin, kernel.NROpenMax} {
		if err := k.SetNROpen(n); err != nil {
			t.Errorf("SetNROpen(%d): %v", n, err)
		}
	}
	if err := k.SetNROpen(4096); err != nil {
		t.Fatal(err)
	}
	if l, _ := tg.Rlimit(unix.RLIMIT_NOFILE, nil, false); l.Max != kernel.NROpenDefault {
		t.Errorf("hard limit %d after nr_open was lowered, want it kept", l.Max)
	}
	if _, err := tg.Rlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 1024, Max: 4097}, true); err != unix.EPERM {
		t.Errorf("hard limit past nr_open: %v, want EPERM", err)
	}
	if _, err := tg.Rlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 1024, Max: 4096}, false); err != nil {
		t.Errorf("hard limit at nr_open: %v", err)
	}
	if err := k.SetNROpen(kernel.NROpenMax); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Rlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 1024, Max: kernel.NROpenMax}, true); err != nil {
		t.Errorf("hard limit raised to nr_open by the privileged: %v", err)
	}
}
