package dev

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/sentry/fs/devpts"
	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// countingIO is application memory that counts what is done to it and
// holds nothing: any copy fails with EFAULT, as from unmapped memory.
type countingIO struct{ copies, checks int }

func (c *countingIO) CopyOutVec(src []byte, dst []platform.Range) (int, error) {
	c.copies++
	return 0, unix.EFAULT
}

func (c *countingIO) CopyInVec(dst []byte, src []platform.Range) (int, error) {
	c.copies++
	return 0, unix.EFAULT
}

func (c *countingIO) AccessibleLen(rs []platform.Range, write bool) int {
	c.checks++
	return 0
}

func openDevice(t *testing.T, name string) *vfs.File {
	t.Helper()
	ctx := context.Background()
	i, err := New(devpts.New(devpts.Sandbox)).Root().(*dir).Lookup(ctx, name)
	if err != nil {
		t.Fatalf("lookup %s: %v", name, err)
	}
	impl, err := i.Open(ctx, unix.O_RDWR)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	return vfs.NewFile(nil, nil, i, impl, unix.O_RDWR)
}

// TestWritesUnread checks that writes to /dev/null, /dev/zero and
// /dev/full never touch the application's memory (Linux's write_null and
// write_full), nor do reads of /dev/null (read_null): the buffer here is
// unmapped, so any copy or check would show as EFAULT.
func TestWritesUnread(t *testing.T) {
	ctx := context.Background()
	rs := []platform.Range{{Start: 0x1000, End: 0x1010}, {Start: 0x5000, End: 0x5004}}
	for _, tc := range []struct {
		dev     string
		written int
		err     error
	}{{"null", 20, nil}, {"zero", 20, nil}, {"full", 0, unix.ENOSPC}} {
		f := openDevice(t, tc.dev)
		mem := &countingIO{}
		for _, pwrite := range []bool{false, true} {
			var n int
			var err error
			if pwrite {
				n, err = f.PWrite(ctx, usermem.NewIOSequence(mem, rs), 7)
			} else {
				n, err = f.Write(ctx, usermem.NewIOSequence(mem, rs))
			}
			if n != tc.written || !errors.Is(err, tc.err) {
				t.Errorf("%s (pwrite %v): wrote %d, %v; want %d, %v", tc.dev, pwrite, n, err, tc.written, tc.err)
			}
		}
		if mem.copies != 0 || mem.checks != 0 {
			t.Errorf("%s: writes made %d copies and %d checks of application memory, want none", tc.dev, mem.copies, mem.checks)
		}
	}
	f := openDevice(t, "null")
	mem := &countingIO{}
	if n, err := f.Read(ctx, usermem.NewIOSequence(mem, rs)); n != 0 || err != nil {
		t.Errorf("read of /dev/null: %d, %v; want 0, nil", n, err)
	}
	if n, err := f.PRead(ctx, usermem.NewIOSequence(mem, rs), 3); n != 0 || err != nil {
		t.Errorf("pread of /dev/null: %d, %v; want 0, nil", n, err)
	}
	if mem.copies != 0 || mem.checks != 0 {
		t.Errorf("reads of /dev/null made %d copies and %d checks, want none", mem.copies, mem.checks)
	}
	// /dev/zero's reads do fill the buffer: the check that it can be
	// written comes first (EFAULT here).
	f = openDevice(t, "zero")
	mem = &countingIO{}
	if _, err := f.Read(ctx, usermem.NewIOSequence(mem, rs)); !errors.Is(err, unix.EFAULT) || mem.checks == 0 {
		t.Errorf("read of /dev/zero into unmapped memory: %v after %d checks; want EFAULT after a check", err, mem.checks)
	}
}
