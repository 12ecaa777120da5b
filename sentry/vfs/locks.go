package vfs

// Lock order of the VFS, outermost first: a goroutine holding a lock may
// take those listed below it, never one above it.
//
//	File.mu (position, flags, directory snapshot), FSContext.mu
//	    (File.ReadDir lists a directory, File.Seek stats the file and
//	    FSContext.Getcwd asks whether the working directory was removed,
//	    each under its lock; so a filesystem takes no File.mu: the
//	    descriptors /proc/PID/fd lists may include the listing one, and
//	    only what needs no lock is read of them, as File.Readable)
//	  the filesystems' locks (overlay's FS.mu, ...)
//	  an address space's lock (mm.MemoryManager.mu): the overlay's copy
//	  up moves the mappings of the file it copies under FS.mu
//	  (sentry/mm/reback.go)
//	  the platform's address-space locks: a read or write at the file
//	  position copies to or from application memory under File.mu
//	  (usermem.IOSequence), as Linux holds f_pos_lock; what the
//	  application can reach was measured before, under
//	  mm.MemoryManager.mu, without File.mu
//
//	File.async.mu (owner, F_SETSIG, O_ASYNC arming: async.go)
//	    File.mu (the O_ASYNC flag follows the arming), Queue.mu (the
//	    file's entry goes on or off its queue)
//
// The async entry's callback runs without File.async.mu held by the
// notifier and sends signals, which takes the kernel's locks: only the
// queues of SignalDriven files carry it, and none of those is notified
// under Kernel.mu.
//
//	VFS.mu (the mount table)
//	  the tree lock a filesystem's Placed.Ancestry takes (place.go):
//	  paths are built under VFS.mu (mountinfo, bind mounts), so
//	  Ancestry takes no other lock
//
// Leaves, under which no other lock is taken: FDTable.mu (a file a
// change drops is released after it), lockTable.mu (a file is stat'ed before it, and a blocked locker waits
// without it), writeCounts.mu (writeaccess.go: a file is stat'ed and
// opened by its filesystem without it; the mm takes it under an address
// space's lock, WriteTracker), watchTable.mu (events are delivered without it),
// Queue.mu (callbacks run without it) and File.releaseMu (the calls
// OnRelease registered run without it; an epoll instance's mu is taken
// above it when the instance unregisters them).
//
// Above the VFS: the kernel holds no lock of its own while it calls a
// VFS operation, except Kernel.mu while it notifies a Queue
// (sentry/kernel/locks.go).
