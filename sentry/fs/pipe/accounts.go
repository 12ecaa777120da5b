package pipe

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Per-user pipe buffer accounting, as Linux's fs/pipe.c has it: every
// pipe's buffer pages are counted against the user that made it (its
// real uid, Linux's user_struct), and /proc/sys/fs/pipe-user-pages-soft
// and pipe-user-pages-hard bound what an unprivileged user (without
// CAP_SYS_RESOURCE and CAP_SYS_ADMIN) may hold: over the soft limit a
// new pipe gets PIPE_MIN_DEF_BUFFERS pages instead of 16, over the hard
// limit none at all, and F_SETPIPE_SZ may not grow a pipe over either.
// pipe-max-size bounds what F_SETPIPE_SZ gives an unprivileged caller
// (without CAP_SYS_RESOURCE). The limits and counts are the sandbox's,
// as Linux's are the host's: root of the sandbox writes them through
// /proc/sys/fs, and the host's own never change.

const (
	// defBuffers is PIPE_DEF_BUFFERS: the pages of a new pipe.
	defBuffers = DefaultSize / PageSize
	// minDefBuffers is PIPE_MIN_DEF_BUFFERS: the pages of a new pipe of
	// a user over the soft limit (2 since Linux's commit 46c4c9d1beb7,
	// so that a write of a page and then another do not block).
	minDefBuffers = 2
	// DefaultUserPagesSoft is pipe-user-pages-soft's default,
	// PIPE_DEF_BUFFERS * INR_OPEN_CUR: 1024 pipes of 16 pages.
	DefaultUserPagesSoft = defBuffers * 1024
)

// Accounts are the sandbox's pipe limits and the pages each user's pipes
// hold. The zero value is not ready; use NewAccounts.
type Accounts struct {
	maxSize   atomic.Uint32 // pipe-max-size, bytes
	soft      atomic.Uint64 // pipe-user-pages-soft, 0: no limit
	hard      atomic.Uint64 // pipe-user-pages-hard, 0: no limit
	mu        sync.Mutex
	userPages map[uint32]uint64 // pages by real uid, none at 0; guarded by mu
}

// NewAccounts returns the accounts with Linux's default limits.
func NewAccounts() *Accounts {
	a := &Accounts{userPages: make(map[uint32]uint64)}
	a.maxSize.Store(MaxUserSize)
	a.soft.Store(DefaultUserPagesSoft)
	return a
}

// Caller is who makes or resizes a pipe, what fs/pipe.c asks of the
// current task: the accounts it charges and its credentials.
type Caller struct {
	Accounts *Accounts
	// UID is the caller's real user ID (its user_struct), the user a
	// pipe it makes is charged to.
	UID uint32
	// Resource and Admin tell whether it holds CAP_SYS_RESOURCE and
	// CAP_SYS_ADMIN in the sandbox's initial user namespace (capable()).
	Resource, Admin bool
}

// unprivileged is pipe_is_unprivileged_user.
func (c Caller) unprivileged() bool { return !c.Resource && !c.Admin }

// account is account_pipe_buffers: uid's pages change from old to new;
// it returns uid's pages after.
func (a *Accounts) account(uid uint32, old, new uint64) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.userPages[uid] - old + new
	if n == 0 {
		delete(a.userPages, uid)
	} else {
		a.userPages[uid] = n
	}
	return n
}

// UserPages returns the pages uid's pipes hold.
func (a *Accounts) UserPages(uid uint32) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.userPages[uid]
}

// tooManySoft is too_many_pipe_buffers_soft.
func (a *Accounts) tooManySoft(pages uint64) bool {
	soft := a.soft.Load()
	return soft != 0 && pages > soft
}

// tooManyHard is too_many_pipe_buffers_hard.
func (a *Accounts) tooManyHard(pages uint64) bool {
	hard := a.hard.Load()
	return hard != 0 && pages > hard
}

// MaxSize returns pipe-max-size.
func (a *Accounts) MaxSize() uint32 { return a.maxSize.Load() }

// SetMaxSize sets pipe-max-size as proc_dopipe_max_size does: rounded as
// F_SETPIPE_SZ rounds (round_pipe_size), EINVAL above 2^31.
func (a *Accounts) SetMaxSize(size uint64) error {
	n := roundSize(size)
	if n == 0 {
		return unix.EINVAL
	}
	a.maxSize.Store(n)
	return nil
}

// UserPagesSoft returns pipe-user-pages-soft (0: no limit).
func (a *Accounts) UserPagesSoft() uint64 { return a.soft.Load() }

// SetUserPagesSoft sets pipe-user-pages-soft (0: no limit).
func (a *Accounts) SetUserPagesSoft(n uint64) { a.soft.Store(n) }

// UserPagesHard returns pipe-user-pages-hard (0: no limit).
func (a *Accounts) UserPagesHard() uint64 { return a.hard.Load() }

// SetUserPagesHard sets pipe-user-pages-hard (0: no limit).
func (a *Accounts) SetUserPagesHard(n uint64) { a.hard.Store(n) }

// newPipe is alloc_pipe_info: a pipe charged to c's user, of 16 pages,
// or fewer if pipe-max-size is smaller and c lacks CAP_SYS_RESOURCE, or
// PIPE_MIN_DEF_BUFFERS if the user is over the soft limit and c is
// unprivileged; false if it is over the hard limit and c is
// unprivileged.
func newPipe(c Caller) (*Pipe, bool) {
	a := c.Accounts
	pages := uint64(defBuffers)
	if max := uint64(a.MaxSize()); pages*PageSize > max && !c.Resource {
		pages = max / PageSize
	}
	user := a.account(c.UID, 0, pages)
	if a.tooManySoft(user) && c.unprivileged() {
		user = a.account(c.UID, pages, minDefBuffers)
		pages = minDefBuffers
	}
	if a.tooManyHard(user) && c.unprivileged() {
		a.account(c.UID, pages, 0)
		return nil, false
	}
	p := alloc(int(pages) * PageSize)
	p.accounts, p.uid, p.accounted = a, c.UID, pages
	return p, true
}

// unaccount gives the pipe's pages back to its user (free_pipe_info);
// p.mu is held.
func (p *Pipe) unaccount() {
	if p.accounts != nil && p.accounted != 0 {
		p.accounts.account(p.uid, p.accounted, 0)
		p.accounted = 0
	}
}
