# A test host, run inside a network namespace the test made: on argv[1]
# it serves HTTP on TCP 8000 (the body names the client's address), resets
# each connection to TCP 8001 once it has read a line, echoes UDP datagrams
# on 9999 in upper case, and answers DNS A queries on UDP 53 with argv[2].
# Nothing listens on TCP 8002. Prints "ready" once all are bound.
# argv[1] may be an IPv6 address.
import http.server, socket, struct, sys, threading

addr, answer = sys.argv[1], socket.inet_aton(sys.argv[2])
family = socket.AF_INET6 if ":" in addr else socket.AF_INET

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello " + self.client_address[0] + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

class Server(http.server.ThreadingHTTPServer):
    address_family = family

httpd = Server((addr, 8000), Handler)
echo = socket.socket(family, socket.SOCK_DGRAM)
echo.bind((addr, 9999))
dns = socket.socket(family, socket.SOCK_DGRAM)
dns.bind((addr, 53))
resetter = socket.socket(family, socket.SOCK_STREAM)
resetter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
resetter.bind((addr, 8001))
resetter.listen()

def serve_reset():
    while True:
        c, _ = resetter.accept()
        c.recv(100)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

def serve_echo():
    while True:
        d, a = echo.recvfrom(65536)
        echo.sendto(d.upper(), a)

def serve_dns():
    while True:
        q, a = dns.recvfrom(512)
        # Header: same id, a response with recursion available, one
        # question (copied) and one answer: a pointer to the question's
        # name, type A, class IN, TTL 60, 4 bytes.
        qid = q[:2]
        end = 12
        while q[end] != 0:
            end += q[end] + 1
        question = q[12:end + 5]
        qtype = struct.unpack("!H", q[end + 1:end + 3])[0]
        answers = b""
        n = 0
        if qtype == 1:
            answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + answer
            n = 1
        dns.sendto(qid + struct.pack("!HHHHH", 0x8180, 1, n, 0, 0) + question + answers, a)

for f in (serve_echo, serve_dns, serve_reset):
    threading.Thread(target=f, daemon=True).start()
print("ready", flush=True)
httpd.serve_forever()
