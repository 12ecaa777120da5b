package stub

import (
	"encoding/binary"
	"testing"

	"runsc-lite/tools/cabi"
)

func TestWireFormatMatchesC(t *testing.T) {
	cabi.Check(t, "c", "stub.h", map[string]uint64{
		"STUB_IMAGE_BASE":           ImageBase,
		"STUB_CTL_FD":               CtlFD,
		"FS_MODE_STUB":              modeStub,
		"FS_MODE_PTRACE":            modePtrace,
		"FS_MAX_RLIMITS":            maxRlimits,
		"FS_MAX_MOUNTS":             maxMounts,
		"FS_MAX_UNMAP":              maxUnmap,
		"FS_MAX_FILTER":             maxFilter,
		"sizeof(struct fs_request)": uint64(binary.Size(wireRequest{})),
		"offsetof(struct fs_request, clone_flags)": 8,
		"offsetof(struct fs_request, rlimits)":     24,
		"offsetof(struct fs_request, hostname)":    24 + maxRlimits*24,
		"offsetof(struct fs_request, mounts)":      24 + maxRlimits*24 + 72 + 8,
		"sizeof(struct fs_mount)":                  uint64(binary.Size(wireMount{})),
		"sizeof(struct fs_rlimit)":                 uint64(binary.Size(wireRlimit{})),
		"sizeof(struct fs_init)":                   uint64(binary.Size(wireInit{})),
		"sizeof(struct fs_reply)":                  uint64(binary.Size(wireReply{})),
	})
}
