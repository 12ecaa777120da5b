package systrap

import "testing"

// TestNotSites checks the address space's memory of unpatchable sites: a
// site one thread found is known to the next, and the memory is bounded.
func TestNotSites(t *testing.T) {
	var p patcher
	if p.notSite(0x1000) {
		t.Fatal("an empty memory knows a site")
	}
	p.addNotSite(0x1000)
	if !p.notSite(0x1000) || p.notSite(0x2000) {
		t.Fatal("the memory does not hold exactly the site added")
	}
	for i := range maxUnpatchable {
		p.addNotSite(0x10000 + uintptr(i))
	}
	if len(p.notSites) > maxUnpatchable {
		t.Fatalf("the memory holds %d sites, more than %d", len(p.notSites), maxUnpatchable)
	}
	if p.notSite(0x1000) {
		t.Error("a full memory was not started again")
	}
}

// TestHits: a site is reported once, at its after'th trap, and the count
// of sites not yet patched is bounded.
func TestHits(t *testing.T) {
	var p patcher
	for i := 1; i < 5; i++ {
		if p.hit(0x1000, 5) {
			t.Fatalf("trap %d of 5 reported", i)
		}
	}
	if !p.hit(0x1000, 5) {
		t.Fatal("the 5th trap was not reported")
	}
	if p.hit(0x1000, 5) {
		t.Fatal("the count did not start again after the report")
	}
	for i := range maxHits + 1 {
		p.hit(0x10000+uintptr(i), 5)
	}
	if len(p.hits) > maxHits {
		t.Errorf("the count holds %d sites, more than %d", len(p.hits), maxHits)
	}
}
