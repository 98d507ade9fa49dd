"""Known TCP traffic for the eBPF tests, run as separate processes (the agent never traces its
own pid). Server: `server PORTFILE N RESP`; client: `client PORT N REQ RESP REFUSED_PORT`."""
import socket
import sys
import time


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def server(portfile, n, req, resp):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    ls.settimeout(30)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    for _ in range(n):
        c, _ = ls.accept()
        c.settimeout(10)
        recv_exact(c, req)
        c.sendall(b"r" * resp)
        recv_exact(c, 1)  # wait for the client's close so both sides close cleanly
        c.close()
    time.sleep(float(sys.argv[6]) if len(sys.argv) > 6 else 0.5)


def client(port, n, req, resp, refused_port):
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"q" * req)
        recv_exact(s, resp)
        s.close()
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", refused_port))
    except OSError:
        pass
    s.close()
    time.sleep(0.5)  # stay alive until the agent resolved our name


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "server":
        server(a[2], int(a[3]), int(a[4]), int(a[5]))
    else:
        client(int(a[2]), int(a[3]), int(a[4]), int(a[5]), int(a[6]))
