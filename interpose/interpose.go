// Package interpose is the stable API for watching and changing the
// syscalls of a sandboxed program, for research on syscall emulation.
//
// A program registers hooks on a Hooks value, per syscall number or for
// All, and hands it to whatever runs the application: the sentry
// (sandbox.Config.Hooks), or a host monitor (package monitor: seccomp user
// notification or ptrace). A before-hook sees the Call: the task (pid, tid,
// credentials, executable), the number, name and six argument registers,
// and the task's memory through Memory and the typed Read and Write. It
// returns an Action: Continue (with Args possibly changed), Deny(errno), or
// Return(value) to answer the call itself (emulate it) without the kernel
// running it. An after-hook sees the Result and how long the call took, and
// may replace it.
//
// Hooks run on the task's own goroutine (in the sentry) or the monitor's,
// synchronously: the task waits for them. They are the embedding program's
// code and have its power: in the sentry they run with the sentry's
// privileges and can read and write every byte of the application's memory,
// so they must treat that memory as hostile input (it can change under
// them, from another thread of the application) and must not block
// forever. Hooks may be added while the application runs, from any
// goroutine, and removed as a Group; when none is registered, dispatch does
// not look at them at all beyond one pointer test.
//
// A program may also attach its hooks to a sandbox running in another
// process, through the sandbox's control socket: control.Client.Attach
// (package runsc-lite/sentry/control) runs them in the calling program,
// with Call.Mem reaching the task's memory over the connection, and the
// sentry waits for each answer at most a timeout before it detaches them.
package interpose

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// All registers a hook for every syscall.
const All = ^uintptr(0)

// Task describes the task making a call, as the sandbox sees it (the
// sandbox's pids and ids; a host monitor's are the host's).
type Task struct {
	PID, TID  int // thread group and thread
	UID, EUID uint32
	GID, EGID uint32
	Exe       string // the executable's path
}

// Memory is the calling task's address space. Reads and writes fail with
// EFAULT on addresses the application did not map.
type Memory interface {
	CopyIn(addr uintptr, dst []byte) error
	CopyOut(addr uintptr, src []byte) error
}

// Call is one syscall on its way in. Hooks may change Args before the
// kernel runs the call.
type Call struct {
	Task Task
	Nr   uintptr
	Name string
	Args [6]uintptr
	Mem  Memory
	// Killed is closed when the task is killed (SIGKILL, or its process
	// exiting): a hook waiting for something outside the sandbox should
	// stop waiting then. A nil channel never closes.
	Killed <-chan struct{}
}

// String reads argument i as a NUL-terminated string of at most max bytes.
func (c *Call) String(i int, max int) (string, error) { return ReadString(c.Mem, c.Args[i], max) }

type actionKind uint8

const (
	actContinue actionKind = iota
	actDeny
	actReturn
)

// Action is what a before-hook decides.
type Action struct {
	kind  actionKind
	errno unix.Errno
	value uintptr
}

// Continue lets the call run, with the Call's Args (changed or not).
func Continue() Action { return Action{} }

// Deny fails the call with errno, without running it.
func Deny(errno unix.Errno) Action { return Action{kind: actDeny, errno: errno} }

// Return answers the call with value, without running it: the hook has
// emulated it.
func Return(value uintptr) Action { return Action{kind: actReturn, value: value} }

// Answered reports whether the action answers the call (Deny or Return),
// and with what.
func (a Action) Answered() (value uintptr, errno unix.Errno, ok bool) {
	switch a.kind {
	case actDeny:
		return 0, a.errno, true
	case actReturn:
		return a.value, 0, true
	}
	return 0, 0, false
}

// Result is how a call ended. An after-hook may change Value and Errno.
type Result struct {
	Value    uintptr    // the return value when Errno is 0
	Errno    unix.Errno // 0: success
	Duration time.Duration
	// Answered says a before-hook answered the call; the kernel did not
	// run it.
	Answered bool
	// Unknown says the host kernel ran the call and its result is not
	// seen (a seccomp-notify monitor that let it continue); changing the
	// result then has no effect.
	Unknown bool
}

