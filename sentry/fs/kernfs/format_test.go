package kernfs

import "testing"

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		first, n, bits int
		list, mask     string
	}{
		{0, 1, 1, "0", "1"},
		{0, 2, 2, "0-1", "3"},
		{1, 1, 2, "1", "2"},
		{0, 8, 8, "0-7", "ff"},
		{3, 1, 40, "3", "00,00000008"},
		{0, 36, 40, "0-35", "0f,ffffffff"},
		{0, 64, 64, "0-63", "ffffffff,ffffffff"},
	} {
		if got := CPUList(c.first, c.n); got != c.list {
			t.Errorf("CPUList(%d, %d) = %q, want %q", c.first, c.n, got, c.list)
		}
		if got := CPUMask(c.first, c.n, c.bits); got != c.mask {
			t.Errorf("CPUMask(%d, %d, %d) = %q, want %q", c.first, c.n, c.bits, got, c.mask)
		}
	}
}
