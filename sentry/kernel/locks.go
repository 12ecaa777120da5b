package kernel

// Lock order of the sentry's kernel, outermost first: a goroutine holding
// a lock may take those listed below it (indented under it), never one
// above it. Locks on one line are never held together.
//
//	ipc.Namespace.mu, Futexes.mu
//	    (counting shm attachments lists the tasks; a PI futex looks up its
//	    owner by TID)
//	  Kernel.mu: the process tree, job control, the terminal, ptrace
//	  state (Task.ptrace: tracers, tracees, stops)
//	    ThreadGroup.mu: credentials, limits, timers
//	    Task.sig.mu: a thread's pending signals
//	      ThreadGroup.sigmu: signal actions, the process's pending signals
//	    Task.mu: comm, address space, descriptor table, filesystem
//	    context, executable (the accessors MM, FDs, FS, Exe)
//	      mm.MemoryManager.mu, then the platform's address-space locks
//	      (Futexes.mu reads futex words under it too)
//	    SeccompListener.mu (seccomp_notify.go: a new filter checks its
//	    chain's listeners), then a task's Task.mu, vfs.FDTable.mu and
//	    memory (the supervisor's copies, the waiting task's new
//	    descriptor; no file is closed under it)
//
// Leaves, under which no other lock is taken: IntervalTimer.mu (its fire
// function, and a CPU-time timer's clock, run without it; a POSIX timer's
// queued flag is under the signal lock of its pending set, and the timer
// is re-armed at delivery after the signal locks are released), TimerTable.mu,
// sigQueueCounts.mu (a user's count of queued signals, taken before the
// signal locks), stats.mu, UTSNamespace.mu, UserNamespace.mu (a
// namespace's maps, taken under ThreadGroup.mu to map IDs; a map write
// holds the namespace's and takes its ancestors' to map the lower IDs),
// SyscallTable.unimplMu, PIDNamespace.mu (a namespace's ID tables,
// taken under Kernel.mu to translate IDs), and vfs.Queue.mu, which Kernel.mu may hold while
// it notifies a signalfd's or pidfd's waiters (their callbacks take no
// kernel lock).
//
// A file's signal-driven I/O (vfs/async.go) sends SIGIO and SIGURG from
// the notifier of the file's queue: fileOwner.Signal takes Kernel.mu and
// then the signal locks, so the queues of SignalDriven files (pipes,
// sockets, terminals, inotify) are never notified under Kernel.mu.
//
// Rules that keep it so: a thread group's SIGCHLD to its parent is built
// under Kernel.mu but sent after it (parentNotifyLocked); a task is woken
// (Task.interrupt) with Task.sig.mu released before the platform is
// interrupted; exec replaces Task.mm under Kernel.mu and Task.mu, so that
// the kernel's CPU time, which lists address spaces under Kernel.mu, sees
// the old one or the new one; blocking waits (wait4, job control) wait on
// treeChanged, which releases Kernel.mu.
//
// The checks every syscall and every return to the application make read
// atomic mirrors instead of taking these locks: Task.traced (ptrace's
// stops), ThreadGroup.stopped (job control), pendingSet.maskSeen (the
// signal queues), ThreadGroup.fileSizeLimit (RLIMIT_FSIZE) and Task.mm.
// Each is stored under its lock, before the task that must see it is
// woken; a change made after a check interrupts the task, which checks
// again on its way back.
