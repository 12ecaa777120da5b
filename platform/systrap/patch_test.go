package systrap

import (
	"bytes"
	"testing"
)

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

// TestRegTail: the instructions after a syscall that make it a register
// site, each taken whole (the trap makes it), and ones that do not.
func TestRegTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		code []byte // from the syscall instruction on
		tail []byte // nil: not a register site
	}{
		{"cmp $-4095,%rax", []byte{0x0f, 0x05, 0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff, 0x73, 0x01}, []byte{0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff}},
		{"cmp $-4096,%eax", []byte{0x0f, 0x05, 0x3d, 0x00, 0xf0, 0xff, 0xff}, []byte{0x3d, 0x00, 0xf0, 0xff, 0xff}},
		{"mov %rax,8(%rsp)", []byte{0x0f, 0x05, 0x48, 0x89, 0x44, 0x24, 0x08, 0xc3}, []byte{0x48, 0x89, 0x44, 0x24, 0x08}},
		{"mov 0x28(%r12),%rax", []byte{0x0f, 0x05, 0x49, 0x8b, 0x44, 0x24, 0x28, 0x48, 0x89, 0xc7}, []byte{0x49, 0x8b, 0x44, 0x24, 0x28}},
		{"cmpb $0,0x8f8(%rbx)", []byte{0x0f, 0x05, 0x80, 0xbb, 0xf8, 0x08, 0x00, 0x00, 0x00, 0x75, 0x10}, []byte{0x80, 0xbb, 0xf8, 0x08, 0x00, 0x00, 0x00}},
		{"cmpb cut short", []byte{0x0f, 0x05, 0x80, 0xbb, 0xf8, 0x08, 0x00}, nil},
		{"mov %rax,%rdi", []byte{0x0f, 0x05, 0x48, 0x89, 0xc7, 0xe9, 0, 0, 0, 0}, nil},
		{"jmp", []byte{0x0f, 0x05, 0xeb, 0xf0, 0x90, 0x90, 0x90}, nil},
		{"no syscall", []byte{0x90, 0x90, 0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff}, nil},
	} {
		tail, ok := regTail(tc.code)
		if ok != (tc.tail != nil) || !bytes.Equal(tail, tc.tail) {
			t.Errorf("%s: regTail(% x) = % x, %v; want % x", tc.name, tc.code, tail, ok, tc.tail)
		}
	}
	for _, rt := range regTails {
		if rt.n > maxTail || rt.n < siteLen-2 {
			t.Errorf("tail % x of %d bytes: the trap holds %d, the jump covers %d", rt.prefix, rt.n, maxTail, siteLen-2)
		}
	}
}
