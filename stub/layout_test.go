package stub

import (
	"encoding/binary"
	"testing"

	"runsc-lite/tools/cabi"
)

func TestWireFormatMatchesC(t *testing.T) {
	cabi.Check(t, "c", "stub.h", map[string]uint64{
		"STUB_IMAGE_BASE":                          ImageBase,
		"STUB_CTL_FD":                              CtlFD,
		"FS_MODE_STUB":                             modeStub,
		"FS_MODE_PTRACE":                           modePtrace,
		"FS_MODE_REAP":                             modeReap,
		"FS_INIT_CONFINE":                          initConfine,
		"FS_MAX_RLIMITS":                           maxRlimits,
		"FS_MAX_UNMAP":                             maxUnmap,
		"FS_MAX_FILTER":                            maxFilter,
		"sizeof(struct fs_request)":                uint64(binary.Size(wireRequest{})),
		"offsetof(struct fs_request, rlimits)":     8,
		"sizeof(struct fs_rlimit)":                 uint64(binary.Size(wireRlimit{})),
		"sizeof(struct fs_init)":                   uint64(binary.Size(wireInit{})),
		"offsetof(struct fs_init, flags)":          maxUnmap*16 + 4,
		"offsetof(struct fs_init, hostname)":       maxUnmap*16 + 8,
		"offsetof(struct fs_init, nrlimits)":       maxUnmap*16 + 80,
		"offsetof(struct fs_init, own_filter_len)": maxUnmap*16 + 84,
		"offsetof(struct fs_init, rlimits)":        maxUnmap*16 + 88,
		"offsetof(struct fs_init, filter_len)":     maxUnmap*16 + 88 + maxRlimits*24,
		"offsetof(struct fs_init, own_filter)":     maxUnmap*16 + 96 + maxRlimits*24,
		"offsetof(struct fs_init, filter)":         maxUnmap*16 + 96 + maxRlimits*24 + maxFilter*8,
		"offsetof(struct fs_init, clock_offsets)":  maxUnmap*16 + 96 + maxRlimits*24 + 2*maxFilter*8,
		"sizeof(struct fs_reply)":                  uint64(binary.Size(wireReply{})),
	})
}
