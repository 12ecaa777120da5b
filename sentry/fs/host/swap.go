package host

import "golang.org/x/sys/unix"

// Swap describes a tree opened as an idmapped mount on which the host's
// root and the sentry's host identity trade places (launch.OpenImageRoot):
// files of uid 0 show there as UID, and files of UID as 0 (gids alike).
// The sandbox sees the files' real owners, so their stat is swapped back.
type Swap struct {
	UID, GID uint32
}

// owners returns st, seen through the swapping mount, with its real owner
// and group. A nil Swap changes nothing.
func (s *Swap) owners(st unix.Stat_t) unix.Stat_t {
	if s == nil {
		return st
	}
	st.Uid = swapID(st.Uid, s.UID)
	st.Gid = swapID(st.Gid, s.GID)
	return st
}

// swapID trades 0 and with.
func swapID(id, with uint32) uint32 {
	switch id {
	case 0:
		return with
	case with:
		return 0
	}
	return id
}
