#!/usr/bin/env python3
"""Warm-pool benchmark (issue 6's headline): print(1) end to end in python and node with
`isol8 run` warm (isol8-pool running, interpreters pre-started) and cold (ISOL8_NO_POOL=1),
in-process through the library (bench/lib_bench.c, one long-lived process), and the bare
interpreter — interleaved, median and p99 over N runs each. A `/bin/true` row gives this harness's own cost of spawning a process (every other
row includes it). docker only when a daemon answers; the isol8-serve rows are bench/serve.py.
Not a timed test.
With --vs OTHER/bin, that build's `isol8 run` rows (its own pool, in its own run dir) are
interleaved with these: before/after a change, side by side.
usage: bench/warm.py [--runs N] [--bin build/bin] [--vs OTHER/bin]"""
import os, shutil, statistics, subprocess, time
from benchlib import interleave, pct, setup, start_pool

args, b, run_dir, env = setup(default_runs=100)
pool = start_pool(b, run_dir, env, 2)
if args.vs:
    import tempfile
    vs_dir = tempfile.mkdtemp(prefix="isol8-bench-vs.")
    vs_env = dict(env, ISOL8_RUN_DIR=vs_dir)
    vs_pool = start_pool(args.vs, vs_dir, vs_env, 2)

def timed(argv, expect=b"1", extra=None, base=None):
    e = dict(base or env, **(extra or {}))
    t = time.perf_counter()
    p = subprocess.run(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    dt = (time.perf_counter() - t) * 1000
    assert p.returncode == 0 and p.stdout.strip() == expect, (argv, p.stdout, p.stderr)
    return dt

isol8 = f"{b}/isol8"
cases = {
    "/bin/true (spawn floor)": lambda: timed(["/bin/true"], b""),
    "python: isol8 run (warm pool)": lambda: timed([isol8, "run", "-e", "print(1)"]),
    "python: isol8 run (cold)": lambda: timed([isol8, "run", "-e", "print(1)"], extra={"ISOL8_NO_POOL": "1"}),
    "python: bare python3 -c": lambda: timed(["/usr/bin/python3", "-c", "print(1)"]),
    "node: isol8 run (warm pool)": lambda: timed([isol8, "run", "-r", "node", "-e", "console.log(1)"]),
    "node: isol8 run (cold)": lambda: timed([isol8, "run", "-r", "node", "-e", "console.log(1)"],
                                            extra={"ISOL8_NO_POOL": "1"}),
    "node: bare node -e": lambda: timed(["node", "-e", "console.log(1)"]),
}
if args.vs:
    vs = f"{args.vs}/isol8"
    cases["python: --vs isol8 run (warm pool)"] = lambda: timed([vs, "run", "-e", "print(1)"], base=vs_env)
    cases["python: --vs isol8 run (cold)"] = lambda: timed([vs, "run", "-e", "print(1)"], extra={"ISOL8_NO_POOL": "1"},
                                                          base=vs_env)
    cases["node: --vs isol8 run (warm pool)"] = lambda: timed([vs, "run", "-r", "node", "-e", "console.log(1)"],
                                                             base=vs_env)
    cases["node: --vs isol8 run (cold)"] = lambda: timed([vs, "run", "-r", "node", "-e", "console.log(1)"],
                                                        extra={"ISOL8_NO_POOL": "1"}, base=vs_env)
docker = shutil.which("docker") and subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL).returncode == 0
if docker:
    cases["python: docker run"] = lambda: timed(["docker", "run", "--rm", "--network", "none", "python:3-slim",
                                                 "python3", "-c", "print(1)"], extra={"PATH": os.environ["PATH"]})
# the library rows: one long-lived process running isol8_execute per request, interleaved with
# the others so that every row sees the same pool and the same machine
lib_proc = subprocess.Popen([f"{b}/../bench-lib"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
lib_warm = {"python": [], "node": []}

def library(runtime, code):
    lib_proc.stdin.write(f"{runtime}\t{code}\t1\n".encode())
    lib_proc.stdin.flush()
    ms, warm = lib_proc.stdout.readline().split()
    lib_warm[runtime].append(int(warm))
    return float(ms)

cases["python: in-process library (warm pool)"] = lambda: library("python", "print(1)")
cases["node: in-process library (warm pool)"] = lambda: library("node", "console.log(1)")
times = interleave(cases, args.runs, 0.15)  # agents think between runs: the pool replenishes in the pause
lib_proc.stdin.close()
lib_proc.wait()
status = subprocess.run([f"{b}/isol8-pool", "status"], env=env, stdout=subprocess.PIPE).stdout.decode().strip()
pool.terminate(); pool.wait()
shutil.rmtree(run_dir, ignore_errors=True)
if args.vs:
    vs_pool.terminate(); vs_pool.wait()
    shutil.rmtree(vs_dir, ignore_errors=True)

bare = {"python": statistics.median(times["python: bare python3 -c"]),
        "node": statistics.median(times["node: bare node -e"])}
floor = statistics.median(times["/bin/true (spawn floor)"])
print(f"print(1), {args.runs} runs each (interleaved, 150 ms apart), {os.cpu_count()} CPUs; "
      f"library runs warm: python {statistics.mean(lib_warm['python']):.0%}, "
      f"node {statistics.mean(lib_warm['node']):.0%}")
print(f"pool at the end: {status}")
print()
print("| path | median ms | p99 ms | minus spawn floor | ratio vs bare interpreter |")
print("|---|---:|---:|---:|---:|")
for k, v in times.items():
    m = statistics.median(v)
    rt = k.split(":")[0]
    inproc = "library" in k  # no process spawned: no floor to take off
    ratio = f"{m / bare[rt]:.2f}x" if rt in bare else ""
    print(f"| {k} | {m:.1f} | {pct(v, 0.99):.1f} | {m if inproc else m - floor:.1f} | {ratio} |")
if args.vs:
    print(f"\n--vs is {args.vs}; this build ÷ --vs (median): " + ", ".join(
        f"{k.replace('--vs ', '')} {statistics.median(times[k.replace('--vs ', '')]) / statistics.median(v):.2f}x"
        for k, v in times.items() if "--vs" in k))
print("\n(the isol8-serve rows: bench/serve.py." + ("" if docker else " docker: no daemon answers here.") + ")")
