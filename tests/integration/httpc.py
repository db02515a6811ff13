"""tests/integration/httpc.py - the raw HTTP client and process probes the
debug server tests share (imported by their inline Python: the scripts put
this folder on PYTHONPATH).

Raw sockets rather than http.client: the tests send what a hostile or
broken client sends and time the answer themselves.
"""
import socket
import time


def exchange(port, request, timeout=5.0):
    """Sends request (bytes) to 127.0.0.1:port and reads until the server
    closes or `timeout` passes. Returns (the bytes read, seconds taken)."""
    t0 = time.monotonic()
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    data = b""
    try:
        c.sendall(request)
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        c.close()
    return data, time.monotonic() - t0


def get(port, path, timeout=5.0):
    """GET path with Connection: close; (bytes, seconds) as exchange."""
    req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    return exchange(port, req.encode(), timeout)


def status(data):
    """The status code of a response's bytes, 0 when there is none."""
    if not data.startswith(b"HTTP/1."):
        return 0
    try:
        return int(data[9:12])
    except ValueError:
        return 0


def threads(pid):
    """The number of threads of process pid."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("Threads:"))
