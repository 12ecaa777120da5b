package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"runsc-lite/launch"
	"runsc-lite/sentry/fs/rootfs"
	"runsc-lite/sentry/fs/tmpfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/sandbox"
	"runsc-lite/sentry/usage"
)

// bootPlan is what a sandbox is started with (boot.json): config.json
// checked and turned into the sentry's terms by create, read by the
// sandbox process.
type bootPlan struct {
	Rootfs   string
	Readonly bool
	// WriteThrough makes a writable root (root.readonly false) the host
	// directory itself rather than a memory overlay over it: the
	// annotation rootOverlayAnnotation=none.
	WriteThrough bool
	Cwd          string
	Argv         []string
	Env          []string
	User         sandbox.User
	Rlimits      []sandbox.Rlimit
	Hostname     string
	MemoryLimit  uint64
	PidsLimit    int
	CgroupsPath  string
	Platform     string
	HostUID      int
	HostGID      int
	Terminal     bool
	StraceLog    string
	DebugLog     string
	Strace       bool
	Binds        []bindMount
	Tmpfs        []tmpfsMount
	// NetNS is the network namespace whose interfaces the sandbox takes
	// (config.json's path), NetNSOwn the sentry's own one, which the
	// createRuntime and prestart hooks may fill (oci_network.go).
	NetNS    string `json:",omitempty"`
	NetNSOwn bool   `json:",omitempty"`
}

// rootOverlayAnnotation chooses where writes to a writable root go. By
// default (memory) they stay in a memory overlay over root.path, as
// gVisor's runsc keeps them in an overlay: the sentry's host identity
// (65534 under root) could not write an image's root-owned files, and an
// image's root is not the container's to change. "none" writes through to
// root.path, as runc does, with the sentry's host identity.
const rootOverlayAnnotation = "dev.runsc-lite.root-overlay"

// maxConfigJSON bounds the config.json create reads.
const maxConfigJSON = 4 << 20

// Bounds of config.json's values, Linux's own: HOST_NAME_MAX,
// NGROUPS_MAX, PID_MAX_LIMIT and the default fs.nr_open.
const (
	maxHostname = 64
	maxGroups   = 65536
	maxPids     = 4 << 20
	maxNofile   = 1 << 20
)

// loadSpec reads and decodes bundle/config.json.
func loadSpec(bundle string) (*specs.Spec, error) {
	if bundle == "" {
		return nil, errors.New("--bundle: missing")
	}
	fi, err := os.Stat(bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", bundle, errors.Unwrap(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("bundle %s: not a directory", bundle)
	}
	f, err := os.Open(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("bundle %s: config.json: %w", bundle, errors.Unwrap(err))
	}
	defer f.Close()
	dec := json.NewDecoder(&limitedReader{f: f, n: maxConfigJSON})
	var s specs.Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("bundle %s: config.json: %v", bundle, err)
	}
	return &s, nil
}

// limitedReader fails once more than n bytes are read.
type limitedReader struct {
	f *os.File
	n int64
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, fmt.Errorf("larger than %d bytes", maxConfigJSON)
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n, err := r.f.Read(p)
	r.n -= int64(n)
	return n, err
}

