package kernel

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/sentry/coredump"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// Core dumps, as Linux's do_coredump: a process killed by a signal whose
// default action dumps core writes a core file, if it is dumpable
// (PR_SET_DUMPABLE) and its RLIMIT_CORE is at least a page, named by
// /proc/sys/kernel/core_pattern, which is Linux's default "core" (in the
// working directory; core_uses_pid is 0): an existing file of that name is
// unlinked first and the new one created O_EXCL with mode 0600 as the
// process's file system identity. Only a file that was made counts: then
// the wait status has WCOREDUMP and waitid's si_code is CLD_DUMPED. The
// file is written inside the sandbox, where all its writes go, and its
// size counts against the sandbox's memory like any file's.

// dumpsCore reports whether sig's default action dumps core
// (SIG_KERNEL_COREDUMP_MASK).
func dumpsCore(sig int) bool {
	switch unix.Signal(sig) {
	case unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS, unix.SIGFPE,
		unix.SIGSEGV, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGSYS:
		return true
	}
	return false
}

// dumpCore writes t's process's core file for the fatal signal si and
// reports whether it made one. The other threads end first (Linux's
// coredump_wait), so their registers are final.
func (t *Task) dumpCore(si SigInfo) bool {
	if !t.MM().Dumpable() {
		return false
	}
	lim, _ := t.TG.Rlimit(unix.RLIMIT_CORE, nil, false)
	if lim.Cur < abi.PageSize {
		return false
	}
	others := t.endOtherThreads()
	if t.isKilled() {
		return false // SIGKILL won the race, as a fatal signal pending ends Linux's dump
	}
	ctx, creds, fsc := t.Ctx(), t.FSCreds(), t.FS()
	const name = "core"
	_ = t.K.VFS.Unlink(ctx, creds, fsc, nil, name) // only an existing file of that name matters
	f, err := t.K.VFS.Open(ctx, creds, fsc, nil, name,
		unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_LARGEFILE, 0o600)
	if err != nil {
		t.Log().Info("no core dump", "signal", si.Signo, "err", err)
		return false
	}
	defer f.DecRef()
	if st, err := f.StatCtx(ctx); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	p := t.coreProcess(si, others)
	size, err := coredump.Write(fileWriter{ctx: ctx, f: f, t: t}, lim.Cur, &p)
	if err == nil {
		err = f.SetAttr(ctx, creds, vfs.Attr{Mask: vfs.AttrSize, Size: int64(size)})
	}
	if err != nil {
		t.Log().Info("core dump cut short", "signal", si.Signo, "err", err)
	}
	return true
}

// fileWriter writes a core file through the sandbox's VFS, until t is
// killed (SIGKILL, the sandbox ending), which cuts the dump short as a
// fatal signal does Linux's (dump_interrupted).
type fileWriter struct {
	ctx context.Context
	f   *vfs.File
	t   *Task
}

func (w fileWriter) WriteAt(b []byte, off int64) (int, error) {
	if w.t.isKilled() {
		return 0, errDumpKilled
	}
	return w.f.PWrite(w.ctx, usermem.BytesSequence(b), off)
}

var errDumpKilled = errors.New("killed while dumping core")

// coreProcess gathers what the core file holds.
func (t *Task) coreProcess(si SigInfo, others []*Task) coredump.Process {
	m := t.MM()
	p := coredump.Process{
		Info:    t.corePsinfo(),
		SigInfo: abi.Encode(si),
		Auxv:    append([]byte(nil), m.Auxv...),
		Read: func(addr uint64, b []byte) error {
			_, err := m.CopyIn(uintptr(addr), b)
			return err
		},
	}
	for _, th := range append([]*Task{t}, others...) {
		p.Threads = append(p.Threads, th.coreThread(si))
	}
	for _, v := range m.VMAs() {
		if d, ok := coreMapping(v, m); ok {
			p.Mappings = append(p.Mappings, d)
		}
	}
	return p
}

