package unix

import (
	"fmt"
	"runtime"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"

	"runsc-lite/sentry/vfs"
)

// Control messages (cmsg(3)) as sendmsg reads them and recvmsg writes
// them, apart from application memory so that they can be tested and
// fuzzed alone: every length in them is the application's.

// maxControlOut bounds what BuildControl writes, whatever msg_controllen
// says.
const maxControlOut = 1 << 20

// cmsgAlign rounds n up as CMSG_ALIGN does on x86-64.
func cmsgAlign(n int) int { return (n + 7) &^ 7 }

// ParseControl reads the control messages in b (msg_control, already
// checked against net.core.optmem_max) as Linux's __scm_send does: a
// header whose length is below its own size or past the end is EINVAL;
// SCM_RIGHTS takes at most MaxRights descriptors in all, each looked up
// with file (EBADF for a bad one); SCM_CREDENTIALS must be exactly a
// struct ucred that claim accepts (and may rewrite); other SOL_SOCKET types are EINVAL and
// other levels are skipped. The rights are new references the caller
// drops; on error none is left.
func ParseControl(b []byte, file func(fd int32) (*vfs.File, error), claim func(*Cred) error) (ctl *Control, err error) {
	ctl = &Control{}
	defer func() {
		if err != nil {
			for _, f := range ctl.Rights {
				f.DecRef()
			}
			ctl = nil
		}
	}()
	for off := 0; off+sys.SizeofCmsghdr <= len(b); {
		var h sys.Cmsghdr
		abi.Decode(b[off:], &h)
		clen := h.Len
		if clen < sys.SizeofCmsghdr || clen > uint64(len(b)-off) {
			return ctl, fmt.Errorf("control message of %d bytes at %d of %d: %w", clen, off, len(b), sys.EINVAL)
		}
		data := b[off+sys.SizeofCmsghdr : off+int(clen)]
		if h.Level == sys.SOL_SOCKET {
			switch h.Type {
			case sys.SCM_RIGHTS:
				if err := addRights(ctl, data, file); err != nil {
					return ctl, err
				}
			case sys.SCM_CREDENTIALS:
				if len(data) != sys.SizeofUcred {
					return ctl, fmt.Errorf("SCM_CREDENTIALS of %d bytes: %w", len(data), sys.EINVAL)
				}
				var uc linux.ControlMessageCredentials
				abi.Decode(data, &uc)
				cr := Cred{PID: uc.PID, UID: uc.UID, GID: uc.GID}
				if err := claim(&cr); err != nil {
					return ctl, err
				}
				ctl.Cred = &cr
			default:
				return ctl, fmt.Errorf("control message type %d: %w", h.Type, sys.EINVAL)
			}
		}
		off += cmsgAlign(int(clen))
	}
	return ctl, nil
}

// addRights takes a reference to each descriptor of an SCM_RIGHTS
// payload (whole ints only, as Linux counts them).
func addRights(ctl *Control, data []byte, file func(fd int32) (*vfs.File, error)) error {
	fds := make([]int32, len(data)/4)
	if len(ctl.Rights)+len(fds) > MaxRights {
		return fmt.Errorf("%d descriptors in one message: %w", len(ctl.Rights)+len(fds), sys.EINVAL)
	}
	copy(abi.SliceBytes(fds), data)
	for _, fd := range fds {
		f, err := file(fd)
		if err != nil {
			return err
		}
		ctl.Rights = append(ctl.Rights, f)
	}
	return nil
}

// BuildControl writes what recvmsg returns as control messages for r in
// at most n bytes (msg_controllen), as Linux's put_cmsg and scm_recv: r's
// Extra messages, then SCM_CREDENTIALS, then SCM_RIGHTS with as many descriptors as fit and install
// accepts; a message cut short keeps its truncated length. It reports
// whether anything was cut (MSG_CTRUNC). r's rights are dropped: those
// installed live on in the descriptor table.
func BuildControl(r *Received, n uint64, install func(f *vfs.File) (int32, error)) ([]byte, bool) {
	defer r.Drop()
	var b []byte
	trunc := false
	room := func() int { return int(min(n, maxControlOut)) - len(b) }
	put := func(level, typ int32, data []byte) {
		if room() < sys.SizeofCmsghdr {
			trunc = true
			return
		}
		l := sys.SizeofCmsghdr + len(data)
		if room() < l {
			trunc = true
			l = room()
		}
		h := abi.Encode(sys.Cmsghdr{Len: uint64(l), Level: level, Type: typ})
		b = append(append(b, h...), data[:l-sys.SizeofCmsghdr]...)
		if pad := min(cmsgAlign(l)-l, room()); pad > 0 {
			b = append(b, make([]byte, pad)...)
		}
	}
	for _, m := range r.Extra {
		put(m.Level, m.Type, m.Data)
	}
	if r.Cred != nil {
		put(sys.SOL_SOCKET, sys.SCM_CREDENTIALS, abi.Encode(sys.Ucred{Pid: r.Cred.PID, Uid: r.Cred.UID, Gid: r.Cred.GID}))
	}
	if len(r.Rights) == 0 {
		return b, trunc
	}
	fit := max(room()-sys.SizeofCmsghdr, 0) / 4
	var fds []int32
	for _, f := range r.Rights[:min(fit, len(r.Rights))] {
		fd, err := install(f)
		if err != nil {
			break
		}
		fds = append(fds, fd)
	}
	if len(fds) < len(r.Rights) {
		trunc = true
	}
	if len(fds) > 0 {
		put(sys.SOL_SOCKET, sys.SCM_RIGHTS, abi.SliceBytes(fds))
		runtime.KeepAlive(fds)
	}
	return b, trunc
}
