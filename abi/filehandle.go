package abi

// File handles (name_to_handle_at(2), linux/fcntl.h and fs/fhandle.c),
// which neither library defines.
const (
	// MAX_HANDLE_SZ is the most bytes a handle has.
	MAX_HANDLE_SZ = 128
	// AT_HANDLE_FID asks for a handle that identifies a file without
	// being able to open it (AT_REMOVEDIR's value, which
	// name_to_handle_at does not otherwise take).
	AT_HANDLE_FID = 0x200
	// AT_HANDLE_MNT_ID_UNIQUE asks for the 64-bit unique mount ID.
	AT_HANDLE_MNT_ID_UNIQUE = 0x001
	// AT_HANDLE_CONNECTABLE asks for a handle open_by_handle_at can
	// connect to a path.
	AT_HANDLE_CONNECTABLE = 0x002
)

// FileHandle is struct file_handle's header; handle_bytes bytes of the
// handle follow it.
type FileHandle struct {
	HandleBytes uint32
	HandleType  int32
}
