# An HTTP server and its clients in one process tree: http.server on an
# ephemeral loopback port in a thread, urllib requests to it, and curl (if
# given as argv[1]) in a child process. Prints only what does not depend on
# the port or the time.
import http.server, os, subprocess, sys, threading, urllib.request, urllib.error

os.chdir(sys.argv[2])
with open("index.txt", "w") as f:
    f.write("hello from the sandbox\n")

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

for host in ("127.0.0.1", "::1"):
    cls = http.server.ThreadingHTTPServer
    if ":" in host:
        class V6(http.server.ThreadingHTTPServer):
            address_family = __import__("socket").AF_INET6
        cls = V6
    srv = cls((host, 0), Quiet)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://%s:%d" % ("[::1]" if ":" in host else host, port)
    r = urllib.request.urlopen(url + "/index.txt", timeout=10)
    print(host, r.status, r.headers["Content-Length"], r.read().decode().strip())
    try:
        urllib.request.urlopen(url + "/missing", timeout=10)
    except urllib.error.HTTPError as e:
        print(host, "missing:", e.code)
    # Many requests, some concurrent.
    results = []
    def get():
        results.append(urllib.request.urlopen(url + "/index.txt", timeout=10).status)
    ts = [threading.Thread(target=get) for _ in range(20)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(host, "concurrent:", len(results), set(results))
    if sys.argv[1] != "-":
        out = subprocess.run([sys.argv[1], "-s", "-S", url + "/index.txt"], capture_output=True, text=True, timeout=30)
        print(host, "curl:", out.returncode, out.stdout.strip(), out.stderr.strip())
    srv.shutdown()
    srv.server_close()
