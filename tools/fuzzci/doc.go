// Package fuzzci runs every Go fuzz target of the module for a few seconds
// with coverage-guided fuzzing, one after the other, as part of the
// ordinary test suite (its test is skipped with -short).
//
// Plain `go test ./...` replays each target's committed corpus
// (testdata/fuzz/FuzzXxx) but never mutates it; this package's test makes
// CI fuzz too: `go test -run '^$' -fuzz '^FuzzXxx$' -fuzztime 3s` in a
// subprocess per target, with one worker, so that the whole run stays
// well under a minute on two cores. A crash fails the test with the
// fuzzer's report, and the crashing input is written where the fuzzer
// writes it (the target's testdata/fuzz directory), ready to commit.
//
// Longer local runs, one target at a time:
//
//	go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime 3m ./sentry/loader
package fuzzci
