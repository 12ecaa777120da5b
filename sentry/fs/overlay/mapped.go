package overlay

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"weak"

	"runsc-lite/platform"
	"runsc-lite/sentry/mm"
)

// Mappings of a lower file: the sandbox is a plain file system to the
// application, where every mapping of a file sees every write to it (one
// page cache), so a copy up moves the mappings of the host file onto the
// copy (mm.MemoryManager.Reback) rather than leaving them stale, as
// Linux's overlayfs does (its mappings made before a copy up keep the
// lower file: "Non-standard behavior" in its documentation; on Linux
// 6.18, runsc-lite/testdata/copyup/mappings.c on an overlayfs mount still
// reads the lower pages and gets SIGBUS past the lower file's end). A SQLite
// reader with mmap_size that maps the database before a writer's first
// write would otherwise read the rows of the host file forever.

// lowerMaps is what the mappings of a node's lower file hold
// (mm.Backing): the address spaces that may map it, and, once the node
// is copied up, the copy they are to map instead.
type lowerMaps struct {
	// mu guards spaces, grown and upper. Mapped takes it with an
	// address space's lock held; copyUp takes it under FS.mu, then
	// address spaces' locks without it (moveMappings).
	mu sync.Mutex
	// spaces are the address spaces told of a mapping, weakly held: an
	// exited process's is collected, and those gone are dropped as the
	// set grows (grown is its size after the last drop).
	spaces map[weak.Pointer[mm.MemoryManager]]struct{}
	grown  int
	// upper is the node's memfd once it is copied up (not owned).
	upper *os.File
}

// Mapped implements mm.Backing.
func (l *lowerMaps) Mapped(m *mm.MemoryManager) (*os.File, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.upper != nil {
		return dupFD(l.upper)
	}
	if l.spaces == nil {
		l.spaces = make(map[weak.Pointer[mm.MemoryManager]]struct{})
	}
	l.spaces[weak.Make(m)] = struct{}{}
	if len(l.spaces) > 2*l.grown {
		l.dropGone()
	}
	return nil, nil
}

// dropGone forgets the address spaces that were collected; l.mu is held.
func (l *lowerMaps) dropGone() {
	for p := range l.spaces {
		if p.Value() == nil {
			delete(l.spaces, p)
		}
	}
	l.grown = max(len(l.spaces), 8)
}

// moveTo records that the contents are upper's from now on and returns
// the address spaces that may map the lower file.
func (l *lowerMaps) moveTo(upper *os.File) []*mm.MemoryManager {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.upper = upper
	var out []*mm.MemoryManager
	for p := range l.spaces {
		if m := p.Value(); m != nil {
			out = append(out, m)
		}
	}
	l.spaces = nil
	return out
}

// backing returns what a mapping of n's lower file holds; fs.mu is held
// and n is not up.
func (n *node) backing() *lowerMaps {
	if n.maps == nil {
		n.maps = &lowerMaps{}
	}
	return n.maps
}

// moveMappings moves the mappings of n's lower file, just copied up into
// n.data, onto the copy; fs.mu is held. A process that cannot be reached
// keeps its stale mapping, which is logged: the copy up itself succeeded.
func (n *node) moveMappings() {
	if n.maps == nil || n.data == nil {
		return
	}
	maps := n.maps
	n.maps = nil
	for _, m := range maps.moveTo(n.data) {
		if err := m.Reback(maps, n.data); err != nil && !errors.Is(err, platform.ErrContextDead) {
			slog.Warn("moving mappings onto a copied-up file", "err", err)
		}
	}
}
