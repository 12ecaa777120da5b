package tmpfs

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// sealer returns the seals interface of a new memfd.
func sealer(t *testing.T, sealing bool) (vfs.Sealer, *vfs.File) {
	t.Helper()
	f, err := NewMemFD(context.Background(), vfs.KernelCreds(), "t", 0, sealing)
	if err != nil {
		t.Fatalf("NewMemFD: %v", err)
	}
	t.Cleanup(f.DecRef)
	s, ok := f.Impl().(vfs.Sealer)
	if !ok {
		t.Fatalf("a memfd is not a vfs.Sealer")
	}
	return s, f
}

func TestMemFDSeals(t *testing.T) {
	ctx := context.Background()
	s, f := sealer(t, true)
	if got, err := s.Seals(); got != 0 || err != nil {
		t.Errorf("Seals of a new sealable memfd = %#x, %v; want 0", got, err)
	}
	if err := s.AddSeals(0x100); !errors.Is(err, unix.EINVAL) {
		t.Errorf("AddSeals(0x100) = %v; want EINVAL", err)
	}
	if _, err := f.Impl().WriteAt(ctx, make([]byte, 4096), 0); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
	if err := s.AddSeals(unix.F_SEAL_GROW | unix.F_SEAL_SEAL); err != nil {
		t.Fatalf("AddSeals(GROW|SEAL): %v", err)
	}
	if got, _ := s.Seals(); got != unix.F_SEAL_GROW|unix.F_SEAL_SEAL {
		t.Errorf("Seals = %#x; want GROW|SEAL", got)
	}
	if _, err := f.Impl().WriteAt(ctx, []byte("x"), 4096); !errors.Is(err, unix.EPERM) {
		t.Errorf("WriteAt past the end with F_SEAL_GROW = %v; want EPERM", err)
	}
	if n, err := f.Impl().WriteAt(ctx, []byte("x"), 0); n != 1 || err != nil {
		t.Errorf("WriteAt inside = %d, %v; want 1", n, err)
	}
	if err := s.AddSeals(unix.F_SEAL_SHRINK); !errors.Is(err, unix.EPERM) {
		t.Errorf("AddSeals after F_SEAL_SEAL = %v; want EPERM", err)
	}

	// Without MFD_ALLOW_SEALING a memfd is a shmem file born sealed.
	s, _ = sealer(t, false)
	if got, err := s.Seals(); got != unix.F_SEAL_SEAL || err != nil {
		t.Errorf("Seals of a memfd without sealing = %#x, %v; want F_SEAL_SEAL", got, err)
	}
	if err := s.AddSeals(unix.F_SEAL_GROW); !errors.Is(err, unix.EPERM) {
		t.Errorf("AddSeals without sealing = %v; want EPERM", err)
	}
}
