package proc

import (
	"context"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/socket/inet"
	"runsc-lite/sentry/vfs"
)

// netDir is /proc/net (path "/net") and /proc/PID/net: the sockets,
// interfaces and routes of a network namespace as its network stack
// (package inet, netstack) has them, and its Unix sockets (package
// unix), never the host's; with --network=host, whose first namespace's
// network is the host's, the host's interfaces and routes, as netlink
// shows them there, and the sandbox's own sockets (hostinet/procnet.go).
// nsOf finds the namespace: the caller's for /proc/net (Linux makes it
// a link to self/net), the process's for /proc/PID/net.
func (fs *FileSystem) netDir(path string, nsOf func(ctx context.Context) (*kernel.NetNS, error)) *kernfs.Dir {
	files := make(map[string]vfs.Inode, len(inet.ProcNetFiles))
	for _, name := range inet.ProcNetFiles {
		files[name] = fs.tree.File(path+"/"+name, func(ctx context.Context) (string, error) {
			ns, err := nsOf(ctx)
			if err != nil {
				return "", err
			}
			if ns.Host != nil {
				return ns.Host.ProcNet(name)
			}
			return ns.Inet.ProcNet(name)
		})
	}
	files["unix"] = fs.tree.File(path+"/unix", func(ctx context.Context) (string, error) {
		ns, err := nsOf(ctx)
		if err != nil {
			return "", err
		}
		return fs.k.UnixSockets.ProcNetUnix(ns.Inode), nil
	})
	return fs.tree.Dir(path, func(context.Context) (map[string]vfs.Inode, error) { return files, nil })
}

// callerNetNS is the network namespace of the task reading, the first
// one for a reader that is no task.
func (fs *FileSystem) callerNetNS(ctx context.Context) (*kernel.NetNS, error) {
	if t := caller(ctx); t != nil {
		return t.NetNS(), nil
	}
	return fs.k.RootNetNS(), nil
}
