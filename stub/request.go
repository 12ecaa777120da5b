package stub

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/bpf"
)

// Request says how to start a stub process. It carries what a sandbox's
// forkserver needs (as sandbox2's does): namespaces to create, resource
// limits, capabilities to keep, hostname and mounts.
//
// The forkserver applies CloneFlags, Rlimits, KeepCaps and Hostname (the
// latter only in a new UTS namespace). Mounts are carried by the wire format
// but not applied yet, so a request with mounts is refused rather than
// silently weakened.
type Request struct {
	// CloneFlags are namespace flags (unix.CLONE_NEW*) for the new process.
	CloneFlags uint64
	// KeepCaps is the set of capabilities (bit n = capability n) the stub
	// keeps; a stub needs none, so the zero value drops them all.
	// AllCaps keeps the caller's.
	KeepCaps uint64
	Rlimits  []Rlimit
	Hostname string
	Mounts   []Mount
}

// AllCaps as Request.KeepCaps keeps every capability.
const AllCaps = ^uint64(0)

// Rlimit is one resource limit (unix.RLIMIT_*).
type Rlimit struct {
	Resource int
	Cur, Max uint64
}

// Mount describes one mount to make in the stub's mount namespace.
type Mount struct {
	Source, Target, FSType string
	Flags                  uint64
}

// Wire-format sizes; c/stub.h has the same.
const (
	maxRlimits = 16
	maxMounts  = 8
	maxUnmap   = 32
	maxFilter  = 512
	modeStub   = 1
	modePtrace = 2
)

const namespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// The Go mirrors of struct fs_request and friends in c/stub.h.
type wireRlimit struct {
	Resource uint32
	_        uint32
	Cur, Max uint64
}

type wireMount struct {
	Source [128]byte
	Target [128]byte
	FSType [32]byte
	Flags  uint64
}

type wireRequest struct {
	Mode       uint32
	NRlimits   uint32
	CloneFlags uint64
	KeepCaps   uint64
	Rlimits    [maxRlimits]wireRlimit
	Hostname   [72]byte
	NMounts    uint32
	_          uint32
	Mounts     [maxMounts]wireMount
}

type wireInit struct {
	Unmap     [maxUnmap][2]uint64
	NUnmap    uint32
	FilterLen uint32
	Filter    [maxFilter]bpf.Instruction
}

type wireReply struct {
	Pid int32
	Err int32
}

func (r *Request) encode(mode uint32) ([]byte, error) {
	if r.CloneFlags&^namespaceFlags != 0 {
		return nil, fmt.Errorf("clone flags %#x: only namespace flags are allowed", r.CloneFlags)
	}
	if len(r.Rlimits) > maxRlimits {
		return nil, fmt.Errorf("%d rlimits: at most %d", len(r.Rlimits), maxRlimits)
	}
	if r.Hostname != "" && r.CloneFlags&unix.CLONE_NEWUTS == 0 {
		return nil, errors.New("a hostname needs a new UTS namespace (CLONE_NEWUTS)")
	}
	if len(r.Mounts) > 0 {
		return nil, errors.New("mount descriptions are not applied by the forkserver yet")
	}
	w := wireRequest{Mode: mode, NRlimits: uint32(len(r.Rlimits)), CloneFlags: r.CloneFlags, KeepCaps: r.KeepCaps}
	for i, l := range r.Rlimits {
		w.Rlimits[i] = wireRlimit{Resource: uint32(l.Resource), Cur: l.Cur, Max: l.Max}
	}
	if len(r.Hostname) >= len(w.Hostname) {
		return nil, fmt.Errorf("hostname %q is too long", r.Hostname)
	}
	copy(w.Hostname[:], r.Hostname)
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, &w); err != nil {
		return nil, fmt.Errorf("encoding forkserver request: %w", err)
	}
	return b.Bytes(), nil
}
