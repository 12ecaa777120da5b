package systrap

import (
	"bytes"
	"os"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"

	"runsc-lite/platform"
	"runsc-lite/stub"
)

// TestResumeCallsMatchFilter checks that the calls the sentry leaves to a
// resume (resumeCallable, resumeCallableFile with the descriptor the
// handler receives, and that receipt and close) are exactly those an
// application thread's programs allow at the handler's instruction
// (resumeCallRules): one the sentry left and the filter refused would kill
// the thread in its handler; one the filter allowed beyond them would be a
// mapping change the sentry never checked. (A file's offset is the one
// argument the programs leave to the host: any is a mapping of the
// process's own descriptor, or EINVAL.)
func TestResumeCallsMatchFilter(t *testing.T) {
	syms, err := stub.LoadSymbols()
	if err != nil {
		t.Fatal(err)
	}
	thread, err := ThreadFilter(syms, 0)
	if err != nil {
		t.Fatal(err)
	}
	base, err := BaseFilter(syms)
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(insns []bpf.Instruction, nr uintptr, args [6]uint64) bool {
		d := linux.SeccompData{Nr: int32(nr), Arch: linux.AUDIT_ARCH_X86_64, InstructionPointer: uint64(syms.HandlerSite), Args: args}
		return filterAllows(t, compileFilter(t, insns), &d)
	}
	lo, hi := uint64(resumeCallRange.Start), uint64(resumeCallRange.End)
	anon := uint64(unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED)
	rw := uint64(unix.PROT_READ | unix.PROT_WRITE)
	file := uint64(resumeCallFileFlags)
	const fdNone = ^uint64(0)
	cases := []struct {
		name string
		nr   uintptr
		args [6]uint64
	}{
		{"mmap", unix.SYS_MMAP, [6]uint64{0x10000000, 0x3000, rw, anon, fdNone, 0}},
		{"mmap noreserve", unix.SYS_MMAP, [6]uint64{0x10000000, 0x3000, 0, anon | unix.MAP_NORESERVE, fdNone, 0}},
		{"mmap exec", unix.SYS_MMAP, [6]uint64{0x10000000, 0x3000, 7, anon, fdNone, 0}},
		{"mmap prot beyond rwx", unix.SYS_MMAP, [6]uint64{0x10000000, 0x3000, 8, anon, fdNone, 0}},
		{"mmap at the range's start", unix.SYS_MMAP, [6]uint64{lo, 0x1000, rw, anon, fdNone, 0}},
		{"mmap below it (the trap table)", unix.SYS_MMAP, [6]uint64{lo - 0x1000, 0x1000, rw, anon, fdNone, 0}},
		{"mmap at the range's last address", unix.SYS_MMAP, [6]uint64{hi - 0x1000, resumeCallMaxLen - 0x1000, rw, anon, fdNone, 0}},
		{"mmap at its end", unix.SYS_MMAP, [6]uint64{hi, 0x1000, rw, anon, fdNone, 0}},
		{"mmap of the stub's image", unix.SYS_MMAP, [6]uint64{stub.ImageBase, 0x1000, rw, anon, fdNone, 0}},
		{"mmap 4 GiB", unix.SYS_MMAP, [6]uint64{0x10000000, resumeCallMaxLen, rw, anon, fdNone, 0}},
		{"mmap length with high bits", unix.SYS_MMAP, [6]uint64{0x10000000, 1<<63 | 0x1000, rw, anon, fdNone, 0}},
		{"mmap shared", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, unix.MAP_SHARED | unix.MAP_ANONYMOUS | unix.MAP_FIXED, fdNone, 0}},
		{"mmap of the control socket", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, file, stub.CtlFD, 0}},
		{"mmap of a file", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, file, 5, 0}},
		{"mmap of a file, exec, at an offset", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, unix.PROT_READ | unix.PROT_EXEC, file, 5, 0x26000}},
		{"mmap of a file, prot beyond rwx", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, 8, file, 5, 0}},
		{"mmap of a file shared", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, unix.MAP_SHARED | unix.MAP_FIXED, 5, 0}},
		{"mmap of a file without MAP_FIXED", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, unix.MAP_PRIVATE, 5, 0}},
		{"mmap of a file populated", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, file | unix.MAP_POPULATE, 5, 0}},
		{"mmap of a file over the image", unix.SYS_MMAP, [6]uint64{stub.ImageBase, 0x1000, rw, file, 5, 0}},
		{"mmap of a file below the range", unix.SYS_MMAP, [6]uint64{lo - 0x1000, 0x1000, rw, file, 5, 0}},
		{"mmap of a file, 4 GiB", unix.SYS_MMAP, [6]uint64{0x10000000, resumeCallMaxLen, rw, file, 5, 0}},
		{"mmap of a stdio descriptor", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, file, 2, 0}},
		{"recvmsg on the control socket", unix.SYS_RECVMSG, [6]uint64{stub.CtlFD, 0x10000000, resumeRecvFlags}},
		{"recvmsg that waits", unix.SYS_RECVMSG, [6]uint64{stub.CtlFD, 0x10000000, unix.MSG_CMSG_CLOEXEC}},
		{"recvmsg without MSG_CMSG_CLOEXEC", unix.SYS_RECVMSG, [6]uint64{stub.CtlFD, 0x10000000, 0}},
		{"recvmsg on another descriptor", unix.SYS_RECVMSG, [6]uint64{5, 0x10000000, resumeRecvFlags}},
		{"close", unix.SYS_CLOSE, [6]uint64{5}},
		{"close of the control socket", unix.SYS_CLOSE, [6]uint64{stub.CtlFD}},
		{"close of stdin", unix.SYS_CLOSE, [6]uint64{0}},
		{"sendmsg on the control socket", unix.SYS_SENDMSG, [6]uint64{stub.CtlFD, 0x10000000, 0}},
		{"mmap with a descriptor", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, anon, 3, 0}},
		{"mmap with a truncated descriptor", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, anon, 0xffffffff, 0}},
		{"mmap with an offset", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, anon, fdNone, 0x1000}},
		{"mmap without MAP_FIXED", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS, fdNone, 0}},
		{"mmap populated", unix.SYS_MMAP, [6]uint64{0x10000000, 0x1000, rw, anon | unix.MAP_POPULATE, fdNone, 0}},
		{"munmap", unix.SYS_MUNMAP, [6]uint64{0x10000000, 0x3000}},
		{"munmap of the control page", unix.SYS_MUNMAP, [6]uint64{0x7ff010000000, 0x1000}},
		{"munmap of the trap table", unix.SYS_MUNMAP, [6]uint64{lo - 0x10000, 0x10000}},
		{"munmap reaching the image", unix.SYS_MUNMAP, [6]uint64{hi - 0x1000, resumeCallMaxLen}},
		{"mprotect none", unix.SYS_MPROTECT, [6]uint64{0x10000000, 0x1000, unix.PROT_NONE}},
		{"mprotect read", unix.SYS_MPROTECT, [6]uint64{0x10000000, 0x1000, unix.PROT_READ}},
		{"mprotect read+write", unix.SYS_MPROTECT, [6]uint64{0x10000000, 0x1000, rw}},
		{"mprotect write only", unix.SYS_MPROTECT, [6]uint64{0x10000000, 0x1000, unix.PROT_WRITE}},
		{"mprotect read+write+exec", unix.SYS_MPROTECT, [6]uint64{0x10000000, 0x1000, rw | unix.PROT_EXEC}},
		{"mprotect read+write of the image", unix.SYS_MPROTECT, [6]uint64{stub.ImageBase, 0x1000, rw}},
		{"mprotect exec", unix.SYS_MPROTECT, [6]uint64{0x10000000, 0x1000, unix.PROT_READ | unix.PROT_EXEC}},
		{"mprotect of the image", unix.SYS_MPROTECT, [6]uint64{stub.ImageBase, 0x1000, unix.PROT_READ}},
		{"mremap", unix.SYS_MREMAP, [6]uint64{0x10000000, 0x1000, 0x2000}},
		{"madvise", unix.SYS_MADVISE, [6]uint64{0x10000000, 0x1000, unix.MADV_DONTNEED}},
	}
	some := 0
	for _, c := range cases {
		want := resumeCallable(c.nr, c.args)
		switch {
		case c.nr == unix.SYS_MMAP && c.args[3] == file:
			// The handler puts the descriptor it received in arg4.
			want = resumeCallableFile(c.args) && c.args[4] > stub.CtlFD
		case c.nr == unix.SYS_RECVMSG:
			want = c.args[0] == stub.CtlFD && c.args[2] == resumeRecvFlags
		case c.nr == unix.SYS_CLOSE:
			want = c.args[0] > stub.CtlFD
		}
		if want {
			some++
		}
		if got := allowed(thread, c.nr, c.args) && allowed(base, c.nr, c.args); got != want {
			t.Errorf("%s: the programs allow it: %v; the sentry would leave it to a resume: %v", c.name, got, want)
		}
	}
	if some < 10 {
		t.Errorf("only %d of the cases may be left to a resume", some)
	}
}

