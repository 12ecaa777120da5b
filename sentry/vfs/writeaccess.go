package vfs

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Write access and its denial (ETXTBSY), Linux's i_writecount: a program
// rewritten while it runs would fault or run garbage in its running copy,
// so a file being executed may not be opened for writing or truncated,
// and a file open for writing may not be executed.
//
//   - A regular file opened for writing through a name (open, O_TMPFILE,
//     /proc/PID/fd) is a writer for as long as its open file description
//     lives (get_write_access in do_dentry_open), and so are the mappings
//     made from it (WriteTracker), closed or not. Files made without one
//     (memfd_create's, pipes) never count, as alloc_file_pseudo's do not,
//     so a memfd runs while its own descriptor is open.
//   - truncate(2) and O_TRUNC are writers while they truncate.
//   - A file opened for execve (OpenExec) denies writers for as long as
//     that open file lives (deny_write_access in do_open_execat): the
//     loader drops a script's and an ELF interpreter's once loaded, so
//     they, and shared libraries, may be written while the program runs;
//     the program's own becomes the process image's executable
//     (kernel.Task's exeFile, mm->exe_file), held by every thread and fork
//     of it until its next execve or its end.
//
// Writers and denials exclude each other: whichever comes second fails
// with ETXTBSY. Files are keyed by (st_dev, st_ino), as locks are, so
// that every name and every open of one file counts together.

// writeCounts is every file's i_writecount: positive, that many writers;
// negative, that many denials; absent, neither.
type writeCounts struct {
	mu sync.Mutex // guards n; a leaf
	n  map[lockKey]int
}

// get adds a writer of k (get_write_access); ETXTBSY while k is denied.
func (wc *writeCounts) get(k lockKey) error {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.n[k] < 0 {
		return unix.ETXTBSY
	}
	wc.add(k, 1)
	return nil
}

// deny adds a denial of k (deny_write_access); ETXTBSY while k has
// writers.
func (wc *writeCounts) deny(k lockKey) error {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.n[k] > 0 {
		return unix.ETXTBSY
	}
	wc.add(k, -1)
	return nil
}

// drop takes back what hold took: a writer (1) or a denial (-1); 0 is
// nothing.
func (wc *writeCounts) drop(k lockKey, hold int) {
	if hold == 0 {
		return
	}
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.add(k, -hold)
}

// add changes k's count by d; wc.mu is held.
func (wc *writeCounts) add(k lockKey, d int) {
	if wc.n == nil {
		wc.n = make(map[lockKey]int)
	}
	if n := wc.n[k] + d; n != 0 {
		wc.n[k] = n
	} else {
		delete(wc.n, k)
	}
}

// whileWriting runs fn as a writer of st's file (truncate(2) and
// O_TRUNC: handle_truncate, vfs_truncate); ETXTBSY without running it
// while the file is denied.
func (v *VFS) whileWriting(st *unix.Stat_t, fn func() error) error {
	k := lockKey{st.Dev, st.Ino}
	if err := v.writes.get(k); err != nil {
		return err
	}
	defer v.writes.drop(k, 1)
	return fn()
}

// holdWrite makes f, not yet shared, the holder of hold (1, a writer; -1,
// a denial; 0, nothing) on k, which its release drops (releaseWrite).
func (f *File) holdWrite(k lockKey, hold int) {
	f.writeKey, f.writeHold = k, hold
}

// releaseWrite drops the writer or denial f holds, as its last
// reference goes.
func (f *File) releaseWrite() {
	f.v.writes.drop(f.writeKey, f.writeHold)
}

// WriteTracker is what a mapping of a file holds of the file's write
// access (an mm.MapTracker): a writer, as Linux's vma->vm_file keeps
// its open file's FMODE_WRITER, until the last piece of the mapping, and
// of the copies forks made of it, goes.
type WriteTracker struct {
	wc *writeCounts
	k  lockKey
}

// WriteTracker returns what a mapping of f holds, nil if f is no writer.
func (f *File) WriteTracker() *WriteTracker {
	if f.writeHold != 1 {
		return nil
	}
	return &WriteTracker{wc: &f.v.writes, k: f.writeKey}
}

// MapOpened adds a writer. It is never refused: the file has one already
// (the open file mapped, or the mapping a fork copies).
func (w *WriteTracker) MapOpened() {
	w.wc.mu.Lock()
	defer w.wc.mu.Unlock()
	w.wc.add(w.k, 1)
}

// MapClosed drops the writer MapOpened added.
func (w *WriteTracker) MapClosed() { w.wc.drop(w.k, 1) }

// Remappable says that remap_file_pages may map the file's pages afresh
// (mm.Remappable).
func (w *WriteTracker) Remappable() {}
