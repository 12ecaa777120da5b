// Package abicheck finds Linux ABI that the sentry and the platforms write
// by hand although a library defines it, so that it does not come back once
// replaced (its test runs it over sentry/... and platform/...).
//
// It flags two things:
//
//   - a constant whose name and value are those of a constant of
//     gvisor.dev/gvisor/pkg/abi/linux or golang.org/x/sys/unix. Names are
//     compared without case and underscores (saRestart is SA_RESTART), so a
//     Go-style spelling of a Linux name is caught too;
//   - byte-offset encoding of a structure: a call of an encoding/binary byte
//     order (binary.LittleEndian.Uint32, PutUint64, ...) on a slice that
//     does not start at 0, such as b[8:], b[4:8] or b[6*i+2:] (an array of
//     structures strided by hand). A structure is copied as a typed value
//     (gVisor's marshal types, or ours defined once with a layout test),
//     never taken apart at hand-counted offsets;
//   - field-by-field encoding: a byte order's Append method that appends
//     to bytes already there (binary.LittleEndian.AppendUint32(b, ...)),
//     which lays out a structure or an array by the order of the calls;
//     one scalar appended to nil is not flagged;
//   - a copy of a type that is not plain memory: every instantiation of
//     runsc-lite/abi's views and kernel's CopyIn/CopyOut family must have a
//     type argument without Go pointers (a string, slice, map, interface...),
//     whose bytes the application could forge, and without implicit
//     padding, which would copy out whatever the Go value held there.
//
// The packages are type-checked from source, their imports from the export
// data `go list -export` builds, so the check needs nothing but the Go
// toolchain.
package abicheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Libraries are the packages whose constants must not be written again.
var Libraries = []string{"gvisor.dev/gvisor/pkg/abi/linux", "golang.org/x/sys/unix"}

// Finding is one hand-written piece of ABI.
type Finding struct {
	Pos     token.Position
	Func    string // the enclosing function, or "" at package level
	Kind    string // "const", "offset" or "copy"
	Message string
}

// Key identifies a finding in an allow-list: the file relative to the
// module root, the enclosing function and the kind, so that an allowance
// survives edits that move lines.
func (f Finding) Key(root string) string {
	rel, err := filepath.Rel(root, f.Pos.Filename)
	if err != nil {
		rel = f.Pos.Filename
	}
	return fmt.Sprintf("%s %s %s", filepath.ToSlash(rel), f.Func, f.Kind)
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s", f.Pos, f.Message)
}

type listed struct {
	ImportPath string
	Dir        string
	Export     string
	GoFiles    []string
	DepOnly    bool
}

// Check type-checks the packages that patterns name (go list patterns,
// relative to dir) and returns what they write by hand.
func Check(dir string, patterns ...string) ([]Finding, error) {
	args := append([]string{"list", "-export", "-deps", "-json=ImportPath,Dir,Export,GoFiles,DepOnly"}, patterns...)
	args = append(args, Libraries...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w\n%s", err, stderr.Bytes())
	}
	exports := map[string]string{}
	var targets []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list's output: %w", err)
		}
		exports[p.ImportPath] = p.Export
		if !p.DepOnly && !isLibrary(p.ImportPath) {
			targets = append(targets, p)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	lib, err := libraryConsts(imp)
	if err != nil {
		return nil, err
	}
	var findings []Finding
	for _, p := range targets {
		fs, err := checkPackage(fset, imp, p, lib)
		if err != nil {
			return nil, err
		}
		findings = append(findings, fs...)
	}
	sort.Slice(findings, func(i, j int) bool {
		a, b := findings[i].Pos, findings[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Line < b.Line
	})
	return findings, nil
}

func isLibrary(path string) bool {
	for _, l := range Libraries {
		if path == l {
			return true
		}
	}
	return false
}

// libConst is a library constant a name stands for.
type libConst struct {
	qualified string // linux.SIGKILL
	val       constant.Value
}

// normalize is the form names are compared in.
func normalize(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "_", ""))
}

func libraryConsts(imp types.Importer) (map[string][]libConst, error) {
	lib := map[string][]libConst{}
	for _, path := range Libraries {
		pkg, err := imp.Import(path)
		if err != nil {
			return nil, fmt.Errorf("importing %s: %w", path, err)
		}
		for _, name := range pkg.Scope().Names() {
			c, ok := pkg.Scope().Lookup(name).(*types.Const)
			if !ok || !c.Exported() {
				continue
			}
			k := normalize(name)
			lib[k] = append(lib[k], libConst{pkg.Name() + "." + name, c.Val()})
		}
	}
	return lib, nil
}

func checkPackage(fset *token.FileSet, imp types.Importer, p listed, lib map[string][]libConst) ([]Finding, error) {
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	info := &types.Info{
		Defs:      map[*ast.Ident]types.Object{},
		Instances: map[*ast.Ident]types.Instance{},
		Types:     map[ast.Expr]types.TypeAndValue{},
		Uses:      map[*ast.Ident]types.Object{},
	}
	conf := types.Config{Importer: imp}
	if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
		return nil, fmt.Errorf("type-checking %s: %w", p.ImportPath, err)
	}
	var findings []Finding
	for _, f := range files {
		for _, d := range f.Decls {
			fn := ""
			if fd, ok := d.(*ast.FuncDecl); ok {
				fn = funcName(fd)
			}
			ast.Inspect(d, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ValueSpec:
					findings = append(findings, checkConsts(fset, info, fn, n, lib)...)
				case *ast.CallExpr:
					if msg, ok := offsetEncoding(info, n); ok {
						findings = append(findings, Finding{fset.Position(n.Pos()), fn, "offset", msg})
					}
					if msg, ok := appendEncoding(info, n); ok {
						findings = append(findings, Finding{fset.Position(n.Pos()), fn, "append", msg})
					}
				case *ast.Ident:
					if msg, ok := plainCopy(info, n); ok {
						findings = append(findings, Finding{fset.Position(n.Pos()), fn, "copy", msg})
					}
				}
				return true
			})
		}
	}
	return findings, nil
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

