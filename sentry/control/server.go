package control

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/sandbox"
	"runsc-lite/sentry/strace"
	"runsc-lite/sentry/usage"
)

// Server serves one sandbox's control socket.
type Server struct {
	S   *sandbox.Sandbox
	Log *slog.Logger
	// Level is the sentry log's level, which logging changes.
	Level *slog.LevelVar
	// StraceOut is where strace goes when logging turns it on.
	StraceOut io.Writer
	// PidsLimit is the sandbox's task limit, for usage.
	PidsLimit int

	metrics *metrics

	// mu guards execs and profiling.
	mu sync.Mutex
	// execs are the processes exec created, until a wait collects them.
	execs map[int]*kernel.ThreadGroup
	// profiling is set while a CPU profile or a trace runs (one at a time,
	// as runtime/pprof allows).
	profiling bool
}

// NewServer returns a server for s. It counts syscalls from now on, for
// metrics.
func NewServer(s *sandbox.Sandbox, log *slog.Logger, level *slog.LevelVar, straceOut io.Writer, pidsLimit int) (*Server, error) {
	srv := &Server{S: s, Log: log, Level: level, StraceOut: straceOut, PidsLimit: pidsLimit,
		execs: make(map[int]*kernel.ThreadGroup)}
	m, err := newMetrics(srv)
	if err != nil {
		return nil, err
	}
	srv.metrics = m
	s.K.SetSyscallCounter(srv.metrics)
	return srv, nil
}

// Serve accepts connections on the listening socket ln until it fails,
// each served on its own goroutine.
func (srv *Server) Serve(ln *os.File) error {
	fd := int(ln.Fd())
	for {
		nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
		switch {
		case err == unix.EINTR, err == unix.ECONNABORTED:
			continue
		case err != nil:
			runtime.KeepAlive(ln)
			return fmt.Errorf("control socket: %w", err)
		}
		go srv.serveConn(nfd)
	}
}

// serveConn answers the one request of a connection.
func (srv *Server) serveConn(fd int) {
	defer unix.Close(fd)
	c := fdConn(fd)
	var req Request
	fds, err := readFrame(c, &req)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			srv.Log.Info("control: a bad request", "err", err)
		}
		return
	}
	defer func() {
		for _, f := range fds {
			if f >= 0 {
				unix.Close(f)
			}
		}
	}()
	srv.Log.Debug("control", "method", req.Method)
	switch req.Method {
	case MethodEvents:
		srv.events(c, req)
		return
	case MethodAttach:
		srv.attach(fd, req)
		return
	}
	resp, err := srv.handle(req, fds)
	if err != nil {
		resp = Response{Error: err.Error()}
	}
	if err := writeFrame(c, resp, nil); err != nil {
		srv.Log.Info("control: answering", "method", req.Method, "err", err)
	}
}

// handle answers one request; fds are the descriptors that came with it.
func (srv *Server) handle(req Request, fds []int) (Response, error) {
	k := srv.S.K
	switch req.Method {
	case MethodStart:
		srv.S.Start()
		return Response{PID: srv.S.Init.TG.PID}, nil
	case MethodWait:
		return srv.wait(req.PID)
	case MethodSignal:
		return Response{}, srv.signal(req)
	case MethodDestroy:
		srv.S.Start() // a created sandbox ends too
		srv.S.Init.TG.Kill(int(unix.SIGKILL))
		return Response{}, nil
	case MethodExec:
		return srv.exec(req, fds)
	case MethodPs:
		return Response{Processes: srv.ps()}, nil
	case MethodUsage:
		u := srv.usage()
		return Response{Usage: &u}, nil
	case MethodMetrics:
		text, err := srv.metrics.text()
		return Response{Text: text}, err
	case MethodProfile:
		if len(fds) != 1 {
			return Response{}, errors.New("profile: want one descriptor, the output file")
		}
		f := os.NewFile(uintptr(fds[0]), "profile")
		fds[0] = -1
		defer f.Close()
		return Response{}, srv.profile(req, f)
	case MethodLogging:
		return Response{}, srv.logging(req)
	case MethodPause:
		// A freeze, not SIGSTOP: the application sees nothing.
		return Response{}, k.Freeze()
	case MethodResume:
		k.Thaw()
		return Response{}, nil
	case MethodNetwork:
		return Response{}, srv.network(req, fds)
	case MethodStacks:
		buf := make([]byte, 1<<20)
		return Response{Text: string(buf[:runtime.Stack(buf, true)])}, nil
	}
	return Response{}, fmt.Errorf("unknown method %q", req.Method)
}

