package control

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/sentry/sandbox"
	"runsc-lite/sentry/socket/inet"
)

// MaxFrame bounds a frame's JSON.
const MaxFrame = 16 << 20

// maxFDs bounds the descriptors a request carries: exec's stdio, or
// network's packet sockets.
const maxFDs = inet.MaxLinks

// Methods.
const (
	MethodStart   = "start"   // start the first process
	MethodWait    = "wait"    // wait for process PID (0: the first) to end
	MethodSignal  = "signal"  // send Signal to PID (0: the first), or to every process with All
	MethodDestroy = "destroy" // kill every process: the sandbox ends
	MethodExec    = "exec"    // create and start Process, descriptors 0-2 attached
	MethodPs      = "ps"      // the processes
	MethodUsage   = "usage"   // memory and CPU
	MethodMetrics = "metrics" // Prometheus text
	MethodProfile = "profile" // Profile for Duration, into the attached file
	MethodLogging = "logging" // Strace on or off, Level
	MethodEvents  = "events"  // a stream: stats every Interval, oom, exit
	MethodPause   = "pause"   // stop every task
	MethodResume  = "resume"  // continue every task
	MethodStacks  = "stacks"  // the sentry's goroutine stacks
	MethodAttach  = "attach"  // a stream: Attach's syscalls as HookEvents, HookReplies back
	MethodNetwork = "network" // before start: Links, each on its attached packet socket
)

// Request is one call.
type Request struct {
	Method   string
	PID      int              `json:",omitempty"`
	Signal   int              `json:",omitempty"`
	All      bool             `json:",omitempty"`
	Process  *sandbox.Process `json:",omitempty"`
	Profile  string           `json:",omitempty"` // cpu, heap, goroutine, block, mutex, trace
	Duration time.Duration    `json:",omitempty"`
	Strace   *bool            `json:",omitempty"`
	Level    string           `json:",omitempty"` // debug, info, warn, error
	Interval time.Duration    `json:",omitempty"`
	Attach   *AttachSpec      `json:",omitempty"`
	Links    []inet.Link      `json:",omitempty"`
}

// Response is the answer to one call, or one event of a stream.
type Response struct {
	Error     string        `json:",omitempty"`
	PID       int           `json:",omitempty"`
	Exit      *Exit         `json:",omitempty"`
	Processes []ProcessInfo `json:",omitempty"`
	Usage     *Usage        `json:",omitempty"`
	Text      string        `json:",omitempty"`
	Event     *Event        `json:",omitempty"`
}

// Exit is how a process ended.
type Exit struct {
	Code   int // exit code, when Signal is 0
	Signal int
}

// Status is the exit status a shell would report: 128+N for signal N.
func (e Exit) Status() int {
	if e.Signal != 0 {
		return 128 + e.Signal
	}
	return e.Code
}

// ProcessInfo is one process, as ps shows it.
type ProcessInfo struct {
	PID, PPID int
	UID       uint32
	State     string // R, S, T, Z
	CPU       time.Duration
	Memory    uint64 // bytes mapped
	Threads   int
	Cmd       string
}

// Usage is the sandbox's resource use.
type Usage struct {
	MemoryUsed, MemoryLimit uint64
	MemoryRefused           uint64 // allocations refused at the limit
	// Memory is the memory by kind, in bytes, from the sentry's own
	// accounting: what is charged to the sandbox (anon, shmem, files,
	// pipes: usage.Kind; they add up to MemoryUsed) and what its address
	// spaces map (mapped, and mapped_file of it backed by host files).
	// Page tables are the host's and not known here.
	Memory           map[string]uint64
	User, System     time.Duration
	Tasks, Processes int
	PidsLimit        int
}

// Event is one event of the stream.
type Event struct {
	Type  string    // stats, oom, exit
	Time  time.Time // when
	Usage *Usage    `json:",omitempty"`
	Exit  *Exit     `json:",omitempty"`
}

// AttachSpec says which syscalls a hook client watches (as
// interpose.Registered) and how long the sentry waits for each answer.
type AttachSpec struct {
	interpose.Registered
	// Timeout bounds the wait for each of the client's frames about an
	// event (a memory request or the verdict): 0 is DefaultHookTimeout,
	// at most MaxHookTimeout.
	Timeout time.Duration `json:",omitempty"`
}

// Hook timeouts, and the bound on one memory request.
const (
	DefaultHookTimeout = 5 * time.Second
	MaxHookTimeout     = time.Minute
	MaxHookMemory      = 64 << 10
)

