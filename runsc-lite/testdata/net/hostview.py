# What the sandbox sees of the host's network: argv[1] is a port the host
# listens on at 127.0.0.1, argv[2:] are the host's own addresses. Prints
# what connecting to each gives and the interfaces SIOCGIFCONF lists.
import array, errno, fcntl, socket, struct, sys

def attempt(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(addr)
        return "CONNECTED"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()

print("host-loopback", attempt(socket.AF_INET, ("127.0.0.1", int(sys.argv[1]))))
for a in sys.argv[2:]:
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    print("host-address", a, attempt(fam, (a, int(sys.argv[1]))))
# 10.0.2.2 stands for the host's loopback in --network=sandbox; a
# link-local address (the cloud's metadata service) must not be reached.
print("gateway", attempt(socket.AF_INET, ("10.0.2.2", int(sys.argv[1]))))
print("link-local", attempt(socket.AF_INET, ("169.254.169.254", 80)))

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
buf = array.array("B", bytes(40 * 16))
ifc = struct.pack("iL", len(buf), buf.buffer_info()[0])
n = struct.unpack("iL", fcntl.ioctl(s.fileno(), 0x8912, ifc))[0]  # SIOCGIFCONF
for off in range(0, n, 40):
    name = bytes(buf[off:off + 16]).split(b"\0")[0].decode()
    addr = socket.inet_ntoa(bytes(buf[off + 20:off + 24]))
    print("interface", name, addr)
for name in ("lo", "eth0"):
    try:
        req = struct.pack("16sH14s", name.encode(), 0, bytes(14))
        flags = struct.unpack("16sH14s", fcntl.ioctl(s.fileno(), 0x8913, req))[1]  # SIOCGIFFLAGS
        print("flags", name, hex(flags))
    except OSError as e:
        print("flags", name, errno.errorcode[e.errno])

# /proc/net describes the sandbox's stack: its own listener is there, the
# host's is not, and the devices are the sandbox's.
own = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
own.bind(("127.0.0.1", 0))
own.listen()
def local_ports(name):
    lines = open("/proc/net/" + name).read().splitlines()[1:]
    return {int(l.split()[1].split(":")[1], 16) for l in lines}
print("procnet-tcp own", own.getsockname()[1] in local_ports("tcp"))
print("procnet-tcp host", int(sys.argv[1]) in local_ports("tcp"))
print("procnet-dev", " ".join(l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]))
print("if_nameindex", socket.if_nameindex())
import os
print("sys-class-net", sorted(os.listdir("/sys/class/net")))