// wait waits for process pid (0: the first) to end.
func (srv *Server) wait(pid int) (Response, error) {
	var tg *kernel.ThreadGroup
	if pid == 0 || pid == srv.S.Init.TG.PID {
		<-srv.S.Started()
		tg = srv.S.Init.TG
	} else {
		srv.mu.Lock()
		tg = srv.execs[pid]
		srv.mu.Unlock()
		if tg == nil {
			return Response{}, fmt.Errorf("no process %d that exec created and no wait collected", pid)
		}
	}
	st := tg.Wait()
	srv.mu.Lock()
	delete(srv.execs, pid)
	srv.mu.Unlock()
	return Response{Exit: &Exit{Code: st.Code, Signal: st.Signal}}, nil
}

// signal sends req.Signal to process req.PID (0: the first), or to every
// process.
func (srv *Server) signal(req Request) error {
	if req.Signal < 1 || req.Signal > 64 {
		return fmt.Errorf("signal %d: want 1 to 64", req.Signal)
	}
	k := srv.S.K
	si := kernel.NewSigInfo(int32(req.Signal), 0, 0, 0)
	if req.All {
		pids := k.PIDs(false)
		sort.Sort(sort.Reverse(sort.IntSlice(pids))) // init last
		for _, pid := range pids {
			if t := k.Task(pid); t != nil {
				t.TG.SendSignal(si)
			}
		}
		return nil
	}
	tg := srv.S.Init.TG
	if req.PID != 0 {
		t := k.Task(req.PID)
		if t == nil || t.TG.PID != req.PID {
			return fmt.Errorf("no process %d", req.PID)
		}
		tg = t.TG
	}
	if tg == srv.S.Init.TG && req.Signal == int(unix.SIGKILL) {
		// SIGKILL ends the sandbox even before start, as runc's kill of
		// a created container does.
		srv.S.Start()
	}
	tg.SendSignal(si)
	return nil
}

// exec creates and starts req.Process with descriptors fds as 0, 1, 2.
func (srv *Server) exec(req Request, fds []int) (Response, error) {
	if req.Process == nil || len(req.Process.Argv) == 0 {
		return Response{}, errors.New("exec: no command")
	}
	select {
	case <-srv.S.Started():
	default:
		return Response{}, errors.New("exec: the sandbox is not started")
	}
	stdio := [3]int{-1, -1, -1}
	copy(stdio[:], fds)
	tg, err := srv.S.Exec(*req.Process, stdio)
	if err != nil {
		return Response{}, err
	}
	srv.mu.Lock()
	srv.execs[tg.PID] = tg
	srv.mu.Unlock()
	return Response{PID: tg.PID}, nil
}

// ps lists the sandbox's processes by PID.
func (srv *Server) ps() []ProcessInfo {
	k := srv.S.K
	pids := k.PIDs(false)
	sort.Ints(pids)
	var out []ProcessInfo
	for _, pid := range pids {
		t := k.Task(pid)
		if t == nil {
			continue
		}
		user, sys := t.TG.CPUTime()
		mem, _ := t.MM().Mapped()
		out = append(out, ProcessInfo{
			PID: pid, PPID: t.PPIDIn(k.RootPIDNS()), UID: t.Creds().UID.Real, State: string(t.State()),
			CPU: user + sys, Memory: mem, Threads: t.TG.NumTasks(), Cmd: cmdline(t),
		})
	}
	return out
}

// cmdline is a process's command line, its arguments joined by spaces,
// or its name when its memory no longer holds them.
func cmdline(t *kernel.Task) string {
	r := t.MM().Argv
	if r[1] <= r[0] || r[1]-r[0] > 4096 {
		return t.Name()
	}
	b := make([]byte, r[1]-r[0])
	n, _ := t.MM().CopyIn(r[0], b)
	b = b[:n]
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	for i := range b {
		if b[i] == 0 {
			b[i] = ' '
		}
	}
	if len(b) == 0 {
		return t.Name()
	}
	return string(b)
}

// usage returns the sandbox's resource use.
func (srv *Server) usage() Usage {
	k := srv.S.K
	user, sys := k.CPUTime()
	return Usage{
		MemoryUsed: k.Memory.Used(), MemoryLimit: k.Memory.Limit(), MemoryRefused: k.Memory.Refused(), Memory: srv.memoryByKind(),
		User: user, System: sys, Tasks: k.NumTasks(), Processes: len(k.PIDs(false)), PidsLimit: srv.PidsLimit,
	}
}

