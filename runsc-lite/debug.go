package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/google/subcommands"

	"runsc-lite/sentry/control"
)

// debugCmd is `runsc-lite debug`: the control server's RPCs from the
// command line.
type debugCmd struct {
	ps, stacks, metrics, usage bool
	strace, logLevel           string
	profileCPU, profileHeap    string
	profileGoroutine, trace    string
	profileBlock, profileMutex string
	duration                   time.Duration
	signal                     int
}

func newDebugCmd() *debugCmd { return &debugCmd{} }

func (*debugCmd) Name() string { return "debug" }
func (*debugCmd) Synopsis() string {
	return "look into a running sandbox: processes, stacks, metrics, profiles, logging"
}
func (*debugCmd) Usage() string {
	return `debug [--ps] [--stacks] [--metrics] [--usage] [--strace=on|off] [--log-level=L]
      [--profile-cpu=FILE --duration=D] [--profile-heap=FILE] [--trace=FILE --duration=D] ID

Asks the sandbox of container ID through its control socket.

Flags:
`
}

func (c *debugCmd) SetFlags(f *flag.FlagSet) {
	f.BoolVar(&c.ps, "ps", false, "list the processes")
	f.BoolVar(&c.stacks, "stacks", false, "print the sentry's goroutine stacks")
	f.BoolVar(&c.metrics, "metrics", false, "print the metrics (Prometheus text format)")
	f.BoolVar(&c.usage, "usage", false, "print memory and CPU use")
	f.StringVar(&c.strace, "strace", "", "turn the syscall trace on or off")
	f.StringVar(&c.logLevel, "log-level", "", "set the sentry's log level: debug, info, warn, error")
	f.StringVar(&c.profileCPU, "profile-cpu", "", "write a CPU profile of --duration to `FILE`")
	f.StringVar(&c.profileHeap, "profile-heap", "", "write a heap profile to `FILE`")
	f.StringVar(&c.profileGoroutine, "profile-goroutine", "", "write a goroutine profile to `FILE`")
	f.StringVar(&c.profileBlock, "profile-block", "", "write a block profile to `FILE`")
	f.StringVar(&c.profileMutex, "profile-mutex", "", "write a mutex profile to `FILE`")
	f.StringVar(&c.trace, "trace", "", "write an execution trace of --duration to `FILE`")
	f.DurationVar(&c.duration, "duration", 5*time.Second, "of a CPU profile or trace")
	f.IntVar(&c.signal, "signal", 0, "send signal `N` to the first process")
}

func (c *debugCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if err := globals.apply(); err != nil {
		return fail(exitUsage, "debug: %v", err)
	}
	if err := c.run(f.Args()); err != nil {
		return fail(1, "debug: %v", err)
	}
	return 0
}

func (c *debugCmd) run(args []string) error {
	id, err := oneID(args)
	if err != nil {
		return err
	}
	st, err := loadState(id)
	if err != nil {
		return err
	}
	if st.status() == "stopped" {
		return fmt.Errorf("container %q is not running", id)
	}
	cl := st.client()
	did := false
	call := func(req control.Request, files ...*os.File) (control.Response, error) {
		did = true
		return cl.Call(req, files...)
	}
	if c.strace != "" || c.logLevel != "" {
		req := control.Request{Method: control.MethodLogging, Level: c.logLevel}
		if c.strace != "" {
			on := c.strace == "on"
			if !on && c.strace != "off" {
				return fmt.Errorf("--strace=%s: want on or off", c.strace)
			}
			req.Strace = &on
		}
		if _, err := call(req); err != nil {
			return err
		}
	}
	if c.signal != 0 {
		if _, err := call(control.Request{Method: control.MethodSignal, Signal: c.signal}); err != nil {
			return err
		}
	}
	if c.ps {
		resp, err := call(control.Request{Method: control.MethodPs})
		if err != nil {
			return err
		}
		printProcesses(os.Stdout, resp.Processes)
	}
	if c.usage {
		resp, err := call(control.Request{Method: control.MethodUsage})
		if err != nil {
			return err
		}
		if err := printJSON(resp.Usage); err != nil {
			return err
		}
	}
	if c.metrics {
		resp, err := call(control.Request{Method: control.MethodMetrics})
		if err != nil {
			return err
		}
		fmt.Print(resp.Text)
	}
	if c.stacks {
		resp, err := call(control.Request{Method: control.MethodStacks})
		if err != nil {
			return err
		}
		fmt.Print(resp.Text)
	}
	for _, p := range []struct{ kind, file string }{
		{"cpu", c.profileCPU}, {"heap", c.profileHeap}, {"goroutine", c.profileGoroutine},
		{"block", c.profileBlock}, {"mutex", c.profileMutex}, {"trace", c.trace},
	} {
		if p.file == "" {
			continue
		}
		out, err := os.OpenFile(p.file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		_, err = call(control.Request{Method: control.MethodProfile, Profile: p.kind, Duration: c.duration}, out)
		out.Close()
		if err != nil {
			return err
		}
	}
	if !did {
		return errors.New("nothing asked: give --ps, --stacks, --metrics, --usage, --strace, --log-level, --signal or a profile")
	}
	return nil
}
