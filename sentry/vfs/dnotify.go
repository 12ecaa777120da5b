package vfs

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
)

// Directory notification (dnotify, CONFIG_DNOTIFY: fcntl F_NOTIFY), built
// on the same events as inotify (notify.go), as Linux builds both on
// fsnotify (fs/notify/dnotify/dnotify.c).
//
// fcntl(fd, F_NOTIFY, DN_*) on a directory asks for a signal when the
// directory or an entry of it is accessed, modified, created, deleted,
// renamed or has its attributes changed: SIGIO, or the file's F_SETSIG
// signal with si_fd = fd and si_code POLL_MSG, to the file's owner (the
// caller's process unless an owner was set). Without DN_MULTISHOT the
// request is spent by its first signal. Requests are per open file and
// descriptor table: a second F_NOTIFY from the same table adds to the
// mask; F_NOTIFY with no event, or the table's closing a descriptor of
// the file, removes it (dnotify_flush).

// dnRenameEvent is a rename inside one directory (Linux's FS_DN_RENAME),
// delivered to that directory besides IN_MOVED_FROM and IN_MOVED_TO; a
// bit no inotify mask uses, so inotify ignores it.
const dnRenameEvent = 0x08000000

// dnEvents converts F_NOTIFY's DN_* bits to the events they stand for
// (convert_arg).
func dnEvents(arg uint32) uint32 {
	var m uint32
	if arg&abi.DN_DELETE != 0 {
		m |= unix.IN_DELETE | unix.IN_MOVED_FROM
	}
	if arg&abi.DN_MODIFY != 0 {
		m |= unix.IN_MODIFY
	}
	if arg&abi.DN_ACCESS != 0 {
		m |= unix.IN_ACCESS
	}
	if arg&abi.DN_ATTRIB != 0 {
		m |= unix.IN_ATTRIB
	}
	if arg&abi.DN_RENAME != 0 {
		m |= dnRenameEvent
	}
	if arg&abi.DN_CREATE != 0 {
		m |= unix.IN_CREATE | unix.IN_MOVED_TO
	}
	return m
}

// dnRequest is one F_NOTIFY request: an open directory in one descriptor
// table.
type dnRequest struct {
	f         *File
	table     *FDTable
	fd        int32
	mask      uint32
	multishot bool
}

// dnMark is the requests on one directory; it is the directory's Watch.
type dnMark struct {
	mu   sync.Mutex // guards reqs
	reqs []*dnRequest
}

// dnTable is the VFS's dnotify marks.
type dnTable struct {
	n     atomic.Int32 // marks, read without mu: closes cost a load
	mu    sync.Mutex   // guards marks
	marks map[WatchKey]*dnMark
}

// Notify implements Watch: the requests whose mask meets the event are
// signalled, and the single-shot ones among them removed.
func (m *dnMark) Notify(mask, cookie uint32, name string) {
	m.mu.Lock()
	var fire []*dnRequest
	keep := m.reqs[:0]
	for _, r := range m.reqs {
		if r.mask&mask == 0 {
			keep = append(keep, r)
			continue
		}
		fire = append(fire, r)
		if r.multishot {
			keep = append(keep, r)
		}
	}
	clear(m.reqs[len(keep):])
	m.reqs = keep
	m.mu.Unlock()
	for _, r := range fire {
		r.f.SignalOwner(linux.POLL_MSG, r.fd)
	}
}

// SetDirNotify implements fcntl(fd, F_NOTIFY, arg) for f, descriptor fd
// of table, asked by owner's process (fcntl_dirnotify): no event removes
// the request; a file that is not a directory is ENOTDIR.
func (f *File) SetDirNotify(ctx context.Context, table *FDTable, fd int32, arg uint32, owner Owner) error {
	v := f.v
	if v == nil || f.inode == nil {
		return unix.ENOTDIR
	}
	if arg&^abi.DN_MULTISHOT == 0 {
		v.dnotifyFlush(f, table)
		return nil
	}
	key, dir, err := KeyOf(ctx, f.inode)
	if err != nil {
		return err
	}
	if !dir {
		return unix.ENOTDIR
	}
	mask, multishot := dnEvents(arg), arg&abi.DN_MULTISHOT != 0
	t := &v.dnotify
	t.mu.Lock()
	m := t.marks[key]
	if m == nil {
		if t.marks == nil {
			t.marks = make(map[WatchKey]*dnMark)
		}
		m = &dnMark{}
		t.marks[key] = m
		t.n.Add(1)
		v.AddWatch(key, m)
	}
	m.mu.Lock()
	found := false
	for _, r := range m.reqs {
		if r.f == f && r.table == table {
			r.fd, r.mask, r.multishot = fd, r.mask|mask, r.multishot || multishot
			found = true
		}
	}
	if !found {
		m.reqs = append(m.reqs, &dnRequest{f: f, table: table, fd: fd, mask: mask, multishot: multishot})
	}
	m.mu.Unlock()
	t.mu.Unlock()
	f.SetDefaultOwner(owner)
	return nil
}

// dnotifyFlush removes table's requests on f (a close, or F_NOTIFY 0);
// a directory left without requests (these, or spent single-shot ones)
// loses its watch.
func (v *VFS) dnotifyFlush(f *File, table *FDTable) {
	t := &v.dnotify
	if t.n.Load() == 0 || f.inode == nil {
		return
	}
	key, _, err := KeyOf(context.Background(), f.inode)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.marks[key]
	if m == nil {
		return
	}
	m.mu.Lock()
	keep := m.reqs[:0]
	for _, r := range m.reqs {
		if r.f == f && r.table == table {
			continue
		}
		keep = append(keep, r)
	}
	clear(m.reqs[len(keep):])
	m.reqs = keep
	empty := len(keep) == 0
	m.mu.Unlock()
	if empty {
		delete(t.marks, key)
		t.n.Add(-1)
		v.RemoveWatch(key, m)
	}
}
