package tmpfs

import "testing"

func TestParseOptions(t *testing.T) {
	for _, c := range []struct {
		data string
		want Options
		str  string
	}{
		{"", Options{Mode: 0o1777, UID: 5, GID: 6}, "uid=5,gid=6"},
		{"size=32M,mode=700", Options{Mode: 0o700, Size: 32 << 20, UID: 5, GID: 6}, "size=32768k,mode=700,uid=5,gid=6"},
		{"size=10%,uid=0,gid=0,nr_inodes=10,inode64,ro", Options{Mode: 0o1777, Size: 4096}, "size=4k"},
		{"nr_blocks=2,size=1k", Options{Mode: 0o1777, Size: 4096, UID: 5, GID: 6}, "size=4k,uid=5,gid=6"},
		{"nr_blocks=2", Options{Mode: 0o1777, Size: 8192, UID: 5, GID: 6}, "size=8k,uid=5,gid=6"},
		{"size=2g", Options{Mode: 0o1777, Size: 2 << 30, UID: 5, GID: 6}, "size=2097152k,uid=5,gid=6"},
	} {
		got, err := ParseOptions(c.data, 1000, 5, 6)
		if err != nil || got != c.want || got.String() != c.str {
			t.Errorf("ParseOptions(%q) = %+v %q, %v; want %+v %q", c.data, got, got.String(), err, c.want, c.str)
		}
	}
	for _, bad := range []string{"bogus", "size=12q", "mode=9", "uid=-1", "uid=4294967295", "inode64=1", "huge", "size=99999999999999999999", "size=17179869184e"} {
		if _, err := ParseOptions(bad, 1000, 0, 0); err == nil {
			t.Errorf("ParseOptions(%q) accepted it", bad)
		}
	}
}
