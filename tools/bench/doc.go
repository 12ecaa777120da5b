// Package bench compares how fast the same programs run natively, under
// runsc-lite on each platform, and under gVisor's runsc, in one sitting.
//
// Absolute times mean little: this project's VMs make a native getppid cost a
// microsecond and a page fault tens of microseconds, ten times a laptop. What
// carries from one machine to another is the ratio of a sandbox to native and
// to gVisor measured side by side, so every figure this package reports is a
// median next to its ratio to native, and every runner runs each workload in
// turn (native, systrap, ptrace, gVisor..., then again) so that drift in the
// machine's speed hits all runners alike.
//
// Two kinds of workload are measured:
//
//   - micro workloads are small C programs (workloads/*.c) compiled with gcc
//     on first use and cached outside /tmp, since the sandbox sees the host's
//     file system but has its own empty /tmp. Each times N operations from
//     inside with CLOCK_MONOTONIC and prints ns per operation, so the
//     sandbox's start-up cost is left out and only the cost of the operation
//     (a syscall, a fault, a fork...) is compared;
//   - macro workloads are real programs (bash, python3, sqlite3, gcc, a Go
//     binary...) timed from outside as the wall time of the whole command,
//     start-up included, which is what a user of a sandbox waits for.
//
// Beside the medians, every run records what a single figure hides: the
// latency percentiles of a micro workload's operations within the run
// (p50/p90/p99: workloads time batches of operations, one operation per
// batch when they are few, so that a clock read does not double the cost of
// a fast one), and the CPU time of every process the command started,
// sandbox processes included, from a cgroup v2 per run (cputime.go): a
// sandbox that spins to answer faster shows it there. The report's header
// names the machine, its load average at the start and end, and the tools'
// versions, and warns when other work loaded the machine; --load runs busy
// loops beside the workloads to measure the sandboxes under contention on
// purpose. How much a sandbox slows down under that load is a ratio of two
// measurements, and two separate runs (one idle, one loaded) put the
// machine's drift between them, so --compare-idle takes both in one run:
// before each loaded rep, the same runner runs the same workload with the
// busy loops stopped (SIGSTOP, then SIGCONT), and the slowdown table
// divides the loaded median by the idle one.
//
// A run that fails (the sentry is young and some programs need syscalls it
// does not have yet) is recorded with its one-line reason and never counted
// as a measurement; it never stops the benchmark.
package bench
