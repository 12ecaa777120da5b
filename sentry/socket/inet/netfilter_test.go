package inet

import (
	"errors"
	"math/rand"
	"testing"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
)

func tableName(s string) linux.TableName {
	var n linux.TableName
	copy(n[:], s)
	return n
}

// TestInitialFilter checks the initial filter table against Linux's
// (three ACCEPT policies of 152 bytes and the ERROR entry).
func TestInitialFilter(t *testing.T) {
	st := NewIsolated()
	defer st.Release()
	info, err := st.IPTablesInfo(tableName("filter"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 632 || info.NumEntries != 4 || info.ValidHooks != 0xe ||
		info.HookEntry != [5]uint32{unsetHook, 0, 152, 304, unsetHook} {
		t.Errorf("filter info %+v", info)
	}
	b, err := st.IPTablesEntries(tableName("filter"), info.Size)
	if err != nil || len(b) != int(info.Size) {
		t.Fatalf("entries: %d bytes, %v", len(b), err)
	}
	if _, err := st.IPTablesEntries(tableName("filter"), 600); err != sys.EAGAIN {
		t.Errorf("entries of a wrong size: %v, want EAGAIN", err)
	}
	if _, err := st.IPTablesInfo(tableName("security")); err != sys.ENOENT {
		t.Errorf("unknown table: %v, want ENOENT", err)
	}
}

// filterBlob is a filter table with a UDP DROP rule before INPUT's policy.
func filterBlob() (linux.IPTReplace, []byte) {
	r := linux.IPTReplace{ValidHooks: 0xe, NumEntries: 5, NumCounters: 4}
	copy(r.Name[:], "filter")
	var b []byte
	rule := linux.IPTEntry{TargetOffset: linux.SizeOfIPTEntry + 48, NextOffset: linux.SizeOfIPTEntry + 48 + 40}
	rule.IP.Protocol = sys.IPPROTO_UDP
	b = append(b, abi.Encode(rule)...)
	m := linux.XTEntryMatch{MatchSize: 48}
	copy(m.Name[:], "udp")
	b = append(b, abi.Encode(m)...)
	b = append(b, abi.Encode(linux.XTUDP{SourcePortEnd: 0xffff, DestinationPortStart: 9, DestinationPortEnd: 9})...)
	b = append(b, make([]byte, 6)...)
	b = append(b, abi.Encode(linux.XTStandardTarget{Target: linux.XTEntryTarget{TargetSize: 40}, Verdict: -linux.NF_DROP - 1})...)
	for h := 1; h <= 3; h++ {
		off := uint32(len(b))
		if h > 1 {
			r.HookEntry[h] = off
		}
		r.Underflow[h] = off
		b = append(b, abi.Encode(linux.IPTEntry{TargetOffset: linux.SizeOfIPTEntry, NextOffset: linux.SizeOfIPTEntry + 40})...)
		b = append(b, abi.Encode(linux.XTStandardTarget{Target: linux.XTEntryTarget{TargetSize: 40}, Verdict: -linux.NF_ACCEPT - 1})...)
	}
	b = append(b, abi.Encode(linux.IPTEntry{TargetOffset: linux.SizeOfIPTEntry, NextOffset: linux.SizeOfIPTEntry + 64})...)
	et := linux.XTErrorTarget{Target: linux.XTEntryTarget{TargetSize: 64}}
	copy(et.Target.Name[:], "ERROR")
	copy(et.Name[:], "ERROR")
	b = append(b, abi.Encode(et)...)
	r.Size = uint32(len(b))
	return r, b
}

// TestReplace sets a table, reads it back as given, and checks errnos.
func TestReplace(t *testing.T) {
	st := NewIsolated()
	defer st.Release()
	r, b := filterBlob()
	if err := CheckIPTablesReplace(&r, int(linux.SizeOfIPTReplace+r.Size)); err != nil {
		t.Fatal(err)
	}
	if err := CheckIPTablesReplace(&r, int(linux.SizeOfIPTReplace+r.Size-1)); err != sys.EINVAL {
		t.Errorf("short option: %v, want EINVAL", err)
	}
	old, err := st.IPTablesReplace(&r, b)
	if err != nil || len(old) != 4 {
		t.Fatalf("replace: %d counters, %v", len(old), err)
	}
	got, err := st.IPTablesEntries(tableName("filter"), r.Size)
	if err != nil || len(got) != len(b) {
		t.Fatalf("entries: %d bytes, %v", len(got), err)
	}
	// comefrom aside (the hooks reaching each entry), the bytes are the
	// ones given.
	var e linux.IPTEntry
	abi.Decode(got, &e)
	if e.Comeback != 1<<linux.NF_INET_LOCAL_IN {
		t.Errorf("comefrom %#x", e.Comeback)
	}
	if _, err := st.IPTablesReplace(&r, b); err != sys.EAGAIN {
		t.Errorf("stale counter count: %v, want EAGAIN", err)
	}
	r.NumCounters = 5
	bad := append([]byte(nil), b...)
	bad[linux.SizeOfIPTEntry+2] = 'x' // "udx": no such match
	if _, err := st.IPTablesReplace(&r, bad); err != sys.ENOENT {
		t.Errorf("unknown match: %v, want ENOENT", err)
	}
}

// TestReplaceNeverPanics feeds mutated tables to the checks: each is
// taken or refused with an errno, and a taken one translates for
// netstack (the sentry must not fall over on an application's table).
func TestReplaceNeverPanics(t *testing.T) {
	st := NewIsolated()
	defer st.Release()
	r0, b0 := filterBlob()
	rng := rand.New(rand.NewSource(1))
	taken := 0
	for i := 0; i < 20000; i++ {
		r, b := r0, append([]byte(nil), b0...)
		for n := rng.Intn(4) + 1; n > 0; n-- {
			switch rng.Intn(4) {
			case 0:
				b[rng.Intn(len(b))] = byte(rng.Intn(256))
			case 1:
				b[rng.Intn(len(b))] ^= 1 << rng.Intn(8)
			case 2:
				r.HookEntry[rng.Intn(5)] = uint32(rng.Intn(len(b) + 16))
			case 3:
				r.Underflow[rng.Intn(5)] = uint32(rng.Intn(len(b) + 16))
			}
		}
		info, _ := st.IPTablesInfo(tableName("filter"))
		r.NumCounters = info.NumEntries
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("table %d panics: %v", i, p)
				}
			}()
			if _, err := st.IPTablesReplace(&r, b); err == nil {
				taken++
			} else if !errors.Is(err, sys.EINVAL) && err != sys.ELOOP && err != sys.ENOENT && err != sys.EPROTOTYPE {
				t.Errorf("table %d: %v", i, err)
			}
		}()
	}
	t.Logf("%d of 20000 mutated tables taken", taken)
}
