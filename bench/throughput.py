#!/usr/bin/env python3
"""Sustained load, the cold path and memory per session, side by side in one run (issue 16's
story). Not a timed test: run it, read it.

1. Sustained load: python print(1) back to back at concurrency 1, 2, 4, 8 through `isol8 run`
   (isol8-pool with zygotes, and with --no-zygote), the library (one bench-lib process per
   worker) and isol8-serve (POST /execute, a connection per request), against bare
   /usr/bin/python3 -c at the same concurrency: runs/s, p50, p99, the fraction of runs that found
   a warm sandbox, and the rate as a multiple of bare python's.
2. The cold path (no pool): `isol8 run` against the bare interpreter and bwrap (when installed),
   interleaved; what each adds over the bare interpreter.
3. Memory: the PSS of N live python sessions (supervisor, init and interpreter), per session.
4. Bash: echo 1 through `isol8 run` with bash's zygote and with --no-zygote (a plain pooled
   sandbox, bash exec'd in it), one of each in turn, paced and back to back, then at
   concurrency 4; bare /bin/bash -c alongside.

With --vs OTHER/bin (another build, before a change), that build's `isol8 run` through its own
pool and its cold `isol8 run` are measured in the same run, side by side.

usage: bench/throughput.py [--runs N] [--conc 1,2,4,8] [--cold N] [--sessions N] [--bin build/bin]
                           [--vs OTHER/bin] [--only load,cold,sessions,bash]"""
import argparse, atexit, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import BWRAP, interleave, load, pct, post_print1

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=200, help="runs per row of the load table")
ap.add_argument("--conc", default="1,2,4,8")
ap.add_argument("--cold", type=int, default=40, help="rounds of the cold table")
ap.add_argument("--sessions", type=int, default=20)
ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin"))
ap.add_argument("--vs", metavar="BIN", help="another build's bin dir, measured side by side")
ap.add_argument("--only", default="load,cold,sessions,bash", help="which tables")
args = ap.parse_args()
BIN = os.path.abspath(args.bin)
VS = os.path.abspath(args.vs) if args.vs else None
KEY = "bench-key-0123456789abcdef"
BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}


PARENTS = []


def run_dir():
    d = tempfile.mkdtemp(prefix="isol8-bench.")
    PARENTS.append("isol8-bench-" + os.path.basename(d)[-6:])
    return d, dict(BASE_ENV, ISOL8_RUN_DIR=d, ISOL8_CGROUP_PARENT=PARENTS[-1])


@atexit.register
def remove_cgroup_parents():
    for parent in PARENTS:
        for hierarchy in os.listdir("/sys/fs/cgroup"):
            try:
                os.rmdir(f"/sys/fs/cgroup/{hierarchy}/{parent}")
            except OSError:
                pass
        try:
            os.rmdir(f"/sys/fs/cgroup/{parent}")
        except OSError:
            pass


def start_pool(env, *extra, size=4, bin_dir=None, runtimes="python"):
    p = subprocess.Popen([f"{bin_dir or BIN}/isol8-pool", "--size", str(size), "--runtimes", runtimes, *extra], env=env,
                         stderr=subprocess.PIPE, text=True)
    p.stderr.readline()  # "isol8-pool: N ready on …" once the first fill is done
    threading.Thread(target=p.stderr.read, daemon=True).start()
    return p


def pool_status(env):
    out = subprocess.run([f"{BIN}/isol8-pool", "status"], env=env, capture_output=True, text=True).stdout
    return json.loads(out)


def timed(argv, env, expect=b"1"):
    t = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    dt = time.perf_counter() - t
    if p.returncode != 0 or p.stdout.strip()[:len(expect)] != expect:
        raise SystemExit(f"failed: {argv[:3]} {p.returncode} {p.stdout[:200]!r} {p.stderr[:300]!r}")
    return dt, p.stdout


def bare():
    return timed(["/usr/bin/python3", "-c", "print(1)"], BASE_ENV)[0]


def isol8_run(env, bin_dir=None):
    def one():
        return timed([f"{bin_dir or BIN}/isol8", "run", "-e", "print(1)"], env)[0]
    return one


