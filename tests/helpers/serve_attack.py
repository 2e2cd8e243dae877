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

  race URL KEY N
      (for a server with serve.maxUnauthenticatedPerAddress 1 and a long key list, so checking
      a key takes a while) N times: sends a keyed POST /execute head whose body is held back,
      then after 0-15 ms opens a half-head connection from the same address, which makes the
      server evict the oldest connection it has not yet seen authenticated: the keyed one, often
      while its key is being checked. Then sends the body. Prints
          silent <keyed requests closed without any answer> answered <the rest>

  flood URL KEY KEY2 SID N
      Opens N connections that each send GET /file for session SID with KEY (a session busy
      with a long execution, so each waits), waits 0.5 s, then: GET /health and a POST /execute
      with KEY2. Then collects the N answers. Prints
          health <status>
          exec <status> <stdout>
          flood <status>=<count> ... (sorted)

  stall URL KEY BODY WAIT [NEVER]
      POST /execute/stream with BODY from a client with a tiny receive buffer that reads nothing
      for WAIT seconds (so the server's writes to it block), then reads to the end. Prints
          status <status line's code> frames <complete JSON frames> watchdog <0|1> last <type>
      With NEVER, never reads: holds the connection WAIT seconds, closes it, prints "held WAIT".
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


def health_and_exec(url, key, code):
    """What the attacks must leave working: prints "health STATUS" and "exec STATUS STDOUT"."""
    st, _ = request(url, "GET", "/health", timeout=10)
    print("health", st)
    st, body = request(url, "POST", "/execute", key,
                       json.dumps({"request": {"runtime": "python", "code": code}}), timeout=30)
    try:
        out = json.loads(body).get("stdout", "")
    except ValueError:
        out = ""
    print("exec", st, out.strip() or "-")


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
    health_and_exec(url, key, "print(6 * 7)")
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


def race(url, key, n):
    body = b"{}"
    head = ("POST /execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
            % (key, len(body))).encode()
    silent = answered = 0
    for i in range(n):
        k = socket.create_connection(host_port(url))
        k.sendall(head)
        time.sleep((i % 16) / 1000.0)
        try:
            u = open_slow(url)
        except OSError:
            u = None
        time.sleep(0.05)
        try:
            k.sendall(body)
        except OSError:
            pass
        k.settimeout(10)
        data = b""
        try:
            while True:
                d = k.recv(4096)
                if not d:
                    break
                data += d
        except OSError:
            pass
        if data.startswith(b"HTTP/1."):
            answered += 1
        else:
            silent += 1
        k.close()
        if u:
            u.close()
    print("silent", silent, "answered", answered)


def flood(url, key, key2, sid, n):
    req = ("GET /file?sessionId=%s&path=/sandbox/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
           % (sid, key)).encode()
    conns = []
    for _ in range(n):
        try:
            s = socket.create_connection(host_port(url), timeout=5)
            s.sendall(req)
            conns.append(s)
        except OSError:
            pass
    time.sleep(0.5)
    health_and_exec(url, key2, "print(7)")
    counts = {}
    for s in conns:
        res = answered(s, 20)
        counts[res] = counts.get(res, 0) + 1
        s.close()
    print("flood " + " ".join("%s=%d" % kv for kv in sorted(counts.items())))


def stall(url, key, body, wait, never=False):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(host_port(url))
    s.sendall(("POST /execute/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
               % (key, len(body))).encode() + body.encode())
    if never:
        time.sleep(wait)
        print("held", wait)
        s.close()
        return
    time.sleep(wait)
    s.settimeout(30)
    data = b""
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            data += d
    except OSError:
        pass
    status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.") else "-"
    frames, last, wd = 0, "-", 0
    for f in data.split(b"\r\n\r\n", 1)[-1].split(b"\n\n"):
        f = f.strip(b"\n")
        if not f.startswith(b"data: "):
            continue
        try:
            ev = json.loads(f[6:])
        except ValueError:
            continue
        frames += 1
        last = ev.get("type", "-")
        if ev.get("type") == "error" and "serve.graceMs" in str(ev.get("data")):
            wd = 1
    print("status", status, "frames", "many" if frames > 5 else frames, "watchdog", wd, "last", last)


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "slowloris":
        slowloris(a[1], a[2], int(a[3]), float(a[4]), a[5] if len(a) > 5 else None)
    elif a[0] == "cap":
        cap(a[1], int(a[2]))
    elif a[0] == "race":
        race(a[1], a[2], int(a[3]))
    elif a[0] == "flood":
        flood(a[1], a[2], a[3], a[4], int(a[5]))
    elif a[0] == "stall":
        stall(a[1], a[2], a[3], float(a[4]), len(a) > 5)
    else:
        sys.exit("unknown command " + a[0])
