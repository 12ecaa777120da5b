package main

import (
	"bytes"
	"os"
	"testing"
)

// TestTableIsFresh fails when sentry/syscalls/linux/names_amd64.go differs
// from what this machine's kernel headers generate: run
// `go generate ./sentry/syscalls/linux` and commit it.
func TestTableIsFresh(t *testing.T) {
	const header = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
	f, err := os.Open(header)
	if err != nil {
		t.Skipf("no kernel headers to compare with (%v); install linux-libc-dev", err)
	}
	defer f.Close()
	want, err := Generate(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../sentry/syscalls/linux/names_amd64.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("names_amd64.go is stale: run `go generate ./sentry/syscalls/linux` and commit it")
	}
}

func TestGenerateRejectsEmptyInput(t *testing.T) {
	if _, err := Generate(bytes.NewReader([]byte("nothing here\n"))); err == nil {
		t.Fatal("Generate accepted a header without syscalls")
	}
}
