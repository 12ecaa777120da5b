// Package strace shows an application's syscalls as strace(1) -f does:
// names, flags and constants by name, strings with strace's escapes cut at
// 32 bytes, buffers once the call has filled them, structures, argv,
// decimal results and errnos with their messages, delivered signals, the
// ends of tasks, <unfinished ...> and <... resumed> when the calls of
// several tasks interleave, a [pid N] prefix while there are several,
// and -e trace=, -T and -c. The Decoder is shared with the host monitors
// (package monitor).
package strace

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
)

// Options are strace's options the tracer has.
type Options struct {
	// Filter, when not nil, is the set of syscalls shown (ParseFilter).
	Filter map[uintptr]bool
	// Timing appends the time spent in each call, <0.000012> (-T).
	Timing bool
	// Summary counts calls instead of showing them, and Finish prints
	// the table (-c).
	Summary bool
}

// Tracer writes to w.
type Tracer struct {
	dec  Decoder
	opts Options

	mu sync.Mutex // guards w and the fields below: one line at a time
	w  io.Writer
	// open is the task whose line was begun and not ended, 0 if none;
	// openCol is how many columns of it were written.
	open    int
	openCol int
	// entered are the tasks in a syscall: when it began and its line's
	// name, for <... NAME resumed>.
	entered map[int]entry
	// summary are the counts of -c, by syscall name.
	summary map[string]*stats
}

type entry struct {
	start time.Time
	shown bool // the call's line was begun (the filter shows it)
}

// New returns a tracer that writes to w, naming syscalls with table.
func New(w io.Writer, table *kernel.SyscallTable, opts Options) *Tracer {
	return &Tracer{dec: Decoder{Table: table}, opts: opts, w: w, entered: map[int]entry{}, summary: map[string]*stats{}}
}

// shows reports whether syscall nr's lines are shown.
func (tr *Tracer) shows(nr uintptr) bool {
	return !tr.opts.Summary && (tr.opts.Filter == nil || tr.opts.Filter[nr])
}

// prefix is strace's "[pid N] ", while the sandbox has several tasks;
// gone is 1 when t itself has already left the kernel's count.
func prefix(t *kernel.Task, gone int) string {
	if t.K.NumTasks()+gone > 1 {
		return fmt.Sprintf("[pid %5d] ", t.TID)
	}
	return ""
}

// interrupt ends a line another task began with " <unfinished ...>".
// Called with mu held.
func (tr *Tracer) interrupt(tid int) {
	if tr.open != 0 && tr.open != tid {
		io.WriteString(tr.w, " <unfinished ...>\n")
	}
	if tr.open != tid {
		tr.open = 0
	}
}