func checkConsts(fset *token.FileSet, info *types.Info, fn string, vs *ast.ValueSpec, lib map[string][]libConst) []Finding {
	var findings []Finding
	for _, id := range vs.Names {
		c, ok := info.Defs[id].(*types.Const)
		if !ok {
			continue
		}
		for _, l := range lib[normalize(id.Name)] {
			if sameValue(c.Val(), l.val) {
				findings = append(findings, Finding{fset.Position(id.Pos()), fn, "const",
					fmt.Sprintf("const %s = %s is %s: use it", id.Name, c.Val(), l.qualified)})
				break
			}
		}
	}
	return findings
}

func sameValue(a, b constant.Value) bool {
	if a.Kind() != b.Kind() {
		ai, aok := constant.Val(constant.ToInt(a)).(int64)
		bi, bok := constant.Val(constant.ToInt(b)).(int64)
		return aok && bok && ai == bi
	}
	return constant.Compare(a, token.EQL, b)
}

// byteOrderCall returns the method of an encoding/binary byte order that
// call invokes, or nil.
func byteOrderCall(info *types.Info, call *ast.CallExpr) *ast.SelectorExpr {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || len(call.Args) == 0 {
		return nil
	}
	recv := info.Types[sel.X].Type
	if recv == nil {
		return nil
	}
	if n, ok := types.Unalias(recv).(*types.Named); !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != "encoding/binary" {
		return nil
	}
	return sel
}

// appendEncoding reports a byte order's Append method called on bytes
// other than nil.
func appendEncoding(info *types.Info, call *ast.CallExpr) (string, bool) {
	sel := byteOrderCall(info, call)
	if sel == nil || !strings.HasPrefix(sel.Sel.Name, "Append") {
		return "", false
	}
	if tv, ok := info.Types[call.Args[0]]; ok && tv.IsNil() {
		return "", false
	}
	return fmt.Sprintf("%s after other bytes lays out a structure field by field: copy a typed structure (or a typed slice) instead", sel.Sel.Name), true
}

// offsetEncoding reports a call of an encoding/binary byte order's method
// on a slice that does not start at 0.
func offsetEncoding(info *types.Info, call *ast.CallExpr) (string, bool) {
	sel := byteOrderCall(info, call)
	if sel == nil {
		return "", false
	}
	arg := ast.Unparen(call.Args[0])
	sl, ok := arg.(*ast.SliceExpr)
	if !ok {
		return "", false
	}
	if sl.Low == nil {
		return "", false
	}
	if tv, ok := info.Types[sl.Low]; ok && tv.Value != nil {
		if v, ok := constant.Int64Val(tv.Value); ok && v == 0 {
			return "", false
		}
		return fmt.Sprintf("%s at constant offset %s: copy a typed structure instead", sel.Sel.Name, tv.Value), true
	}
	return fmt.Sprintf("%s at offset %s: copy a typed structure or slice instead", sel.Sel.Name, types.ExprString(sl.Low)), true
}

// copyFuncs are the generic functions that view a value as raw memory.
var copyFuncs = map[string]bool{
	"runsc-lite/abi.AsBytes":                true,
	"runsc-lite/abi.SliceBytes":             true,
	"runsc-lite/abi.Encode":                 true,
	"runsc-lite/abi.Decode":                 true,
	"runsc-lite/abi.View":                   true,
	"runsc-lite/sentry/kernel.CopyIn":       true,
	"runsc-lite/sentry/kernel.CopyOut":      true,
	"runsc-lite/sentry/kernel.CopyInSlice":  true,
	"runsc-lite/sentry/kernel.CopyOutSlice": true,
}

// plainCopy reports an instantiation of a copy function with a type that
// is not plain memory.
func plainCopy(info *types.Info, id *ast.Ident) (string, bool) {
	inst, ok := info.Instances[id]
	if !ok {
		return "", false
	}
	fn, ok := info.Uses[id].(*types.Func)
	if !ok || fn.Pkg() == nil || !copyFuncs[fn.Pkg().Path()+"."+fn.Name()] {
		return "", false
	}
	for i := range inst.TypeArgs.Len() {
		arg := inst.TypeArgs.At(i)
		if _, forwarded := arg.(*types.TypeParam); forwarded {
			continue // checked where the caller is instantiated
		}
		if why := notPlain(arg); why != "" {
			return fmt.Sprintf("%s of %s, which %s", fn.Name(), arg, why), true
		}
	}
	return "", false
}

var sizes = types.SizesFor("gc", "amd64")

// notPlain says why t is not a fixed-layout value of plain memory, or "".
func notPlain(t types.Type) string {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		if u.Info()&(types.IsInteger|types.IsFloat|types.IsBoolean) == 0 || u.Kind() == types.UnsafePointer {
			return "holds a " + u.String()
		}
		return ""
	case *types.Array:
		return notPlain(u.Elem())
	case *types.Struct:
		var sum int64
		for i := range u.NumFields() {
			f := u.Field(i)
			if why := notPlain(f.Type()); why != "" {
				return why
			}
			sum += sizes.Sizeof(f.Type())
		}
		if sum != sizes.Sizeof(u) {
			return fmt.Sprintf("has %d bytes of implicit padding", sizes.Sizeof(u)-sum)
		}
		return ""
	default:
		return "holds a " + u.String()
	}
}
