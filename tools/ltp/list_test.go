package main

import (
	"os"
	"strings"
	"testing"
)

// TestFailingList checks failing.txt without LTP: its format, and that
// every test it names is in safe.list and has a native outcome.
func TestFailingList(t *testing.T) {
	tests, err := ReadTests("safe.list")
	if err != nil {
		t.Fatal(err)
	}
	native, err := ReadBaseline("native.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("failing.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fl, err := ParseFailing(f)
	if err != nil {
		t.Fatalf("failing.txt: %v", err)
	}
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[tt.Name] = true
	}
	for name := range fl {
		if !listed[name] {
			t.Errorf("failing.txt names %s, which is not in safe.list", name)
		}
	}
	if len(native) != len(tests) {
		t.Errorf("native.json has %d outcomes for the %d tests of safe.list", len(native), len(tests))
	}
	for _, tt := range tests {
		switch native[tt.Name] {
		case Pass, Conf, Fail, Timeout, Missing:
		default:
			t.Errorf("native.json: test %s has outcome %q", tt.Name, native[tt.Name])
		}
	}
}

func TestParseFailingRejects(t *testing.T) {
	for _, bad := range []string{
		"abort01 no tab\n",
		"abort01\t\n",
		"abort01\treason\twith tab\n",
		"b\tx\na\ty\n",
		"a\tx\na\ty\n",
		"a b\tx\n",
		"a\t x\n",
	} {
		if _, err := ParseFailing(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseFailing(%q) accepted it", bad)
		}
	}
	fl, err := ParseFailing(strings.NewReader("# comment\na\tone\nb\ttwo words\n"))
	if err != nil || len(fl) != 2 || fl["b"] != "two words" {
		t.Errorf("ParseFailing of a good list = %v, %v", fl, err)
	}
}

func TestReason(t *testing.T) {
	res := Result{Outcome: Fail, Exit: 1, Tail: "tst_test.c:1: TINFO: x\nfoo.c:12: TFAIL: read() failed: EINVAL (22)\n"}
	if got := Reason(res, Pass); got != "TFAIL: read() failed: EINVAL (22)" {
		t.Errorf("Reason = %q", got)
	}
	if got := Reason(Result{Outcome: Timeout}, Fail); got != "times out (native: fail)" {
		t.Errorf("Reason = %q", got)
	}
}

func TestTailWriterCrash(t *testing.T) {
	w := &tailWriter{max: 8}
	w.Write([]byte("some output\nfatal err"))
	w.Write([]byte("or: stack overflow\n" + strings.Repeat("x", 100)))
	if !w.crashed || len(w.String()) != 8 {
		t.Errorf("crashed %v, tail %q", w.crashed, w.String())
	}
	w = &tailWriter{max: 8}
	w.Write([]byte("TPASS: no panic: here\n"))
	if w.crashed {
		t.Error("a panic: inside a line counted as a crash")
	}
}

// TestNetList checks that net.list (the network syscall tests) is a part of
// safe.list with the same commands, so it is safe to run natively too.
func TestNetList(t *testing.T) {
	safe, err := ReadTests("safe.list")
	if err != nil {
		t.Fatal(err)
	}
	net, err := ReadTests("net.list")
	if err != nil {
		t.Fatal(err)
	}
	cmd := map[string]string{}
	for _, tt := range safe {
		cmd[tt.Name] = strings.Join(tt.Args, " ")
	}
	if len(net) == 0 {
		t.Fatal("net.list is empty")
	}
	for _, tt := range net {
		c, ok := cmd[tt.Name]
		if !ok {
			t.Errorf("net.list names %s, which is not in safe.list", tt.Name)
		} else if c != strings.Join(tt.Args, " ") {
			t.Errorf("net.list runs %s as %q, safe.list as %q", tt.Name, tt.Args, c)
		}
	}
}
