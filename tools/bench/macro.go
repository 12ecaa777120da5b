package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func macroWorkloads() []Workload {
	return []Workload{
		{Name: "start-true", Kind: Macro, Desc: "sandbox start and exit: /bin/true", prepare: command("/bin/true")},
		{Name: "bash-fork-exec-100", Kind: Macro, Desc: "bash loop of 100 fork+exec of /bin/true",
			prepare: command("bash", "-c", "for i in $(seq 100); do /bin/true; done")},
		{Name: "python-start", Kind: Macro, Desc: "python3 -c 'print(1)'", prepare: pythonStart},
		{Name: "sqlite-insert-20k", Kind: Macro, Desc: "sqlite3 :memory:, 20,000 inserts in one transaction", prepare: sqliteInsert},
		{Name: "tar-gzip", Kind: Macro, Desc: "tar -cf - /usr/share/perl5 | gzip > /dev/null",
			prepare: command("sh", "-c", "tar -cf - /usr/share/perl5 | gzip > /dev/null")},
		{Name: "find-wc", Kind: Macro, Desc: "find /usr/lib -type f | wc -l (/usr/include with --quick)",
			prepare: findWC},
		{Name: "gcc-hello", Kind: Macro, Desc: "gcc of hello world, output to /tmp", prepare: gccHello},
		{Name: "go-hello", Kind: Macro, Desc: "start-up of a static Go hello world", prepare: goHello},
	}
}

// command prepares argv as is, after checking that its program exists, so
// a missing program fails once, at preparation, with a clear reason.
func command(argv ...string) func(*Env) (Command, error) {
	return func(*Env) (Command, error) {
		path, err := exec.LookPath(argv[0])
		if err != nil {
			return Command{}, fmt.Errorf("%s not found", argv[0])
		}
		return Command{Argv: append([]string{path}, argv[1:]...)}, nil
	}
}

// pythonStart runs the real interpreter rather than a wrapper such as
// pyenv's shim, a shell script whose own start-up would dominate.
func pythonStart(*Env) (Command, error) {
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return Command{}, fmt.Errorf("python3: %v", err)
	}
	return Command{Argv: []string{strings.TrimSpace(string(out)), "-c", "print(1)"}}, nil
}

// sqliteRows is how many rows sqlite-insert inserts.
const sqliteRows = 20000

func sqliteInsert(env *Env) (Command, error) {
	cmd, err := command("sqlite3", ":memory:")(env)
	if err != nil {
		return cmd, err
	}
	var sql strings.Builder
	sql.WriteString("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL);\nBEGIN;\n")
	for i := range sqliteRows {
		fmt.Fprintf(&sql, "INSERT INTO t(name, value) VALUES('row %d', %d.5);\n", i, i)
	}
	sql.WriteString("COMMIT;\nSELECT count(*) FROM t;\n")
	cmd.Stdin = filepath.Join(env.Dir, "insert-20k.sql")
	return cmd, writeIfChanged(cmd.Stdin, []byte(sql.String()))
}

// findWC walks /usr/lib, or with --quick the eight times smaller
// /usr/include, so that a quick run stays under two minutes.
func findWC(env *Env) (Command, error) {
	dir := "/usr/lib"
	if env.Quick {
		dir = "/usr/include"
	}
	return command("sh", "-c", "find "+dir+" -type f | wc -l")(env)
}

const helloC = `#include <stdio.h>
int main(void) { puts("hello"); return 0; }
`

func gccHello(env *Env) (Command, error) {
	cmd, err := command("gcc")(env)
	if err != nil {
		return cmd, err
	}
	src := filepath.Join(env.Dir, "hello.c")
	cmd.Argv = append(cmd.Argv, "-o", "/tmp/runsc-lite-bench-hello", src)
	return cmd, writeIfChanged(src, []byte(helloC))
}

const helloGo = `package main

import "fmt"

func main() { fmt.Println("hello") }
`

// goHello builds a static Go hello world (CGO_ENABLED=0) once per content.
func goHello(env *Env) (Command, error) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		return Command{}, fmt.Errorf("go not found")
	}
	bin := filepath.Join(env.Dir, "gohello-"+hash([]byte(helloGo)))
	if _, err := os.Stat(bin); err == nil {
		return Command{Argv: []string{bin}}, nil
	}
	dir := filepath.Join(env.Dir, "gohello")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Command{}, err
	}
	if err := writeIfChanged(filepath.Join(dir, "go.mod"), []byte("module gohello\n\ngo 1.21\n")); err != nil {
		return Command{}, err
	}
	if err := writeIfChanged(filepath.Join(dir, "main.go"), []byte(helloGo)); err != nil {
		return Command{}, err
	}
	build := exec.Command(gotool, "build", "-o", bin+".tmp", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return Command{}, fmt.Errorf("go build: %v: %s", err, firstLine(out))
	}
	return Command{Argv: []string{bin}}, os.Rename(bin+".tmp", bin)
}

// writeIfChanged writes data to path unless it already holds exactly that.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	return os.WriteFile(path, data, 0o644)
}
