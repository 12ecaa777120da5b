// Package control is a sandbox's control server and its client: the
// counterpart of gVisor's control package, through which the runsc-lite
// command looks into and steers a running sandbox (the OCI verbs start,
// kill, exec, ps, events, pause, and `runsc-lite debug`), and through which
// a Go program attaches syscall hooks to it (Client.Attach).
//
// Decisions:
//   - The server runs in the sentry, after it is confined: the sandbox's
//     state (its tasks, memory, syscalls) is there and nowhere else. The
//     listening socket is made and bound by the sentry's parent, in the
//     sandbox's state directory with mode 0600 (the owner, root for
//     containerd, alone may connect), and handed to the sentry as a
//     descriptor: the sentry, in its empty root, binds nothing and opens
//     nothing on the host. The one host syscall the server adds to the
//     sentry's seccomp allow-list is accept4 (sentry/confine); it reads and
//     writes with recvmsg and sendmsg, which the platform already uses.
//     Profiles add the CPU profiler's timers (timer_create, timer_settime,
//     timer_delete, setitimer).
//   - One request per connection: a frame (a 4-byte little-endian length
//     and JSON), host descriptors attached with SCM_RIGHTS (exec's stdio,
//     a profile's output file, which the caller opened on the host); then
//     one response frame, or a stream of them for events. A connection is
//     served by a goroutine with blocking calls on its descriptor (no
//     poller): a slow or hostile client holds one goroutine, never the
//     sandbox. Frames are bounded (MaxFrame).
//   - Processes that exec creates have no parent in the sandbox (PPID 0),
//     as in runsc; the server keeps their thread groups until a wait
//     collects their status, so a wait after a quick exit still finds it.
//   - attach turns a connection into a stream of syscall events for a
//     client's hooks (attach.go): the client's verdicts and memory
//     requests come back on it, the task waits for them at most the
//     client's timeout, and the hooks go when the client does or is late.
//   - pause freezes the kernel (kernel.Freeze): no task runs application
//     code until resume thaws it, and no signal is sent, so the
//     application sees no group stop and no SIGCHLD, as with runsc's
//     kernel-wide pause and runc's cgroup freezer.
package control
