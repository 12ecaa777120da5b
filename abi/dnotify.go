package abi

// fcntl(F_NOTIFY)'s events (include/uapi/linux/fcntl.h), which neither
// x/sys/unix nor pkg/abi/linux defines.
const (
	DN_ACCESS    = 0x00000001 // file accessed
	DN_MODIFY    = 0x00000002 // file modified
	DN_CREATE    = 0x00000004 // file created
	DN_DELETE    = 0x00000008 // file removed
	DN_RENAME    = 0x00000010 // file renamed
	DN_ATTRIB    = 0x00000020 // file changed attributes
	DN_MULTISHOT = 0x80000000 // don't remove the notifier after a signal
)
