package unix

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	sys "golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// releaseCount is a file that counts its releases.
type releaseCount struct{ n *int }

func (r releaseCount) ReadAt(ctx context.Context, p []byte, off int64) (int, error) { return 0, nil }
func (r releaseCount) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return len(p), nil
}
func (r releaseCount) Release() { *r.n++ }

// cmsg encodes one control message.
func cmsg(level, typ int32, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(sys.SizeofCmsghdr+len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(level))
	b = binary.LittleEndian.AppendUint32(b, uint32(typ))
	b = append(b, data...)
	return append(b, make([]byte, cmsgAlign(len(b))-len(b))...)
}

func ints(v ...int32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

// controlSeeds are control messages and receive buffer sizes.
func controlSeeds() []struct {
	b    []byte
	room int
} {
	rights := cmsg(sys.SOL_SOCKET, sys.SCM_RIGHTS, ints(0, 1, 2, 3))
	creds := cmsg(sys.SOL_SOCKET, sys.SCM_CREDENTIALS, ints(7, 0, 0))
	both := append(append([]byte(nil), creds...), rights...)
	other := cmsg(sys.SOL_IP, 1, ints(5))
	return []struct {
		b    []byte
		room int
	}{
		{rights, 64},
		{rights, 20},                   // room for one descriptor
		{rights, 15},                   // not even a header
		{both, 40},                     // credentials, then truncated rights
		{both, 1 << 21},                // beyond BuildControl's bound
		{append(other, rights...), 64}, // another level is skipped
		{cmsg(sys.SOL_SOCKET, sys.SCM_RIGHTS, ints(0, 9)), 64},                    // EBADF
		{cmsg(sys.SOL_SOCKET, sys.SCM_CREDENTIALS, ints(99, 0, 0)), 64},           // EPERM
		{cmsg(sys.SOL_SOCKET, sys.SCM_CREDENTIALS, ints(1, 2)), 64},               // EINVAL
		{cmsg(sys.SOL_SOCKET, 77, nil), 64},                                       // EINVAL
		{rights[:20], 64},                                                         // length past the end
		{cmsg(sys.SOL_SOCKET, sys.SCM_RIGHTS, make([]byte, 4*(MaxRights+1))), 64}, // too many
	}
}

// checkControl parses b as sendmsg's control data against a table of four
// descriptors (0 to 3) and a claim check that refuses pid 99; what parses
// is sent on a datagram pair with SO_PASSCRED and received into room
// bytes of control buffer. Invariants: errors carry an errno and keep no
// reference; what BuildControl writes fits the buffer, is a well-formed
// sequence of control messages, and holds exactly the descriptors
// installed, in the order sent, MSG_CTRUNC set iff some were not; every
// reference is dropped exactly once in the end.
func checkControl(t *testing.T, b []byte, room int) {
	var released [4]int
	files := make([]*vfs.File, len(released))
	for i := range files {
		files[i] = vfs.NewFile(nil, nil, nil, releaseCount{&released[i]}, sys.O_RDWR)
	}
	defer func() {
		for i, f := range files {
			f.DecRef()
			if released[i] != 1 {
				t.Errorf("descriptor %d released %d times, want once: a reference leaked or was dropped twice", i, released[i])
			}
		}
	}()
	lookup := func(fd int32) (*vfs.File, error) {
		if fd < 0 || int(fd) >= len(files) {
			return nil, sys.EBADF
		}
		files[fd].IncRef()
		return files[fd], nil
	}
	claim := func(cr *Cred) error {
		if cr.PID == 99 {
			return sys.EPERM
		}
		return nil
	}
	ctl, err := ParseControl(b, lookup, claim)
	if err != nil {
		var errno sys.Errno
		if !errors.As(err, &errno) || ctl != nil {
			t.Fatalf("ParseControl = %v, %v: want an errno and no control", ctl, err)
		}
		return
	}
	if len(ctl.Rights) > MaxRights {
		t.Fatalf("ParseControl took %d descriptors, more than %d", len(ctl.Rights), MaxRights)
	}
	sent := append([]*vfs.File(nil), ctl.Rights...)
	x, y, done := pair(t, sys.SOCK_DGRAM)
	defer done()
	if err := y.SetOption(sys.SO_PASSCRED, ints(1)); err != nil {
		t.Fatal(err)
	}
	_, sendErr := x.Send(context.Background(), []byte{1}, ctl, "", false)
	for _, f := range ctl.Rights {
		f.DecRef() // the message took its own references
	}
	if sendErr != nil {
		return
	}
	r, err := y.Recv(make([]byte, 1), false)
	if err != nil {
		t.Fatalf("Recv after a successful Send: %v", err)
	}
	var installed []*vfs.File
	out, trunc := BuildControl(&r, uint64(room), func(f *vfs.File) (int32, error) {
		f.IncRef()
		installed = append(installed, f)
		return int32(100 + len(installed) - 1), nil
	})
	defer func() {
		for _, f := range installed {
			f.DecRef()
		}
	}()
	if uint64(len(out)) > uint64(room) || len(out) > maxControlOut {
		t.Fatalf("BuildControl wrote %d bytes in a buffer of %d", len(out), room)
	}
	var fds []int32
	for off := 0; off+sys.SizeofCmsghdr <= len(out); {
		clen := binary.LittleEndian.Uint64(out[off:])
		if clen < sys.SizeofCmsghdr || clen > uint64(len(out)-off) {
			t.Fatalf("BuildControl wrote a message of %d bytes at %d of %d", clen, off, len(out))
		}
		if typ := int32(binary.LittleEndian.Uint32(out[off+12:])); typ == sys.SCM_RIGHTS {
			data := out[off+sys.SizeofCmsghdr : off+int(clen)]
			for i := 0; i+4 <= len(data); i += 4 {
				fds = append(fds, int32(binary.LittleEndian.Uint32(data[i:])))
			}
		} else if typ != sys.SCM_CREDENTIALS {
			t.Fatalf("BuildControl wrote message type %d", typ)
		}
		off += cmsgAlign(int(clen))
	}
	if len(fds) != len(installed) {
		t.Fatalf("%d descriptors written, %d installed", len(fds), len(installed))
	}
	for i, f := range installed {
		if f != sent[i] || fds[i] != int32(100+i) {
			t.Fatalf("descriptor %d: installed %p as %d, sent %p", i, f, fds[i], sent[i])
		}
	}
	if len(installed) < len(sent) && !trunc {
		t.Errorf("%d of %d descriptors delivered without MSG_CTRUNC", len(installed), len(sent))
	}
}

// TestControlErrors checks ParseControl's errnos, as Linux's __scm_send
// returns them.
func TestControlErrors(t *testing.T) {
	want := []sys.Errno{0, 0, 0, 0, 0, 0, sys.EBADF, sys.EPERM, sys.EINVAL, sys.EINVAL, sys.EINVAL, sys.EINVAL}
	for i, c := range controlSeeds() {
		f := vfs.NewFile(nil, nil, nil, releaseCount{new(int)}, sys.O_RDWR)
		lookup := func(fd int32) (*vfs.File, error) {
			if fd < 0 || fd > 3 {
				return nil, sys.EBADF
			}
			f.IncRef()
			return f, nil
		}
		ctl, err := ParseControl(c.b, lookup, func(cr *Cred) error {
			if cr.PID == 99 {
				return sys.EPERM
			}
			return nil
		})
		var errno sys.Errno
		errors.As(err, &errno)
		if errno != want[i] {
			t.Errorf("seed %d: %v, want %v", i, err, want[i])
		}
		if ctl != nil {
			for _, r := range ctl.Rights {
				r.DecRef()
			}
		}
	}
}