// TestResumeFileCallFlushed: a file's mapping left to a resume, whose
// descriptor went ahead on the control socket, is made by the syscall
// thread when something reaches the address space before the resume (a
// copy, a request): the file is mapped, in order, and no descriptor is
// left on the socket or in the stub for the next request to take.
func TestResumeFileCallFlushed(t *testing.T) {
	_, as := poolPlatform(t)
	const (
		page = pageSize
		a    = 0x500000000000 // a file's page, left to a resume
		b    = a + 16*page    // another, then a batch
		c    = a + 32*page    // the batch's: another file's page
	)
	file := func(word string) (*os.File, []byte) {
		content := bytes.Repeat([]byte(word), 100)
		f, err := os.CreateTemp(t.TempDir(), word)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		f.Write(content)
		f.Truncate(page)
		return f, content
	}
	f, content := file("resume")
	g, other := file("batch")
	// What a stop for mmap in the process's only thread records.
	as.resume.stopped.Store(1)
	as.resume.mappings.Store(1)
	private := unix.MAP_PRIVATE | unix.MAP_FIXED
	if got, err := as.Mmap(a, page, unix.PROT_READ, private, f, 0); got != a || err != nil {
		t.Fatalf("Mmap = %#x, %v", got, err)
	}
	if !as.resume.pending.Load() {
		t.Fatal("the file's mapping was not left to the resume")
	}
	got := make([]byte, len(content))
	if _, err := as.ReadAt(got, a); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the page left to the resume holds %q (%v), want the file's", got[:12], err)
	}
	if as.resume.pending.Load() {
		t.Fatal("the copy did not make the call first")
	}

	as.resume.stopped.Store(1)
	if _, err := as.Mmap(b, page, unix.PROT_READ, private, f, 0); err != nil || !as.resume.pending.Load() {
		t.Fatalf("Mmap: %v, left to the resume: %v", err, as.resume.pending.Load())
	}
	if n, err := as.MapBatch([]platform.MapOp{{Sysno: unix.SYS_MMAP, Addr: c, Length: page, Prot: unix.PROT_READ, Flags: private, File: g}}); n != 1 || err != nil {
		t.Fatalf("MapBatch = %d, %v", n, err)
	}
	if _, err := as.ReadAt(got, b); err != nil || !bytes.Equal(got, content) {
		t.Errorf("the page mapped before the batch holds %q (%v), want the first file's", got[:12], err)
	}
	got = make([]byte, len(other))
	if _, err := as.ReadAt(got, c); err != nil || !bytes.Equal(got, other) {
		t.Errorf("the batch's page holds %q (%v), want the second file's", got[:12], err)
	}
	if stubHolds(t, as, f.Name()) || stubHolds(t, as, g.Name()) {
		t.Error("the stub kept a file's descriptor")
	}
}
