# What a new network namespace inside the sandbox sees: argv[1] is a port
# the host listens on at 127.0.0.1, argv[2:] are the host's own
# addresses. The program unshares CLONE_NEWNET (as root), brings lo up,
# then prints its interfaces (as a sysfs it mounts shows them too), what
# connecting anywhere gives, and the interfaces a packet socket on every
# interface hears from.
import ctypes, errno, fcntl, os, select, socket, struct, sys

libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
    print("unshare", errno.errorcode[ctypes.get_errno()])
    sys.exit(1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
req = struct.pack("16sH14s", b"lo", 0x1 | 0x8, bytes(14))  # IFF_UP|IFF_LOOPBACK
fcntl.ioctl(s.fileno(), 0x8914, req)  # SIOCSIFFLAGS
print("if_nameindex", socket.if_nameindex())
with open("/proc/net/dev") as f:
    print("procnet-dev", " ".join(l.split(":")[0].strip() for l in f.readlines()[2:]))
with open("/proc/net/route") as f:
    print("procnet-route", len(f.readlines()) - 1)
# A sysfs mounted in the new namespace shows its interfaces only.
import tempfile
mnt = tempfile.mkdtemp()
if libc.mount(b"sysfs", mnt.encode(), b"sysfs", 0, None) != 0:
    print("mount-sysfs", errno.errorcode[ctypes.get_errno()])
else:
    print("sysfs-class-net", " ".join(sorted(os.listdir(mnt + "/class/net"))))
    libc.umount(mnt.encode())

def attempt(family, addr):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.settimeout(5)
    try:
        c.connect(addr)
        return "CONNECTED"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        c.close()

port = int(sys.argv[1])
print("host-loopback", attempt(socket.AF_INET, ("127.0.0.1", port)))
print("host-loopback6", attempt(socket.AF_INET6, ("::1", port)))
print("gateway", attempt(socket.AF_INET, ("10.0.2.2", port)))
print("link-local", attempt(socket.AF_INET, ("169.254.169.254", 80)))
for a in sys.argv[2:]:
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    print("host-address", a, attempt(fam, (a, port)))

# A packet socket on every interface (ETH_P_ALL) hears only lo.
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"x", ("127.0.0.1", 9))
heard = set()
while select.select([p], [], [], 1)[0]:
    _, addr = p.recvfrom(65536)
    heard.add(addr[0])  # (ifname, proto, pkttype, hatype, addr)
print("packets-from", sorted(heard))
