#!/usr/bin/python3
"""Attacks on isol8-serve, for tests/integ/98-serve-attacks.t.

  slowloris URL KEY N WAIT [SRC]
      Opens N connections (from address SRC if given) that each send half a request head and
      no key, and holds them. While they are held: GET /health and an authenticated
      POST /execute. Then waits up to WAIT seconds for the server to answer or close each slow
      connection. Prints:
          held <connections the server accepted and left open after 0.5 s>
          health <status>
          exec <status> <stdout>
          slow 408=<a> other=<b> closed=<c> open=<d>

  cap URL N
      Opens N half-head connections from 127.0.0.1, one every 50 ms, waits 0.5 s, and prints
          answered <connections the server has answered or closed> open <the rest>
          codes <status codes of the answers, sorted, comma-separated>
"""
import http.client
import json
import select
import socket
import sys
import time

HALF_HEAD = b"POST /execute HTTP/1.1\r\nHost: x\r\nContent-Le"


def host_port(url):
    host, port = url.split("//")[1].rstrip("/").split(":")
    return host, int(port)


def open_slow(url, src=None):
    s = socket.socket()
    if src:
        s.bind((src, 0))
    s.settimeout(5)
    s.connect(host_port(url))
    s.sendall(HALF_HEAD)
    return s


def answered(s, timeout):
    """What the server did with a slow connection by the timeout: a status code, 'closed', 'open'."""
    r, _, _ = select.select([s], [], [], timeout)
    if not r:
        return "open"
    try:
        data = s.recv(4096)
    except OSError:
        return "closed"
    if not data:
        return "closed"
    parts = data.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 and data.startswith(b"HTTP/1.") else "garbage"


def request(url, method, path, key=None, body=None, timeout=30):
    host, port = host_port(url)
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {"Authorization": "Bearer " + key} if key else {}
    try:
        c.request(method, path, body, headers)
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")
    except OSError as e:
        return "error:" + type(e).__name__, ""
    finally:
        c.close()


def slowloris(url, key, n, wait, src=None):
    conns = []
    for _ in range(n):
        try:
            conns.append(open_slow(url, src))
        except OSError:
            pass
    time.sleep(0.5)
    early = [answered(s, 0) for s in conns]
    print("held", sum(1 for e in early if e == "open"))
    st, _ = request(url, "GET", "/health", timeout=10)
    print("health", st)
    st, body = request(url, "POST", "/execute", key,
                       json.dumps({"request": {"runtime": "python", "code": "print(6 * 7)"}}), timeout=30)
    try:
        out = json.loads(body).get("stdout", "")
    except ValueError:
        out = ""
    print("exec", st, out.strip() or "-")
    end = time.time() + wait
    counts = {"408": 0, "other": 0, "closed": 0, "open": 0}
    for s, e in zip(conns, early):
        res = e if e != "open" else answered(s, max(0.0, end - time.time()))
        counts[res if res in counts else "other"] += 1
        s.close()
    print("slow " + " ".join("%s=%d" % kv for kv in counts.items()))


def cap(url, n):
    conns = []
    for _ in range(n):
        conns.append(open_slow(url))
        time.sleep(0.05)
    time.sleep(0.5)
    res = [answered(s, 0) for s in conns]
    for s in conns:
        s.close()
    codes = sorted(r for r in res if r != "open")
    print("answered", len(codes), "open", len(res) - len(codes))
    print("codes", ",".join(codes) or "-")


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "slowloris":
        slowloris(a[1], a[2], int(a[3]), float(a[4]), a[5] if len(a) > 5 else None)
    elif a[0] == "cap":
        cap(a[1], int(a[2]))
    else:
        sys.exit("unknown command " + a[0])
