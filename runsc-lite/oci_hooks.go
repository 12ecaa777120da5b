package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hooksOf returns pick(h), none if h is nil.
func hooksOf(h *specs.Hooks, pick func(*specs.Hooks) []specs.Hook) []specs.Hook {
	if h == nil {
		return nil
	}
	return pick(h)
}

// runHooks runs hooks on the host, as runc does: each with the
// container's state as JSON on its stdin, its own args and env, within its
// timeout; the first that fails stops them.
func runHooks(st *containerState, stage string, hooks []specs.Hook) error {
	spec := st.spec()
	if spec.Pid != 0 {
		spec.Pid = sentryPid(spec.Pid)
	}
	state, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		ctx := context.Background()
		cancel := func() {}
		if h.Timeout != nil && *h.Timeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		}
		cmd := exec.CommandContext(ctx, h.Path)
		if len(h.Args) > 0 {
			cmd.Args = h.Args
		}
		cmd.Env = h.Env
		cmd.Stdin = bytes.NewReader(state)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		if err != nil {
			return fmt.Errorf("%s hook %s: %v: %s", stage, h.Path, err, bytes.TrimSpace(out.Bytes()))
		}
	}
	return nil
}

// ociLog is the OCI verbs' log: --log at debug level with --debug, info
// otherwise; nowhere without --log.
func ociLog() *slog.Logger {
	if globals.log == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f, err := openAppend(globals.log)
	if err != nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if globals.debug {
		opts.Level = slog.LevelDebug
	}
	if globals.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(f, opts))
	}
	return slog.New(slog.NewTextHandler(f, opts))
}

// signalNotify relays the signals a foreground exec passes on.
func signalNotify(ch chan os.Signal) {
	signal.Notify(ch, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
}

// sentryPid returns the pid of the sentry, the child of sandbox process
// pid, or pid itself if it has none. The child is listed under the
// thread that started it, which need not be the main one.
func sentryPid(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return pid
}
