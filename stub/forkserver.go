package stub

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/bpf"

	"runsc-lite/vdso"
)

// Forkserver starts stub processes. It is one host process, started from the
// stub image, that clones a child for every request; see c/forkserver.c.
//
// A stub process is known by the pidfd the kernel made when it was cloned,
// never by a number a stub wrote: every pidfd is checked with the kernel
// (PIDFD_GET_INFO) to name a live process whose parent is this forkserver
// and that no other address space has. The forkserver reaps a stub only
// when asked (Reap), so its pid cannot be reused while the sentry may still
// use it.
type Forkserver struct {
	mu   sync.Mutex // serializes requests on sock
	sock int
	cmd  *exec.Cmd

	stopOnce sync.Once // Close's kill and wait

	liveMu sync.Mutex       // guards live
	live   map[int]struct{} // pids of stub processes not yet reaped

	// joined delivers the result of Confinement.Cgroup, which runs while
	// the forkserver sets itself up; spawn waits for it (joinOnce, joinErr).
	joined   chan error
	joinOnce sync.Once
	joinErr  error

	// VDSO and VVAR are where the host kernel mapped the vDSO and its data
	// pages; every stub process has them at the same addresses.
	VDSO, VVAR Range
	// VDSOImage is the vDSO's bytes, read from the forkserver before it
	// ran anything but stub code: what every stub's vDSO held at its
	// start, whatever its application made of it since.
	VDSOImage []byte
}

// Range is [Start, End).
type Range struct{ Start, End uintptr }

// Process is a stub process: its pid in the caller's PID namespace, proved
// by the kernel, and a pidfd for it.
type Process struct {
	Pid   int
	Pidfd int
}

// StartForkserver starts a forkserver, confined as c says, whose stub
// processes install filter, the seccomp program every stub process
// installs before it runs anything but stub code.
func StartForkserver(filter []bpf.Instruction, c Confinement) (*Forkserver, error) {
	if len(filter) == 0 || len(filter) > maxFilter {
		return nil, fmt.Errorf("stub seccomp program has %d instructions, want 1 to %d", len(filter), maxFilter)
	}
	syms, err := LoadSymbols()
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("forkserver socketpair: %w", err)
	}
	child := os.NewFile(uintptr(fds[1]), "forkserver-socket")
	defer child.Close()
	f := &Forkserver{sock: fds[0], live: make(map[int]struct{})}
	if err := f.start(child, c); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	if c.Cgroup != nil {
		// Moving a process into a cgroup can wait for an RCU grace period
		// (milliseconds); the forkserver starts no stub meanwhile.
		f.joined = make(chan error, 1)
		pid := f.cmd.Process.Pid
		go func() { f.joined <- c.Cgroup(pid) }()
	}
	if err := f.init(syms, filter, c); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// waitJoined waits until the forkserver is in the sandbox's cgroup, if it
// is to be in one.
func (f *Forkserver) waitJoined() error {
	if f.joined == nil {
		return nil
	}
	f.joinOnce.Do(func() {
		if err := <-f.joined; err != nil {
			f.joinErr = fmt.Errorf("moving the stub forkserver into the sandbox's cgroup: %w", err)
		}
	})
	return f.joinErr
}

// launcher runs process starts on one OS thread that never exits: the kernel
// sends PR_SET_PDEATHSIG when the *thread* that forked a process exits, and
// Go may end threads (a goroutine that exits while locked to one).
var launcher = sync.OnceValue(func() chan func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread()
		for f := range ch {
			f()
		}
	}()
	return ch
})

func (f *Forkserver) start(sock *os.File, c Confinement) error {
	mfd, err := unix.MemfdCreate("runsc-lite-stub", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return fmt.Errorf("memfd for the stub image: %w", err)
	}
	img := os.NewFile(uintptr(mfd), "runsc-lite-stub")
	defer img.Close()
	if _, err := img.Write(image); err != nil {
		return fmt.Errorf("writing the stub image: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(mfd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_GROW|unix.F_SEAL_SHRINK|unix.F_SEAL_SEAL); err != nil {
		return fmt.Errorf("sealing the stub image: %w", err)
	}
	// The image is executed as the child's descriptor 0: a path to any
	// other number of ours could name another file by then, since the
	// child moves descriptors about before the exec (os/exec puts its
	// internal pipe above the highest of ExtraFiles, over whatever is
	// there).
	attr := &syscall.SysProcAttr{
		Pdeathsig: syscall.SIGKILL,
		// Its own process group: a terminal's Ctrl-C must reach the sentry,
		// which forwards it, not the stub processes directly.
		Setpgid: true,
	}
	if c.Namespaces {
		attr.Cloneflags = namespaceFlags
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: c.UID, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: c.GID, Size: 1}}
		// Root of the new user namespace, and so with every capability in
		// it across the exec, until it drops them.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	// The socket stands in for stdout and stderr, which the forkserver
	// closes with stdin: nil would have exec open /dev/null, which a
	// sentry in an empty root does not have.
	f.cmd = &exec.Cmd{
		Path:        "/proc/self/fd/0",
		Args:        []string{"runsc-lite-forkserver"},
		Env:         []string{},
		Stdin:       img,
		Stdout:      sock,
		Stderr:      sock,
		ExtraFiles:  []*os.File{sock}, // fd 3
		SysProcAttr: attr,
	}
	done := make(chan error)
	launcher() <- func() { done <- f.cmd.Start() }
	if err := <-done; err != nil {
		return fmt.Errorf("starting the stub forkserver: %w", err)
	}
	return nil
}