// planFromSpec checks s and turns it into a boot plan. Whatever it does
// not support and matters for isolation is an error naming the field;
// what it ignores is logged.
func planFromSpec(s *specs.Spec, bundle string, log *slog.Logger) (*bootPlan, error) {
	if s.Process == nil {
		return nil, errors.New("config.json: process: missing")
	}
	if s.Root == nil || s.Root.Path == "" {
		return nil, errors.New("config.json: root.path: missing")
	}
	if len(s.Hostname) > maxHostname {
		return nil, fmt.Errorf("config.json: hostname: %d bytes, more than %d", len(s.Hostname), maxHostname)
	}
	p := &bootPlan{Platform: "systrap", PidsLimit: kernel.DefaultTaskLimit, Hostname: s.Hostname}
	p.Rootfs = s.Root.Path
	if !filepath.IsAbs(p.Rootfs) {
		p.Rootfs = filepath.Join(bundle, p.Rootfs)
	}
	if fi, err := os.Stat(p.Rootfs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("config.json: root.path %s: not a directory", s.Root.Path)
	}
	p.Readonly = s.Root.Readonly
	switch o := s.Annotations[rootOverlayAnnotation]; o {
	case "", "memory":
	case "none":
		p.WriteThrough = !p.Readonly
	default:
		return nil, fmt.Errorf("config.json: annotations[%q]: %q, want memory or none", rootOverlayAnnotation, o)
	}
	proc, err := processFromSpec(s.Process)
	if err != nil {
		return nil, err
	}
	p.Argv, p.Env, p.Cwd, p.User, p.Rlimits = proc.Argv, proc.Env, proc.Cwd, proc.User, proc.Rlimits
	p.Terminal = s.Process.Terminal
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	for _, m := range s.Mounts {
		if err := p.addMount(m, bundle, log); err != nil {
			return nil, err
		}
	}
	if s.Linux != nil {
		p.CgroupsPath = s.Linux.CgroupsPath
		if r := s.Linux.Resources; r != nil {
			if r.Memory != nil && r.Memory.Limit != nil && *r.Memory.Limit > 0 {
				p.MemoryLimit = uint64(*r.Memory.Limit)
			}
			if r.Pids != nil && r.Pids.Limit != nil && *r.Pids.Limit > 0 {
				if *r.Pids.Limit > maxPids {
					return nil, fmt.Errorf("config.json: linux.resources.pids.limit: %d, more than %d", *r.Pids.Limit, maxPids)
				}
				p.PidsLimit = int(*r.Pids.Limit)
			}
		}
		for _, ns := range s.Linux.Namespaces {
			if ns.Type == specs.NetworkNamespace {
				if err := p.setNetwork(ns); err != nil {
					return nil, err
				}
				continue
			}
			if ns.Path != "" {
				return nil, fmt.Errorf("config.json: linux.namespaces: joining the %s namespace at %s is not supported (a sandbox has its own)", ns.Type, ns.Path)
			}
		}
		if len(s.Linux.UIDMappings) > 0 || len(s.Linux.GIDMappings) > 0 {
			log.Info("config.json: linux.uidMappings/gidMappings ignored: the sandbox's ids are its own")
		}
		if s.Linux.Seccomp != nil {
			log.Info("config.json: linux.seccomp ignored: no application syscall reaches the host kernel")
		}
	}
	if p.MemoryLimit == 0 {
		p.MemoryLimit = usage.DefaultLimit()
	}
	p.HostUID, p.HostGID = launch.Nobody, launch.Nobody
	if os.Geteuid() != 0 {
		p.HostUID, p.HostGID = os.Geteuid(), os.Getegid()
	}
	return p, nil
}

// processFromSpec turns an OCI process (config.json's, or exec's
// --process) into a sandbox process.
func processFromSpec(sp *specs.Process) (sandbox.Process, error) {
	var p sandbox.Process
	if len(sp.Args) == 0 {
		return p, errors.New("process.args: empty")
	}
	if sp.Cwd != "" && !filepath.IsAbs(sp.Cwd) {
		return p, fmt.Errorf("process.cwd %q: not absolute", sp.Cwd)
	}
	for _, kv := range sp.Env {
		if !strings.Contains(kv, "=") {
			return p, fmt.Errorf("process.env %q: want KEY=VALUE", kv)
		}
	}
	p.Argv, p.Env, p.Cwd = sp.Args, sp.Env, sp.Cwd
	p.User = sandbox.User{UID: sp.User.UID, GID: sp.User.GID, Groups: sp.User.AdditionalGids, NoNewPrivs: sp.NoNewPrivileges}
	if len(sp.User.AdditionalGids) > maxGroups {
		return p, fmt.Errorf("process.user.additionalGids: %d groups, more than %d", len(sp.User.AdditionalGids), maxGroups)
	}
	if sp.User.Username != "" {
		return p, fmt.Errorf("process.user.username %q: not supported (give uid and gid)", sp.User.Username)
	}
	if c := sp.Capabilities; c != nil {
		caps := &sandbox.Caps{}
		for _, set := range []struct {
			name  string
			names []string
			mask  *uint64
		}{
			{"effective", c.Effective, &caps.Effective}, {"permitted", c.Permitted, &caps.Permitted},
			{"inheritable", c.Inheritable, &caps.Inheritable}, {"bounding", c.Bounding, &caps.Bounding},
			{"ambient", c.Ambient, &caps.Ambient},
		} {
			m, err := capMask(set.name, set.names)
			if err != nil {
				return p, err
			}
			*set.mask = m
		}
		p.User.Caps = caps
	}
	for _, r := range sp.Rlimits {
		if _, ok := rlimitNames[r.Type]; !ok {
			return p, fmt.Errorf("process.rlimits: unknown type %q", r.Type)
		}
		if r.Soft > r.Hard {
			return p, fmt.Errorf("process.rlimits: %s: soft %d above hard %d", r.Type, r.Soft, r.Hard)
		}
		if r.Type == "RLIMIT_NOFILE" && r.Hard > maxNofile {
			return p, fmt.Errorf("process.rlimits: RLIMIT_NOFILE: hard %d above %d (Linux's nr_open)", r.Hard, maxNofile)
		}
		p.Rlimits = append(p.Rlimits, sandbox.Rlimit{Resource: rlimitNames[r.Type], Soft: r.Soft, Hard: r.Hard})
	}
	return p, nil
}