def library(env):
    local = threading.local()
    procs = []

    def one():
        if not hasattr(local, "p"):
            local.p = subprocess.Popen([f"{BIN}/../bench-lib"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            procs.append(local.p)
        local.p.stdin.write(b"python\tprint(1)\t1\n")
        local.p.stdin.flush()
        line = local.p.stdout.readline().split()
        if len(line) != 2:
            raise SystemExit("bench-lib failed")
        return float(line[0]) / 1000
    return one, procs


def serve(env):
    p = subprocess.Popen([f"{BIN}/isol8-serve", "--key", KEY, "--listen", "127.0.0.1:0"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(p.stdout.readline().rsplit(":", 1)[1])

    def one():
        return post_print1(port, KEY)[0]
    return one, p


def measure(fn, conc, n, env=None):
    """n calls at concurrency conc; with env (the pool's), the fraction of them that found an
    interpreter already running (the pool's warmHits over the row)."""
    before = pool_status(env)["warmHits"] if env else 0
    lat, wall, _ = load(fn, n, conc)
    warm = (pool_status(env)["warmHits"] - before) / n if env else None
    return {"rate": len(lat) / wall, "p50": statistics.median(lat) * 1000, "p99": pct(lat, 0.99) * 1000,
            "warm": warm}


def load_table():
    da, env_a = run_dir()
    db, env_b = run_dir()
    pool_a = start_pool(env_a)
    pool_b = start_pool(env_b, "--no-zygote")
    lib_fn, lib_procs = library(env_a)
    serve_fn, srv = serve(env_a)
    if VS:
        dv, env_v = run_dir()
        pool_v = start_pool(env_v, bin_dir=VS)
    paths = [("bare python3 -c", bare, None),
             ("isol8 run, pool with zygotes", isol8_run(env_a), env_a),
             ("isol8 run, pool without zygotes", isol8_run(env_b), env_b),
             ("library, pool with zygotes", lib_fn, env_a),
             ("isol8-serve, pool with zygotes", serve_fn, env_a)]
    if VS:
        paths.append(("--vs: isol8 run, its pool", isol8_run(env_v, VS), env_v))
    rows = []
    try:
        for c in [int(x) for x in args.conc.split(",")]:
            for name, fn, env in paths:
                measure(fn, c, 2 * c)  # warm-up: caches, the library's processes
                time.sleep(0.5)  # every row starts with full pools
                rows.append((c, name, measure(fn, c, args.runs, env)))
    finally:
        for p in lib_procs:
            p.stdin.close()
            p.wait()
        srv.terminate(); srv.wait()
        st_a, st_b = pool_status(env_a), pool_status(env_b)
        pool_a.terminate(); pool_b.terminate(); pool_a.wait(); pool_b.wait()
        if VS:
            pool_v.terminate(); pool_v.wait()
            shutil.rmtree(dv, ignore_errors=True)
        shutil.rmtree(da, ignore_errors=True); shutil.rmtree(db, ignore_errors=True)
    print(f"## Sustained load: python print(1), {args.runs} runs per row, {os.cpu_count()} CPUs, pools of 4 per kind\n")
    print("| concurrency | path | runs/s | p50 ms | p99 ms | warm | rate ÷ bare |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    bare_rate = {}
    for c, name, r in rows:
        if name.startswith("bare"):
            bare_rate[c] = r["rate"]
        warm = f"{r['warm']:.0%}" if r["warm"] is not None else ""
        print(f"| {c} | {name} | {r['rate']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | {warm} | "
              f"{r['rate'] / bare_rate[c]:.2f}x |")
    if VS:
        print(f"\n--vs is {VS}")
    print(f"\npool with zygotes at the end: hits {st_a['hits']}, warm {st_a['warmHits']}, "
          f"from a zygote {st_a.get('zygoteHits')}, forks {st_a.get('zygoteForks')}, misses {st_a['misses']}")
    print(f"pool without zygotes at the end: hits {st_b['hits']}, warm {st_b['warmHits']}, misses {st_b['misses']}\n")


def cold_table():
    d, env = run_dir()
    env = dict(env, ISOL8_NO_POOL="1")
    cases = {"/bin/true": lambda: timed(["/bin/true"], BASE_ENV, b"")[0] * 1000,
             "bare python3 -c": lambda: bare() * 1000,
             "isol8 run (cold)": lambda: timed([f"{BIN}/isol8", "run", "-e", "print(1)"], env)[0] * 1000}
    if VS:
        cases["--vs: isol8 run (cold)"] = lambda: timed([f"{VS}/isol8", "run", "-e", "print(1)"], env)[0] * 1000
    if shutil.which("bwrap"):
        cases["bwrap python3 -c"] = lambda: timed(BWRAP + ["/usr/bin/python3", "-c", "print(1)"], BASE_ENV)[0] * 1000
    times = interleave(cases, args.cold, rotate=True)
    shutil.rmtree(d, ignore_errors=True)
    b = statistics.median(times["bare python3 -c"])
    print(f"## The cold path: python print(1), no pool, {args.cold} interleaved rounds\n")
    print("| path | median ms | p99 ms | adds over bare ms |")
    print("|---|---:|---:|---:|")
    for k, v in times.items():
        m = statistics.median(v)
        add = f"{m - b:.1f}" if k not in ("/bin/true", "bare python3 -c") else ""
        print(f"| {k} | {m:.1f} | {pct(v, 0.99):.1f} | {add} |")
    if "bwrap python3 -c" in times:
        print(f"\nisol8 adds {statistics.median(times['isol8 run (cold)']) - b:.1f} ms, bwrap adds "
              f"{statistics.median(times['bwrap python3 -c']) - b:.1f} ms: isol8 adds "
              f"{statistics.median(times['isol8 run (cold)']) - statistics.median(times['bwrap python3 -c']):.1f} ms "
              "more than bwrap\n")


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sessions_pss(env, d, n):
    """Starts n python sessions (one exec each), returns their mean PSS in MiB (supervisor,
    init and interpreter), and deletes them."""
    ids = [f"bench-{i}" for i in range(n)]
    sess = f"{BIN}/isol8-session"
    for i in ids:
        subprocess.run([sess, "create", "--id", i, "-r", "python"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([sess, "exec", i, "-e", "x = 1"], env=env, check=True, stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    total = 0
    for i in ids:
        meta = json.load(open(f"{d}/sessions/{i}/meta.json"))
        pids = {meta["daemon"]}
        cg = env["ISOL8_CGROUP_PARENT"]
        for ctl in ("pids", "memory", "unified"):
            p = f"/sys/fs/cgroup/{ctl}/{cg}/{meta['sandbox']}/cgroup.procs"
            if os.path.exists(p):
                pids |= {int(x) for x in open(p).read().split()}
                break
        total += sum(pss_kib(p) for p in pids)
    for i in ids:
        subprocess.run([sess, "delete", i], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return total / len(ids) / 1024


def session_table():
    d, env = run_dir()
    cold = sessions_pss(dict(env, ISOL8_NO_POOL="1"), d, args.sessions)
    pool = start_pool(env)
    zyg = sessions_pss(env, d, args.sessions)
    hits = pool_status(env)["zygoteHits"]
    pool.terminate()
    pool.wait()
    shutil.rmtree(d, ignore_errors=True)
    print(f"## Memory: {args.sessions} live python sessions (supervisor, init, interpreter), one exec each\n")
    print("| sessions | PSS per session MiB | in 24 GiB |")
    print("|---|---:|---:|")
    print(f"| started in their sandbox (no pool) | {cold:.2f} | {int(24 * 1024 / cold)} |")
    print(f"| forked by the pool's zygote ({hits} of {args.sessions}) | {zyg:.2f} | {int(24 * 1024 / zyg)} |\n")


def bash_table():
    """Bash's zygote against a plain pooled sandbox (bash exec'd in it), two pools side by side:
    one run of each in turn (rotating), paced and back to back, and then sustained load at
    concurrency 4 for each in turn; bare /bin/bash -c alongside."""
    da, env_a = run_dir()
    db, env_b = run_dir()
    pool_a = start_pool(env_a, runtimes="bash")
    pool_b = start_pool(env_b, "--no-zygote", runtimes="bash")

    def run(env):
        return lambda: timed([f"{BIN}/isol8", "run", "-r", "bash", "-e", "echo 1"], env)[0] * 1000
    cases = {"bare bash -c": lambda: timed(["/bin/bash", "-c", "echo 1"], BASE_ENV)[0] * 1000,
             "isol8 run, bash's zygote": run(env_a),
             "isol8 run, no zygote (plain pooled sandbox)": run(env_b)}
    try:
        w0 = pool_status(env_a)["zygoteHits"]
        paced = interleave(cases, args.runs, pause=0.03, rotate=True)
        b2b = interleave(cases, args.runs, rotate=True)
        forked = pool_status(env_a)["zygoteHits"] - w0
        loads = {name: measure(lambda f=f: f() / 1000, 4, args.runs, env)
                 for (name, f), env in zip(cases.items(), (None, env_a, env_b))}
    finally:
        pool_a.terminate(); pool_b.terminate(); pool_a.wait(); pool_b.wait()
        shutil.rmtree(da, ignore_errors=True); shutil.rmtree(db, ignore_errors=True)
    print(f"## Bash: echo 1, {args.runs} rounds of each path in turn, pools of 4 "
          f"({forked} of {2 * (args.runs + 1)} zygote runs forked)\n")
    print("| path | paced p50 ms | paced p99 ms | back to back p50 ms | p99 ms | at concurrency 4, runs/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for k in cases:
        print(f"| {k} | {statistics.median(paced[k]):.1f} | {pct(paced[k], 0.99):.1f} | "
              f"{statistics.median(b2b[k]):.1f} | {pct(b2b[k], 0.99):.1f} | {loads[k]['rate']:.1f} |")
    z, p = "isol8 run, bash's zygote", "isol8 run, no zygote (plain pooled sandbox)"
    print(f"\nthe zygote against a plain pooled sandbox, p50: paced {statistics.median(paced[z]) - statistics.median(paced[p]):+.1f} ms, "
          f"back to back {statistics.median(b2b[z]) - statistics.median(b2b[p]):+.1f} ms; "
          f"rate at concurrency 4 {loads[z]['rate'] / loads[p]['rate']:.2f}x\n")


only = args.only.split(",")
if "load" in only:
    load_table()
if "cold" in only:
    cold_table()
if "sessions" in only:
    session_table()
if "bash" in only:
    bash_table()