// SyscallEnter implements kernel.Tracer.
func (tr *Tracer) SyscallEnter(t *kernel.Task, nr uintptr, args kernel.SyscallArguments) {
	show := tr.shows(nr)
	var text string
	if show {
		// Decoded before the lock: it reads application memory.
		text = prefix(t, 0) + tr.dec.Enter(nr, args, uintptr(t.Regs.Rsp), t.Memory())
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.entered[t.TID] = entry{start: time.Now(), shown: show}
	if show {
		tr.interrupt(t.TID)
		io.WriteString(tr.w, text)
		tr.open, tr.openCol = t.TID, utf8.RuneCountInString(text)
	}
}

// SyscallExit implements kernel.Tracer.
func (tr *Tracer) SyscallExit(t *kernel.Task, nr uintptr, args kernel.SyscallArguments, ret uintptr, err error) {
	errno, _ := err.(unix.Errno)
	tr.mu.Lock()
	e, ok := tr.entered[t.TID]
	delete(tr.entered, t.TID)
	tr.mu.Unlock()
	if !ok {
		e.start = time.Now()
	}
	took := time.Since(e.start)
	if tr.opts.Summary {
		tr.mu.Lock()
		s := tr.summary[tr.dec.Table.Name(nr)]
		if s == nil {
			s = &stats{}
			tr.summary[tr.dec.Table.Name(nr)] = s
		}
		s.calls++
		s.time += took
		if errno != 0 {
			s.errors++
		}
		tr.mu.Unlock()
		return
	}
	if !e.shown {
		return
	}
	dead := false
	select {
	case <-t.Killed():
		dead = !isExitCall(nr)
	default:
	}
	rest, result := tr.dec.Exit(nr, args, t.Memory(), ret, errno, dead)
	if tr.opts.Timing {
		result += fmt.Sprintf(" <%.6f>", took.Seconds())
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.open == t.TID {
		io.WriteString(tr.w, rest+Equals(tr.openCol+utf8.RuneCountInString(rest))+result+"\n")
	} else {
		tr.interrupt(t.TID)
		line := fmt.Sprintf("%s<... %s resumed>%s", prefix(t, 0), tr.dec.Table.Name(nr), rest)
		io.WriteString(tr.w, line+Equals(utf8.RuneCountInString(line))+result+"\n")
	}
	tr.open = 0
}

func isExitCall(nr uintptr) bool { return nr == unix.SYS_EXIT || nr == unix.SYS_EXIT_GROUP }

// Signal implements kernel.Tracer: a signal delivered to t.
func (tr *Tracer) Signal(t *kernel.Task, si *linux.SignalInfo) {
	if tr.opts.Summary {
		return
	}
	tr.line(t, SignalLine(si))
}

// TaskExit implements kernel.Tracer: t ended with st.
func (tr *Tracer) TaskExit(t *kernel.Task, st kernel.ExitStatus) {
	if tr.opts.Summary {
		return
	}
	tr.lineFor(t, prefix(t, 1), ExitLine(st))
}

// SignalLine is strace's line for a delivered signal: --- SIGCHLD {...} ---.
func SignalLine(si *linux.SignalInfo) string {
	return fmt.Sprintf("--- %s %s ---", signalName(int(si.Signo)), siginfo(si))
}

// ExitLine is strace's line for the end of a task.
func ExitLine(st kernel.ExitStatus) string {
	if st.Signal != 0 {
		return fmt.Sprintf("+++ killed by %s +++", signalName(st.Signal))
	}
	return fmt.Sprintf("+++ exited with %d +++", st.Code)
}

// Exec shows the sandbox's first execve, which the sentry's loader did
// rather than a syscall: argv and the environment's size, and the address
// of envp on the new stack.
func (tr *Tracer) Exec(t *kernel.Task, path string, argv, env []string) {
	if !tr.shows(unix.SYS_EXECVE) {
		return
	}
	envp := uintptr(t.Regs.Rsp) + 8*uintptr(len(argv)+2)
	tr.line(t, ExecLine(path, argv, envp, len(env)))
}

// ExecLine is strace's line for an execve of path with argv and nenv
// variables at envp (0: unknown, not shown) that succeeded.
func ExecLine(path string, argv []string, envp uintptr, nenv int) string {
	quotedArgv := make([]string, len(argv))
	for i, a := range argv {
		if i == maxString {
			quotedArgv = append(quotedArgv[:i], "...")
			break
		}
		quotedArgv[i] = quoted([]byte(a[:min(len(a), maxString)]), len(a) > maxString)
	}
	vars := fmt.Sprintf("%d vars", nenv)
	if nenv == 1 {
		vars = "1 var"
	}
	env := pointer(envp) + " "
	if envp == 0 {
		env = ""
	}
	return fmt.Sprintf("execve(%s, [%s], %s/* %s */) = 0", quoted([]byte(path), false), strings.Join(quotedArgv, ", "), env, vars)
}

// line writes one whole line for t.
func (tr *Tracer) line(t *kernel.Task, s string) { tr.lineFor(t, prefix(t, 0), s) }

// lineFor writes one whole line for t with prefix p.
func (tr *Tracer) lineFor(t *kernel.Task, p, s string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.interrupt(-1)
	io.WriteString(tr.w, p+s+"\n")
}

// Finish prints the summary table when the tracer counts (-c).
func (tr *Tracer) Finish() {
	if !tr.opts.Summary {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	writeSummary(tr.w, tr.summary)
}