// init unmaps everything the kernel gave the forkserver but its own image,
// the vDSO and the vsyscall page, hands it the stub seccomp program, and
// has it confine itself.
func (f *Forkserver) init(syms Symbols, filter []bpf.Instruction, c Confinement) error {
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", f.cmd.Process.Pid))
	if err != nil {
		return fmt.Errorf("reading the forkserver's mappings: %w", err)
	}
	var w wireInit
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		var start, end uint64
		if _, err := fmt.Sscanf(fields[0], "%x-%x", &start, &end); err != nil {
			return fmt.Errorf("parsing forkserver mapping %q: %w", sc.Text(), err)
		}
		name := ""
		if len(fields) >= 6 {
			name = fields[5]
		}
		switch {
		case name == "[vdso]":
			f.VDSO = Range{uintptr(start), uintptr(end)}
		case name == "[vvar]" || name == "[vvar_vclock]":
			if f.VVAR.Start == 0 || uintptr(start) < f.VVAR.Start {
				f.VVAR.Start = uintptr(start)
			}
			f.VVAR.End = max(f.VVAR.End, uintptr(end))
		case start >= ImageBase && end <= uint64(syms.ImageEnd):
		case start >= 1<<47: // [vsyscall], not in the user address space
		default:
			if w.NUnmap == maxUnmap {
				return fmt.Errorf("forkserver has more than %d mappings to remove", maxUnmap)
			}
			w.Unmap[w.NUnmap] = [2]uint64{start, end - start}
			w.NUnmap++
		}
	}
	var rights []byte
	if c.VDSOParams != nil && f.VDSO.End > f.VDSO.Start {
		if err := f.replaceVDSO(&w); err != nil {
			return err
		}
		rights = unix.UnixRights(int(c.VDSOParams.Fd()))
	} else if f.VDSO.End > f.VDSO.Start {
		if f.VDSOImage, err = readMemory(f.cmd.Process.Pid, f.VDSO); err != nil {
			return fmt.Errorf("reading the forkserver's vDSO: %w", err)
		}
	}
	w.FilterLen = uint32(len(filter))
	copy(w.Filter[:], filter)
	if c.Namespaces {
		own, err := forkserverFilter(syms)
		if err != nil {
			return err
		}
		w.Flags |= initConfine
		w.ClockOffsets = [2]int64{int64(c.MonotonicOffset), int64(c.BoottimeOffset)}
		w.OwnFilterLen = uint32(len(own))
		copy(w.OwnFilter[:], own)
		if len(c.Hostname) >= len(w.Hostname) {
			return fmt.Errorf("hostname %q is too long", c.Hostname)
		}
		copy(w.Hostname[:], c.Hostname)
	}
	n, err := wireRlimits(&w.Rlimits, c.Rlimits)
	if err != nil {
		return err
	}
	w.NRlimits = n
	b, err := encode(&w)
	if err != nil {
		return err
	}
	err = unix.Sendmsg(f.sock, b, rights, nil, 0)
	runtime.KeepAlive(c.VDSOParams)
	if err != nil {
		return fmt.Errorf("initializing the forkserver: %w", err)
	}
	r, _, err := f.reply()
	if err != nil {
		return err
	}
	if r.Err != 0 {
		step := map[int32]string{1: "pivoting into an empty root", 2: "setting the hostname",
			3: "dropping privileges", 4: "installing its seccomp program", 5: "making its time namespace",
			6: "mapping the sandbox's vDSO"}[r.Pid]
		return fmt.Errorf("confining the stub forkserver: %s: %w", step, unix.Errno(r.Err))
	}
	return nil
}

