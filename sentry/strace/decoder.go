package strace

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/sentry/kernel"
)

// Decoder shows syscalls as strace does, from their registers and the
// calling task's memory. The sentry's --strace and the host monitors
// (package monitor) share it.
type Decoder struct {
	// Table names the syscalls and gives the argument kinds of those
	// without a format of their own.
	Table *kernel.SyscallTable
}

// formatOf returns the format of nr: its own, or one from the table's
// argument kinds, or six hex numbers.
func (d *Decoder) formatOf(nr uintptr) format {
	if f, ok := formats[nr]; ok {
		return f
	}
	var f format
	kinds := d.Table.Entries[nr].Args
	if kinds == nil {
		kinds = make([]kernel.ArgKind, 6)
	}
	for _, k := range kinds {
		f.args = append(f.args, kindArg(k))
	}
	return f
}

// shown returns the arguments of f shown for c, and how many of them are
// shown at entry (those before the first out argument).
func (f format) shown(c *call) (args []arg, atEntry int) {
	args = f.args
	if f.nargs != nil {
		args = args[:min(len(args), f.nargs(c))]
	}
	atEntry = len(args)
	for i, a := range args {
		if a.out {
			atEntry = i
			break
		}
	}
	return args, atEntry
}

// Enter returns the part of syscall nr's line known at entry: the name
// and the arguments before the first the call fills, "read(3, ". sp is
// the task's stack pointer (rt_sigreturn's frame is there).
func (d *Decoder) Enter(nr uintptr, args [6]uintptr, sp uintptr, mem interpose.Memory) string {
	c := &call{mem: mem, args: args, sp: sp}
	shown, atEntry := d.formatOf(nr).shown(c)
	var b strings.Builder
	b.WriteString(d.Table.Name(nr))
	b.WriteByte('(')
	for i := 0; i < atEntry; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(shown[i].show(c, args[i]))
	}
	if atEntry < len(shown) && atEntry > 0 {
		b.WriteString(", ")
	}
	return b.String()
}

// Exit returns the rest of the line once the call returned ret, or failed
// with errno: the arguments it filled and the parenthesis, `"..."..., 832)`,
// and the result, `832`. dead says the task ended inside the call (exit,
// or killed): its result is "?".
func (d *Decoder) Exit(nr uintptr, args [6]uintptr, mem interpose.Memory, ret uintptr, errno unix.Errno, dead bool) (rest, result string) {
	c := &call{mem: mem, args: args, ret: ret, errno: errno}
	f := d.formatOf(nr)
	shown, atEntry := f.shown(c)
	var b strings.Builder
	for i := atEntry; i < len(shown); i++ {
		if i > atEntry {
			b.WriteString(", ")
		}
		b.WriteString(shown[i].show(c, args[i]))
	}
	b.WriteString(")")
	return b.String(), d.result(nr, c, dead)
}

// resultColumn is where strace aligns " = result": lines shorter than it
// are padded with spaces.
const resultColumn = 40

// Equals returns what joins a line of col columns to its result: spaces
// to resultColumn and "= ", or " = ".
func Equals(col int) string {
	if col < resultColumn {
		return strings.Repeat(" ", resultColumn-col) + "= "
	}
	return " = "
}

// result shows a call's result: decimal, hex for addresses, an errno with
// its message, ? when the task did not come back.
func (d *Decoder) result(nr uintptr, c *call, dead bool) string {
	switch {
	case dead || nr == unix.SYS_EXIT || nr == unix.SYS_EXIT_GROUP:
		return "?"
	case c.errno != 0:
		return errnoText(c.errno)
	}
	if f := formats[nr]; f.ret != nil {
		return f.ret(c)
	}
	return strconv.FormatInt(int64(c.ret), 10)
}
