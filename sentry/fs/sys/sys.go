// Package sys is the sandbox's /sys, never the host's: what a kernel that
// runs only the sandbox would show of itself, and nothing else.
//
//   - devices/system/cpu: the CPUs the sandbox may use (kernel.CPUs),
//     numbered from 0, all online: online, possible, present and offline
//     (empty), and for each CPU its online flag and topology, one package
//     whose cores are the sandbox's CPUs, each its own core, as
//     /proc/cpuinfo says. glibc's get_nprocs reads online.
//   - devices/system/node: one memory node, node 0, with every CPU and
//     the sandbox's memory (meminfo: the account /proc/meminfo shows), as
//     the NUMA policy calls answer (package mm); libnuma and numactl read
//     it.
//   - fs/cgroup: where the sandbox's cgroup (package cgroup) is mounted.
//   - class/net: the network interfaces of the namespace whose sysfs it is
//     (the mounter's, package kernel's NetNS.SysFS: the sandbox's own
//     stack's, package inet; with --network=host the host's in the first
//     namespace, package hostinet), each a directory of its attributes
//     (Linux links them to devices/virtual/net; here they are
//     directories), listed when looked at, so that a sandbox that never
//     uses the network makes no stack. A down interface's carrier fails
//     to read with EINVAL, as carrier_show.
//   - Nothing else exists (no block, bus, firmware or dmi, no module):
//     other paths fail with ENOENT, as on a kernel built without them.
//
// The tree is made once: the CPUs do not change while the sandbox runs,
// and the directory cgroup is mounted on must be one value. Everything is
// read-only (mounted ro: EROFS on writes).
package sys

import (
	"context"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// FileSystem is a /sys.
type FileSystem struct {
	root *kernfs.Dir
}

// NetInterface is a network interface as class/net shows it.
type NetInterface struct {
	Name  string
	Index int32
	Flags uint32 // IFF_*
	MTU   uint32
	Type  uint16 // ARPHRD_*
	MAC   [6]byte
}

// New returns the /sys of a sandbox that may use cpus CPUs and the memory
// of account mem, and whose network interfaces nets lists (nil: none).
func New(cpus int, mem *usage.Memory, nets func() ([]NetInterface, error)) *FileSystem {
	tr := kernfs.Tree{Dev: vfs.NewDeviceID(), ReadOnly: true, Time: vfs.Now()}
	empty := func(path string) *kernfs.Dir { return tr.Fixed(path, map[string]vfs.Inode{}) }
	fs := &FileSystem{}
	fs.root = tr.Fixed("/", map[string]vfs.Inode{
		"devices": tr.Fixed("/devices", map[string]vfs.Inode{
			"system": tr.Fixed("/devices/system", map[string]vfs.Inode{
				"cpu":  cpuDir(tr, cpus),
				"node": nodeDir(tr, cpus, mem),
			}),
		}),
		"fs": tr.Fixed("/fs", map[string]vfs.Inode{
			"cgroup": empty("/fs/cgroup"),
		}),
		"class": tr.Fixed("/class", map[string]vfs.Inode{
			"net": netDir(tr, nets),
		}),
	})
	return fs
}

// Root implements vfs.FileSystem.
func (fs *FileSystem) Root() vfs.Inode { return fs.root }

// Statfs implements vfs.FileSystem.
func (fs *FileSystem) Statfs(ctx context.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: unix.SYSFS_MAGIC, Bsize: 4096, Frsize: 4096, Namelen: 255, Flags: unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC}, nil
}

// cpuDir is /sys/devices/system/cpu for n CPUs.
func cpuDir(tr kernfs.Tree, n int) *kernfs.Dir {
	const base = "/devices/system/cpu"
	line := func(s string) kernfs.Content { return kernfs.Static(s + "\n") }
	all := kernfs.CPUList(0, n)
	entries := map[string]vfs.Inode{
		"online":   tr.File(base+"/online", line(all)),
		"possible": tr.File(base+"/possible", line(all)),
		"present":  tr.File(base+"/present", line(all)),
		"offline":  tr.File(base+"/offline", line("")),
	}
	for cpu := range n {
		dir := base + "/cpu" + strconv.Itoa(cpu)
		file := func(name, value string) vfs.Inode { return tr.File(dir+"/topology/"+name, line(value)) }
		self, pkg := kernfs.CPUMask(cpu, 1, n), kernfs.CPUMask(0, n, n)
		one := kernfs.CPUList(cpu, 1)
		entries["cpu"+strconv.Itoa(cpu)] = tr.Fixed(dir, map[string]vfs.Inode{
			"online": tr.File(dir+"/online", line("1")),
			"topology": tr.Fixed(dir+"/topology", map[string]vfs.Inode{
				"core_id":              file("core_id", strconv.Itoa(cpu)),
				"physical_package_id":  file("physical_package_id", "0"),
				"die_id":               file("die_id", "0"),
				"core_cpus":            file("core_cpus", self),
				"core_cpus_list":       file("core_cpus_list", one),
				"thread_siblings":      file("thread_siblings", self),
				"thread_siblings_list": file("thread_siblings_list", one),
				"core_siblings":        file("core_siblings", pkg),
				"core_siblings_list":   file("core_siblings_list", all),
				"die_cpus":             file("die_cpus", pkg),
				"die_cpus_list":        file("die_cpus_list", all),
				"package_cpus":         file("package_cpus", pkg),
				"package_cpus_list":    file("package_cpus_list", all),
			}),
		})
	}
	return tr.Fixed(base, entries)
}