// replaceVDSO has the forkserver unmap the host's vDSO and vvar pages and
// map vdso.Image, with its parameters page one page before it, where the
// vvar pages were (not at the host vDSO's address: the host kernel still
// takes that range for its vDSO, whose exception table it consults on
// faults there). It sets VDSO, VVAR and VDSOImage to what will be mapped.
func (f *Forkserver) replaceVDSO(w *wireInit) error {
	const page = 4096
	size := (uintptr(len(vdso.Image)) + page - 1) &^ (page - 1)
	if len(vdso.Image) > maxVDSO || f.VVAR.End-f.VVAR.Start < page+size {
		return fmt.Errorf("the sandbox's %d-byte vDSO does not fit in the host's vvar pages (%#x-%#x)", len(vdso.Image), f.VVAR.Start, f.VVAR.End)
	}
	for _, r := range []Range{f.VVAR, f.VDSO} {
		if w.NUnmap == maxUnmap {
			return fmt.Errorf("forkserver has more than %d mappings to remove", maxUnmap)
		}
		w.Unmap[w.NUnmap] = [2]uint64{uint64(r.Start), uint64(r.End - r.Start)}
		w.NUnmap++
	}
	w.Flags |= initVDSO
	w.VDSOParams = uint64(f.VVAR.Start)
	w.VDSOAddr = uint64(f.VVAR.Start + page)
	w.VDSOLen = uint32(len(vdso.Image))
	copy(w.VDSO[:], vdso.Image)
	f.VVAR = Range{f.VVAR.Start, f.VVAR.Start + page}
	f.VDSO = Range{f.VVAR.End, f.VVAR.End + size}
	f.VDSOImage = append(make([]byte, 0, size), vdso.Image...)
	f.VDSOImage = f.VDSOImage[:size]
	return nil
}

// reply reads one fs_reply and the descriptor that may come with it.
func (f *Forkserver) reply() (wireReply, int, error) {
	var r wireReply
	buf := make([]byte, binary.Size(r))
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(f.sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return r, -1, fmt.Errorf("reading from the forkserver: %w", err)
	}
	if n != len(buf) {
		return r, -1, errors.New("the stub forkserver exited or sent a short reply")
	}
	fd := -1
	if fds, err := parseRights(oob[:oobn]); err == nil && len(fds) == 1 {
		fd = fds[0]
	}
	_ = binary.Read(bytes.NewReader(buf), binary.LittleEndian, &r)
	return r, fd, nil
}

// parseRights returns the descriptors of an SCM_RIGHTS control message.
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		// unix.ParseUnixRights indexes past its slice when the data is not
		// whole descriptors (found by FuzzParseRights).
		if len(msgs[i].Data)%4 != 0 {
			return nil, fmt.Errorf("control message of %d bytes is not a list of descriptors", len(msgs[i].Data))
		}
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return nil, err
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// Spawn starts a stub process that serves requests on ctl and maps rofd
// and rwfd as its shared region (sysmsg). The descriptors stay open in the
// caller.
func (f *Forkserver) Spawn(req Request, ctl, rofd, rwfd int) (Process, error) {
	return f.spawn(req, modeStub, ctl, rofd, rwfd)
}

// SpawnPtrace starts a stub process for the ptrace platform: it has ctl as
// its control socket, no shared region and no signal handlers, and waits in
// the stub's ptrace_wait loop to be traced (see Symbols.PtraceSite). ctl
// stays open in the caller.
func (f *Forkserver) SpawnPtrace(req Request, ctl int) (Process, error) {
	return f.spawn(req, modePtrace, ctl)
}

func (f *Forkserver) spawn(req Request, mode uint32, fds ...int) (Process, error) {
	if err := f.waitJoined(); err != nil {
		return Process{}, err
	}
	b, err := req.encode(mode)
	if err != nil {
		return Process{}, err
	}
	r, pidfd, err := f.request(b, fds)
	if err != nil {
		return Process{}, err
	}
	if r.Err != 0 || pidfd < 0 {
		if pidfd >= 0 {
			unix.Close(pidfd)
		}
		return Process{}, fmt.Errorf("forkserver could not start a stub process: %w", unix.Errno(r.Err))
	}
	return f.Adopt(pidfd)
}