// coreThread is th's NT_PRSTATUS and FP state; si is the fatal signal.
func (th *Task) coreThread(si SigInfo) coredump.Thread {
	pgrp, sid, _, _ := th.JobInfo(th.PIDNS())
	s := abi.ElfPrstatus{
		SigSigno: si.Signo, SigCode: si.Code, CurSig: int16(si.Signo),
		SigHold: th.SigMask(),
		Pid:     int32(th.vtid), PPid: int32(th.PPID()), Pgrp: int32(pgrp), Sid: int32(sid),
		FPValid: 1,
	}
	user, sys := th.TG.CPUTime()
	s.UTime, s.STime = timeval(user), timeval(sys)
	abi.Decode(abi.Encode(th.Regs), &s.Reg) // struct user_regs_struct's order
	var fx []byte
	if th.FP != nil {
		fx = append([]byte(nil), th.FP.Bytes()[:512]...)
	}
	return coredump.Thread{Status: s, FXSave: fx}
}

func timeval(d time.Duration) abi.Timeval {
	return abi.Timeval{Sec: int64(d / time.Second), Usec: int64(d % time.Second / time.Microsecond)}
}

// corePsinfo is the process's NT_PRPSINFO.
func (t *Task) corePsinfo() abi.ElfPrpsinfo {
	pgrp, sid, _, _ := t.JobInfo(t.PIDNS())
	c := t.Creds()
	ns := t.UserNS()
	info := abi.ElfPrpsinfo{
		State: 0, Sname: 'R',
		UID: ns.ShowUID(c.UID.Real), GID: ns.ShowGID(c.GID.Real),
		Pid: int32(t.TG.vpid), PPid: int32(t.PPID()), Pgrp: int32(pgrp), Sid: int32(sid),
	}
	copy(info.Fname[:len(info.Fname)-1], t.Name())
	m := t.MM()
	if r := m.Argv; r[1] > r[0] {
		args := make([]byte, min(r[1]-r[0], uintptr(len(info.Psargs)-1)))
		n, _ := m.CopyIn(r[0], args)
		copy(info.Psargs[:], strings.ReplaceAll(string(args[:n]), "\x00", " ")) // as fill_psinfo: NULs become spaces
	}
	return info
}

// coreMapping is what v contributes, by Linux's vma_dump_size under the
// default coredump_filter (anonymous private and shared memory, ELF
// headers): the platform's ranges and [vvar] nothing; [vdso], anonymous
// and shared anonymous memory all of it; a private file mapping all of it
// if it was written (Linux: it has an anon_vma; here: it is writable, or
// its memory differs from its file, as a relocated RELRO segment does,
// where gdb finds the dynamic linker's list of libraries), else its first
// page if it is an ELF header; a shared file mapping nothing.
func coreMapping(v mm.VMA, m *mm.MemoryManager) (coredump.Mapping, bool) {
	if !v.Shown() || v.Name == "[vvar]" {
		return coredump.Mapping{}, false
	}
	d := coredump.Mapping{Start: uint64(v.Start), End: uint64(v.End), Prot: v.Prot, Offset: uint64(v.Offset)}
	whole := v.End - v.Start
	switch {
	case v.File == nil || v.Name == "[vdso]":
		d.Dump = uint64(whole)
	case v.Shared:
		if v.AnonymousShared() {
			d.Dump = uint64(whole)
		}
	case v.Prot&unix.PROT_WRITE != 0 || written(v, m):
		d.Dump = uint64(whole)
	case v.Offset == 0 && v.Prot&unix.PROT_READ != 0:
		magic := make([]byte, 4)
		if _, err := m.CopyIn(v.Start, magic); err == nil && string(magic) == "\x7fELF" {
			d.Dump = abi.PageSize
		}
	}
	if v.File != nil && !v.AnonymousShared() && v.Name != "[vdso]" {
		d.File = v.Name
	}
	return d, true
}

// written reports whether private file mapping v's memory differs from
// its file.
func written(v mm.VMA, m *mm.MemoryManager) bool {
	const chunk = 64 << 10
	mem, file := make([]byte, chunk), make([]byte, chunk)
	for off := uintptr(0); off < v.End-v.Start; off += chunk {
		n := min(chunk, int(v.End-v.Start-off))
		if _, err := m.CopyIn(v.Start+off, mem[:n]); err != nil {
			return false
		}
		got, _ := v.File.ReadAt(file[:n], v.Offset+int64(off))
		clear(file[got:n]) // past the file's end the mapping reads zeros
		if !bytes.Equal(mem[:n], file[:n]) {
			return true
		}
	}
	return false
}
