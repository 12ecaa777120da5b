package strace

import (
	"strconv"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/interpose"
)

// statx shows its flags with the sync type first, its masks by name, and
// the struct statx's mask, attributes, mode and size, as strace does.
func init() {
	formats[unix.SYS_STATX] = format{args: []arg{aDirFD, aPath, in(func(_ *call, v uintptr) string { return statxFlags(uint64(uint32(v))) }),
		aFlagsOf(statxMasks, "0"), out(func(c *call, v uintptr) string {
			if c.failed() {
				return pointer(v)
			}
			return statxStruct(c.mem, v)
		})}}
}

var statxSyncTypes = map[uint64]string{
	unix.AT_STATX_SYNC_AS_STAT: "AT_STATX_SYNC_AS_STAT", unix.AT_STATX_FORCE_SYNC: "AT_STATX_FORCE_SYNC",
	unix.AT_STATX_DONT_SYNC: "AT_STATX_DONT_SYNC",
}

// statxFlags: the sync type (AT_STATX_SYNC_TYPE's bits), then the others.
func statxFlags(v uint64) string {
	s := value(statxSyncTypes, v&statxSyncType, "")
	if rest := v &^ statxSyncType; rest != 0 {
		s += "|" + flags(atFlags, rest, "")
	}
	return s
}

// statxMasks are in strace's order: the groups first.
var statxMasks = []flag{
	{linux.STATX_ALL, "STATX_ALL"}, {linux.STATX_BASIC_STATS, "STATX_BASIC_STATS"},
	{linux.STATX_TYPE, "STATX_TYPE"}, {linux.STATX_MODE, "STATX_MODE"}, {linux.STATX_NLINK, "STATX_NLINK"},
	{linux.STATX_UID, "STATX_UID"}, {linux.STATX_GID, "STATX_GID"}, {linux.STATX_ATIME, "STATX_ATIME"},
	{linux.STATX_MTIME, "STATX_MTIME"}, {linux.STATX_CTIME, "STATX_CTIME"}, {linux.STATX_INO, "STATX_INO"},
	{linux.STATX_SIZE, "STATX_SIZE"}, {linux.STATX_BLOCKS, "STATX_BLOCKS"}, {linux.STATX_BTIME, "STATX_BTIME"},
	{linux.STATX_MNT_ID, "STATX_MNT_ID"}, {unix.STATX_DIOALIGN, "STATX_DIOALIGN"},
}

var statxAttrs = []flag{
	{linux.STATX_ATTR_COMPRESSED, "STATX_ATTR_COMPRESSED"}, {linux.STATX_ATTR_IMMUTABLE, "STATX_ATTR_IMMUTABLE"},
	{linux.STATX_ATTR_APPEND, "STATX_ATTR_APPEND"}, {linux.STATX_ATTR_NODUMP, "STATX_ATTR_NODUMP"},
	{linux.STATX_ATTR_ENCRYPTED, "STATX_ATTR_ENCRYPTED"}, {linux.STATX_ATTR_AUTOMOUNT, "STATX_ATTR_AUTOMOUNT"},
	{unix.STATX_ATTR_MOUNT_ROOT, "STATX_ATTR_MOUNT_ROOT"}, {unix.STATX_ATTR_VERITY, "STATX_ATTR_VERITY"},
	{unix.STATX_ATTR_DAX, "STATX_ATTR_DAX"},
}

// statxStruct is strace's short form of a struct statx.
func statxStruct(mem interpose.Memory, addr uintptr) string {
	st, err := interpose.Read[linux.Statx](mem, addr)
	if err != nil {
		return pointer(addr)
	}
	return "{stx_mask=" + flags(statxMasks, uint64(st.Mask), "0") +
		", stx_attributes=" + flags(statxAttrs, st.Attributes, "0") +
		", stx_mode=" + fileMode(uint32(st.Mode)) + ", stx_size=" + strconv.FormatUint(st.Size, 10) + ", ...}"
}

// statxSyncType is AT_STATX_SYNC_TYPE, the flags' bits of the sync type.
const statxSyncType = unix.AT_STATX_FORCE_SYNC | unix.AT_STATX_DONT_SYNC
