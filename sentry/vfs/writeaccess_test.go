package vfs_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// Write access against its denial (writeaccess.go), as Linux's
// i_writecount: the differential test runsc-lite/testdata/diff/etxtbsy.c
// checks the same against the host with running programs.

func TestWriteAccessDeniedWhileExecuting(t *testing.T) {
	tr := newTree(t)
	exe, err := tr.v.OpenExec(tr.ctx, root, tr.fsc, "/x711")
	if err != nil {
		t.Fatal(err)
	}
	second, err := tr.v.OpenExec(tr.ctx, root, tr.fsc, "/x711")
	if err != nil {
		t.Fatalf("a second execve of a running program: %v", err)
	}
	truncate := func(tr *tree) error { return tr.setAttr(root, "/x711", vfs.Attr{Mask: vfs.AttrSize}) }
	denied := []permCase{
		{"O_WRONLY", func(tr *tree) error { return tr.open(root, "/x711", unix.O_WRONLY) }, unix.ETXTBSY},
		{"O_RDWR", func(tr *tree) error { return tr.open(root, "/x711", unix.O_RDWR) }, unix.ETXTBSY},
		{"O_RDONLY|O_TRUNC", func(tr *tree) error { return tr.open(root, "/x711", unix.O_RDONLY|unix.O_TRUNC) }, unix.ETXTBSY},
		{"truncate", truncate, unix.ETXTBSY},
		{"O_RDONLY", func(tr *tree) error { return tr.open(root, "/x711", unix.O_RDONLY) }, nil},
		{"O_WRONLY without write permission", func(tr *tree) error { return tr.open(alice, "/x711", unix.O_WRONLY) }, unix.EACCES},
	}
	for _, c := range denied {
		if err := c.do(tr); err != c.want {
			t.Errorf("%s of a running program: %v, want %v", c.name, err, c.want)
		}
	}
	exe.DecRef()
	if err := tr.open(root, "/x711", unix.O_WRONLY); err != unix.ETXTBSY {
		t.Errorf("O_WRONLY with one of two runs gone: %v, want ETXTBSY", err)
	}
	second.DecRef()
	if err := tr.open(root, "/x711", unix.O_WRONLY); err != nil {
		t.Errorf("O_WRONLY once no run is left: %v", err)
	}
	if err := truncate(tr); err != nil {
		t.Errorf("truncate once no run is left: %v", err)
	}
}

func TestWriteAccessDeniesExecution(t *testing.T) {
	tr := newTree(t)
	w, err := tr.v.Open(tr.ctx, root, tr.fsc, nil, "/x711", unix.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tr.v.Open(tr.ctx, root, tr.fsc, nil, "/x711", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.DecRef()
	if _, err := tr.v.OpenExec(tr.ctx, root, tr.fsc, "/x711"); err != unix.ETXTBSY {
		t.Errorf("execve of a file open for writing: %v, want ETXTBSY", err)
	}
	if _, err := tr.v.OpenExec(tr.ctx, alice, tr.fsc, "/x744"); err != unix.EACCES {
		t.Errorf("execve without permission: %v, want EACCES", err)
	}
	w.DecRef()
	exe, err := tr.v.OpenExec(tr.ctx, root, tr.fsc, "/x711")
	if err != nil {
		t.Fatalf("execve once the writer closed: %v", err)
	}
	exe.DecRef()
	if err := tr.open(root, "/x744", unix.O_WRONLY); err != nil {
		t.Errorf("O_WRONLY after a refused execve: %v", err)
	}
}