// memoryByKind is Usage.Memory.
func (srv *Server) memoryByKind() map[string]uint64 {
	k := srv.S.K
	out := make(map[string]uint64)
	for _, kind := range usage.Kinds {
		out[kind.String()] = k.Memory.UsedBy(kind)
	}
	mapped, file := srv.mapped()
	out["mapped"], out["mapped_file"] = mapped, file
	return out
}

// mapped sums the mappings of every address space once (threads and
// vfork children share one): all of them, and those of host files.
func (srv *Server) mapped() (all, file uint64) {
	k := srv.S.K
	seen := make(map[*mm.MemoryManager]bool)
	for _, tid := range k.TIDs() {
		t := k.Task(tid)
		if t == nil {
			continue
		}
		m := t.MM()
		if m == nil || seen[m] {
			continue
		}
		seen[m] = true
		a, f := m.Mapped()
		all, file = all+a, file+f
	}
	return all, file
}

// profile writes the profile req.Profile to f.
func (srv *Server) profile(req Request, f *os.File) error {
	switch req.Profile {
	case "cpu", "trace":
		if req.Duration <= 0 || req.Duration > time.Hour {
			return fmt.Errorf("profile %s: the duration %v is not between 0 and an hour", req.Profile, req.Duration)
		}
		srv.mu.Lock()
		if srv.profiling {
			srv.mu.Unlock()
			return errors.New("profile: another CPU profile or trace is running")
		}
		srv.profiling = true
		srv.mu.Unlock()
		defer func() {
			srv.mu.Lock()
			srv.profiling = false
			srv.mu.Unlock()
		}()
		if req.Profile == "cpu" {
			if err := pprof.StartCPUProfile(f); err != nil {
				return fmt.Errorf("profile cpu: %w", err)
			}
			time.Sleep(req.Duration)
			pprof.StopCPUProfile()
			return nil
		}
		if err := trace.Start(f); err != nil {
			return fmt.Errorf("profile trace: %w", err)
		}
		time.Sleep(req.Duration)
		trace.Stop()
		return nil
	case "heap", "goroutine", "block", "mutex":
		p := pprof.Lookup(req.Profile)
		if p == nil {
			return fmt.Errorf("profile %s: none", req.Profile)
		}
		return p.WriteTo(f, 0)
	}
	return fmt.Errorf("profile %q: want cpu, heap, goroutine, block, mutex or trace", req.Profile)
}

// logging turns strace on or off and sets the log level.
func (srv *Server) logging(req Request) error {
	if req.Level != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(req.Level)); err != nil {
			return fmt.Errorf("log level %q: want debug, info, warn or error", req.Level)
		}
		if srv.Level == nil {
			return errors.New("log level: the sentry's log has no level to change")
		}
		srv.Level.Set(l)
	}
	if req.Strace != nil {
		if *req.Strace {
			srv.S.K.SetStrace(strace.New(srv.StraceOut, srv.S.K.Syscalls, strace.Options{}))
		} else {
			srv.S.K.SetStrace(nil)
		}
	}
	return nil
}

// events streams stats every req.Interval (0: none), an oom event when the
// memory limit refuses an allocation, and exit when the first process
// ends, until the client goes away or the sandbox ends.
func (srv *Server) events(c fdConn, req Request) {
	interval := req.Interval
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var statsAt time.Time
	refused := srv.S.K.Memory.Refused()
	exited := make(chan struct{})
	go func() {
		<-srv.S.Started()
		srv.S.Init.TG.Wait()
		close(exited)
	}()
	send := func(ev Event) bool {
		ev.Time = time.Now()
		return writeFrame(c, Response{Event: &ev}, nil) == nil
	}
	for {
		select {
		case <-exited:
			st := srv.S.Init.TG.Wait()
			send(Event{Type: "exit", Exit: &Exit{Code: st.Code, Signal: st.Signal}})
			return
		case now := <-tick.C:
			if r := srv.S.K.Memory.Refused(); r != refused {
				refused = r
				u := srv.usage()
				if !send(Event{Type: "oom", Usage: &u}) {
					return
				}
			}
			if interval > 0 && now.Sub(statsAt) >= interval {
				statsAt = now
				u := srv.usage()
				if !send(Event{Type: "stats", Usage: &u}) {
					return
				}
			}
		}
	}
}

// network gives the sandbox's stack the interfaces of the container's
// network namespace, each on its packet socket; only before start, so
// that no application sees them come.
func (srv *Server) network(req Request, fds []int) error {
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "packet-socket")
		fds[i] = -1
	}
	select {
	case <-srv.S.Started():
		for _, f := range files {
			f.Close()
		}
		return errors.New("network: the sandbox has started")
	default:
	}
	if err := srv.S.K.Net.AddLinks(req.Links, files); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	return nil
}
