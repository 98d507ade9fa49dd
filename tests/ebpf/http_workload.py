"""Known HTTP traffic for the eBPF tests, run as separate processes (the agent never traces its
own pid).

server PORTFILE LIFETIME      http.server (HTTP/1.1 keep-alive); GET /status/<code>?delay=<s>
client PORT PLAN              PLAN = "code:delay:count,..." over ONE keep-alive connection, then
                              a request split across two writes and a pipelined pair
unrelated PORT COUNT          its own server on PORT and client requests to it
preexisting PORT DIR COUNT    a connection older than the agent, reused after DIR/go appears
tlsclient PORT PLAN           as client, over HTTPS (server: TLS_CERT/TLS_KEY, client: TLS_CA)
"""
import http.client
import http.server
import os
import socket
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are two writes: no 40 ms delayed-ACK stalls

    def do_GET(self):
        code, delay = 200, 0.0
        path, _, query = self.path.partition("?")
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
        for kv in query.split("&"):
            if kv.startswith("delay="):
                delay = float(kv[6:])
        if delay:
            time.sleep(delay)
        body = b"ok"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def serve(port=0):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if os.environ.get("TLS_CERT"):  # HTTPS: the OpenSSL uprobe tier's workload
        import ssl
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.environ["TLS_CERT"], os.environ["TLS_KEY"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def recv_responses(s, n, timeout=10):
    s.settimeout(timeout)
    data = b""
    while data.count(b"HTTP/1.1 ") < n or not data.endswith(b"ok"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def run_plan(conn, plan):
    """PLAN is `code:delay:count,...`: count GETs of /status/code?delay=delay on one connection."""
    for item in plan.split(","):
        code, delay, count = item.split(":")
        for _ in range(int(count)):
            conn.request("GET", f"/status/{code}?delay={delay}")
            r = conn.getresponse()
            r.read()
            assert r.status == int(code), r.status
    conn.close()


def client(port, plan):
    run_plan(http.client.HTTPConnection("127.0.0.1", port, timeout=10), plan)
    # One request split across two writes.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /split HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    time.sleep(0.05)
    s.sendall(b"Content-Length: 0\r\n\r\n")
    recv_responses(s, 1)
    s.close()
    # A pipelined pair in one write; wait so both responses arrive before we read.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /pipe/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /pipe/2 HTTP/1.1\r\nHost: a\r\n\r\n")
    time.sleep(0.3)
    data = recv_responses(s, 2)
    assert data.count(b"HTTP/1.1 200") == 2, data
    s.close()
    time.sleep(0.3)


def tls_client(port, plan):
    """PLAN as for client, over one keep-alive HTTPS connection (CA in $TLS_CA)."""
    import ssl
    ctx = ssl.create_default_context(cafile=os.environ["TLS_CA"])
    run_plan(http.client.HTTPSConnection("localhost", port, timeout=10, context=ctx), plan)
    time.sleep(0.3)


def unrelated(port, count):
    srv = serve(port)
    time.sleep(0.3)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(count):
        conn.request("GET", "/status/200")
        conn.getresponse().read()
    conn.close()
    srv.shutdown()


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "server":
        srv = serve()
        with open(a[2] + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(a[2] + ".tmp", a[2])
        time.sleep(float(a[3]))
    elif a[1] == "client":
        client(int(a[2]), a[3])
    elif a[1] == "tlsclient":
        tls_client(int(a[2]), a[3])
    elif a[1] == "unrelated":
        unrelated(int(a[2]), int(a[3]))


def preexisting(port, flagdir, count):
    """One keep-alive connection opened (and used once) before the agent starts; `count` more
    requests on it once the test writes flagdir/go."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/status/200")
    conn.getresponse().read()
    open(os.path.join(flagdir, "ready"), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(flagdir, "go")) and time.monotonic() < deadline:
        time.sleep(0.02)
    for _ in range(count):
        conn.request("GET", "/status/202")
        conn.getresponse().read()
    conn.close()
    time.sleep(0.3)


if __name__ == "__main__" and sys.argv[1] == "preexisting":
    preexisting(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