// BeforeFunc is a before-hook.
type BeforeFunc func(c *Call) Action

// AfterFunc is an after-hook.
type AfterFunc func(c *Call, r *Result)

// Hooks is a set of hooks. The zero value is empty and ready; it may gain
// and lose hooks while a sandbox runs. Its methods are safe for concurrent
// use.
type Hooks struct {
	mu     sync.Mutex              // serializes changes of set and groups
	set    atomic.Pointer[hookSet] // replaced, never changed, so tasks read it without a lock; nil when empty
	groups uint64                  // the last Group's id
}

// before and after are registered hooks, with the group that added them
// (0: Hooks' own Before and After, never removed).
type before struct {
	f     BeforeFunc
	group uint64
}

type after struct {
	f     AfterFunc
	group uint64
}

// hookSet is one generation of the hooks; never changed once published.
type hookSet struct {
	before    map[uintptr][]before
	after     map[uintptr][]after
	beforeAll []before
	afterAll  []after
}

// Before registers f to run before syscall nr (or All), after the hooks
// registered before it.
func (h *Hooks) Before(nr uintptr, f BeforeFunc) { h.addBefore(nr, before{f: f}) }

// After registers f to run after syscall nr (or All).
func (h *Hooks) After(nr uintptr, f AfterFunc) { h.addAfter(nr, after{f: f}) }

func (h *Hooks) addBefore(nr uintptr, b before) {
	h.update(func(s *hookSet) {
		if nr == All {
			s.beforeAll = append(s.beforeAll, b)
		} else {
			s.before[nr] = append(s.before[nr], b)
		}
	})
}

func (h *Hooks) addAfter(nr uintptr, a after) {
	h.update(func(s *hookSet) {
		if nr == All {
			s.afterAll = append(s.afterAll, a)
		} else {
			s.after[nr] = append(s.after[nr], a)
		}
	})
}

// Group is hooks added to a Hooks together, to be removed together: a
// client of the control server that attaches its hooks and goes away.
type Group struct {
	h  *Hooks
	id uint64
}

// Group returns a new, empty group of h.
func (h *Hooks) Group() *Group {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.groups++
	return &Group{h: h, id: h.groups}
}

// Before registers f in the group, as Hooks.Before.
func (g *Group) Before(nr uintptr, f BeforeFunc) { g.h.addBefore(nr, before{f: f, group: g.id}) }

// After registers f in the group, as Hooks.After.
func (g *Group) After(nr uintptr, f AfterFunc) { g.h.addAfter(nr, after{f: f, group: g.id}) }

// Remove removes the group's hooks: calls that start from now on do not
// run them (a call already in one finishes it). When no hook is left, the
// Hooks is empty again and dispatch skips it at the cost of one load.
func (g *Group) Remove() {
	g.h.update(func(s *hookSet) {
		keepB := func(fs []before) []before {
			return slices.DeleteFunc(fs, func(b before) bool { return b.group == g.id })
		}
		keepA := func(fs []after) []after {
			return slices.DeleteFunc(fs, func(a after) bool { return a.group == g.id })
		}
		for nr, fs := range s.before {
			if s.before[nr] = keepB(fs); len(s.before[nr]) == 0 {
				delete(s.before, nr)
			}
		}
		for nr, fs := range s.after {
			if s.after[nr] = keepA(fs); len(s.after[nr]) == 0 {
				delete(s.after, nr)
			}
		}
		s.beforeAll, s.afterAll = keepB(s.beforeAll), keepA(s.afterAll)
	})
}

