package proc

import (
	"context"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/socket/inet"
	"runsc-lite/sentry/vfs"
)

// netDir is /proc/net: the sandbox's sockets, interfaces and routes as
// its network stack (package inet, netstack) has them, and its Unix
// sockets (package unix), never the host's; with --network=host, whose
// network is the host's, the host's interfaces and routes, as netlink
// shows them there, and the sandbox's own sockets (hostinet/procnet.go).
// Linux makes /proc/net a link to self/net, the caller's network
// namespace; the sandbox has one, so here it is a directory.
func (fs *FileSystem) netDir() *kernfs.Dir {
	files := make(map[string]vfs.Inode, len(inet.ProcNetFiles))
	for _, name := range inet.ProcNetFiles {
		files[name] = fs.tree.File("/net/"+name, func(context.Context) (string, error) {
			if fs.k.HostNet != nil {
				return fs.k.HostNet.ProcNet(name)
			}
			return fs.k.Net.ProcNet(name)
		})
	}
	files["unix"] = fs.tree.File("/net/unix", func(context.Context) (string, error) {
		return fs.k.UnixSockets.ProcNetUnix(), nil
	})
	return fs.tree.Dir("/net", func(context.Context) (map[string]vfs.Inode, error) { return files, nil })
}
