package kernel

// shmAttachments counts the attachments of the System V shared memory
// segment whose memfd is dev/ino, for shm_nattch and the destroy-on-last-
// detach rule: every mapping of that file in every live address space,
// one per attachment however mprotect has split it (an attachment's
// pieces share their start minus their offset).
func (k *Kernel) shmAttachments(dev, ino uint64) int {
	type attach struct {
		m    any
		base uintptr
	}
	seen := make(map[attach]bool)
	done := make(map[any]bool)
	for _, t := range k.taskList() {
		if done[t.MM()] {
			continue
		}
		done[t.MM()] = true
		for _, v := range t.MM().VMAs() {
			if v.File != nil && v.Dev == dev && v.Ino == ino {
				seen[attach{t.MM(), v.Start - uintptr(v.Offset)}] = true
			}
		}
	}
	return len(seen)
}
