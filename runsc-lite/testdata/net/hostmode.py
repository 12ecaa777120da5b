# Run with --network=host: the sandbox's Internet sockets are the host's.
#   serve PORT      python's http.server on 127.0.0.1:PORT; "ready" once
#                   bound, then serves until stdin closes
#   client TCP UDP  a TCP client of the host's 127.0.0.1:TCP (reads a line,
#                   answers in upper case) and a UDP client of its echo on
#                   127.0.0.1:UDP
#   privileged      binds port 80 (the host refuses the sentry's identity)
#   misuse          a host socket's descriptor used as something else (for
#                   the sandbox only: natively, as root, the calls it
#                   expects refused succeed)
import errno, http.server, mmap, os, socket, struct, sys, threading

def err(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

mode = sys.argv[1]
if mode == "serve":
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
elif mode == "client":
    c = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=30)
    line = c.makefile("rb").readline()
    c.sendall(line.upper())
    print("tcp", line.decode().strip(), "peer", c.getpeername()[0])
    c.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(30)
    u.sendto(b"ping", ("127.0.0.1", int(sys.argv[3])))
    print("udp", u.recvfrom(100)[0].decode())
elif mode == "privileged":
    s = socket.socket()
    print("bind 80:", err(lambda: s.bind(("127.0.0.1", 80))))
elif mode == "misuse":
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen()
    s = socket.create_connection(l.getsockname())
    a, _ = l.accept()
    fd = s.fileno()
    print("open /proc/self/fd:", err(lambda: os.open("/proc/self/fd/%d" % fd, os.O_RDONLY)))
    print("fchdir:", err(lambda: os.fchdir(fd)))
    print("mmap:", err(lambda: mmap.mmap(fd, 4096)))
    print("pread:", err(lambda: os.pread(fd, 1, 0)))
    print("fchmod:", err(lambda: os.fchmod(fd, 0o777)))
    print("ftruncate:", err(lambda: os.ftruncate(fd, 0)))
    print("getdents:", err(lambda: os.listdir(fd)))
    # A socket filter (SO_ATTACH_FILTER: a program with a pointer), a
    # device binding (SO_BINDTODEVICE), a mark (SO_MARK) and
    # the host's interfaces changed: not passed to the host.
    print("SO_ATTACH_FILTER:", err(lambda: s.setsockopt(socket.SOL_SOCKET, 26, bytes(16))))
    print("SO_BINDTODEVICE:", err(lambda: s.setsockopt(socket.SOL_SOCKET, 25, b"lo\0")))
    print("SO_MARK:", err(lambda: s.setsockopt(socket.SOL_SOCKET, 36, 1)))
    # lo's flags set to what they are (a no-op even for a privileged
    # caller: never take the host's lo down).
    import fcntl
    ifr = fcntl.ioctl(fd, 0x8913, struct.pack("16s24x", b"lo"))  # SIOCGIFFLAGS
    print("lo up:", struct.unpack_from("H", ifr, 16)[0] & 1)
    print("SIOCSIFFLAGS:", err(lambda: fcntl.ioctl(fd, 0x8914, ifr)))
    print("TIOCSTI:", err(lambda: fcntl.ioctl(fd, 0x5412, b"x")))
    # The host's Unix sockets are not reachable through an Internet one.
    un = struct.pack("H108s", socket.AF_UNIX, b"/run/systemd/private")
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    t = socket.socket()
    r = libc.connect(t.fileno(), un, len(un))
    print("connect AF_UNIX:", "ok" if r == 0 else errno.errorcode[ctypes.get_errno()])
    r = libc.bind(t.fileno(), un, len(un))
    print("bind AF_UNIX:", "ok" if r == 0 else errno.errorcode[ctypes.get_errno()])
    # Descriptors passed over TCP: Linux refuses SCM_RIGHTS there.
    print("SCM_RIGHTS over TCP:", err(lambda: s.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", 0))])))
    s.sendall(b"still works")
    print("data:", a.recv(100).decode())
