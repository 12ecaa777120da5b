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
