package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileConfigs are config.json files that create must refuse, each with
// a word its one-line error must hold: malformed JSON, huge values, wrong
// types, paths that try to leave the root or name the sandbox's own
// trees, negative ids.
func hostileConfigs() []struct{ name, json, want string } {
	// with makes a config.json around a process and extra fields.
	with := func(process, extra string) string {
		if process == "" {
			process = `{"args":["sh"],"cwd":"/"}`
		}
		return `{"ociVersion":"1.0.0","process":` + process + `,"root":{"path":"rootfs"}` + extra + `}`
	}
	mount := func(m string) string { return with("", `,"mounts":[`+m+`]`) }
	return []struct{ name, json, want string }{
		{"empty", ``, "config.json"},
		{"truncated", `{"ociVersion":"1.0.0","process":{"args":[`, "config.json"},
		{"array", `[]`, "config.json"},
		{"null", `null`, "process"},
		{"binary", "\x00\xff\xfe{\x01", "config.json"},
		{"deep nesting", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "config.json"},
		{"huge file", `{"hostname":"` + strings.Repeat("a", 5<<20) + `"}`, "larger than"},
		{"process a string", `{"ociVersion":"1.0.0","process":"sh","root":{"path":"rootfs"}}`, "config.json"},
		{"args a string", with(`{"args":"sh","cwd":"/"}`, ""), "config.json"},
		{"no args", with(`{"args":[],"cwd":"/"}`, ""), "process.args"},
		{"uid negative", with(`{"args":["sh"],"cwd":"/","user":{"uid":-1,"gid":0}}`, ""), "uid"},
		{"gid huge", with(`{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":100000000000000000000}}`, ""), "gid"},
		{"gid a string", with(`{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":"0"}}`, ""), "gid"},
		{"too many groups", with(`{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0,"additionalGids":[`+
			strings.TrimSuffix(strings.Repeat("1,", 70000), ",")+`]}}`, ""), "additionalGids"},
		{"username", with(`{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0,"username":"root"}}`, ""), "username"},
		{"env without =", with(`{"args":["sh"],"cwd":"/","env":["PATH"]}`, ""), "process.env"},
		{"cwd relative", with(`{"args":["sh"],"cwd":"../.."}`, ""), "cwd"},
		{"cwd in /proc", with(`{"args":["sh"],"cwd":"/proc/1/root"}`, ""), "cwd"},
		{"unknown capability", with(`{"args":["sh"],"cwd":"/","capabilities":{"bounding":["CAP_ALL"],"effective":["CAP_ALL"]}}`, ""), "CAP_ALL"},
		{"unknown rlimit", with(`{"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_EVERYTHING","soft":1,"hard":1}]}`, ""), "RLIMIT_EVERYTHING"},
		{"rlimit soft above hard", with(`{"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":10,"hard":5}]}`, ""), "soft"},
		{"rlimit huge", with(`{"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":18446744073709551615,"hard":18446744073709551615}]}`, ""), "RLIMIT_NOFILE"},
		{"rlimit negative", with(`{"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":-1,"hard":-1}]}`, ""), "soft"},
		{"hostname huge", with("", `,"hostname":"`+strings.Repeat("h", 100000)+`"`), "hostname"},
		{"pids limit huge", with("", `,"linux":{"resources":{"pids":{"limit":9000000000000}}}`), "pids.limit"},
		{"memory limit a string", with("", `,"linux":{"resources":{"memory":{"limit":"1g"}}}`), "limit"},
		{"namespace path", with("", `,"linux":{"namespaces":[{"type":"network","path":"/proc/1/ns/net"}]}`), "namespaces"},
		{"network namespace the host's", with("", `,"linux":{"namespaces":[{"type":"network","path":"/proc/self/ns/net"}]}`), "host's"},
		{"network namespace a file", with("", `,"linux":{"namespaces":[{"type":"network","path":"/etc/passwd"}]}`), "not a network namespace"},
		{"network namespace relative", with("", `,"linux":{"namespaces":[{"type":"network","path":"ns/net"}]}`), "not absolute"},
		{"pid namespace path", with("", `,"linux":{"namespaces":[{"type":"pid","path":"/proc/self/ns/pid"}]}`), "namespaces"},
		{"root missing", `{"ociVersion":"1.0.0","process":{"args":["sh"],"cwd":"/"}}`, "root.path"},
		{"root not there", `{"ociVersion":"1.0.0","process":{"args":["sh"],"cwd":"/"},"root":{"path":"../../nonexistent"}}`, "root.path"},
		{"root a file", `{"ociVersion":"1.0.0","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs/bin/busybox"}}`, "root.path"},
		{"mount destination relative", mount(`{"destination":"../etc","type":"bind","source":"/etc"}`), "destination"},
		{"mount destination escapes", mount(`{"destination":"/a/../../etc","type":"bind","source":"/etc"}`), "destination"},
		{"mount on /", mount(`{"destination":"/","type":"bind","source":"/"}`), "destination"},
		{"mount in /proc", mount(`{"destination":"/proc/sys","type":"bind","source":"/proc/sys"}`), "destination"},
		{"mount source missing", mount(`{"destination":"/x","type":"bind","source":"/nonexistent/x"}`), "/nonexistent/x"},
		{"mount source a device", mount(`{"destination":"/x","type":"bind","source":"/dev/null"}`), "/dev/null"},
		{"mount type unknown", mount(`{"destination":"/x","type":"nfs","source":"server:/x"}`), "nfs"},
		{"tmpfs size bad", mount(`{"destination":"/x","type":"tmpfs","options":["size=lots"]}`), "size=lots"},
		{"mounts an object", with("", `,"mounts":{"destination":"/x"}`), "config.json"},
	}
}

// TestOCIHostileConfig: every hostile config.json is refused by create in
// one line, with a non-zero status, and leaves no state, process or mount
// on the host.
func TestOCIHostileConfig(t *testing.T) {
	bundle := ociBundle(t, "true")
	stateDir := workDir(t, "state")
	mountsBefore := hostMounts(t)
	for _, tc := range hostileConfigs() {
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(tc.json), 0o644); err != nil {
			t.Fatal(err)
		}
		r := oci(t, stateDir, "create", "--bundle", bundle, "h1")
		if r.code == 0 {
			oci(t, stateDir, "delete", "--force", "h1")
		}
		switch {
		case r.code == 0:
			t.Errorf("%s: created; want refused", tc.name)
		case strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") || r.stdout != "":
			t.Errorf("%s: %v, want one line", tc.name, r)
		case !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "goroutine") || len(r.stderr) > 1000:
			t.Errorf("%s: %q, want a short line naming %q", tc.name, r.stderr, tc.want)
		}
		if ents, _ := os.ReadDir(stateDir); len(ents) != 0 {
			t.Errorf("%s: state left: %v", tc.name, ents)
			oci(t, stateDir, "delete", "--force", "h1")
		}
		if pids := processesOf(t, runscBin); len(pids) != 0 {
			t.Errorf("%s: runsc-lite processes left: %v", tc.name, pids)
		}
	}
	if after := hostMounts(t); after != mountsBefore {
		t.Errorf("the host's mounts changed:\nbefore:\n%s\nafter:\n%s", mountsBefore, after)
	}
}

// hostMounts is the test process's mount table, without mount IDs.
func hostMounts(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// processesOf lists the host processes running the binary bin.
func processesOf(t *testing.T, bin string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			out = append(out, fmt.Sprintf("%s %q", e.Name(), cmd))
		}
	}
	return out
}