// capMask turns capability names (CAP_CHOWN...) into a bitmask.
func capMask(set string, names []string) (uint64, error) {
	var m uint64
	for _, n := range names {
		c, ok := capNames[strings.ToUpper(n)]
		if !ok {
			return 0, fmt.Errorf("process.capabilities.%s: unknown capability %q", set, n)
		}
		m |= 1 << c
	}
	return m, nil
}

// capNames are the capabilities by name.
var capNames = func() map[string]uint {
	m := make(map[string]uint)
	for i, n := range []string{"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
		"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
		"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
		"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
		"MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
		"CHECKPOINT_RESTORE"} {
		m["CAP_"+n] = uint(i)
	}
	return m
}()

// rlimitNames are the resource limits by name.
var rlimitNames = map[string]int{
	"RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_DATA": unix.RLIMIT_DATA,
	"RLIMIT_STACK": unix.RLIMIT_STACK, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK,
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
}

// addMount takes one of config.json's mounts: the sandbox's own file
// systems (proc, sysfs, devpts, mqueue, cgroup, its /dev) are there
// already; bind mounts become volumes (the same confined walk as the root,
// read-only with "ro", else writes reach the host directory); tmpfs
// mounts are memory file systems with their size and mode.
func (p *bootPlan) addMount(m specs.Mount, bundle string, log *slog.Logger) error {
	bind := m.Type == "bind"
	for _, o := range m.Options {
		bind = bind || o == "bind" || o == "rbind"
	}
	switch {
	case bind:
		src := m.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(bundle, src)
		}
		access := rootfs.ReadWrite
		for _, o := range m.Options {
			if o == "ro" {
				access = rootfs.ReadOnly
			}
		}
		if err := rootfs.CheckDest(m.Destination); err != nil {
			return fmt.Errorf("config.json: mounts: bind of %s at %s: %v", m.Source, m.Destination, err)
		}
		p.Binds = append(p.Binds, bindMount{Host: src, Dest: m.Destination, Access: access})
		return nil
	case m.Type == "proc" || m.Type == "sysfs" || m.Type == "devpts" || m.Type == "mqueue" || m.Type == "cgroup" || m.Type == "cgroup2":
		log.Debug("config.json: mount provided by the sandbox", "type", m.Type, "destination", m.Destination)
		return nil
	case m.Type == "tmpfs":
		if m.Destination == "/dev" {
			return nil // the sandbox's own /dev
		}
		var opts []string
		for _, o := range m.Options {
			if strings.HasPrefix(o, "size=") || strings.HasPrefix(o, "mode=") {
				opts = append(opts, o)
			}
		}
		if err := rootfs.CheckDest(m.Destination); err != nil {
			return fmt.Errorf("config.json: mounts: tmpfs at %s: %v", m.Destination, err)
		}
		if _, err := tmpfs.ParseOptions(strings.Join(opts, ","), 1<<30, 0, 0); err != nil {
			return fmt.Errorf("config.json: mounts: tmpfs at %s: bad options %q (want size=N, mode=OCTAL)", m.Destination, strings.Join(opts, ","))
		}
		p.Tmpfs = append(p.Tmpfs, tmpfsMount{Dest: m.Destination, Options: strings.Join(opts, ",")})
		return nil
	}
	return fmt.Errorf("config.json: mounts: type %q at %s is not supported", m.Type, m.Destination)
}

// mountPoints are the directories and files the plan mounts on: the
// sandbox's own, then its bind and tmpfs mounts'.
func (p *bootPlan) mountPoints() (dirs, files []string) {
	dirs = []string{"/tmp", "/dev", "/proc", "/sys"}
	for _, b := range p.Binds {
		if fi, err := os.Stat(b.Host); err == nil && fi.Mode().IsRegular() {
			files = append(files, b.Dest)
		} else {
			dirs = append(dirs, b.Dest)
		}
	}
	for _, t := range p.Tmpfs {
		dirs = append(dirs, t.Dest)
	}
	return dirs, files
}
