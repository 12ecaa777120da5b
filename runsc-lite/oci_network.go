package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"runsc-lite/netns"
	"runsc-lite/sentry/control"
)

// An OCI container's network (package netns). config.json's network
// namespace decides:
//
//   - a path (CNI, containerd, Docker when it made the namespace): create
//     takes that namespace's interfaces for the sandbox;
//   - no path (a new namespace, runc's words): the sentry's own new
//     namespace stands for it, and the createRuntime/prestart hooks get
//     its pid, as runc's hooks get the container's: what they put there
//     (Docker's libnetwork-setkey moves the container's veth in), create
//     takes once they have run. Nothing there: lo only. Not read when
//     create is not root (it could not enter it).
//   - no network namespace at all, which for runc is the host's network:
//     lo only. The sandbox never takes the host's interfaces (runsc
//     refuses too: "cannot run with network enabled in root network
//     namespace"), and runsc-lite has no host network mode.
//
// The sentry gets the packet sockets through the control socket before
// the first process runs (control.MethodNetwork); the addresses are then
// removed from the namespace's interfaces (netns.Taken.Release).

// takeNetns takes the interfaces of the network namespace at path for
// run --netns: their sockets go to the sentry with its configuration.
func takeNetns(path string, cfg *sentryConfig, add func(*os.File) int) (*netns.Taken, error) {
	if !filepath.IsAbs(path) {
		return nil, errors.New("not an absolute path")
	}
	t, err := netns.Take(path)
	if err != nil {
		return nil, err
	}
	if len(t.Links) == 0 {
		t.Close()
		return nil, errors.New("no interface with an address there")
	}
	cfg.Links = t.Links
	for _, f := range t.Files {
		cfg.LinkFiles = append(cfg.LinkFiles, add(f))
	}
	return t, nil
}

// setNetwork takes config.json's network namespace ns into the plan.
func (p *bootPlan) setNetwork(ns specs.LinuxNamespace) error {
	if ns.Path == "" {
		p.NetNSOwn = true
		return nil
	}
	if !filepath.IsAbs(ns.Path) {
		return fmt.Errorf("config.json: linux.namespaces: network namespace path %q: not absolute", ns.Path)
	}
	host, err := netns.IsHost(ns.Path)
	if err != nil {
		return fmt.Errorf("config.json: linux.namespaces: %v", err)
	}
	if host {
		return fmt.Errorf("config.json: linux.namespaces: the network namespace %s is the host's: a sandbox never takes the host's interfaces", ns.Path)
	}
	p.NetNS = ns.Path
	return nil
}

// takeNetwork gives the sandbox st the interfaces of its network
// namespace (see above), and removes their addresses from it.
func takeNetwork(st *containerState, p *bootPlan, log *slog.Logger) error {
	path := p.NetNS
	if path == "" && p.NetNSOwn {
		if os.Geteuid() != 0 {
			// Entering even one's own child namespace takes
			// CAP_SYS_ADMIN here; and no hook of an unprivileged
			// caller could have filled it either.
			return nil
		}
		path = "/proc/" + strconv.Itoa(sentryPid(st.Pid)) + "/ns/net"
		if host, err := netns.IsHost(path); err != nil || host {
			// The sentry is gone, or shares the host's: nothing to take.
			log.Info("the sentry's network namespace not read", "path", path, "err", err)
			return nil
		}
	}
	if path == "" {
		return nil
	}
	t, err := netns.Take(path)
	if err != nil {
		return err
	}
	defer t.Close()
	if len(t.Links) == 0 {
		log.Info("no interface with an address in the network namespace: lo only", "path", path)
		return nil
	}
	if _, err := st.client().Call(control.Request{Method: control.MethodNetwork, Links: t.Links}, t.Files...); err != nil {
		return err
	}
	for _, l := range t.Links {
		log.Info("the sandbox took an interface", "path", path, "name", l.Name, "mac", l.MAC, "mtu", l.MTU, "addrs", l.Addrs, "routes", l.Routes)
	}
	return t.Release()
}
