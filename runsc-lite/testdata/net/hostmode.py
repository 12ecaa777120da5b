# Run with --network=host: the sandbox's Internet sockets are the host's.
#   serve PORT      python's http.server on 127.0.0.1:PORT; "ready" once
#                   bound, then serves until stdin closes
#   client TCP UDP  a TCP client of the host's 127.0.0.1:TCP (reads a line,
#                   answers in upper case) and a UDP client of its echo on
#                   127.0.0.1:UDP
#   privileged      binds port 80, makes raw and packet sockets (the host
#                   refuses the sentry's identity)
#   waits           blocking calls on host sockets: SO_RCVTIMEO, MSG_DONTWAIT,
#                   a signal ending a wait (EINTR), SA_RESTART, poll,
#                   select and epoll readiness (prints what Linux prints)
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
    # Raw and packet sockets: the host's answer to an unprivileged user
    # (EPERM), never some other kind of socket.
    for name, fam, typ, proto in [("raw icmp", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
                                  ("raw udp", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP),
                                  ("raw ipv6 tcp", socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP),
                                  ("packet raw", socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)),
                                  ("packet dgram", socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x800))]:
        print(name + ":", err(lambda: socket.socket(fam, typ, proto).close()))
elif mode == "waits":
    import select, signal, time
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen()
    c = socket.create_connection(l.getsockname())
    a, _ = l.accept()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200000))
    t0 = time.monotonic()
    print("recv with SO_RCVTIMEO:", err(lambda: a.recv(10)), "after >= 0.2s:", time.monotonic() - t0 >= 0.19)
    print("SO_RCVTIMEO:", struct.unpack("ll", a.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)))
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))
    print("recv MSG_DONTWAIT:", err(lambda: a.recv(10, socket.MSG_DONTWAIT)))
    class Alarm(Exception):
        pass
    def on_alarm(sig, frame):
        raise Alarm()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        l.accept()
        print("accept: returned")
    except Alarm:
        print("accept: interrupted by the signal")
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        a.recv(10)
        print("recv: returned")
    except Alarm:
        print("recv: interrupted by the signal")
    # SA_RESTART: the recv goes on after the signal and gets the data a
    # thread sends later (python runs its handler once the call returns).
    got = []
    signal.signal(signal.SIGALRM, lambda s, f: got.append(s))
    signal.siginterrupt(signal.SIGALRM, False)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    threading.Timer(0.5, lambda: c.send(b"late")).start()
    print("recv restarted:", a.recv(10), "handler ran:", len(got))
    p = select.poll()
    p.register(a, select.POLLIN | select.POLLOUT)
    print("poll:", sorted(p.poll(0)) == [(a.fileno(), select.POLLOUT)])
    e = select.epoll()
    e.register(a.fileno(), select.EPOLLIN | select.EPOLLET)
    print("epoll idle:", e.poll(0.1))
    c.send(b"x")
    print("epoll:", e.poll(5) == [(a.fileno(), select.EPOLLIN)])
    print("epoll edge again:", e.poll(0.1))
    print("select:", select.select([a], [], [], 5)[0] == [a])
    print("FIONREAD:", struct.unpack("i", __import__("fcntl").ioctl(a, 0x541B, b"\0" * 4))[0])
    a.recv(10)
    c.shutdown(socket.SHUT_WR)
    e.modify(a.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
    print("epoll after the peer's shutdown:", e.poll(5) == [(a.fileno(), select.EPOLLIN | select.EPOLLRDHUP)])
    print("recv at the end:", a.recv(10))
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
    # Descriptors passed over TCP: Linux ignores SCM_RIGHTS there (the
    # byte goes, no descriptor does).
    r = err(lambda: s.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", 0))]))
    print("SCM_RIGHTS over TCP:", r)
    if r == "ok":
        a.recv(1)
    s.sendall(b"still works")
    print("data:", a.recv(100).decode())
