#!/usr/bin/env python3
"""Slow-loris check against a running lienthong: opens N connections that each send one header
line every 5 s and never finish their request, and reports when the server closed them and how
fast /healthz answered meanwhile. Usage: bench/slow-clients.py PORT [N]   (N defaults to 300)."""
import socket
import sys
import time
import urllib.request

port = int(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
connections = []
for _ in range(count):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    sock.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    connections.append(sock)
start = time.time()
closed = {}
health = []
while time.time() - start < 35 and len(closed) < count:
    for i, sock in enumerate(connections):
        if i in closed:
            continue
        try:
            sock.send(b"X-a: b\r\n")
            if sock.recv(1024) == b"":
                closed[i] = time.time() - start
        except BlockingIOError:
            pass
        except OSError:
            closed[i] = time.time() - start
    asked = time.time()
    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30).read()
    health.append((time.time() - asked) * 1000)
    time.sleep(5)
times = sorted(closed.values())
if times:
    print(f"closed {len(times)} of {count} within 35 s: first at {times[0]:.1f} s, last at {times[-1]:.1f} s")
else:
    print(f"closed 0 of {count} within 35 s")
print(f"/healthz during the attack: max {max(health):.1f} ms over {len(health)} samples")
