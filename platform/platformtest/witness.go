package platformtest

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
)

// witnessSrc is the native witness process (testdata/witness.c).
//
//go:embed testdata/witness.c
var witnessSrc []byte

// Witness is a harmless native process that an attack test starts next to
// the sandbox and watches: the proof that an attack from inside touched
// nothing outside. It holds a known pattern in memory and counts every
// signal it gets; Check reads both from the host with process_vm_readv and
// checks that the process is the same one, alive, neither stopped nor
// traced. Tests pass Pid, Addr and Len to the attacker as its targets.
type Witness struct {
	Pid       int
	Addr, Len uintptr // the pattern
	counters  uintptr // uint64 counters[65]: all signals, then per signal
	startTime string  // field 22 of /proc/pid/stat, to tell a reused pid
	cmd       *exec.Cmd
}

// witnessImage is the compiled witness in a memfd, executed as
// /proc/self/fd/N: a file written just before it is executed fails with
// ETXTBSY when another goroutine forks meanwhile and holds the written
// descriptor.
var witnessImage struct {
	sync.Mutex
	fd int
}

// witnessPath compiles the witness once per test binary and returns the
// path that executes it.
func witnessPath(t testing.TB) string {
	t.Helper()
	witnessImage.Lock()
	defer witnessImage.Unlock()
	if witnessImage.fd == 0 {
		dir := t.TempDir()
		src, bin := filepath.Join(dir, "witness.c"), filepath.Join(dir, "witness")
		if err := os.WriteFile(src, witnessSrc, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("gcc", "-O1", "-static", "-o", bin, src).CombinedOutput(); err != nil {
			t.Fatalf("building the witness: %v\n%s", err, out)
		}
		img, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		fd, err := unix.MemfdCreate("witness", unix.MFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(fd, img); err != nil {
			t.Fatal(err)
		}
		witnessImage.fd = fd
	}
	return "/proc/self/fd/" + strconv.Itoa(witnessImage.fd)
}

// StartWitness starts a witness, killed when the test ends.
func StartWitness(t testing.TB) *Witness {
	t.Helper()
	cmd := exec.Command(witnessPath(t))
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the witness: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make([]byte, 256)
	n, err := out.Read(line)
	if err != nil {
		t.Fatalf("reading the witness's address line: %v", err)
	}
	w := &Witness{cmd: cmd}
	if _, err := fmt.Sscanf(string(line[:n]), "%d %v %v %v", &w.Pid, &w.Addr, &w.Len, &w.counters); err != nil || w.Pid != cmd.Process.Pid {
		t.Fatalf("the witness printed %q (%v)", line[:n], err)
	}
	w.startTime = w.stat(t)[19]
	return w
}

// Args are the witness's targets as key=value arguments for an attacker:
// w (pid), waddr and wlen (the pattern).
func (w *Witness) Args() []string {
	return []string{
		"w=" + strconv.Itoa(w.Pid),
		fmt.Sprintf("waddr=%#x", w.Addr),
		fmt.Sprintf("wlen=%d", w.Len),
	}
}

// stat returns the fields of /proc/pid/stat after the command name (field
// 3, the state, is index 0), or nil if the process is gone.
func (w *Witness) stat(t testing.TB) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", w.Pid))
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(b), ')')
	return strings.Fields(string(b[i+1:]))
}

// status returns the value of field key in /proc/pid/status.
func (w *Witness) status(key string) string { return procStatus(w.Pid)[key] }

// Check fails t unless the witness is the process it started as, alive,
// sleeping and untraced, with its pattern intact and no signal received
// or pending.
func (w *Witness) Check(t testing.TB) {
	t.Helper()
	w.settle()
	f := w.stat(t)
	if f == nil || f[19] != w.startTime {
		t.Errorf("the witness (pid %d) is gone", w.Pid)
		return
	}
	if f[0] != "S" && f[0] != "R" {
		t.Errorf("the witness (pid %d) is in state %s (stopped, traced or dying)", w.Pid, f[0])
	}
	if tp := w.status("TracerPid"); tp != "0" {
		t.Errorf("the witness (pid %d) is traced by %s", w.Pid, tp)
	}
	for _, key := range []string{"SigPnd", "ShdPnd"} {
		if v := w.status(key); strings.Trim(v, "0") != "" {
			t.Errorf("the witness (pid %d) has signals pending: %s %s", w.Pid, key, v)
		}
	}
	mem := make([]byte, w.Len+65*8)
	if err := w.read(mem[:w.Len], w.Addr); err != nil {
		t.Errorf("reading the witness's memory: %v", err)
		return
	}
	for i, b := range mem[:w.Len] {
		if want := byte(i*7 + 13); b != want {
			t.Errorf("the witness's memory changed: byte %d (at %#x) is %#x, want %#x", i, w.Addr+uintptr(i), b, want)
			break
		}
	}
	counters := mem[w.Len:]
	if err := w.read(counters, w.counters); err != nil {
		t.Errorf("reading the witness's signal counters: %v", err)
		return
	}
	var counts [65]uint64
	copy(abi.AsBytes(&counts), counters)
	if n := counts[0]; n != 0 {
		var got []string
		for s := 1; s < len(counts); s++ {
			if c := counts[s]; c != 0 {
				got = append(got, fmt.Sprintf("%v x%d", unix.Signal(s), c))
			}
		}
		t.Errorf("the witness (pid %d) got %d signals: %s", w.Pid, n, strings.Join(got, ", "))
	}
}

func (w *Witness) read(dst []byte, addr uintptr) error {
	local := []unix.Iovec{{Base: &dst[0]}}
	local[0].SetLen(len(dst))
	remote := []unix.RemoteIovec{{Base: addr, Len: len(dst)}}
	n, err := unix.ProcessVMReadv(w.Pid, local, remote, 0)
	if err == nil && n != len(dst) {
		err = fmt.Errorf("read %d of %d bytes", n, len(dst))
	}
	return err
}

// settle waits, up to a second, until no signal is pending for the
// witness, so that a signal sent just before is counted.
func (w *Witness) settle() {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		if strings.Trim(w.status("SigPnd"), "0") == "" && strings.Trim(w.status("ShdPnd"), "0") == "" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
