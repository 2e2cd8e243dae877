#!/usr/bin/env python3
"""Key lookup cost: isol8-serve answering with a static key and with a database key (SQLite, and a
PostgreSQL this benchmark starts on a unix socket in a temporary directory), for GET /sessions
(authentication and little else: the lookup shows) and POST /execute of python print(1).
One server per backend, requests interleaved round by round; median, p99 and the difference to
the static key, and their ratio. Not a timed test. usage: bench/auth.py [--runs N] [--bin build/bin]"""
import glob, http.client, json, os, shutil, statistics, subprocess, tempfile, time

from benchlib import pct, setup

args, BIN, RUN_DIR, ENV = setup(default_runs=200)
MASTER = "bench-master-0123456789abcdef"
EXEC = json.dumps({"request": {"runtime": "python", "code": "print(1)"}})

pgbin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
pgdir = tempfile.mkdtemp(prefix="isol8-bench-pg.")
shutil.chown(pgdir, "nobody")
def as_nobody(*argv):
    subprocess.run(["runuser", "-u", "nobody", "--"] + list(argv), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
as_nobody(f"{pgbin}/initdb", "-D", f"{pgdir}/data", "-A", "trust", "-U", "isol8")
as_nobody(f"{pgbin}/pg_ctl", "-D", f"{pgdir}/data", "-o", f"-k {pgdir} -c listen_addresses=", "-l",
          f"{pgdir}/log", "-w", "start")
work = tempfile.mkdtemp(prefix="isol8-bench-auth.")


def start(name, auth_db):
    env = dict(ENV, ISOL8_RUN_DIR=f"{RUN_DIR}/{name}")
    argv = [f"{BIN}/isol8-serve", "--key", MASTER, "--listen", "127.0.0.1:0"]
    if auth_db:
        argv += ["--auth-db", auth_db]
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(p.stdout.readline().rsplit(":", 1)[1])
    key = MASTER
    if auth_db:
        key = call(port, MASTER, "POST", "/auth/keys", json.dumps({"name": "bench", "tenantId": "t"}), 201)[1]["key"]
    return p, port, key


def call(port, key, method, path, body=None, want=200):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t = time.perf_counter()
    c.request(method, path, body, {"Authorization": "Bearer " + key})
    r = c.getresponse()
    data = r.read()
    dt = (time.perf_counter() - t) * 1000
    c.close()
    if r.status != want:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return dt, json.loads(data)


servers = {"static key": start("static", None), "SQLite key": start("sqlite", f"{work}/keys.db"),
           "PostgreSQL key": start("pg", f"postgresql://isol8@/postgres?host={pgdir}")}
times = {(s, r): [] for s in servers for r in ("GET /sessions", "POST /execute")}
for rnd in range(args.runs + 3):
    for s, (p, port, key) in servers.items():
        a = call(port, key, "GET", "/sessions")[0]
        b = call(port, key, "POST", "/execute", EXEC)[0]
        if rnd >= 3:  # the first rounds warm caches
            times[(s, "GET /sessions")].append(a)
            times[(s, "POST /execute")].append(b)
for p, _, _ in servers.values():
    p.terminate()
    p.wait()
as_nobody(f"{pgbin}/pg_ctl", "-D", f"{pgdir}/data", "-m", "fast", "-w", "stop")
shutil.rmtree(pgdir, ignore_errors=True)
shutil.rmtree(work, ignore_errors=True)
shutil.rmtree(RUN_DIR, ignore_errors=True)

print(f"isol8-serve, {args.runs} interleaved rounds, {os.cpu_count()} CPUs, a new TCP connection per request")
print()
print("| route | key | median ms | p99 ms | median − static ms | ratio to static |")
print("|---|---|---:|---:|---:|---:|")
for route in ("GET /sessions", "POST /execute"):
    base = statistics.median(times[("static key", route)])
    for s in servers:
        v = times[(s, route)]
        m = statistics.median(v)
        print(f"| {route} | {s} | {m:.2f} | {pct(v, 0.99):.2f} | {m - base:+.2f} | {m / base:.2f}x |")
