package rootfs

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// account is a caller whose memory account xattrs are charged to.
type account struct{ mem *usage.Memory }

func (a account) MemoryAccount() *usage.Memory { return a.mem }

// hostXattrs lists a host file's user.* attributes.
func hostXattrs(t *testing.T, p string) []string {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Listxattr(p, buf)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range splitNames(buf[:n]) {
		if len(name) > 5 && name[:5] == "user." {
			out = append(out, name)
		}
	}
	return out
}

func splitNames(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}

func TestXattrHostAndCopyUp(t *testing.T) {
	s := newSandbox(t, map[string]string{"f": "data"})
	host := filepath.Join(s.dir, "f")
	if err := unix.Setxattr(host, "user.h", []byte("host"), 0); err != nil {
		t.Skipf("the host filesystem refuses user xattrs: %v", err)
	}
	mem := usage.NewMemory(1 << 20)
	ctx := vfs.WithTask(context.Background(), account{mem})
	d, err := s.v.Lookup(ctx, rootCreds, s.fsc, nil, "/f", true)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d.GetXattr(ctx, rootCreds, "user.h"); err != nil || string(v) != "host" {
		t.Fatalf("host file: user.h = %q, %v", v, err)
	}
	if names, err := d.ListXattr(ctx, rootCreds); err != nil || !slices.Contains(names, "user.h") {
		t.Fatalf("host file: list = %q, %v", names, err)
	}
	if err := s.v.SetXattr(ctx, rootCreds, d, "user.h", []byte("x"), unix.XATTR_CREATE); err != unix.EEXIST {
		t.Fatalf("XATTR_CREATE over a host attribute: %v, want EEXIST", err)
	}
	if err := s.v.SetXattr(ctx, rootCreds, d, "user.n", []byte("new"), 0); err != nil {
		t.Fatal(err)
	}
	if mem.Used() == 0 {
		t.Error("stored attributes are not charged")
	}
	if v, err := d.GetXattr(ctx, rootCreds, "user.h"); err != nil || string(v) != "host" {
		t.Errorf("copy up lost user.h: %q, %v", v, err)
	}
	if err := s.v.RemoveXattr(ctx, rootCreds, d, "user.h"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetXattr(ctx, rootCreds, "user.h"); err != unix.ENODATA {
		t.Errorf("removed user.h: %v, want ENODATA", err)
	}
	if got := hostXattrs(t, host); !slices.Equal(got, []string{"user.h"}) {
		t.Errorf("the host file's attributes changed: %q", got)
	}
	used := mem.Used()
	if err := s.v.RemoveXattr(ctx, rootCreds, d, "user.n"); err != nil {
		t.Fatal(err)
	}
	if mem.Used() >= used {
		t.Errorf("removing an attribute returned nothing: %d then %d", used, mem.Used())
	}
}

func TestXattrLimits(t *testing.T) {
	s := newSandbox(t, nil)
	mem := usage.NewMemory(16 << 10)
	ctx := vfs.WithTask(context.Background(), account{mem})
	if err := s.v.Mknod(ctx, rootCreds, s.fsc, nil, "/f", unix.S_IFREG|0o644, 0); err != nil {
		t.Fatal(err)
	}
	d, err := s.v.Lookup(ctx, rootCreds, s.fsc, nil, "/f", true)
	if err != nil {
		t.Fatal(err)
	}
	value := make([]byte, 6<<10)
	wantErr(t, "first", s.v.SetXattr(ctx, rootCreds, d, "user.a", value, 0), nil)
	wantErr(t, "second", s.v.SetXattr(ctx, rootCreds, d, "user.b", value, 0), nil)
	wantErr(t, "beyond the account", s.v.SetXattr(ctx, rootCreds, d, "user.c", value, 0), unix.ENOSPC)
	wantErr(t, "replace", s.v.SetXattr(ctx, rootCreds, d, "user.a", value[:10], 0), nil)
	wantErr(t, "after shrinking", s.v.SetXattr(ctx, rootCreds, d, "user.c", value, 0), nil)

	// One node holds at most 1 MiB, whatever the account allows.
	big := usage.NewMemory(64 << 20)
	ctx = vfs.WithTask(context.Background(), account{big})
	value = make([]byte, linux.XATTR_SIZE_MAX)
	var err2 error
	for i := 0; i < 32 && err2 == nil; i++ {
		err2 = s.v.SetXattr(ctx, rootCreds, d, "user.big"+string(rune('a'+i)), value, 0)
	}
	wantErr(t, "beyond the node's bound", err2, unix.ENOSPC)
	if big.Used() > 1<<20 {
		t.Errorf("charged %d bytes for one node", big.Used())
	}
}
