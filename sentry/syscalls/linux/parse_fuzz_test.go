package linux

import (
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/usermem"
)

// Fuzz targets for the structures syscalls read from application memory
// whose length fields decide how much more is read or moved: the
// decoders are pure functions of the bytes copied in, so they run here
// without a task, gcc or seccomp. Exact errnos against Linux are checked
// by the differential tests (fileio.c, sockets.c, process.c).

// errnoIn reports whether err carries one of want.
func errnoIn(err error, want ...unix.Errno) bool {
	var e unix.Errno
	if !errors.As(err, &e) {
		return false
	}
	for _, w := range want {
		if e == w {
			return true
		}
	}
	return false
}

// le64 encodes words as little-endian uint64s.
func le64(words ...uint64) []byte {
	var b []byte
	for _, w := range words {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b
}

// iovecSize is sizeof(struct iovec).
var iovecSize = len(abi.AsBytes(&abi.Iovec{}))

// FuzzMsghdr decodes a struct msghdr and the iovec array after it, as
// sendmsg and recvmsg (and readv and writev, for the array) do. What
// decodes satisfies what the copy loops rely on: a name length within
// sockaddr_storage (zero without a name), at most UIO_MAXIOV buffers,
// lengths that are never negative, never longer than given, inside the
// user address space, cut only once the total reaches MAX_RW_COUNT, and
// the total their sum. What does not is EINVAL, EMSGSIZE or EFAULT, each
// for its reason.
func FuzzMsghdr(f *testing.F) {
	top := uint64(mm.TaskSize)
	f.Add(append(le64(0x1000, 16, 0x2000, 2, 0, 0, 0), le64(0x3000, 5, 0x4000, 7)...))
	f.Add(append(le64(0, ^uint64(0), 0x2000, 1, 0, 0, 0), le64(0x3000, 5)...))           // no name: any length
	f.Add(le64(0x1000, 0xffffffff, 0x2000, 0, 0, 0, 0))                                  // negative name length
	f.Add(le64(0x1000, 500, 0x2000, 1025, 0, 0, 0))                                      // too many buffers
	f.Add(append(le64(0, 0, 0x2000, 2, 0, 0, 0), le64(top-1, 2, 0x3000, 1)...))          // past the top
	f.Add(append(le64(0, 0, 0x2000, 2, 0, 0, 0), le64(^uint64(0), 2, 0x3000, 1<<63)...)) // wraps, then negative
	f.Add(append(le64(0, 0, 0x2000, 3, 0, 0, 0), le64(0x1000, 0x7ffff000, 0x1000, 10, top, 0)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var raw [unix.SizeofMsghdr]byte
		copy(raw[:], b)
		m, err := parseMsghdr(raw[:])
		var h abi.MsgHdr
		abi.Decode(raw[:], &h)
		name, namelen, iovlen := h.Name, int32(h.NameLen), h.IovLen
		switch {
		case err != nil:
			if !(errnoIn(err, unix.EINVAL) && name != 0 && namelen < 0) && !(errnoIn(err, unix.EMSGSIZE) && iovlen > linux.UIO_MAXIOV) {
				t.Fatalf("parseMsghdr: %v for name %#x of %d bytes, %d buffers", err, name, namelen, iovlen)
			}
		case m.namelen < 0 || m.namelen > linux.SockAddrMax || m.name == 0 && m.namelen != 0 || m.iovlen > linux.UIO_MAXIOV:
			t.Fatalf("parseMsghdr accepted %+v", m)
		}
		rest := b[min(len(b), int(unix.SizeofMsghdr)):]
		iovs := make([]abi.Iovec, min(len(rest)/iovecSize, int(min(iovlen, linux.UIO_MAXIOV))))
		copy(abi.SliceBytes(iovs), rest)
		rs, err := usermem.ImportIovecs(iovs)
		negative, outside := false, false
		for _, v := range iovs {
			negative = negative || int64(v.Len) < 0
			outside = outside || v.Base+v.Len < v.Base || v.Base+v.Len > top
		}
		if err != nil {
			if !(negative && errnoIn(err, unix.EINVAL)) && !(!negative && outside && errnoIn(err, unix.EFAULT)) {
				t.Fatalf("ImportIovecs: %v (a negative length: %v, a buffer outside: %v)", err, negative, outside)
			}
			return
		}
		if negative || outside || len(rs) != len(iovs) {
			t.Fatalf("ImportIovecs accepted %d buffers of %d (a negative length: %v, a buffer outside: %v)", len(rs), len(iovs), negative, outside)
		}
		sum, cut := 0, false
		for i, r := range rs {
			n := int(r.End - r.Start)
			if r.End < r.Start || uint64(n) > iovs[i].Len || uint64(r.Start) != iovs[i].Base {
				t.Fatalf("buffer %d: %+v from %+v", i, r, iovs[i])
			}
			cut = cut || uint64(n) < iovs[i].Len
			sum += n
		}
		if sum > usermem.MaxRW || cut && sum != usermem.MaxRW {
			t.Fatalf("buffers add up to %d, MAX_RW_COUNT %d, a length cut: %v", sum, usermem.MaxRW, cut)
		}
	})
}

// FuzzCloneArgs decodes clone3's struct clone_args of any size clone3
// lets through (64 bytes to a page). What decodes is what Task.Clone
// relies on: an exit signal from 0 to 64 and none for a thread or a
// sibling, no CSIGNAL bits or CLONE_DETACHED in the flags, and a stack
// pointer that is zero without a stack or the end of a stack inside the
// user address space. A nonzero byte past the known fields is E2BIG,
// whatever else is wrong; every other refusal is EINVAL.
func FuzzCloneArgs(f *testing.F) {
	f.Add(le64(unix.CLONE_VM|unix.CLONE_FS|unix.CLONE_FILES|unix.CLONE_SIGHAND|unix.CLONE_THREAD, 0, 0x1000, 0x2000, 0, 0x10000, 0x4000, 0x3000))
	f.Add(le64(0, 0, 0, 0, uint64(unix.SIGCHLD), 0, 0, 0, 0, 0, 0))
	f.Add(append(le64(0, 0, 0, 0, uint64(unix.SIGCHLD), 0, 0, 0, 0, 0, 0), make([]byte, 4096-88)...))
	f.Add(append(le64(0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0), 1))          // unknown field set
	f.Add(le64(linux.CLONE_INTO_CGROUP, 0, 0, 0, 0, 0, 0, 0))         // cgroup without its field
	f.Add(le64(linux.CLONE_DETACHED|17, 0, 0, 0, 0, 0, 0, 0))         // legacy bits
	f.Add(le64(0, 0, 0, 0, 1<<32|17, 0, 0, 0))                        // exit signal's upper bits
	f.Add(le64(0, 0, 0, 0, 0, uint64(mm.TaskSize)-0x1000, 0x2000, 0)) // stack past the top
	f.Add(le64(0, 0, 0, 0, 0, 0, 0, 0, 0x1000, 33, 0))                // set_tid_size
	f.Add(le64(linux.CLONE_SIGHAND|linux.CLONE_CLEAR_SIGHAND, 0, 0, 0, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < linux.CLONE_ARGS_SIZE_VER0 || len(b) > 4096 {
			return // clone3 refuses these sizes before reading anything
		}
		a, _, err := parseCloneArgs(b)
		extra := false
		for _, x := range b[min(len(b), cloneArgsSize):] {
			extra = extra || x != 0
		}
		if err != nil {
			if extra != errnoIn(err, unix.E2BIG) || !extra && !errnoIn(err, unix.EINVAL) {
				t.Fatalf("parseCloneArgs: %v; a nonzero byte past the known fields: %v", err, extra)
			}
			return
		}
		stack, size := binary.LittleEndian.Uint64(b[40:]), binary.LittleEndian.Uint64(b[48:])
		switch {
		case extra:
			t.Fatal("parseCloneArgs accepted unknown fields")
		case a.ExitSignal < 0 || a.ExitSignal > 64, a.Flags&(unix.CLONE_THREAD|unix.CLONE_PARENT) != 0 && a.ExitSignal != 0:
			t.Fatalf("exit signal %d with flags %#x", a.ExitSignal, a.Flags)
		case a.Flags&(linux.CLONE_DETACHED|linux.CSIGNAL&^unix.CLONE_NEWTIME) != 0:
			t.Fatalf("flags %#x", a.Flags)
		case stack == 0 && (size != 0 || a.Stack != 0),
			stack != 0 && (uint64(a.Stack) != stack+size || size == 0 || a.Stack > mm.TaskSize || uint64(a.Stack) < stack):
			t.Fatalf("stack %#x of %#x bytes gave stack pointer %#x", stack, size, a.Stack)
		}
	})
}