// nodeDir is /sys/devices/system/node: node 0, with n CPUs and mem's
// memory.
func nodeDir(tr kernfs.Tree, n int, mem *usage.Memory) *kernfs.Dir {
	const base = "/devices/system/node"
	line := func(s string) kernfs.Content { return kernfs.Static(s + "\n") }
	entries := map[string]vfs.Inode{}
	for _, name := range []string{"online", "possible", "has_cpu", "has_memory", "has_normal_memory"} {
		entries[name] = tr.File(base+"/"+name, line("0"))
	}
	const dir = base + "/node0"
	entries["node0"] = tr.Fixed(dir, map[string]vfs.Inode{
		"cpumap":   tr.File(dir+"/cpumap", line(kernfs.CPUMask(0, n, n))),
		"cpulist":  tr.File(dir+"/cpulist", line(kernfs.CPUList(0, n))),
		"distance": tr.File(dir+"/distance", line("10")), // LOCAL_DISTANCE
		"meminfo": tr.File(dir+"/meminfo", func(context.Context) (string, error) {
			return nodeMeminfo(mem), nil
		}),
	})
	return tr.Fixed(base, entries)
}

// nodeMeminfo is node 0's meminfo (node_read_meminfo): the lines of
// /proc/meminfo that a node has, from the same account.
func nodeMeminfo(mem *usage.Memory) string {
	total, used := mem.Shown()
	kb := func(b uint64) uint64 { return b >> 10 }
	lines := []kernfs.KBLine{
		{Name: "MemTotal", KB: kb(total)}, {Name: "MemFree", KB: kb(total - used)}, {Name: "MemUsed", KB: kb(used)}, {Name: "SwapCached", KB: 0},
		{Name: "Active", KB: kb(used)}, {Name: "Inactive", KB: 0}, {Name: "Active(anon)", KB: kb(used)}, {Name: "Inactive(anon)", KB: 0},
		{Name: "Active(file)", KB: 0}, {Name: "Inactive(file)", KB: 0}, {Name: "Unevictable", KB: 0}, {Name: "Mlocked", KB: 0},
		{Name: "Dirty", KB: 0}, {Name: "Writeback", KB: 0}, {Name: "FilePages", KB: 0}, {Name: "Mapped", KB: 0}, {Name: "AnonPages", KB: kb(used)},
		{Name: "Shmem", KB: 0}, {Name: "KernelStack", KB: 0}, {Name: "PageTables", KB: 0}, {Name: "SecPageTables", KB: 0}, {Name: "NFS_Unstable", KB: 0},
		{Name: "Bounce", KB: 0}, {Name: "WritebackTmp", KB: 0}, {Name: "KReclaimable", KB: 0}, {Name: "Slab", KB: 0}, {Name: "SReclaimable", KB: 0},
		{Name: "SUnreclaim", KB: 0}, {Name: "AnonHugePages", KB: 0}, {Name: "ShmemHugePages", KB: 0}, {Name: "ShmemPmdMapped", KB: 0},
		{Name: "FileHugePages", KB: 0}, {Name: "FilePmdMapped", KB: 0},
	}
	return kernfs.KBLines("Node 0 ", lines) +
		"Node 0 HugePages_Total:     0\nNode 0 HugePages_Free:      0\nNode 0 HugePages_Surp:      0\n"
}

// netDir is /sys/class/net: a directory per interface nets lists.
func netDir(tr kernfs.Tree, nets func() ([]NetInterface, error)) *kernfs.Dir {
	return tr.Dir("/class/net", func(context.Context) (map[string]vfs.Inode, error) {
		entries := map[string]vfs.Inode{}
		if nets == nil {
			return entries, nil
		}
		ifs, err := nets()
		if err != nil {
			return nil, err
		}
		for _, in := range ifs {
			dir := "/class/net/" + in.Name
			line := func(name, v string) vfs.Inode { return tr.File(dir+"/"+name, kernfs.Static(v+"\n")) }
			broadcast := "00:00:00:00:00:00"
			if in.Flags&unix.IFF_BROADCAST != 0 {
				broadcast = "ff:ff:ff:ff:ff:ff"
			}
			// operstate: lo, having no carrier to watch, is "unknown"
			// while up; carrier fails while the interface is down
			// (carrier_show: EINVAL unless netif_running).
			oper := "down"
			switch {
			case in.Flags&unix.IFF_UP == 0:
			case in.Flags&unix.IFF_LOOPBACK != 0:
				oper = "unknown"
			case in.Flags&unix.IFF_RUNNING != 0:
				oper = "up"
			}
			carrier := tr.File(dir+"/carrier", kernfs.Static("1\n"))
			if in.Flags&unix.IFF_UP == 0 {
				carrier = tr.File(dir+"/carrier", func(context.Context) (string, error) {
					return "", kernfs.ErrOnRead{Err: unix.EINVAL}
				})
			}
			entries[in.Name] = tr.Fixed(dir, map[string]vfs.Inode{
				"address":   line("address", macString(in.MAC)),
				"addr_len":  line("addr_len", "6"),
				"broadcast": line("broadcast", broadcast),
				"carrier":   carrier,
				// dev->flags: without the operational IFF_RUNNING that
				// SIOCGIFFLAGS and netlink add.
				"flags":        line("flags", "0x"+strconv.FormatUint(uint64(in.Flags&0xffff&^unix.IFF_RUNNING), 16)),
				"ifindex":      line("ifindex", strconv.Itoa(int(in.Index))),
				"iflink":       line("iflink", strconv.Itoa(int(in.Index))),
				"mtu":          line("mtu", strconv.Itoa(int(in.MTU))),
				"operstate":    line("operstate", oper),
				"tx_queue_len": line("tx_queue_len", "1000"),
				"type":         line("type", strconv.Itoa(int(in.Type))),
			})
		}
		return entries, nil
	})
}

// macString is a hardware address as sysfs prints it.
func macString(mac [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
}
