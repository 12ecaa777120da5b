package proc

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// write writes text to the file at path below fs's root, as a write(2)
// at offset 0 would.
func write(t *testing.T, fs *FileSystem, path, text string) error {
	t.Helper()
	ctx := context.Background()
	var i vfs.Inode = fs.Root()
	for _, name := range strings.Split(strings.Trim(path, "/"), "/") {
		var err error
		if i, err = i.(vfs.Dir).Lookup(ctx, name); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	f, err := i.Open(ctx, unix.O_WRONLY)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Release()
	_, err = f.WriteAt(ctx, []byte(text), 0)
	return err
}

// TestPipeSysctls: /proc/sys/fs/pipe-* and inotify/max_user_instances
// read Linux's defaults and are the limits the pipe and inotify accounts
// enforce; root writes them, pipe-max-size rounded as F_SETPIPE_SZ rounds.
func TestPipeSysctls(t *testing.T) {
	fs, k := newTestFS(t)
	for path, want := range map[string]string{
		"sys/fs/pipe-max-size":              "1048576\n",
		"sys/fs/pipe-user-pages-soft":       "16384\n",
		"sys/fs/pipe-user-pages-hard":       "0\n",
		"sys/fs/inotify/max_user_instances": "128\n",
	} {
		if got := read(t, fs, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	for _, c := range []struct {
		path, text, want string
		err              error
	}{
		{"sys/fs/pipe-max-size", "5000\n", "8192\n", nil},
		{"sys/fs/pipe-max-size", "0", "4096\n", nil},
		{"sys/fs/pipe-max-size", "2147483648", "2147483648\n", nil},
		{"sys/fs/pipe-max-size", "2147483649", "2147483648\n", unix.EINVAL},
		{"sys/fs/pipe-max-size", "-1", "2147483648\n", unix.EINVAL},
		{"sys/fs/pipe-max-size", "x", "2147483648\n", unix.EINVAL},
		{"sys/fs/pipe-user-pages-soft", "32", "32\n", nil},
		{"sys/fs/pipe-user-pages-soft", "-5", "32\n", unix.EINVAL},
		{"sys/fs/pipe-user-pages-hard", "64\n", "64\n", nil},
		{"sys/fs/inotify/max_user_instances", "3\n", "3\n", nil},
		{"sys/fs/inotify/max_user_instances", "-1", "3\n", unix.EINVAL},
		{"sys/fs/inotify/max_user_instances", "9223372036854775808", "3\n", unix.EINVAL},
	} {
		if err := write(t, fs, c.path, c.text); err != c.err {
			t.Errorf("writing %q to %s: %v, want %v", c.text, c.path, err, c.err)
		}
		if got := read(t, fs, c.path); got != c.want {
			t.Errorf("%s after writing %q = %q, want %q", c.path, c.text, got, c.want)
		}
	}
	if k.Inotify.MaxInstances() != 3 {
		t.Errorf("inotify accounts: max_user_instances %d, want 3", k.Inotify.MaxInstances())
	}
	if k.Pipes.MaxSize() != 1<<31 || k.Pipes.UserPagesSoft() != 32 || k.Pipes.UserPagesHard() != 64 {
		t.Errorf("accounts: max %d, soft %d, hard %d", k.Pipes.MaxSize(), k.Pipes.UserPagesSoft(), k.Pipes.UserPagesHard())
	}
}

// TestUTSNameSysctls: root writes kernel/hostname and domainname as
// proc_dostring takes a string: up to a newline or NUL, cut at 64 bytes,
// the whole write consumed.
func TestUTSNameSysctls(t *testing.T) {
	fs, _ := newTestFS(t)
	long := strings.Repeat("d", 70)
	for _, c := range []struct{ path, text, want string }{
		{"sys/kernel/domainname", "LTP_TEST", "LTP_TEST\n"},
		{"sys/kernel/domainname", "65536\nrest", "65536\n"},
		{"sys/kernel/domainname", long, long[:64] + "\n"},
		{"sys/kernel/hostname", " box\x00x", " box\n"},
	} {
		if err := write(t, fs, c.path, c.text); err != nil {
			t.Errorf("writing %q to %s: %v", c.text, c.path, err)
		}
		if got := read(t, fs, c.path); got != c.want {
			t.Errorf("%s after writing %q = %q, want %q", c.path, c.text, got, c.want)
		}
	}
}