// HookEvent is a frame the sentry sends an attached client, after the
// Response that accepts the attach: a call stopped before or after the
// kernel ran it, or the answer to the client's memory request about one.
type HookEvent struct {
	ID     uint64          // the call's, unique in the connection
	After  bool            `json:",omitempty"` // the call has run: Result is set
	Task   *interpose.Task `json:",omitempty"`
	Nr     uintptr         `json:",omitempty"`
	Name   string          `json:",omitempty"`
	Args   [6]uintptr
	Result *HookResult `json:",omitempty"`
	Mem    *MemAnswer  `json:",omitempty"` // the answer to a memory request
	// Detached, the last frame, says why the sentry detached the hooks.
	Detached string `json:",omitempty"`
}

// HookResult is a call's result, as interpose.Result.
type HookResult struct {
	Value    uintptr
	Errno    int           `json:",omitempty"`
	Duration time.Duration `json:",omitempty"`
	Answered bool          `json:",omitempty"`
}

// MemAnswer is what a memory request got: the bytes read, or an errno.
type MemAnswer struct {
	Data  []byte `json:",omitempty"`
	Errno int    `json:",omitempty"`
}

// HookReply is a frame an attached client sends about event ID: a memory
// request (Read or Write), answered by a HookEvent with Mem, or the
// verdict, which ends the event.
type HookReply struct {
	ID    uint64
	Read  *MemRequest `json:",omitempty"`
	Write *MemRequest `json:",omitempty"`
	// The verdict before the call: Action, with Args for continue, Value
	// for return, Errno for deny.
	Action string `json:",omitempty"` // continue, deny, return
	Args   [6]uintptr
	Value  uintptr
	Errno  int `json:",omitempty"`
	// The verdict after the call: the result the hooks leave.
	Result *HookResult `json:",omitempty"`
}

// MemRequest reads Len bytes at Addr, or writes Data there.
type MemRequest struct {
	Addr uintptr
	Len  int    `json:",omitempty"`
	Data []byte `json:",omitempty"`
}

// msgConn is a connection that carries ancillary data.
type msgConn interface {
	readMsg(p, oob []byte) (n, oobn int, err error)
	writeMsg(p, oob []byte) error
}

// fdConn is a blocking socket descriptor (the server's side).
type fdConn int

func (c fdConn) readMsg(p, oob []byte) (int, int, error) {
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(c), p, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		return n, oobn, err
	}
}

func (c fdConn) writeMsg(p, oob []byte) error {
	for len(p) > 0 || len(oob) > 0 {
		n, err := unix.SendmsgN(int(c), p, oob, nil, unix.MSG_NOSIGNAL)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		p, oob = p[n:], nil
	}
	return nil
}

// writeFrame sends v as a frame with descriptors fds.
func writeFrame(c msgConn, v any, fds []int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > MaxFrame {
		return fmt.Errorf("a frame of %d bytes, more than %d", len(b), MaxFrame)
	}
	msg := make([]byte, 4+len(b))
	binary.LittleEndian.PutUint32(msg, uint32(len(b)))
	copy(msg[4:], b)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return c.writeMsg(msg, oob)
}

// readFrame reads a frame into v and returns the descriptors that came
// with it (at most maxFDs; any beyond are closed).
func readFrame(c msgConn, v any) ([]int, error) {
	var hdr [4]byte
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	n, oobn, err := c.readMsg(hdr[:], oob)
	if err != nil {
		return nil, err
	}
	fds, ferr := parseRights(oob[:oobn])
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if ferr != nil {
		closeAll()
		return nil, ferr
	}
	if n == 0 {
		closeAll()
		return nil, io.EOF
	}
	for n < 4 {
		m, _, err := c.readMsg(hdr[n:], nil)
		if err != nil || m == 0 {
			closeAll()
			return nil, io.ErrUnexpectedEOF
		}
		n += m
	}
	size := binary.LittleEndian.Uint32(hdr[:])
	if size > MaxFrame {
		closeAll()
		return nil, fmt.Errorf("a frame of %d bytes, more than %d", size, MaxFrame)
	}
	body := make([]byte, size)
	for got := 0; got < int(size); {
		m, _, err := c.readMsg(body[got:], nil)
		if err != nil || m == 0 {
			closeAll()
			return nil, io.ErrUnexpectedEOF
		}
		got += m
	}
	if err := json.Unmarshal(body, v); err != nil {
		closeAll()
		return nil, fmt.Errorf("decoding a frame: %w", err)
	}
	return fds, nil
}

// parseRights returns the descriptors of SCM_RIGHTS messages in oob.
func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("ancillary data: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		fds = append(fds, got...)
	}
	if len(fds) > maxFDs {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("too many descriptors attached")
	}
	return fds, nil
}
