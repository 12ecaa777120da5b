package kernel_test

import (
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
)

// Credentials and their transitions: the setuid family's rules
// (setuid(2), setreuid(2), setresuid(2), setfsuid(2)) and what a change of
// user IDs does to the capabilities (capabilities(7)).

const keep = ^uint32(0) // -1: leave the ID as it is

func uids(t *kernel.Task) kernel.IDs { return t.Creds().UID }

func caps(t *kernel.Task) (eff, prm uint64) {
	c := t.Creds().Caps
	return c.Effective(), c.Permitted()
}

func ids(r, e, s, fs uint32) kernel.IDs { return kernel.IDs{Real: r, Effective: e, Saved: s, FS: fs} }

func TestSetuidAsRoot(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	if err := task.SetUID(1000); err != nil {
		t.Fatal(err)
	}
	if got := uids(task); got != ids(1000, 1000, 1000, 1000) {
		t.Errorf("setuid(1000) as root: %+v, want every ID 1000", got)
	}
	if eff, prm := caps(task); eff != 0 || prm != 0 {
		t.Errorf("capabilities after leaving uid 0 for good: effective %#x permitted %#x, want none", eff, prm)
	}
	if err := task.SetUID(0); err != unix.EPERM {
		t.Errorf("setuid(0) back: %v, want EPERM", err)
	}
	if err := task.SetUID(keep); err != unix.EINVAL {
		t.Errorf("setuid(-1): %v, want EINVAL", err)
	}
}

// TestKeepCaps: with PR_SET_KEEPCAPS, leaving uid 0 for good keeps the
// permitted set (the effective one still empties); execve clears the bit.
func TestKeepCaps(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	task.SetKeepCaps(true)
	if err := task.SetUID(1000); err != nil {
		t.Fatal(err)
	}
	if eff, prm := caps(task); eff != 0 || prm != kernel.AllCaps {
		t.Errorf("setuid(1000) with keepcaps: effective %#x permitted %#x, want none and all", eff, prm)
	}
	if !task.Creds().Caps.KeepCaps() {
		t.Error("keepcaps cleared by setuid")
	}
}

func TestSetresuidKeepsSavedRoot(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	if err := task.SetRESUID(1000, 1000, keep); err != nil {
		t.Fatal(err)
	}
	if got := uids(task); got != ids(1000, 1000, 0, 1000) {
		t.Errorf("setresuid(1000, 1000, -1): %+v", got)
	}
	// The effective uid left 0: no effective capabilities; the saved uid
	// is still 0: the permitted set stays.
	if eff, prm := caps(task); eff != 0 || prm != kernel.AllCaps {
		t.Errorf("effective %#x permitted %#x: want none and all", eff, prm)
	}
	if task.HasCapability(linux.CAP_SETUID) {
		t.Error("CAP_SETUID without an effective set")
	}
	// Unprivileged, each ID may become the real, effective or saved one.
	if err := task.SetRESUID(keep, 2000, keep); err != unix.EPERM {
		t.Errorf("setresuid(-1, 2000, -1): %v, want EPERM", err)
	}
	if err := task.SetRESUID(keep, 0, keep); err != nil {
		t.Fatalf("back to the saved uid 0: %v", err)
	}
	if eff, _ := caps(task); eff != kernel.AllCaps {
		t.Errorf("effective uid back to 0: effective %#x, want the permitted set", eff)
	}
	if got := uids(task); got != ids(1000, 0, 0, 0) {
		t.Errorf("%+v", got)
	}
}

func TestSetreuidSavedRule(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	if err := task.SetRESUID(1000, 2000, 3000); err != nil {
		t.Fatal(err)
	}
	// Unprivileged: the real uid may become the real or effective one, the
	// effective one any of the three.
	if err := task.SetREUID(3000, keep); err != unix.EPERM {
		t.Errorf("setreuid(saved, -1): %v, want EPERM", err)
	}
	// Setting the real uid makes the saved uid the new effective one.
	if err := task.SetREUID(2000, 1000); err != nil {
		t.Fatal(err)
	}
	if got := uids(task); got != ids(2000, 1000, 1000, 1000) {
		t.Errorf("setreuid(2000, 1000): %+v", got)
	}
	// An effective uid equal to the old real one leaves the saved uid.
	if err := task.SetREUID(keep, 2000); err != nil {
		t.Fatal(err)
	}
	if got := uids(task); got != ids(2000, 2000, 1000, 2000) {
		t.Errorf("setreuid(-1, real): %+v", got)
	}
	// Unprivileged setuid only moves the effective uid, to real or saved.
	if err := task.SetUID(1000); err != nil {
		t.Fatal(err)
	}
	if got := uids(task); got != ids(2000, 1000, 1000, 1000) {
		t.Errorf("unprivileged setuid(saved): %+v", got)
	}
}

