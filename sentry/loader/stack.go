package loader

import (
	"crypto/rand"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/mm"
)

const (
	// stackSize is how much stack is mapped: RLIMIT_STACK's default.
	stackSize = 8 << 20
	// maxArgBytes bounds argv+envp, as Linux's MAX_ARG_STRLEN*32 does.
	maxArgBytes = 32 * 128 << 10
)

// atMinsigstksz is AT_MINSIGSTKSZ (elf.h), which pkg/abi/linux does not
// define.
const atMinsigstksz = 51

type stackInfo struct {
	argv, envv []string
	execfn     string
	main       loaded
	interpBase uintptr
	execStack  bool // PT_GNU_STACK asked for PROT_EXEC
	// fix are the images' zeroings still to do; one the stack would map
	// over is done first.
	fix *fixups
}

// hostAuxv returns the values of the sentry's own auxiliary vector: the
// host's hardware capabilities and signal stack minimum are the
// application's too, since it runs on the same CPU and kernel. It is read
// once (ReadHostAuxv): a sentry that made itself undumpable may no longer
// read its own /proc/self/auxv.
var hostAuxv = sync.OnceValue(func() map[uint64]uint64 {
	b, err := os.ReadFile("/proc/self/auxv")
	vals := make(map[uint64]uint64)
	if err != nil {
		return vals
	}
	for _, e := range abi.AuxvEntries(b) {
		vals[e.Type] = e.Val
	}
	return vals
})

// ReadHostAuxv reads the sentry's auxiliary vector for the loader, which
// must happen before the sentry makes itself undumpable.
func ReadHostAuxv() { hostAuxv() }

// initialStack is what buildStack wrote.
type initialStack struct {
	sp         uintptr // points at argc
	argv, envv [2]uintptr
	auxv       []byte
}

// buildStack maps the stack and writes the initial process stack.
func buildStack(m *mm.MemoryManager, si stackInfo) (initialStack, error) {
	size := 0
	for _, s := range append(append([]string{si.execfn}, si.argv...), si.envv...) {
		size += len(s) + 1
	}
	if size > maxArgBytes {
		return initialStack{}, unix.E2BIG
	}
	top := (mm.TaskSize - m.RandomPages(1<<22)*pageSize) &^ 0xf
	base := top - stackSize
	prot := unix.PROT_READ | unix.PROT_WRITE
	if si.execStack {
		prot |= unix.PROT_EXEC
	}
	if err := si.fix.applyOverlapping(m, base, base+stackSize); err != nil {
		return initialStack{}, err
	}
	if _, err := m.Mmap(mm.MmapOpts{
		Addr: base, Length: stackSize, Prot: prot,
		// Not MAP_NORESERVE: Linux charges a stack's commit.
		Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED, Name: "[stack]",
	}); err != nil {
		return initialStack{}, err
	}
	m.StackTop = top

	// Strings go at the top, in the order Linux uses: execfn last (highest).
	var strs []byte
	put := func(s string) uintptr {
		strs = append(strs, s...)
		strs = append(strs, 0)
		return uintptr(len(strs) - len(s) - 1)
	}
	argOff := make([]uintptr, len(si.argv))
	for i, s := range si.argv {
		argOff[i] = put(s)
	}
	envOff := make([]uintptr, len(si.envv))
	for i, s := range si.envv {
		envOff[i] = put(s)
	}
	execOff := put(si.execfn)
	platOff := put("x86_64")
	var random [16]byte
	rand.Read(random[:])
	strsAt := top - 8 - uintptr(len(strs))
	randomAt := (strsAt - 16) &^ 0xf

	host := hostAuxv()
	auxv := [][2]uint64{
		{linux.AT_PHDR, uint64(si.main.phdr)},
		{linux.AT_PHENT, uint64(phdrSize)},
		{linux.AT_PHNUM, uint64(si.main.phnum)},
		{linux.AT_PAGESZ, pageSize},
		{linux.AT_BASE, uint64(si.interpBase)},
		{linux.AT_FLAGS, 0},
		{linux.AT_ENTRY, uint64(si.main.entry)},
		{linux.AT_UID, 0}, {linux.AT_EUID, 0}, {linux.AT_GID, 0}, {linux.AT_EGID, 0},
		{linux.AT_SECURE, 0},
		{linux.AT_HWCAP, host[linux.AT_HWCAP]},
		{linux.AT_HWCAP2, host[linux.AT_HWCAP2]},
		{linux.AT_CLKTCK, linux.CLOCKS_PER_SEC},
		{linux.AT_RANDOM, uint64(randomAt)},
		{linux.AT_EXECFN, uint64(strsAt + execOff)},
		{linux.AT_PLATFORM, uint64(strsAt + platOff)},
		{atMinsigstksz, host[atMinsigstksz]},
	}
	if v := m.VDSO(); v.End > v.Start {
		auxv = append(auxv, [2]uint64{linux.AT_SYSINFO_EHDR, uint64(v.Start)})
	}
	auxv = append(auxv, [2]uint64{linux.AT_NULL, 0})

	words := 1 + len(si.argv) + 1 + len(si.envv) + 1 + 2*len(auxv)
	sp := (randomAt - uintptr(words*8)) &^ 0xf
	vec := make([]uint64, 0, words)
	word := func(v uint64) { vec = append(vec, v) }
	word(uint64(len(si.argv)))
	for _, o := range argOff {
		word(uint64(strsAt + o))
	}
	word(0)
	for _, o := range envOff {
		word(uint64(strsAt + o))
	}
	word(0)
	auxvAt := len(vec)
	for _, a := range auxv {
		word(a[0])
		word(a[1])
	}
	// One write from sp to the top: the vectors, AT_RANDOM's bytes and
	// the strings, with the zeros between them, in one host call.
	image := make([]byte, top-sp)
	copy(image, abi.SliceBytes(vec))
	copy(image[randomAt-sp:], random[:])
	copy(image[strsAt-sp:], strs)
	if _, err := m.CopyOut(sp, image); err != nil {
		return initialStack{}, err
	}
	envStart, envEnd := strsAt+execOff, strsAt+execOff
	if len(envOff) > 0 {
		envStart = strsAt + envOff[0]
	}
	argEnd := envStart
	if len(argOff) == 0 {
		argEnd = strsAt
	}
	return initialStack{
		sp:   sp,
		argv: [2]uintptr{strsAt, argEnd},
		envv: [2]uintptr{envStart, envEnd},
		auxv: append([]byte(nil), abi.SliceBytes(vec[auxvAt:])...),
	}, nil
}
