package linux

import (
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// mappedFile fills o with the host file behind descriptor fd, checking the
// access mmap(2) requires: a readable file, and a writable one for a shared
// writable mapping. /dev/zero maps as anonymous memory.
func mappedFile(t *kernel.Task, fd int32, o *mm.MmapOpts) error {
	f, err := getFile(t, fd)
	if err != nil {
		return unix.EBADF
	}
	defer f.DecRef()
	// A zero length and a mapping type that is none of the three are
	// EINVAL before the file's access is checked (do_mmap).
	if typ := o.Flags & unix.MAP_SHARED_VALIDATE; o.Length == 0 || typ == 0 {
		return unix.EINVAL
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.ENODEV
	}
	if !f.Readable() {
		return unix.EACCES
	}
	shared := o.Flags&unix.MAP_SHARED_VALIDATE != unix.MAP_PRIVATE
	if shared && o.Prot&unix.PROT_WRITE != 0 && !f.Writable() {
		return unix.EACCES
	}
	// Nothing writes an append-only file through a shared mapping
	// (do_mmap), whatever the protection asked now.
	if shared && f.Writable() && f.AppendOnly() {
		return unix.EACCES
	}
	o.ReadOnlyFile = !f.Writable()
	if f.MapsAnonymous() {
		o.Flags |= unix.MAP_ANONYMOUS
		o.Offset = 0
		return nil
	}
	// A length that rounds past the top is mm's ENOMEM.
	c, checked := f.Impl().(vfs.MapChecker)
	if checked && o.Length+abi.PageSize-1 > o.Length {
		if err := c.CheckMap(o.Offset, (o.Length+abi.PageSize-1)&^(abi.PageSize-1)); err != nil {
			return err
		}
	}
	hf, backing, err := mappableFile(f)
	if err != nil {
		return err
	}
	o.File, o.Backing, o.Dev, o.Ino = hf, backing, st.Dev, st.Ino
	if t, ok := f.Impl().(mm.MapTracker); ok {
		o.Tracker = t
	} else if w := f.WriteTracker(); w != nil {
		o.Tracker = w // the mapping keeps the file's write access (ETXTBSY)
	}
	f.Accessed()
	if d := f.Dentry(); d != nil {
		o.Name, o.NameSource = vfs.PathOf(t.FS().Root(), d), d
	} else if n, ok := f.Impl().(vfs.LinkNamer); ok && checked {
		o.Name = n.LinkName() // a socket's rings: "socket:[ino]", as d_path names it
	}
	return nil
}

// mappableFile returns the host file to map for f and, for a file whose
// contents may move while it is mapped (an overlay's file not yet copied
// up), what the mapping holds (mm.Backing).
func mappableFile(f *vfs.File) (*os.File, mm.Backing, error) {
	if b, ok := f.Impl().(mm.BackedMappable); ok {
		return b.MappableBacking()
	}
	hf, err := f.MappableFile()
	return hf, nil, err
}
