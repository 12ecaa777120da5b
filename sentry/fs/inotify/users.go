package inotify

import (
	"math"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// DefaultMaxUserInstances is /proc/sys/fs/inotify/max_user_instances'
// default (Linux's inotify_user_setup).
const DefaultMaxUserInstances = 128

// Users counts each user's inotify instances against max_user_instances,
// as Linux's ucounts do (UCOUNT_INOTIFY_INSTANCES, by effective uid):
// inotify_init past the limit is EMFILE. The limit and the counts are the
// sandbox's, as Linux's are the host's: root of the sandbox sets the limit
// through /proc/sys/fs/inotify, and the host's never changes. The zero
// value is not ready; use NewUsers.
type Users struct {
	max   atomic.Int64
	mu    sync.Mutex
	count map[uint32]int64 // instances by effective uid, none at 0; guarded by mu
}

// NewUsers returns the accounts with Linux's default limit.
func NewUsers() *Users {
	u := &Users{count: make(map[uint32]int64)}
	u.max.Store(DefaultMaxUserInstances)
	return u
}

// MaxInstances is max_user_instances.
func (u *Users) MaxInstances() int64 { return u.max.Load() }

// SetMaxInstances sets max_user_instances: 0 to LONG_MAX, or EINVAL
// (proc_doulongvec_minmax with Linux's bounds). Instances over a lowered
// limit stay; new ones fail until enough are closed.
func (u *Users) SetMaxInstances(n uint64) error {
	if n > math.MaxInt64 {
		return unix.EINVAL
	}
	u.max.Store(int64(n))
	return nil
}

// Account is who an instance is charged to: the sandbox's users and the
// creator's effective uid. The zero Account charges nobody.
type Account struct {
	Users *Users
	UID   uint32
}

// take charges one more instance, or reports that the user is at the
// limit.
func (a Account) take() bool {
	if a.Users == nil {
		return true
	}
	a.Users.mu.Lock()
	defer a.Users.mu.Unlock()
	if a.Users.count[a.UID] >= a.Users.max.Load() {
		return false
	}
	a.Users.count[a.UID]++
	return true
}

// give returns an instance take charged.
func (a Account) give() {
	if a.Users == nil {
		return
	}
	a.Users.mu.Lock()
	defer a.Users.mu.Unlock()
	if a.Users.count[a.UID]--; a.Users.count[a.UID] <= 0 {
		delete(a.Users.count, a.UID)
	}
}
