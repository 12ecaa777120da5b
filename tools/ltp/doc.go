// Command ltp is runsc-lite's conformance run: it builds the syscall tests
// of the Linux Test Project (LTP) from a source checkout, runs each test of a
// list inside its own runsc-lite sandbox, writes every result to a JSON file
// and prints the counts next to a native baseline.
//
//	go run ./tools/ltp -src ~/ltp-src -build /var/tmp/ltp-build -out results.json
//	go run ./tools/ltp -build /var/tmp/ltp-build -platform=ptrace -run '^epoll' -prev results.json
//
// Decisions, recorded here and in README.md:
//
//   - The build is out of the source tree: the checkout given with -src is
//     copied (without .git) to BUILD/ltp, configured with the prefix
//     BUILD/root and built there; only what the list needs is built and
//     installed: lib, testcases/kernel/syscalls, and the directory of any
//     other test the list names (dirtyc0w, pipeio, msgstress...). Without
//     -src the installed tree in BUILD/root is used as it is.
//   - A test runs as LTP's runtest file says, wrapped as
//     `/bin/sh -c 'CMD ARGS; exit $?'`: the sandbox's first process is PID 1,
//     and LTP's library takes a parent of PID 1 for "the parent died". Its
//     environment is only LTPROOT, TMPDIR and PATH; TMPDIR is a fresh empty
//     directory outside /tmp (the sandbox's /tmp is its own), also the working
//     directory; stdin is /dev/null; it gets -timeout (60 s) of wall time,
//     after which the runsc-lite process group is killed, or longer when
//     the test's LTP library announces a longer limit of its own ("Overall
//     timeout per run is ...": 30 s plus the test's .timeout, plus its
//     .runtime): then that limit plus 30 s. The library enforces that
//     limit itself (TBROK "Test killed! (timeout?)"), as under LTP's own
//     runner, kirk, whose per-test limit (an hour) is only a backstop;
//     fuzzy-sync tests such as sendmsg03 declare a runtime of 150 s and
//     run to it by design.
//   - Outcomes are LTP's exit codes: 0 pass, 32 (TCONF) conf, anything else
//     fail; timeout when the limit killed it, missing when the binary was not
//     built. A run whose output shows a Go panic or fatal error of the
//     sentry is marked sentry_crash whatever its exit code.
//   - The tests are never run natively: some change the host when run as
//     root. The baseline (native.json) was measured once on a throwaway
//     machine; safe.list and native.json here are copies of the shared
//     list and baseline, so that the repository is whole.
//   - failing.txt is the committed list of the tests of safe.list that
//     still fail in the sandbox (fail or timeout, or conf where Linux
//     passes), one `name<TAB>reason` a line, sorted. -failing FILE rewrites it
//     from a full run, keeping the reasons already written; the format test
//     runs with `go test ./...`, without LTP.
package main
