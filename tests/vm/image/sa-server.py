#!/usr/bin/python3
"""A socket-activation-aware HTTP server: it never binds, it serves fd 3.

Answers every request with the facts a test checks: how many fds it was
given and the address of the socket it accepted on.
"""
import os
import socket
import sys

SD_LISTEN_FDS_START = 3

fds = int(os.environ.get("LISTEN_FDS", "0"))
if fds < 1:
    print("sa-server: no LISTEN_FDS, nothing to serve", file=sys.stderr, flush=True)
    sys.exit(2)
listener = socket.socket(fileno=SD_LISTEN_FDS_START)
print(f"sa-server: serving inherited fd 3 ({listener.getsockname()})", flush=True)
while True:
    conn, _ = listener.accept()
    with conn:
        conn.recv(65536)
        body = f"socket-activated LISTEN_FDS={fds} sockname={listener.getsockname()[1]}\n".encode()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
