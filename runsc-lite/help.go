package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/google/subcommands"
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/sandbox"
)

// manual is a verb's help beyond its flags: what `runsc-lite help VERB`
// and `VERB --help` print, as a man page has it.
type manual struct {
	synopsis string // "run [flags] [--] CMD [ARGS...]"
	about    string // what it does, in paragraphs
	examples string // one command a line, with a comment
	exit     string // exit statuses, one a line
}

// String is the manual's text, ending before the flags.
func (m manual) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: runsc-lite [global flags] %s\n\n%s\n", m.synopsis, strings.TrimSpace(m.about))
	if m.examples != "" {
		fmt.Fprintf(&b, "\nExamples:\n%s\n", indent(m.examples))
	}
	if m.exit != "" {
		fmt.Fprintf(&b, "\nExit status:\n%s\n", indent(m.exit))
	}
	return b.String()
}

// indent indents every line of s by two spaces.
func indent(s string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + strings.TrimLeft(l, "\t")
	}
	return strings.Join(lines, "\n")
}

// explain prints the list of verbs by group and the global flags.
func (c *cli) explain(w io.Writer) {
	fmt.Fprint(w, `runsc-lite runs untrusted Linux programs in a sandbox whose kernel is a
Go program (the sentry): every system call is answered by it, never by the
host kernel.

Usage: runsc-lite [global flags] COMMAND [flags] [args]
`)
	groups := map[string][]subcommands.Command{}
	c.cmdr.VisitCommands(func(g *subcommands.CommandGroup, cmd subcommands.Command) {
		groups[g.Name()] = append(groups[g.Name()], cmd)
	})
	names := append([]string(nil), groupOrder...)
	for g := range groups {
		if !contains(names, g) {
			names = append(names, g)
		}
	}
	for _, g := range names {
		cmds := groups[g]
		if len(cmds) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s%s:\n", strings.ToUpper(g[:1]), g[1:])
		for _, cmd := range cmds {
			fmt.Fprintf(w, "  %-12s %s\n", cmd.Name(), cmd.Synopsis())
		}
	}
	fmt.Fprint(w, "\nGlobal flags (before the command, or after it):\n")
	printFlags(w, c.top)
	fmt.Fprint(w, "\n'runsc-lite help COMMAND' shows a command's flags, examples and exit status.\n")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// explainCommand prints cmd's manual, its flags and the global flags.
func (c *cli) explainCommand(w io.Writer, cmd subcommands.Command) {
	fmt.Fprint(w, cmd.Usage())
	own := flag.NewFlagSet(cmd.Name(), flag.ContinueOnError)
	cmd.SetFlags(own)
	if hasFlags(own) {
		fmt.Fprint(w, "\nFlags:\n")
		printFlags(w, own)
	}
	fmt.Fprint(w, "\nGlobal flags (before the command, or after it):\n")
	printFlags(w, c.top)
}

func hasFlags(f *flag.FlagSet) bool {
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// printFlags lists f's flags, each with its default.
func printFlags(w io.Writer, f *flag.FlagSet) {
	f.VisitAll(func(fl *flag.Flag) {
		name, usage := flag.UnquoteUsage(fl)
		arg := "--" + fl.Name
		if name != "" {
			arg += "=" + name
		}
		if !strings.Contains(usage, "(default") {
			def := fl.DefValue
			if def == "" {
				def = "none"
			}
			usage += " (default: " + def + ")"
		}
		fmt.Fprintf(w, "  %s\n      %s\n", arg, usage)
	})
}

// helpCmd is `help [COMMAND]`.
type helpCmd struct{ c *cli }

func (*helpCmd) Name() string           { return "help" }
func (*helpCmd) Synopsis() string       { return "list the commands, or describe one" }
func (*helpCmd) SetFlags(*flag.FlagSet) {}
func (*helpCmd) Usage() string {
	return manual{
		synopsis: "help [COMMAND]",
		about:    "Without COMMAND, lists the commands by group and the global flags; with\nit, prints the command's synopsis, description, flags with their defaults,\nexamples and exit status.",
		examples: "runsc-lite help run",
		exit:     "0  help was printed\n2  COMMAND does not exist",
	}.String()
}

func (h *helpCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	switch f.NArg() {
	case 0:
		h.c.explain(h.c.stdout)
		return 0
	case 1:
		name := f.Arg(0)
		if cmd := h.c.command(name); cmd != nil {
			h.c.explainCommand(h.c.stdout, cmd)
			return 0
		}
		return subcommands.ExitStatus(h.c.usageError("help", fmt.Sprintf("unknown command %q%s", name, didYouMean(name, h.c.commandNames(), ""))))
	}
	return subcommands.ExitStatus(h.c.usageError("help", "want at most one COMMAND"))
}

// flagsCmd is `flags`: the global flags.
type flagsCmd struct{ c *cli }

func (*flagsCmd) Name() string           { return "flags" }
func (*flagsCmd) Synopsis() string       { return "list the global flags" }
func (*flagsCmd) SetFlags(*flag.FlagSet) {}
func (*flagsCmd) Usage() string {
	return manual{
		synopsis: "flags",
		about:    "Lists the global flags, each with its default. They go before the command\n(as runsc takes them) or after it.",
		exit:     "0  always",
	}.String()
}

func (c *flagsCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() > 0 {
		return subcommands.ExitStatus(c.c.usageError("flags", "takes no argument; 'runsc-lite help COMMAND' lists a command's flags"))
	}
	printFlags(c.c.stdout, c.c.top)
	return 0
}

// versionCmd is `version`.
type versionCmd struct{}

func (*versionCmd) Name() string { return "version" }
func (*versionCmd) Synopsis() string {
	return "print the version, commit, Go version and the platforms this host can run"
}
func (*versionCmd) SetFlags(*flag.FlagSet) {}
func (*versionCmd) Usage() string {
	return manual{
		synopsis: "version",
		about:    "Prints the module version and the commit it was built from (from the Go\nbuild information), the Go version, and each platform with whether this\nhost can run it and, if not, why.",
		exit:     "0  always",
	}.String()
}

// buildCommit is the commit when the build stamps none itself (GOFLAGS
// -buildvcs=false): go build -ldflags "-X main.buildCommit=$(git rev-parse HEAD)".
var buildCommit string

func (*versionCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	version, commit := "(unknown)", "(unknown: built without VCS stamping)"
	if buildCommit != "" {
		commit = buildCommit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		var rev, modified, when string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			case "vcs.time":
				when = " " + s.Value
			}
		}
		if rev != "" {
			commit = rev + when + modified
		}
	}
	fmt.Printf("runsc-lite version %s\ncommit: %s\ngo: %s %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Println("platforms:")
	for _, p := range strings.Split(sandbox.PlatformNames(), ", ") {
		if why := platformUnavailable(p); why != "" {
			fmt.Printf("  %-8s unavailable: %s\n", p, why)
		} else {
			fmt.Printf("  %-8s available\n", p)
		}
	}
	return 0
}

// platformUnavailable says why this host cannot run platform, "" if it
// can, from what the kernel publishes (the check a start would fail).
func platformUnavailable(platform string) string {
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return "user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)"
	}
	switch platform {
	case "systrap":
		b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
		if err != nil {
			return "the kernel has no seccomp filters"
		}
		if !contains(strings.Fields(string(b)), "trap") {
			return "seccomp has no SECCOMP_RET_TRAP"
		}
	case "ptrace":
		if b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); err == nil && strings.TrimSpace(string(b)) == "3" {
			return "ptrace is disabled (/proc/sys/kernel/yama/ptrace_scope is 3)"
		}
	}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil && unix.ByteSliceToString(uts.Machine[:]) != "x86_64" {
		return "the host is not x86-64"
	}
	return ""
}

