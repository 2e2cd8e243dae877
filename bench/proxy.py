#!/usr/bin/env python3
"""Proxy benchmark: a small HTTP GET against a loopback origin, direct and through isol8-proxy,
interleaved; median and p90 latency per request, and requests/s at concurrency 1 and 4.
Everything stays on 127.0.0.1. Not a timed test.  usage: bench/proxy.py [--runs N] [--bin build/bin]"""
import http.client, http.server, os, shutil, socket, statistics, subprocess, threading, time
from benchlib import pct, setup

args, b, run_dir, env = setup(default_runs=300)
shutil.rmtree(run_dir)  # the proxy needs no run dir

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=origin.serve_forever, daemon=True).start()
op = origin.server_address[1]
pp = free_port()
proxy = subprocess.Popen([f"{b}/isol8-proxy", "--listen", f"127.0.0.1:{pp}", "--allow-private",
                          "--allow", "^127\\.0\\.0\\.1$", "--allow-port", str(op), "--no-config"],
                         stderr=subprocess.DEVNULL)
time.sleep(0.5)

def direct():
    c = http.client.HTTPConnection("127.0.0.1", op, timeout=5); c.request("GET", "/x")
    r = c.getresponse(); assert r.read() == b"ok"; c.close()

def proxied():
    c = http.client.HTTPConnection("127.0.0.1", pp, timeout=5); c.request("GET", f"http://127.0.0.1:{op}/x")
    r = c.getresponse(); assert r.read() == b"ok", r.status; c.close()

lat = {"direct": [], "isol8-proxy": []}
for _ in range(args.runs):
    for name, f in (("direct", direct), ("isol8-proxy", proxied)):
        t = time.perf_counter(); f(); lat[name].append((time.perf_counter() - t) * 1000)

def rate(f, conc, n=400):
    def worker(k):
        for _ in range(k): f()
    t = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(n // conc,)) for _ in range(conc)]
    [x.start() for x in ts]; [x.join() for x in ts]
    return n / (time.perf_counter() - t)

rates = {name: (rate(f, 1), rate(f, 4)) for name, f in (("direct", direct), ("isol8-proxy", proxied))}
proxy.kill(); origin.shutdown()
d = statistics.median(lat["direct"])
print(f"GET of a 2-byte body on 127.0.0.1, {args.runs} interleaved requests each, new connection per request")
print()
print("| path | median ms | p90 ms | added (median) | req/s, 1 client | req/s, 4 clients |")
print("|---|---:|---:|---:|---:|---:|")
for name, v in lat.items():
    m = statistics.median(v)
    print(f"| {name} | {m:.2f} | {pct(v, 0.9):.2f} | {m - d:+.2f} | {rates[name][0]:.0f} | {rates[name][1]:.0f} |")
