package sys

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/vfs"
)

func TestSys(t *testing.T) {
	fs := New(3, nil, nil)
	ctx := context.Background()
	for path, want := range map[string]string{
		"devices/system/cpu/online":                             "0-2\n",
		"devices/system/cpu/possible":                           "0-2\n",
		"devices/system/cpu/offline":                            "\n",
		"devices/system/cpu/cpu2/online":                        "1\n",
		"devices/system/cpu/cpu2/topology/core_id":              "2\n",
		"devices/system/cpu/cpu2/topology/thread_siblings":      "4\n",
		"devices/system/cpu/cpu2/topology/core_siblings_list":   "0-2\n",
		"devices/system/cpu/cpu0/topology/package_cpus":         "7\n",
		"devices/system/cpu/cpu1/topology/thread_siblings_list": "1\n",
		"devices/system/node/online":                            "0\n",
		"devices/system/node/has_memory":                        "0\n",
		"devices/system/node/node0/cpumap":                      "7\n",
		"devices/system/node/node0/cpulist":                     "0-2\n",
		"devices/system/node/node0/distance":                    "10\n",
	} {
		if got, err := kernfs.ReadPath(ctx, fs.Root(), path); got != want || err != nil {
			t.Errorf("%s: %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"block", "class/dmi", "firmware", "devices/system/cpu/cpu3", "devices/system/node/node1", "class/net/lo", "kernel"} {
		if _, err := kernfs.ReadPath(ctx, fs.Root(), path); err != unix.ENOENT {
			t.Errorf("%s: %v, want ENOENT", path, err)
		}
	}
	net, _ := fs.Root().(vfs.Dir).Lookup(ctx, "class")
	net, _ = net.(vfs.Dir).Lookup(ctx, "net")
	if ents, err := net.(vfs.Dir).ReadDir(ctx); len(ents) != 0 || err != nil {
		t.Errorf("class/net lists %v, %v; the sandbox has no interface", ents, err)
	}
	cpu, _ := fs.Root().(vfs.Dir).Lookup(ctx, "devices")
	for _, name := range []string{"system", "cpu", "online"} {
		cpu, _ = cpu.(vfs.Dir).Lookup(ctx, name)
	}
	if _, err := cpu.Open(ctx, unix.O_WRONLY); err != unix.EROFS {
		t.Errorf("opening online for writing: %v, want EROFS", err)
	}
}

// TestClassNet checks that class/net lists the interfaces it is given,
// with their attributes.
func TestClassNet(t *testing.T) {
	ctx := context.Background()
	fs := New(1, nil, func() ([]NetInterface, error) {
		return []NetInterface{{Name: "lo", Index: 1, Flags: unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING, MTU: 65536, Type: 772}}, nil
	})
	for path, want := range map[string]string{
		"class/net/lo/mtu":       "65536\n",
		"class/net/lo/flags":     "0x9\n",
		"class/net/lo/ifindex":   "1\n",
		"class/net/lo/type":      "772\n",
		"class/net/lo/operstate": "unknown\n",
	} {
		if got, err := kernfs.ReadPath(ctx, fs.Root(), path); got != want || err != nil {
			t.Errorf("%s: %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := kernfs.ReadPath(ctx, fs.Root(), "class/net/eth0"); err != unix.ENOENT {
		t.Errorf("class/net/eth0: %v, want ENOENT", err)
	}
}
