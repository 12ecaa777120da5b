package proc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// timensOffsetsFile is /proc/PID/timens_offsets (fs/proc/base.c): the
// offsets of the time namespace the process's children get, which a
// write sets until a process enters the namespace
// (kernel.TimeNamespace.SetOffsets).
type timensOffsetsFile struct {
	tree kernfs.Tree
	path string
	task func() (*kernel.Task, error)
	k    *kernel.Kernel
}

// Writable implements vfs.ContentWriter.
func (f *timensOffsetsFile) Writable() bool { return true }

// Stat implements vfs.Inode: 0644, the process's owner's.
func (f *timensOffsetsFile) Stat(ctx context.Context) (unix.Stat_t, error) {
	return taskFileStat(f.tree, f.path, 0o644, f.task), nil
}

// Open implements vfs.Inode.
func (f *timensOffsetsFile) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	if _, err := f.task(); err != nil {
		return nil, unix.ENOENT
	}
	return timensOffsetsAccess{f}, nil
}

// timensOffsetsAccess is an open timensOffsetsFile.
type timensOffsetsAccess struct{ f *timensOffsetsFile }

// ReadAt implements vfs.FileImpl: a line per clock, as
// proc_timens_show_offsets prints it.
func (a timensOffsetsAccess) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	t, err := a.f.task()
	if err != nil {
		return 0, unix.ESRCH
	}
	o := t.TimeNSForChildren().Offsets()
	line := func(name string, d time.Duration) string {
		sec, nsec := d/time.Second, d%time.Second // a timespec's: nsec from 0
		if nsec < 0 {
			sec, nsec = sec-1, nsec+time.Second
		}
		return fmt.Sprintf("%-10s %10d %9d\n", name, int64(sec), int64(nsec))
	}
	s := line("monotonic", o.Monotonic) + line("boottime", o.Boottime)
	if off >= int64(len(s)) {
		return 0, nil
	}
	return copy(p, s[off:]), nil
}

// maxTimensOffsets is how many lines a write takes (one per clock); the
// rest of the buffer is left unwritten, as timens_offsets_write leaves it.
const maxTimensOffsets = 2

// WriteAt implements vfs.FileImpl: lines "CLOCK SECONDS NANOSECONDS",
// CLOCK a name (monotonic, boottime) or a number (1, 7).
func (a timensOffsetsAccess) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	writer, ok := vfs.TaskOf(ctx).(*kernel.Task)
	if !ok {
		return 0, unix.EPERM
	}
	offs, n, err := parseTimensOffsets(string(p))
	if err != nil {
		return 0, err
	}
	t, err := a.f.task()
	if err != nil {
		return 0, unix.ESRCH
	}
	if err := t.TimeNSForChildren().SetOffsets(writer.Creds(), offs, a.f.k.Clocks.Now); err != nil {
		return 0, err
	}
	return n, nil
}

// parseTimensOffsets reads the lines of a write to timens_offsets
// (timens_offsets_write's sscanf "%9s %lld %lu"), at most
// maxTimensOffsets, and returns them with the bytes they took: EINVAL for
// a line without the three values, nanoseconds of a second or more, or
// another clock.
func parseTimensOffsets(text string) ([]kernel.TimeOffset, int, error) {
	var offs []kernel.TimeOffset
	n := len(text)
	for pos := 0; pos < len(text); {
		end := strings.IndexByte(text[pos:], '\n')
		line, next := text[pos:], len(text)
		if end >= 0 {
			line, next = text[pos:pos+end], pos+end+1
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, 0, unix.EINVAL
		}
		sec, err1 := strconv.ParseInt(f[1], 10, 64)
		nsec, err2 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil || nsec >= uint64(time.Second) {
			return nil, 0, unix.EINVAL
		}
		clock := int32(-1)
		switch name := f[0][:min(len(f[0]), 9)]; name {
		case "monotonic", strconv.Itoa(unix.CLOCK_MONOTONIC):
			clock = unix.CLOCK_MONOTONIC
		case "boottime", strconv.Itoa(unix.CLOCK_BOOTTIME):
			clock = unix.CLOCK_BOOTTIME
		default:
			return nil, 0, unix.EINVAL
		}
		offs = append(offs, kernel.TimeOffset{Clock: clock, Offset: timespecDuration(sec, int64(nsec))})
		if len(offs) == maxTimensOffsets {
			n = next
			break
		}
		pos = next
	}
	return offs, n, nil
}

// timespecDuration is sec seconds and nsec nanoseconds, saturated at the
// ends of a time.Duration (whose ~292 years are within the range
// SetOffsets allows anyway).
func timespecDuration(sec, nsec int64) time.Duration {
	const maxSec = int64(1<<63-1) / int64(time.Second)
	switch {
	case sec > maxSec:
		return 1<<63 - 1
	case sec < -maxSec:
		return -1 << 63
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec)
}

// Release implements vfs.FileImpl.
func (timensOffsetsAccess) Release() {}
