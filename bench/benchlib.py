"""What every benchmark here shares: the --runs/--bin arguments, and a private run dir with the
clean environment the sandbox gives its payload (the host's may carry start-up costs:
NODE_EXTRA_CA_CERTS makes bare node load a CA bundle, ~40 ms here)."""
import argparse, http.client, json, math, os, subprocess, tempfile, threading, time

# bwrap with isolation comparable to a cold isol8 run's (namespaces, a read-only /usr, tmpfs
# /tmp and /sandbox, uid 65534): the comparison point of bench/cold.py and bench/throughput.py
BWRAP = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
         "--setenv", "PATH", "/usr/bin:/bin", "--ro-bind", "/usr", "/usr",
         "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
         "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache", "--proc", "/proc", "--dev", "/dev",
         "--tmpfs", "/tmp", "--tmpfs", "/sandbox", "--chdir", "/sandbox", "--uid", "65534", "--gid", "65534",
         "--unshare-user"]


def setup(default_runs):
    """Returns (args, absolute bin dir, run dir, env)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=default_runs)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin"))
    ap.add_argument("--vs", metavar="BIN", help="another build's bin dir, measured side by side (before/after a change)")
    args = ap.parse_args()
    if args.vs:
        args.vs = os.path.abspath(args.vs)
    run_dir = tempfile.mkdtemp(prefix="isol8-bench.")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "ISOL8_RUN_DIR": run_dir}
    return args, os.path.abspath(args.bin), run_dir, env


def start_pool(bin_dir, run_dir, env, size=4):
    """Starts isol8-pool for run_dir and waits until it listens and has had time to fill."""
    pool = subprocess.Popen([f"{bin_dir}/isol8-pool", "--size", str(size)], env=env, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(f"{run_dir}/pool.sock"):
            break
        time.sleep(0.05)
    time.sleep(0.3 * size)
    return pool


def pct(values, q):
    """The q-quantile (0 < q <= 1) of values, by nearest rank (p90 of 100 runs: the 90th)."""
    v = sorted(values)
    return v[max(0, min(len(v) - 1, math.ceil(q * len(v)) - 1))]


def interleave(cases, runs, pause=0.0, rotate=False):
    """Runs each case once to warm caches, then `runs` rounds of every case in turn, sleeping
    `pause` s after each call; returns {name: [ms, ...]}. Each case is a callable returning ms.
    rotate: each round starts one case later, so no case always follows the same one (on cgroup
    v1 a sandbox's cgroup attach waits for an RCU grace period unless another attach just ran:
    the case after a bare interpreter would pay it every time)."""
    for f in cases.values():
        f()
    times = {k: [] for k in cases}
    names = list(cases)
    for r in range(runs):
        order = names[r % len(names):] + names[:r % len(names)] if rotate else names
        for k in order:
            f = cases[k]
            times[k].append(f())
            if pause:
                time.sleep(pause)
    return times


def post_print1(port, key):
    """POST /execute of python print(1) on a new connection: (seconds, the parsed answer); exits
    on any answer but 200 with stdout "1"."""
    body = json.dumps({"request": {"runtime": "python", "code": "print(1)"}})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t = time.perf_counter()
    c.request("POST", "/execute", body, {"Authorization": "Bearer " + key})
    r = c.getresponse()
    data = r.read()
    dt = time.perf_counter() - t
    c.close()
    if r.status != 200 or json.loads(data)["stdout"] != "1":
        raise SystemExit(f"bad answer {r.status}: {data[:200]!r}")
    return dt, json.loads(data)


def load(fn, n, conc):
    """n calls of fn spread over conc threads; returns (latencies, wall seconds, results)."""
    lat, res, lock = [], [], threading.Lock()
    left = [n]

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            out = fn()
            with lock:
                if isinstance(out, tuple):
                    lat.append(out[0])
                    res.append(out[1])
                else:
                    lat.append(out)
    t = time.perf_counter()
    th = [threading.Thread(target=worker) for _ in range(conc)]
    [x.start() for x in th]
    [x.join() for x in th]
    return lat, time.perf_counter() - t, res
