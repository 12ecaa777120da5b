package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandLine checks the command line through the built binary: exit
// statuses, where help goes, one-line usage errors with their hints, the
// global flags before the verb, version, flags, completion, and the
// shell's wording for a command that cannot be run.
func TestCommandLine(t *testing.T) {
	dir := workDir(t, "cli")
	noExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		// out: substrings of stdout; errLine: stderr, exactly (one line),
		// or "" for none.
		out     []string
		errLine string
	}{
		{name: "help-flag", args: []string{"--help"}, out: []string{"Usage: runsc-lite [global flags] COMMAND", "Running:\n  run", "Inspection:", "Benchmarking:", "Global flags"}},
		{name: "h-flag", args: []string{"-h"}, out: []string{"Running:"}},
		{name: "help-verb", args: []string{"help"}, out: []string{"Running:", "Help:\n  help"}},
		{name: "help-run", args: []string{"help", "run"}, out: []string{"Usage: runsc-lite [global flags] run [flags] [--] CMD [ARGS...]", "Examples:", "Exit status:", "127    CMD was not found", "--rootfs=DIR", "(default: /)", "--volume=HOST[:SANDBOX][:ro|rw]", "--platform=systrap"}},
		{name: "run-help", args: []string{"run", "--help"}, out: []string{"Usage: runsc-lite [global flags] run"}},
		{name: "do-h", args: []string{"do", "-h"}, out: []string{"Usage: runsc-lite [global flags] do"}},
		{name: "help-after-dashes-is-the-program's", args: []string{"run", "--", "/bin/sh", "-c", `echo "$0"`, "--help"}, out: []string{"--help\n"}},
		{name: "help-syscalls", args: []string{"help", "syscalls"}, out: []string{"Examples:", "--only="}},
		{name: "flags", args: []string{"flags"}, out: []string{"--platform=systrap", "--strace", "--network=MODE", "--debug-log=FILE"}},
		{name: "version", args: []string{"version"}, out: []string{"runsc-lite version ", "\ncommit: ", "\ngo: go1.", "systrap ", "ptrace "}},
		{name: "completion-bash", args: []string{"completion", "bash"}, out: []string{"complete -o default -F _runsc_lite runsc-lite"}},
		{name: "completion-zsh", args: []string{"completion", "zsh"}, out: []string{"#compdef runsc-lite\n", "bashcompinit"}},
		{name: "global-before-verb", args: []string{"--network=none", "--platform=ptrace", "do", "/bin/echo", "ok"}, out: []string{"ok\n"}},
		{name: "global-after-verb", args: []string{"run", "--platform=ptrace", "--", "/bin/echo", "ok"}, out: []string{"ok\n"}},
		{name: "strace-before-verb", args: []string{"--strace-log=" + filepath.Join(dir, "st.log"), "run", "/bin/true"}},

		{name: "no-verb", args: nil, code: 2},
		{name: "unknown-verb", args: []string{"nosuch"}, code: 2, errLine: `runsc-lite: unknown command "nosuch"; 'runsc-lite help' lists them`},
		{name: "unknown-verb-hint", args: []string{"rnu", "--", "true"}, code: 2, errLine: `runsc-lite: unknown command "rnu" (did you mean run?); 'runsc-lite help' lists them`},
		{name: "help-unknown-verb", args: []string{"help", "sycalls"}, code: 2, errLine: `runsc-lite: help: unknown command "sycalls" (did you mean syscalls?)`},
		{name: "unknown-global-flag", args: []string{"--platfrom=ptrace", "run", "true"}, code: 2, errLine: "runsc-lite: unknown flag --platfrom (did you mean --platform?); 'runsc-lite flags' lists the global flags"},
		{name: "unknown-verb-flag", args: []string{"run", "--volum", "/x", "--", "true"}, code: 2, errLine: "runsc-lite: run: unknown flag --volum (did you mean --volume?); 'runsc-lite help run' lists the flags"},
		{name: "bad-flag-value", args: []string{"run", "--memory-limit=lots", "true"}, code: 2},
		{name: "bad-global-value", args: []string{"--platform=bogus", "run", "true"}, code: 2},
		{name: "completion-no-shell", args: []string{"completion", "fish"}, code: 2, errLine: "runsc-lite: completion: want one shell: bash or zsh"},
		{name: "flags-argument", args: []string{"flags", "run"}, code: 2},
		{name: "bench-compare-idle-without-load", args: []string{"bench", "--compare-idle", "--only=getppid"}, code: 1, errLine: "runsc-lite: bench: --compare-idle needs --load=N: it compares runs beside busy loops with runs without them"},

		{name: "command-not-found", args: []string{"run", "--", "nosuchcmd-runsc-lite"}, code: 127, errLine: "runsc-lite: nosuchcmd-runsc-lite: command not found"},
		{name: "no-such-file", args: []string{"run", "--", "./nosuch"}, code: 127, errLine: "runsc-lite: ./nosuch: No such file or directory"},
		{name: "is-a-directory", args: []string{"run", "--", "/usr"}, code: 126, errLine: "runsc-lite: /usr: Is a directory"},
		{name: "permission-denied", args: []string{"run", "--", noExec}, code: 126, errLine: "runsc-lite: " + noExec + ": Permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skipKnownGap(t)
			r := runscLite(t, runOpts{dir: dir}, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit status %d, want %d\n%v", r.code, tc.code, r)
			}
			for _, want := range tc.out {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, clip(r.stdout))
				}
			}
			switch {
			case tc.code == 0 && r.stderr != "":
				t.Errorf("stderr: %q, want nothing", clip(r.stderr))
			case tc.errLine != "" && r.stderr != tc.errLine+"\n":
				t.Errorf("stderr: %q\nwant:   %q", r.stderr, tc.errLine+"\n")
			case tc.code == 2 && tc.args != nil && strings.Count(r.stderr, "\n") != 1:
				t.Errorf("stderr: want one line, got %q", clip(r.stderr))
			}
			if tc.code != 0 && r.stdout != "" {
				t.Errorf("stdout: %q, want nothing", clip(r.stdout))
			}
		})
	}
}

// TestCompletion loads the bash completion script into bash and completes
// verbs, a verb's flags, global flags before the verb, and shells.
func TestCompletion(t *testing.T) {
	skipUnlessRunnable(t, "bash")
	for _, tc := range []struct{ words, want string }{
		{"runsc-lite ru", "run"},
		{"runsc-lite sys", "syscalls"},
		{"runsc-lite run --vol", "--volume"},
		{"runsc-lite --platform=ptrace do --root", "--root --rootfs"}, // the global --root is the OCI state directory
		{"runsc-lite --plat", "--platform"},
		{"runsc-lite completion z", "zsh"},
		{"runsc-lite help ben", "bench"},
	} {
		script := `source <("$RUNSC_LITE" completion bash)
COMP_WORDS=(` + tc.words + ` ''); COMP_WORDS=("${COMP_WORDS[@]:0:${#COMP_WORDS[@]}-1}")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_runsc_lite
echo "${COMPREPLY[*]}"`
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = append(os.Environ(), "RUNSC_LITE="+runscBin)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("completing %q: got %q (%v), want %q", tc.words, out, err, tc.want)
		}
	}
	if _, err := exec.LookPath("zsh"); err == nil {
		out, err := exec.Command("sh", "-c", `"$0" completion zsh | zsh -n`, runscBin).CombinedOutput()
		if err != nil {
			t.Errorf("zsh -n of the zsh script: %v\n%s", err, out)
		}
	}
}
