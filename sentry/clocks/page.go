package clocks

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/vdso"
)

// Page is one sandbox's vDSO parameters page (vdso.Params): a memfd the
// sentry maps writable and the stubs map read-only, sealed so that no
// stub can map it writable. Each sandbox has its own because its clocks'
// offsets are its own. The sentry never reads it back: a stub could not
// write it, but what the sentry publishes comes from counter alone.
type Page struct {
	file    *os.File
	mem     []byte
	offsets Offsets
}

// NewPage makes the vDSO parameters page of a sandbox whose root time
// namespace has offsets, and starts publishing to it.
func NewPage(offsets Offsets) (*Page, error) {
	fd, err := unix.MemfdCreate("runsc-lite-vdso-params", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd for the vDSO parameters: %w", err)
	}
	file := os.NewFile(uintptr(fd), "runsc-lite-vdso-params")
	const size = 4096
	if err := unix.Ftruncate(fd, size); err != nil {
		file.Close()
		return nil, fmt.Errorf("sizing the vDSO parameters: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("mapping the vDSO parameters: %w", err)
	}
	// F_SEAL_FUTURE_WRITE: this mapping stays writable, no later one can
	// be, and write(2) fails.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_FUTURE_WRITE|unix.F_SEAL_SEAL); err != nil {
		unix.Munmap(mem)
		file.Close()
		return nil, fmt.Errorf("sealing the vDSO parameters: %w", err)
	}
	p := &Page{file: file, mem: mem, offsets: offsets}
	startCounter()
	counter.mu.Lock()
	defer counter.mu.Unlock()
	if counter.pages == nil {
		counter.pages = make(map[*Page]struct{})
	}
	counter.pages[p] = struct{}{}
	if l := counter.line.Load(); l != nil {
		p.publish(l)
	}
	return p, nil
}

// File is the page's memfd, for the stubs to map.
func (p *Page) File() *os.File { return p.file }

// Close stops publishing and releases the page; the stubs' mappings stay
// valid (and read whatever was published last).
func (p *Page) Close() error {
	counter.mu.Lock()
	delete(counter.pages, p)
	counter.mu.Unlock()
	unix.Munmap(p.mem)
	return p.file.Close()
}

// publish writes l and the offsets into the page. Called with counter.mu
// held.
func (p *Page) publish(l *linear) {
	o := p.offsets
	rt := counter.realtime.Load()
	p.write(vdso.Params{
		Ready:          1,
		BaseCycles:     l.baseCycles,
		BaseMono:       l.baseNs + int64(o.Monotonic),
		Mult:           l.mult,
		RealtimeOffset: rt - int64(o.Monotonic),
		BoottimeOffset: counter.boottime.Load() + int64(o.Boottime) - int64(o.Monotonic),
		TAIOffset:      rt + counter.tai.Load() - int64(o.Monotonic),
	})
}