// completionCmd is `completion bash|zsh`.
type completionCmd struct{ c *cli }

func (*completionCmd) Name() string           { return "completion" }
func (*completionCmd) Synopsis() string       { return "print a shell completion script (bash or zsh)" }
func (*completionCmd) SetFlags(*flag.FlagSet) {}
func (*completionCmd) Usage() string {
	return manual{
		synopsis: "completion bash|zsh",
		about:    "Prints a script that completes runsc-lite's commands and flags in bash or\nzsh. Load it in the current shell, or install it.",
		examples: "source <(runsc-lite completion bash)       # bash, this shell\nrunsc-lite completion zsh > ~/.zfunc/_runsc-lite   # zsh, with ~/.zfunc in fpath",
		exit:     "0  the script was printed\n2  no shell, or one other than bash and zsh",
	}.String()
}

func (c *completionCmd) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() != 1 || (f.Arg(0) != "bash" && f.Arg(0) != "zsh") {
		return subcommands.ExitStatus(c.c.usageError("completion", "want one shell: bash or zsh"))
	}
	script := c.c.bashCompletion()
	if f.Arg(0) == "zsh" {
		// zsh runs bash completion functions through bashcompinit.
		script = "#compdef runsc-lite\nautoload -U +X bashcompinit && bashcompinit\n" + script
	}
	fmt.Fprint(c.c.stdout, script)
	return 0
}

// bashCompletion is a bash completion function for every verb and flag.
func (c *cli) bashCompletion() string {
	var b strings.Builder
	flagWords := func(f *flag.FlagSet) string {
		var w []string
		f.VisitAll(func(fl *flag.Flag) { w = append(w, "--"+fl.Name) })
		sort.Strings(w)
		return strings.Join(w, " ")
	}
	b.WriteString("# runsc-lite completion for bash (runsc-lite completion bash)\n_runsc_lite() {\n")
	b.WriteString("  local cur=\"${COMP_WORDS[COMP_CWORD]}\" verb=\"\" i\n")
	b.WriteString("  for ((i = 1; i < COMP_CWORD; i++)); do\n")
	b.WriteString("    case \"${COMP_WORDS[i]}\" in\n      --) return ;;\n      -*) ;;\n      *) verb=\"${COMP_WORDS[i]}\"; break ;;\n    esac\n  done\n")
	fmt.Fprintf(&b, "  local words=%q\n", strings.Join(c.commandNames(), " ")+" "+flagWords(c.top))
	b.WriteString("  case \"$verb\" in\n")
	for _, name := range c.commandNames() {
		words := flagWords(c.flagSet(c.command(name)))
		if name == "help" {
			words = strings.Join(c.commandNames(), " ")
		}
		if name == "completion" {
			words = "bash zsh"
		}
		fmt.Fprintf(&b, "    %s) words=%q ;;\n", name, words)
	}
	b.WriteString("  esac\n  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -o default -F _runsc_lite runsc-lite\n")
	return b.String()
}
