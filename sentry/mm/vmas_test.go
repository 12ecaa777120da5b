package mm

import (
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// naiveGap is findGap without the set's order or the hint: the highest
// free range of length ending at or below top, from every mapping.
func naiveGap(vmas []VMA, length, top uintptr) (uintptr, bool) {
	best, ok := uintptr(0), false
	for a := uintptr(minAddr); a+length <= top; a += pageSize {
		free := true
		for _, v := range vmas {
			if v.Start < a+length && a < v.End {
				free = false
				a = max(a, v.End-pageSize) // the next candidate is v.End
				break
			}
		}
		if free {
			best, ok = a, true
		}
	}
	if !ok {
		return 0, false
	}
	// best is the lowest start of the last free run that fits: move it up
	// to the run's top.
	for best+length+pageSize <= top {
		next := best + pageSize
		clash := false
		for _, v := range vmas {
			if v.Start < next+length && next < v.End {
				clash = true
			}
		}
		if clash {
			break
		}
		best = next
	}
	return best, true
}

// checkSet checks the mirror's invariants: sorted and disjoint, no two
// neighbours Linux would show as one, the counts of files and of bytes
// shown right.
func checkSet(t *testing.T, m *MemoryManager) {
	t.Helper()
	files := make(map[*os.File]int)
	var prev *VMA
	var shown uint64
	for v := range m.vmas.all() {
		shown += v.shownSize()
		if v.Start >= v.End {
			t.Fatalf("empty or inverted mapping %#x-%#x", v.Start, v.End)
		}
		if prev != nil && prev.End > v.Start {
			t.Fatalf("mappings %#x-%#x and %#x-%#x overlap", prev.Start, prev.End, v.Start, v.End)
		}
		if prev != nil && mergeable(prev, v) {
			t.Fatalf("mappings %#x-%#x and %#x-%#x left unmerged", prev.Start, prev.End, v.Start, v.End)
		}
		if v.File != nil {
			files[v.File]++
		}
		prev = v
	}
	if shown != m.vmas.shownBytes {
		t.Fatalf("the mappings shown hold %#x bytes, the set counts %#x", shown, m.vmas.shownBytes)
	}
	if len(files) != len(m.vmas.files) {
		t.Fatalf("%d files mapped, the set counts %d", len(files), len(m.vmas.files))
	}
	for f, n := range files {
		if m.vmas.files[f] != n {
			t.Fatalf("file mapped %d times, the set counts %d", n, m.vmas.files[f])
		}
	}
}

// TestVMASetAgainstModel makes random mappings, unmappings and protection
// changes in a mirror (no address space behind it) and checks, after
// each, the set's invariants and that findGap, with its hint, finds what a
// walk over every page would.
func TestVMASetAgainstModel(t *testing.T) {
	var files [2]*os.File
	for i := range files {
		f, err := os.Open("/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[i] = f
	}
	const base = 0x100000
	const span = 256 * pageSize
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		m := &MemoryManager{mmapBase: base + span}
		page := func() uintptr { return base + uintptr(r.IntN(span/pageSize))*pageSize }
		for step := range 300 {
			start := page()
			end := min(start+uintptr(1+r.IntN(8))*pageSize, base+span)
			switch r.IntN(4) {
			case 0:
				m.remove(start, end)
			case 1:
				prot := []int{unix.PROT_NONE, unix.PROT_READ, unix.PROT_READ | unix.PROT_WRITE}[r.IntN(3)]
				m.update(start, end, func(v *VMA) { v.Prot = prot })
			default:
				length := end - start
				a, ok := m.findGap(length, m.mmapBase)
				want, wantOK := naiveGap(m.VMAs(), length, m.mmapBase)
				if a != want || ok != wantOK {
					t.Fatalf("seed %d step %d: findGap(%#x) = %#x, %v; every page says %#x, %v", seed, step, length, a, ok, want, wantOK)
				}
				if !ok {
					continue
				}
				v := VMA{Start: a, End: a + length, Prot: unix.PROT_READ}
				if r.IntN(2) == 0 {
					v.File = files[r.IntN(2)]
					v.Offset = int64(r.IntN(4)) * pageSize
				}
				m.insert(v)
			}
			checkSet(t, m)
			for range 4 {
				start := page()
				checkLookups(t, m, start, start+uintptr(1+r.IntN(8))*pageSize)
			}
		}
	}
}

// checkLookups checks first, containing and in, whose answers may come
// from the set's hint, against a walk over every mapping.
func checkLookups(t *testing.T, m *MemoryManager, start, end uintptr) {
	t.Helper()
	var wantFirst, wantContaining *VMA
	var wantIn []uintptr
	for v := range m.vmas.all() {
		if wantFirst == nil && v.End > start {
			wantFirst = v
		}
		if v.Start <= start && start < v.End {
			wantContaining = v
		}
		if v.Start < end && start < v.End {
			wantIn = append(wantIn, v.Start)
		}
	}
	if got := m.vmas.first(start); got != wantFirst {
		t.Fatalf("first(%#x) = %v, want %v", start, got, wantFirst)
	}
	if got := m.vmas.containing(start); got != wantContaining {
		t.Fatalf("containing(%#x) = %v, want %v", start, got, wantContaining)
	}
	var gotIn []uintptr
	for v := range m.vmas.in(start, end) {
		gotIn = append(gotIn, v.Start)
	}
	if !slices.Equal(gotIn, wantIn) {
		t.Fatalf("in(%#x, %#x) starts at %#x, want %#x", start, end, gotIn, wantIn)
	}
}

// BenchmarkMirror is the mirror's own cost of an mmap placed top-down, a
// protection change that splits it and an unmapping, in a process that
// already has n mappings packed below mmapBase (no address space behind
// it: the host's part is the platform's). Linux's cost grows with the
// logarithm of n; so should this.
func BenchmarkMirror(b *testing.B) {
	for _, n := range []int{1000, 60000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			m := &MemoryManager{mmapBase: 0x7f0000000000}
			place := func() uintptr {
				a, ok := m.findGap(2*pageSize, m.mmapBase)
				if !ok {
					b.Fatal("no room")
				}
				m.insert(VMA{Start: a, End: a + 2*pageSize, Prot: unix.PROT_READ | unix.PROT_WRITE})
				m.update(a, a+pageSize, func(v *VMA) { v.Prot = unix.PROT_READ })
				return a
			}
			for range n / 2 {
				place()
			}
			b.ResetTimer()
			for range b.N {
				a := place()
				m.remove(a, a+2*pageSize)
			}
		})
	}
}