func TestPrivilegeIsACapability(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	// uid 0 that dropped its effective capabilities (capset) is not
	// privileged; raising them back from the permitted set is allowed.
	if err := task.SetCaps(0, kernel.AllCaps, 0); err != nil {
		t.Fatal(err)
	}
	if err := task.SetUID(1000); err != unix.EPERM {
		t.Errorf("setuid(1000) by uid 0 without CAP_SETUID: %v, want EPERM", err)
	}
	if err := task.SetGroups([]uint32{5}); err != unix.EPERM {
		t.Errorf("setgroups without CAP_SETGID: %v, want EPERM", err)
	}
	if err := task.SetGID(7); err != unix.EPERM {
		t.Errorf("setgid(7) without CAP_SETGID: %v, want EPERM", err)
	}
	if err := task.SetCaps(1<<linux.CAP_SETUID, kernel.AllCaps, 0); err != nil {
		t.Fatal(err)
	}
	if err := task.SetUID(1000); err != nil {
		t.Errorf("setuid(1000) with CAP_SETUID: %v", err)
	}
	// A capability can not come back once out of the permitted set.
	task = kerneltest.NewTask(t, nil)
	if err := task.SetCaps(0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := task.SetCaps(1<<linux.CAP_SETUID, 1<<linux.CAP_SETUID, 0); err != unix.EPERM {
		t.Errorf("capset beyond the permitted set: %v, want EPERM", err)
	}
}

func TestSetfsuid(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	fsBits := uint64(1<<linux.CAP_CHOWN | 1<<linux.CAP_DAC_OVERRIDE | 1<<linux.CAP_DAC_READ_SEARCH | 1<<linux.CAP_FOWNER |
		1<<linux.CAP_FSETID | 1<<linux.CAP_LINUX_IMMUTABLE | 1<<linux.CAP_MAC_OVERRIDE | 1<<linux.CAP_MKNOD)
	if old := task.SetFSUID(1000); old != 0 {
		t.Errorf("setfsuid returns the old filesystem uid: %d, want 0", old)
	}
	if got := uids(task); got != ids(0, 0, 0, 1000) {
		t.Errorf("%+v", got)
	}
	// Leaving 0 drops the filesystem capabilities from the effective set.
	if eff, _ := caps(task); eff != kernel.AllCaps&^fsBits {
		t.Errorf("effective %#x after setfsuid(1000), want all but the filesystem ones", eff)
	}
	if c := task.FSCreds(); c.UID() != 1000 || c.HasCap(linux.CAP_DAC_OVERRIDE) || !c.HasCap(linux.CAP_KILL) {
		t.Errorf("the VFS's credentials: uid %d, CAP_DAC_OVERRIDE %v, CAP_KILL %v", c.UID(), c.HasCap(linux.CAP_DAC_OVERRIDE), c.HasCap(linux.CAP_KILL))
	}
	if old := task.SetFSUID(keep); old != 1000 {
		t.Errorf("setfsuid(-1) only asks: %d, want 1000", old)
	}
	task.SetFSUID(0)
	if eff, _ := caps(task); eff != kernel.AllCaps {
		t.Errorf("effective %#x back at filesystem uid 0, want all", eff)
	}
	// Any setuid call makes the filesystem uid the effective one.
	task.SetFSUID(1000)
	if err := task.SetRESUID(keep, keep, keep); err != nil {
		t.Fatal(err)
	}
	if got := uids(task).FS; got != 0 {
		t.Errorf("filesystem uid %d after setresuid, want the effective 0", got)
	}
	// Unprivileged, it may become the real, effective, saved or current
	// filesystem uid only; a refusal still returns the current one.
	if err := task.SetRESUID(1000, 1000, 2000); err != nil {
		t.Fatal(err)
	}
	if old := task.SetFSUID(3000); old != 1000 || uids(task).FS != 1000 {
		t.Errorf("refused setfsuid(3000): returned %d, filesystem uid %d; want 1000, 1000", old, uids(task).FS)
	}
	if task.SetFSUID(2000); uids(task).FS != 2000 {
		t.Errorf("setfsuid(saved uid) refused")
	}
	// Its capabilities gone, the task may not take another group.
	if old := task.SetFSGID(5); old != 0 || task.Creds().GID.FS != 0 {
		t.Errorf("setfsgid(5) without CAP_SETGID: returned %d, filesystem gid %d; want 0, 0", old, task.Creds().GID.FS)
	}
}

func TestAccessCredsAreTheRealIDs(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	if err := task.SetRESUID(1000, 0, 0); err != nil {
		t.Fatal(err)
	}
	c := task.AccessCreds()
	if c.UID() != 1000 || c.HasCap(linux.CAP_DAC_OVERRIDE) {
		t.Errorf("access(2)'s credentials: uid %d, CAP_DAC_OVERRIDE %v; want the real uid without capabilities", c.UID(), c.HasCap(linux.CAP_DAC_OVERRIDE))
	}
	if c := task.FSCreds(); c.UID() != 0 || !c.HasCap(linux.CAP_DAC_OVERRIDE) {
		t.Errorf("AT_EACCESS's credentials: uid %d; want the effective uid 0 with its capabilities", c.UID())
	}
}

func TestCredentialsAreInherited(t *testing.T) {
	parent := kerneltest.NewTask(t, nil)
	if err := parent.SetGroups([]uint32{4, 5}); err != nil {
		t.Fatal(err)
	}
	if err := parent.SetRESUID(1000, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	parent.SetNoNewPrivs()
	c, err := kernel.NewChild(parent)
	if err != nil {
		t.Fatal(err)
	}
	if got := uids(c); got != uids(parent) {
		t.Errorf("the child's uids %+v, the parent's %+v", got, uids(parent))
	}
	if g := c.Creds().Groups; len(g) != 2 || g[0] != 4 {
		t.Errorf("the child's groups %v", g)
	}
	if !c.NoNewPrivs() {
		t.Error("no_new_privs was not inherited")
	}
	// The threads of a process share its credentials (as glibc makes
	// Linux's per-thread ones agree).
	leader := kerneltest.NewTask(t, nil)
	th, err := kernel.NewThread(leader)
	if err != nil {
		t.Fatal(err)
	}
	if err := th.SetUID(1000); err != nil {
		t.Fatal(err)
	}
	if got := uids(leader); got != ids(1000, 1000, 1000, 1000) {
		t.Errorf("the leader after its thread's setuid: %+v", got)
	}
}
