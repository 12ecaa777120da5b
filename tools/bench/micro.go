package bench

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

//go:embed workloads/*.c workloads/bench.h
var sources embed.FS

// micro describes a C micro workload.
type micro struct {
	name, src, desc string
	full, quick     int // iterations
	// arg returns the program's second argument, if it needs one.
	arg func(env *Env) (string, error)
}

func microWorkloads() []Workload {
	specs := []micro{
		{"getppid", "getppid.c", "syscall round trip (getppid)", 100000, 10000, nil},
		{"open-close", "open_close.c", "open+close of a file", 10000, 1000, dataFile},
		{"read-4k", "read_4k.c", "pread of 4 KiB from a file", 20000, 2000, dataFile},
		{"write-devnull", "write_devnull.c", "1-byte write to /dev/null", 20000, 2000, nil},
		{"pipe-pingpong", "pipe_pingpong.c", "1-byte round trip between 2 processes over pipes", 2000, 200, nil},
		{"tcp-pingpong", "tcp_pingpong.c", "1-byte round trip between 2 processes over TCP on 127.0.0.1", 2000, 200, nil},
		{"tcp-stream-64k", "tcp_stream.c", "one 64 KiB write across a TCP stream on 127.0.0.1 (throughput)", 2000, 200, nil},
		{"http-rps", "http_rps.c", "HTTP/1.0 request and response, a new TCP connection each, on 127.0.0.1 (requests/s = 1e9 / ns)", 2000, 200, nil},
		{"fork-wait", "fork_wait.c", "fork+exit+wait", 200, 20, nil},
		{"fork-exec-wait", "fork_exec_wait.c", "fork+execve(/bin/true)+wait", 100, 10, trueBinary},
		{"thread-create", "thread_create.c", "pthread_create+join", 1000, 100, nil},
		{"signal-self", "signal_self.c", "kill(self, SIGUSR1) to a handler", 10000, 1000, nil},
		{"futex-pingpong", "futex_pingpong.c", "futex wait/wake round trip between 2 threads", 5000, 500, nil},
		{"mmap-touch-1m", "mmap_touch_1m.c", "mmap+touch+munmap of 1 MiB", 100, 10, nil},
		{"mprotect-10k-maps", "mprotect_many.c", "mprotect of a page to read-only and back among 10,000 mappings", 2000, 200, nil},
		{"touch-256m", "touch_256m.c", "touching 256 MiB of fresh memory (one op)", 1, 1, nil},
		{"clock-gettime", "clock_gettime.c", "clock_gettime(CLOCK_MONOTONIC)", 1000000, 100000, nil},
	}
	ws := make([]Workload, len(specs))
	for i, m := range specs {
		ws[i] = Workload{Name: m.name, Kind: Micro, Desc: m.desc, prepare: m.prepare}
	}
	return ws
}

func (m micro) prepare(env *Env) (Command, error) {
	bin, err := compileC(env.Dir, m.src)
	if err != nil {
		return Command{}, err
	}
	n := m.full
	if env.Quick {
		n = m.quick
	}
	argv := []string{bin, strconv.Itoa(n)}
	if m.arg != nil {
		a, err := m.arg(env)
		if err != nil {
			return Command{}, err
		}
		argv = append(argv, a)
	}
	return Command{Argv: argv}, nil
}

// compileC compiles workloads/src with gcc into dir, once per content: the
// binary's name carries a hash of the sources, so an edit rebuilds it.
func compileC(dir, src string) (string, error) {
	code, err := sources.ReadFile("workloads/" + src)
	if err != nil {
		return "", err
	}
	header, err := sources.ReadFile("workloads/bench.h")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, strings.TrimSuffix(src, ".c")+"-"+hash(code, header))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	srcDir := filepath.Join(dir, "src")
	if err := os.MkdirAll(srcDir, 0o755); err != nil {
		return "", err
	}
	for name, data := range map[string][]byte{src: code, "bench.h": header} {
		if err := os.WriteFile(filepath.Join(srcDir, name), data, 0o644); err != nil {
			return "", err
		}
	}
	tmp := bin + ".tmp"
	cmd := exec.Command("gcc", "-O2", "-Wall", "-o", tmp, filepath.Join(srcDir, src), "-lpthread")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("gcc %s: %v: %s", src, err, firstLine(out))
	}
	return bin, os.Rename(tmp, bin)
}

// hash is a short hex digest of parts.
func hash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// dataFile returns an 8 KiB file in env.Dir to open and read.
func dataFile(env *Env) (string, error) {
	path := filepath.Join(env.Dir, "data-8k")
	if st, err := os.Stat(path); err == nil && st.Size() == 8192 {
		return path, nil
	}
	return path, os.WriteFile(path, bytes.Repeat([]byte("runsc-lite bench\n"), 8192/16)[:8192], 0o644)
}

// trueBinary returns the path of true(1), for fork+exec.
func trueBinary(*Env) (string, error) {
	return exec.LookPath("true")
}

// firstLine returns the first non-empty line of b, trimmed.
func firstLine(b []byte) string {
	for _, line := range strings.Split(string(b), "\n") {
		if s := strings.TrimSpace(line); s != "" {
			return s
		}
	}
	return ""
}
