package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleSocket listens at a new Unix socket, as containerd's shim does for
// --console-socket; the returned function waits for the one terminal
// master a runtime sends there.
func consoleSocket(t *testing.T, name string) (string, func() *os.File) {
	t.Helper()
	p := filepath.Join(workDir(t, "console"), name)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: p}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	got := make(chan *os.File, 1)
	go func() {
		defer unix.Close(fd)
		c, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
		if err != nil {
			got <- nil
			return
		}
		defer unix.Close(c)
		buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := unix.Recvmsg(c, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			got <- nil
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			got <- nil
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			got <- nil
			return
		}
		unix.SetNonblock(fds[0], true)
		got <- os.NewFile(uintptr(fds[0]), "pty-master")
	}()
	return p, func() *os.File {
		t.Helper()
		select {
		case m := <-got:
			if m == nil {
				t.Fatal("no terminal master came on the console socket")
			}
			t.Cleanup(func() { m.Close() })
			return m
		case <-time.After(30 * time.Second):
			t.Fatal("no terminal master came on the console socket")
		}
		return nil
	}
}

// expect reads the terminal master m until its output holds want.
func expect(t *testing.T, m *os.File, want string) string {
	t.Helper()
	var out bytes.Buffer
	buf := make([]byte, 4096)
	m.SetReadDeadline(time.Now().Add(20 * time.Second))
	for !strings.Contains(out.String(), want) {
		n, err := m.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			t.Fatalf("reading the terminal for %q: %v; read %q", want, err, out.String())
		}
	}
	return out.String()
}

func setSize(t *testing.T, m *os.File, rows, cols uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
}

// TestOCITerminal: create --console-socket with process.terminal sends a
// pty master, through which the test types and reads; the sandbox's
// terminal has the window size set on the master, follows its changes,
// and its own stty changes reach the master. exec --tty does the same for
// an exec'd process.
func TestOCITerminal(t *testing.T) {
	bundle := ociBundle(t, "sh")
	linkApplets(bundle, "stty")
	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Process.Args = []string{"sh"}
		s.Process.Terminal = true
	})
	stateDir := workDir(t, "state")
	sock, master := consoleSocket(t, "c.sock")
	if r := oci(t, stateDir, "create", "--bundle", bundle, "--console-socket", sock, "tty1"); r.code != 0 {
		t.Fatalf("create --console-socket: %v", r)
	}
	t.Cleanup(func() { oci(t, stateDir, "delete", "--force", "tty1") })
	m := master()
	setSize(t, m, 40, 100)
	if r := oci(t, stateDir, "start", "tty1"); r.code != 0 {
		t.Fatalf("start: %v", r)
	}
	m.WriteString("test -t 0 && test -t 1 && echo is-$((6*7))-tty; stty size\n")
	expect(t, m, "is-42-tty\r\n40 100\r\n")
	setSize(t, m, 50, 132)
	m.WriteString("stty size\n")
	expect(t, m, "50 132\r\n")
	m.WriteString("stty rows 33 cols 77; echo re-$((1+1))-sized\n")
	expect(t, m, "re-2-sized\r\n")
	if ws, err := unix.IoctlGetWinsize(int(m.Fd()), unix.TIOCGWINSZ); err != nil || ws.Row != 33 || ws.Col != 77 {
		t.Errorf("the master's window size after stty in the sandbox: %+v %v, want 33x77", ws, err)
	}

	// exec --tty: a terminal of its own, whose master comes on another
	// socket; the process waits for a line before it reads its size.
	sock2, master2 := consoleSocket(t, "e.sock")
	ex := exec.Command(runscBin, "--root", stateDir, "exec", "--tty", "--console-socket", sock2, "tty1",
		"sh", "-c", "read line; test -t 0 && echo exec-tty-$line; stty size; exit 4")
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	m2 := master2()
	setSize(t, m2, 20, 60)
	m2.WriteString("ok\n")
	expect(t, m2, "exec-tty-ok\r\n20 60\r\n")
	if err := ex.Wait(); ex.ProcessState == nil || ex.ProcessState.ExitCode() != 4 {
		t.Errorf("exec --tty: %v, want status 4", err)
	}

	m.WriteString("exit 3\n")
	waitStatus(t, stateDir, "tty1", specs.StateStopped)
	if r := oci(t, stateDir, "delete", "tty1"); r.code != 0 {
		t.Errorf("delete: %v", r)
	}
}
