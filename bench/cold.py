#!/usr/bin/env python3
"""Cold-path benchmark: `isol8 run -e CODE` against the bare interpreter, bwrap with comparable
isolation, and `docker run` when a daemon answers. Rounds are interleaved (every command once
per round, in a shuffled order) so machine noise hits all of them alike; we report medians, p90,
the time isol8 adds over the bare interpreter, and ratios. Not a timed test: run it, read it.

usage: bench/cold.py [--runs N] [--bin build/bin] [--vs OTHER/bin]"""
import os, random, shutil, statistics, subprocess, sys, time
from benchlib import BWRAP, pct, setup

# every command gets the same clean environment (benchlib says why)
args, b, run_dir, env = setup(default_runs=40)
isol8 = f"{b}/isol8"

CASES = {  # runtime: (isol8 args, bare argv)
    "python": (["-e", "print(1)"], ["/usr/bin/python3", "-c", "print(1)"]),
    "bash": (["-r", "bash", "-e", "echo 1"], ["/bin/bash", "-c", "echo 1"]),
    "node": (["-r", "node", "-e", "console.log(1)"], ["/usr/bin/node", "-e", "console.log(1)"]),
}

def docker_ok():
    return shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0

commands = []
for rt, (iargs, bare) in CASES.items():
    commands.append((rt, "bare", bare))
    commands.append((rt, "isol8", [isol8, "run"] + iargs))
    if args.vs:
        commands.append((rt, "isol8 --vs", [f"{args.vs}/isol8", "run"] + iargs))
    if shutil.which("bwrap"):
        commands.append((rt, "bwrap", BWRAP + bare))
    if docker_ok():
        img = {"python": "python:3-slim", "bash": "debian:stable-slim", "node": "node:20-slim"}[rt]
        commands.append((rt, "docker", ["docker", "run", "--rm", "--network", "none", img] + bare))

def once(argv):
    t = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    dt = (time.perf_counter() - t) * 1000
    if p.returncode != 0 or p.stdout.strip() != b"1":
        sys.exit(f"benchmark command failed: {' '.join(argv)}\n{p.stderr.decode()[-500:]}")
    return dt

for _, _, argv in commands:  # warm the page cache
    once(argv)
times = {(rt, kind): [] for rt, kind, _ in commands}
# A shuffled order each round, not a rotation: a sandbox started right after another one attaches
# to its cgroup faster (cgroup v1 waits for an RCU grace period the previous run may have paid),
# so with a fixed neighbour one command would be measured in the other's favour.
shuffle = random.Random(1)
for r in range(args.runs):
    order = commands[:]
    shuffle.shuffle(order)
    for rt, kind, argv in order:
        times[(rt, kind)].append(once(argv))

print(f"cold path, {args.runs} interleaved runs each, {os.cpu_count()} CPUs, kernel {os.uname().release}")
print()
print("| runtime | command | median ms | p90 ms | added vs bare (median) | ratio vs bare |")
print("|---|---|---:|---:|---:|---:|")
for rt in CASES:
    bare = statistics.median(times[(rt, "bare")])
    for kind in ("bare", "isol8", "isol8 --vs", "bwrap", "docker"):
        v = times.get((rt, kind))
        if not v:
            continue
        m = statistics.median(v)
        print(f"| {rt} | {kind} | {m:.1f} | {pct(v, 0.9):.1f} | {m - bare:+.1f} | {m / bare:.2f}x |")
if args.vs:
    print(f"\n(isol8: {b}; isol8 --vs: {args.vs}; "
          + ", ".join(f"{rt} {statistics.median(times[(rt, 'isol8')]) / statistics.median(times[(rt, 'isol8 --vs')]):.2f}x"
                      for rt in CASES) + " of --vs)")
if not docker_ok():
    print("\n(docker: no daemon answered on this machine, so no docker row)")
shutil.rmtree(run_dir, ignore_errors=True)