// update publishes a copy of the current set changed by change (nil when
// it leaves no hook).
func (h *Hooks) update(change func(*hookSet)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := &hookSet{before: map[uintptr][]before{}, after: map[uintptr][]after{}}
	if old := h.set.Load(); old != nil {
		for nr, fs := range old.before {
			n.before[nr] = slices.Clone(fs)
		}
		for nr, fs := range old.after {
			n.after[nr] = slices.Clone(fs)
		}
		n.beforeAll = slices.Clone(old.beforeAll)
		n.afterAll = slices.Clone(old.afterAll)
	}
	change(n)
	if len(n.before) == 0 && len(n.after) == 0 && len(n.beforeAll) == 0 && len(n.afterAll) == 0 {
		n = nil
	}
	h.set.Store(n)
}

// Watches reports whether any hook applies to syscall nr. A nil Hooks
// watches nothing.
func (h *Hooks) Watches(nr uintptr) bool {
	if h == nil {
		return false
	}
	s := h.set.Load()
	if s == nil {
		return false
	}
	return len(s.beforeAll) > 0 || len(s.afterAll) > 0 || len(s.before[nr]) > 0 || len(s.after[nr]) > 0
}

// Numbers returns the syscall numbers hooks are registered for, and
// whether a hook is registered for All. A monitor asks the host kernel to
// stop exactly these.
func (h *Hooks) Numbers() (nrs []uintptr, all bool) {
	r := h.Registered()
	seen := map[uintptr]bool{}
	for _, nr := range append(r.Before, r.After...) {
		if !seen[nr] {
			seen[nr] = true
			nrs = append(nrs, nr)
		}
	}
	slices.Sort(nrs)
	return nrs, r.BeforeAll || r.AfterAll
}

// Registered says which hooks h has now.
type Registered struct {
	Before, After       []uintptr // syscall numbers with before-hooks, with after-hooks
	BeforeAll, AfterAll bool      // whether hooks for All are registered
}

// Registered returns which hooks h has now, numbers sorted.
func (h *Hooks) Registered() Registered {
	var r Registered
	s := h.set.Load()
	if s == nil {
		return r
	}
	for nr := range s.before {
		r.Before = append(r.Before, nr)
	}
	for nr := range s.after {
		r.After = append(r.After, nr)
	}
	slices.Sort(r.Before)
	slices.Sort(r.After)
	r.BeforeAll, r.AfterAll = len(s.beforeAll) > 0, len(s.afterAll) > 0
	return r
}

// Invoke runs c through the hooks: the before-hooks in order until one
// answers, then run (with c.Args as the hooks left them) unless a hook
// answered, then the after-hooks; it returns the result they leave. run
// is the kernel's handling of the call. The sentry calls it for a watched
// syscall; a monitor, which cannot run a call from a function, calls
// RunBefore and RunAfter.
func (h *Hooks) Invoke(c *Call, run func(args [6]uintptr) (uintptr, unix.Errno)) Result {
	start := time.Now()
	var r Result
	if v, errno, ok := h.RunBefore(c).Answered(); ok {
		r.Value, r.Errno, r.Answered = v, errno, true
	} else {
		r.Value, r.Errno = run(c.Args)
	}
	r.Duration = time.Since(start)
	h.RunAfter(c, &r)
	return r
}

// RunBefore runs the before-hooks of c (those for All first, then those
// for c.Nr, each in the order registered) until one answers, and returns
// its action, or Continue.
func (h *Hooks) RunBefore(c *Call) Action {
	s := h.set.Load()
	if s == nil {
		return Continue()
	}
	for _, fs := range [2][]before{s.beforeAll, s.before[c.Nr]} {
		for _, b := range fs {
			if a := b.f(c); a.kind != actContinue {
				return a
			}
		}
	}
	return Continue()
}

// RunAfter runs the after-hooks of c on r, in the same order.
func (h *Hooks) RunAfter(c *Call, r *Result) {
	s := h.set.Load()
	if s == nil {
		return
	}
	for _, fs := range [2][]after{s.afterAll, s.after[c.Nr]} {
		for _, a := range fs {
			a.f(c, r)
		}
	}
}
