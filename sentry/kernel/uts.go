package kernel

import (
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// UTSNamespace is a UTS namespace (CLONE_NEWUTS): the host and domain
// names uname(2) reports and sethostname(2) and setdomainname(2) change,
// which CAP_SYS_ADMIN in the user namespace that owns it may set.
type UTSNamespace struct {
	userNS *UserNamespace // owner; immutable
	ino    uint64         // immutable

	// mu guards the names.
	mu                   sync.Mutex
	hostname, domainname string // guarded by mu
}

// Inode is the namespace's inode number (/proc/PID/ns/uts).
func (u *UTSNamespace) Inode() uint64 { return u.ino }

// UserNS is the user namespace that owns u.
func (u *UTSNamespace) UserNS() *UserNamespace { return u.userNS }

// Names returns the host and domain names.
func (u *UTSNamespace) Names() (hostname, domainname string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hostname, u.domainname
}

// maxUTSName is __NEW_UTS_LEN, the longest name.
const maxUTSName = 64

// SetName implements sethostname(2) (domain false) and setdomainname(2):
// EPERM without CAP_SYS_ADMIN in the owning user namespace, EINVAL for a
// name longer than 64 bytes.
func (u *UTSNamespace) SetName(c Credentials, name string, domain bool) error {
	if !c.HasCapIn(u.userNS, linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	if len(name) > maxUTSName {
		return unix.EINVAL
	}
	u.WriteName(name, domain)
	return nil
}

// WriteName sets the host name (domain false) or the domain name as a
// write to /proc/sys/kernel/hostname or domainname does
// (proc_do_uts_string): the file's permissions are the only check, and
// the name is cut at 64 bytes.
func (u *UTSNamespace) WriteName(name string, domain bool) {
	name = name[:min(len(name), maxUTSName)]
	u.mu.Lock()
	defer u.mu.Unlock()
	if domain {
		u.domainname = name
	} else {
		u.hostname = name
	}
}

// copyFor returns a new namespace with u's names, owned by owner.
func (u *UTSNamespace) copyFor(owner *UserNamespace) *UTSNamespace {
	h, d := u.Names()
	return &UTSNamespace{userNS: owner, ino: NewNSInode(), hostname: h, domainname: d}
}

// UTS returns t's UTS namespace.
func (t *Task) UTS() *UTSNamespace {
	if u := t.uts.Load(); u != nil {
		return u
	}
	return t.K.InitUTS()
}

// InitUTS returns the sandbox's initial UTS namespace, named Hostname
// when it is first asked for (after the sandbox's configuration set it).
func (k *Kernel) InitUTS() *UTSNamespace {
	k.initUTSOnce.Do(func() {
		k.initUTS = &UTSNamespace{ino: InitUTSNSInode, hostname: k.Hostname, domainname: DomainName}
	})
	return k.initUTS
}