// request sends one request with fds and reads the reply.
func (f *Forkserver) request(b []byte, fds []int) (wireReply, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sock < 0 {
		return wireReply{}, -1, errors.New("the stub forkserver is closed")
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(f.sock, b, oob, nil, 0); err != nil {
		return wireReply{}, -1, fmt.Errorf("sending the stub forkserver a request: %w", err)
	}
	return f.reply()
}

// Adopt takes pidfd, which a stub sent or the forkserver made, as a new
// stub process once the kernel confirms it is one: a process (not a
// thread) whose parent is this forkserver, and not already a known stub.
// Otherwise it closes pidfd and fails. On success the forkserver keeps the
// process unreaped until Reap.
func (f *Forkserver) Adopt(pidfd int) (Process, error) {
	info, err := pidfdInfo(pidfd)
	if err == nil && (info.Pid != info.Tgid || int(info.Ppid) != f.Pid()) {
		err = fmt.Errorf("pidfd names process %d (thread group %d, parent %d), not a child of the forkserver %d",
			info.Pid, info.Tgid, info.Ppid, f.Pid())
	}
	if err == nil {
		f.liveMu.Lock()
		if _, dup := f.live[int(info.Pid)]; dup {
			err = fmt.Errorf("pidfd names stub process %d, which is already in use", info.Pid)
		} else {
			f.live[int(info.Pid)] = struct{}{}
		}
		f.liveMu.Unlock()
	}
	if err != nil {
		unix.Close(pidfd)
		return Process{}, fmt.Errorf("a stub process's identity: %w", err)
	}
	return Process{Pid: int(info.Pid), Pidfd: pidfd}, nil
}

// Reap has the forkserver reap p, which must have exited, and forgets it.
// It does not close p.Pidfd. After Reap the pid may name another process.
func (f *Forkserver) Reap(p Process) error {
	b, err := encode(&wireRequest{Mode: modeReap})
	if err == nil {
		var r wireReply
		r, _, err = f.request(b, []int{p.Pidfd})
		if err == nil && r.Err != 0 {
			err = unix.Errno(r.Err)
		}
	}
	f.liveMu.Lock()
	delete(f.live, p.Pid)
	f.liveMu.Unlock()
	if err != nil {
		return fmt.Errorf("reaping stub process %d: %w", p.Pid, err)
	}
	return nil
}

// RecvPidfd reads the pidfd a stub's syscall thread sends after a fork
// request (c/stub_amd64.S: .Lfork) and adopts it. Nothing else in the
// message is used.
func (f *Forkserver) RecvPidfd(ctl int) (Process, error) {
	fd, err := RecvFD(ctl)
	if err != nil {
		return Process{}, fmt.Errorf("reading the forked stub's pidfd: %w", err)
	}
	return f.Adopt(fd)
}

// RecvFD reads one message a stub's syscall thread sent on its control
// socket ctl without waiting: one byte and one descriptor, which the caller
// owns. It fails with unix.EAGAIN when no message is there. What the
// descriptor is, the caller asks the kernel.
func RecvFD(ctl int) (int, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(ctl, buf, oob, unix.MSG_CMSG_CLOEXEC|unix.MSG_DONTWAIT)
	if err != nil {
		return -1, err
	}
	fds, err := parseRights(oob[:oobn])
	if err != nil || len(fds) != 1 || n != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return -1, errors.New("stub sent a malformed message")
	}
	return fds[0], nil
}

// Close stops the forkserver; its stub processes die with it. Requests
// made meanwhile or later fail at once.
//
// It waits for the forkserver without holding mu. The forkserver is the
// init of the stubs' PID namespace, and as it dies the kernel waits until
// every stub in it is reaped; a stub thread traced by the sentry is reaped
// only when its tracer collects it, which the sentry does in Release,
// just before it asks for a Reap. Holding mu here would deadlock with a
// task releasing its address space (seen with a fork bomb on ptrace).
func (f *Forkserver) Close() error {
	f.mu.Lock()
	if f.sock >= 0 {
		unix.Close(f.sock)
		f.sock = -1
	}
	f.mu.Unlock()
	f.stopOnce.Do(func() {
		if f.cmd.Process == nil {
			return
		}
		pgid := f.cmd.Process.Pid
		f.cmd.Process.Kill()
		f.cmd.Wait()
		waitGroupGone(pgid)
	})
	return nil
}

// waitGroupGone kills what is left of the forkserver's process group (stub
// processes, whose PR_SET_PDEATHSIG kill is under way) and waits, up to a
// few seconds, until the host has reaped all of it, so that a sandbox's
// processes are gone when the sandbox is.
func waitGroupGone(pgid int) {
	unix.Kill(-pgid, unix.SIGKILL)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if unix.Kill(-pgid, 0) == unix.ESRCH {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Pid is the forkserver's process ID.
func (f *Forkserver) Pid() int { return f.cmd.Process.Pid }

// readMemory reads r of process pid's memory.
func readMemory(pid int, r Range) ([]byte, error) {
	b := make([]byte, r.End-r.Start)
	n, err := unix.ProcessVMReadv(pid, []unix.Iovec{{Base: &b[0], Len: uint64(len(b))}},
		[]unix.RemoteIovec{{Base: r.Start, Len: len(b)}}, 0)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, fmt.Errorf("read %d of %d bytes", n, len(b))
	}
	return b, nil
}
