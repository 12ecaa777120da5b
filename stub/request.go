package stub

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/bpf"
)

// Confinement is what a forkserver and every stub process it starts share
// on the host. It carries the parts of sandbox2's forkserver request that
// fit stub processes: namespaces, identity, hostname, resource limits, no
// capabilities, and the mount tree, which for a stub is always an empty
// read-only root: a stub opens no file, so no mount could serve it.
//
// The namespaces are the forkserver's, made once when it starts, not one
// set per stub process: a network namespace alone costs a millisecond to
// make and more to tear down, and every execve starts a stub.
type Confinement struct {
	// Namespaces starts the forkserver in new user, pid, mount, ipc, uts,
	// net and cgroup namespaces, in an empty read-only root, with no
	// capabilities, no_new_privs and a seccomp program of its own. It is
	// the init of its PID namespace, so every stub dies with it.
	Namespaces bool
	// UID and GID are the IDs, in the caller's user namespace, that the
	// forkserver and stubs run as (root of their own user namespace, with
	// no capabilities). With Namespaces only.
	UID, GID int
	// Hostname is set in the new UTS namespace when not empty.
	Hostname string
	// MonotonicOffset and BoottimeOffset, when either is not 0, put the
	// stubs in a time namespace of their own whose CLOCK_MONOTONIC and
	// CLOCK_BOOTTIME are the host's plus these, as the sentry's clocks
	// are (package sentry/clocks): a host clock read in a stub then tells
	// the sandbox's time, not the host's uptime.
	MonotonicOffset, BoottimeOffset time.Duration
	// Rlimits apply to the forkserver and so to every stub process.
	Rlimits []Rlimit
	// VDSOParams, when set, is the sandbox's vDSO parameters page (package
	// sentry/clocks): the forkserver then replaces the host's vDSO and
	// vvar pages with vdso.Image and this page, read-only, before any stub
	// starts. The caller keeps it.
	VDSOParams *os.File
	// Cgroup, when set, moves the forkserver (and so every stub process it
	// starts) into the sandbox's cgroup, before it starts any. It runs on
	// a goroutine of its own while the forkserver sets itself up.
	Cgroup func(pid int) error
}

// Request says how to start one stub process.
type Request struct {
	// Rlimits are applied to this stub process on top of the
	// Confinement's.
	Rlimits []Rlimit
}

// Rlimit is one resource limit (unix.RLIMIT_*).
type Rlimit struct {
	Resource int
	Cur, Max uint64
}

// Wire-format sizes; c/stub.h has the same.
const (
	maxRlimits  = 16
	maxUnmap    = 32
	maxFilter   = 512
	maxVDSO     = 8192
	modeStub    = 1
	modePtrace  = 2
	modeReap    = 3
	initConfine = 1
	initVDSO    = 2
)

// The Go mirrors of struct fs_request and friends in c/stub.h.
type wireRlimit struct {
	Resource uint32
	_        uint32
	Cur, Max uint64
}

type wireRequest struct {
	Mode     uint32
	NRlimits uint32
	Rlimits  [maxRlimits]wireRlimit
}

type wireInit struct {
	Unmap        [maxUnmap][2]uint64
	NUnmap       uint32
	Flags        uint32
	Hostname     [72]byte
	NRlimits     uint32
	OwnFilterLen uint32
	Rlimits      [maxRlimits]wireRlimit
	FilterLen    uint32
	_            uint32
	OwnFilter    [maxFilter]bpf.Instruction
	Filter       [maxFilter]bpf.Instruction
	ClockOffsets [2]int64
	VDSOParams   uint64
	VDSOAddr     uint64
	VDSOLen      uint32
	_            uint32
	VDSO         [maxVDSO]byte
}

type wireReply struct {
	Pid int32
	Err int32
}

func wireRlimits(dst *[maxRlimits]wireRlimit, src []Rlimit) (uint32, error) {
	if len(src) > maxRlimits {
		return 0, fmt.Errorf("%d rlimits: at most %d", len(src), maxRlimits)
	}
	for i, l := range src {
		dst[i] = wireRlimit{Resource: uint32(l.Resource), Cur: l.Cur, Max: l.Max}
	}
	return uint32(len(src)), nil
}

func (r *Request) encode(mode uint32) ([]byte, error) {
	w := wireRequest{Mode: mode}
	n, err := wireRlimits(&w.Rlimits, r.Rlimits)
	if err != nil {
		return nil, err
	}
	w.NRlimits = n
	return encode(&w)
}

func encode(w any) ([]byte, error) {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, w); err != nil {
		return nil, fmt.Errorf("encoding a forkserver message: %w", err)
	}
	return b.Bytes(), nil
}

// namespaceFlags are the namespaces a confined forkserver gets.
const namespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// Nobody is the host identity that confined stubs run as when the caller
// may choose one: the overflow uid and gid, which own no file.
const Nobody = 65534

// DefaultConfinement confines stubs in namespaces of their own, as Nobody
// when the caller is root in a user namespace that maps it, else as the
// caller itself (the only identity an unprivileged caller can map).
func DefaultConfinement() Confinement {
	c := Confinement{Namespaces: true, UID: os.Geteuid(), GID: os.Getegid()}
	if c.UID == 0 && idMapped("/proc/self/uid_map", Nobody) && idMapped("/proc/self/gid_map", Nobody) {
		c.UID, c.GID = Nobody, Nobody
	}
	return c
}

// idMapped reports whether id (as the caller sees it) is in the id map.
func idMapped(path string, id int) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		var inside, outside, n int
		if _, err := fmt.Sscan(line, &inside, &outside, &n); err == nil && id >= inside && id-inside < n {
			return true
		}
	}
	return false
}
