#!/usr/bin/env python3
"""Warm-pool benchmark (issue 6's headline): python print(1) end to end with `isol8 run` warm
(isol8-pool running) and cold (ISOL8_NO_POOL=1), in-process through the library, and the bare
interpreter — interleaved, median and p99 over N runs; the isol8-serve rows are bench/serve.py.
docker only when a daemon answers. Not a timed test.
usage: bench/warm.py [--runs N] [--bin build/bin]"""
import os, shutil, statistics, subprocess, time
from benchlib import setup, start_pool

args, b, run_dir, env = setup(default_runs=100)
pool = start_pool(b, run_dir, env, 4)

def timed(argv, extra=None):
    e = dict(env, **(extra or {}))
    t = time.perf_counter()
    p = subprocess.run(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    dt = (time.perf_counter() - t) * 1000
    assert p.returncode == 0 and p.stdout.strip() == b"1", p.stderr
    return dt

cases = {
    "isol8 run (warm pool)": lambda: timed([f"{b}/isol8", "run", "-e", "print(1)"]),
    "isol8 run (cold)": lambda: timed([f"{b}/isol8", "run", "-e", "print(1)"], {"ISOL8_NO_POOL": "1"}),
    "bare python3 -c": lambda: timed(["/usr/bin/python3", "-c", "print(1)"]),
}
docker = shutil.which("docker") and subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL).returncode == 0
if docker:
    cases["docker run"] = lambda: timed(["docker", "run", "--rm", "--network", "none", "python:3-slim",
                                         "python3", "-c", "print(1)"], {"PATH": os.environ["PATH"]})
for f in cases.values():
    f()
times = {k: [] for k in cases}
for _ in range(args.runs):
    for k, f in cases.items():
        times[k].append(f())
        time.sleep(0.15)  # agents think between runs: the pool replenishes in the pause
lib = subprocess.run([f"{b}/../bench-lib", str(args.runs)], env=env, stdout=subprocess.PIPE, check=True)
rows = [l.split() for l in lib.stdout.decode().split("\n") if l]
times["in-process library (warm pool)"] = [float(r[0]) for r in rows]
warm_share = sum(int(r[1]) for r in rows) / len(rows)
pool.terminate(); pool.wait()
shutil.rmtree(run_dir, ignore_errors=True)

bare = statistics.median(times["bare python3 -c"])
def p99(v):
    return sorted(v)[min(len(v) - 1, int(0.99 * len(v)))]
print(f"python print(1), {args.runs} runs each (interleaved), {os.cpu_count()} CPUs; library runs warm: {warm_share:.0%}")
print()
print("| path | median ms | p99 ms | added vs bare (median) | ratio vs bare |")
print("|---|---:|---:|---:|---:|")
for k, v in times.items():
    m = statistics.median(v)
    print(f"| {k} | {m:.1f} | {p99(v):.1f} | {m - bare:+.1f} | {m / bare:.2f}x |")
print("\n(the isol8-serve rows: bench/serve.py." + ("" if docker else " docker: no daemon answers here.") + ")")
