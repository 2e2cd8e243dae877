#!/usr/bin/env python3
"""Ephemeral POST /execute (python print(1)) through HAProxy running contrib/haproxy.cfg, in
front of 1, 2 and 3 isol8-serve nodes, side by side with the same requests sent straight to one
node; and GET /health direct and through HAProxy, which isolates the balancer's own cost from
the sandbox's. Median and p99 latency, requests/s, and ratios to the direct node.

Every node runs on this one machine (2 vCPUs): more nodes add no CPU, so the rows show what the
balancer costs, not how a cluster scales — that needs real machines. Each request is a new TCP
connection (isol8-serve answers one request per connection), through HAProxy two of them."""
import http.client, json, os, re, shutil, signal, socket, statistics, subprocess, tempfile, time

from benchlib import load, pct, post_print1, setup

args, BIN, RUN_DIR, ENV = setup(200)
KEY = "bench-key-0123456789abcdef"
CFG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "contrib", "haproxy.cfg")
CONC = 4


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_node(n):
    d = os.path.join(RUN_DIR, f"node{n}")
    os.makedirs(d)
    env = dict(ENV, ISOL8_RUN_DIR=d, ISOL8_CGROUP_PARENT=f"isol8-bench-{os.getpid()}-n{n}")
    p = subprocess.Popen([f"{BIN}/isol8-serve", "--key", KEY, "--listen", "127.0.0.1:0"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(p.stdout.readline().rsplit(":", 1)[1])
    return p, port


def start_haproxy(ports):
    """contrib/haproxy.cfg itself, less the server lines of nodes that are not running."""
    text = open(CFG).read()
    for n in range(len(ports) + 1, 4):
        text = re.sub(rf"(?m)^\s*server node{n} .*\n", "", text)
    cfg = os.path.join(RUN_DIR, f"haproxy{len(ports)}.cfg")
    open(cfg, "w").write(text)
    port = free_port()
    env = dict(ENV, ISOL8_LB_BIND=f"127.0.0.1:{port}",
               **{f"ISOL8_NODE{i + 1}": f"127.0.0.1:{p}" for i, p in enumerate(ports)})
    p = subprocess.Popen([shutil.which("haproxy"), "-db", "-f", cfg], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            if get_health(port) == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    time.sleep(2.5)  # rise 2, inter 1 s: every node is marked up
    return p, port


def get_health(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/health")
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def one_health(port):
    t = time.perf_counter()
    if get_health(port) != 200:
        raise SystemExit(f"/health on {port} is not 200")
    return time.perf_counter() - t


def one_post(port):
    return post_print1(port, KEY)[0]


def timed(fn, n, conc):
    """load() without the results: (latencies, wall seconds)."""
    return load(fn, n, conc)[:2]


def row(name, lat, wall, base=None):
    med, p99, rps = statistics.median(lat) * 1000, pct(lat, 0.99) * 1000, len(lat) / wall
    extra = f"   {med / base[0]:6.2f}x   {rps / base[1]:6.2f}x   {med - base[0]:+7.2f}" if base else ""
    print(f"  {name:<30} {med:8.2f} {p99:8.2f} {rps:8.1f}{extra}")
    return med, rps


def main():
    if not shutil.which("haproxy"):
        raise SystemExit("haproxy is not installed (make deps)")
    nodes, lbs = [], {}
    try:
        for n in (1, 2, 3):
            nodes.append(start_node(n))
        ports = [p for _, p in nodes]
        for k in (1, 2, 3):
            lbs[k] = start_haproxy(ports[:k])
        print(f"GET /health, concurrency 1, {args.runs} requests each (the balancer alone)")
        print(f"  {'':<30} {'median':>8} {'p99':>8} {'req/s':>8}   ratio(med) ratio(rate) added ms")
        for fn in [lambda: one_health(ports[0]), lambda: one_health(lbs[1][1])]:
            load(fn, 20, 1)
        base = row("direct to a node", *timed(lambda: one_health(ports[0]), args.runs, 1))
        row("through HAProxy", *timed(lambda: one_health(lbs[1][1]), args.runs, 1), base)
        for conc in (1, CONC):
            print(f"\nPOST /execute python print(1), concurrency {conc}, {args.runs} requests each")
            print(f"  {'':<30} {'median':>8} {'p99':>8} {'req/s':>8}   ratio(med) ratio(rate) added ms")
            load(lambda: one_post(ports[0]), 10, conc)
            base = row("direct to one node", *timed(lambda: one_post(ports[0]), args.runs, conc))
            for k in (1, 2, 3):
                load(lambda: one_post(lbs[k][1]), 10, conc)
                row(f"HAProxy, {k} node{'s' if k > 1 else ''}", *timed(lambda: one_post(lbs[k][1]), args.runs, conc), base)
    finally:
        for p, _ in list(lbs.values()) + nodes:
            p.send_signal(signal.SIGTERM)
        for p, _ in list(lbs.values()) + nodes:
            p.wait()
        shutil.rmtree(RUN_DIR, ignore_errors=True)


main()
