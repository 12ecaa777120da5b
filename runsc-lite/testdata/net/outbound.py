# The client side of the outbound test, run in the sandbox: argv[1] is
# the test host's address (IPv4 or IPv6). Prints what HTTP, a UDP echo, a
# datagram to a closed port and a DNS lookup through the sandbox's
# resolver give; with argv[2] "nodns", all but DNS.
import errno, socket, sys, urllib.request

host = sys.argv[1]
family = socket.AF_INET6 if ":" in host else socket.AF_INET
url_host = "[%s]" % host if family == socket.AF_INET6 else host
def err(e):
    return errno.errorcode.get(getattr(e, "errno", None) or getattr(getattr(e, "reason", None), "errno", 0), str(e))

try:
    print("http", urllib.request.urlopen("http://%s:8000/" % url_host, timeout=10).read().decode().strip())
except Exception as e:
    print("http", err(e))
def stream(port, send):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect((host, port))
        s.sendall(send)
        return "got %r" % s.recv(100)
    except OSError as e:
        return err(e)
    finally:
        s.close()
print("reset", stream(8001, b"x\n"))
print("refused", stream(8002, b"x\n"))
u = socket.socket(family, socket.SOCK_DGRAM)
u.settimeout(10)
try:
    u.sendto(b"ping", (host, 9999))
    d, a = u.recvfrom(100)
    print("udp", d.decode(), a[0])
except Exception as e:
    print("udp", err(e))
# A connected UDP socket learns of a closed port (ICMP port unreachable)
# on its next receive.
u = socket.socket(family, socket.SOCK_DGRAM)
u.settimeout(5)
try:
    u.connect((host, 9998))
    u.send(b"ping")
    print("udp-refused got %r" % u.recv(100))
except Exception as e:
    print("udp-refused", err(e))
if sys.argv[2:] == ["nodns"]:
    sys.exit(0)
try:
    print("dns", socket.gethostbyname("testhost.example"))
except Exception as e:
    print("dns", type(e).__name__)
print("resolv", " ".join(l.strip() for l in open("/etc/resolv.conf") if not l.startswith("#")))
# Urgent data to a peer off the sandbox's stack: netstack sends no urgent
# pointer, so MSG_OOB is refused before anything goes (EINVAL, as gVisor).
s = socket.socket(family, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect((host, 8000))
    print("oob sent", s.send(b"ab", socket.MSG_OOB))
except OSError as e:
    print("oob", err(e))
finally:
    s.close()
