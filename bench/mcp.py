#!/usr/bin/env python3
"""MCP over stdio: tools/call run_code python print(1) through one long-lived isol8-mcp, against
`isol8 run -e 'print(1)'` (a process per run) and the bare interpreter, interleaved; median, p99
and ratios. Not a timed test. usage: bench/mcp.py [--runs N] [--bin build/bin]"""
import json, os, select, statistics, subprocess, time

from benchlib import interleave, pct, setup

args, BIN, RUN_DIR, ENV = setup(default_runs=100)
mcp = subprocess.Popen([f"{BIN}/isol8-mcp"], env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
buf = b""
def rpc(obj):
    global buf
    mcp.stdin.write(json.dumps(obj).encode() + b"\n")
    mcp.stdin.flush()
    while True:
        while b"\n" not in buf:
            buf += os.read(mcp.stdout.fileno(), 65536)
        line, buf = buf.split(b"\n", 1)
        m = json.loads(line)
        if m.get("id") == obj["id"]:
            return m

rpc({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}})
n = [0]
def call():
    n[0] += 1
    t = time.perf_counter()
    m = rpc({"jsonrpc": "2.0", "id": n[0], "method": "tools/call",
             "params": {"name": "run_code", "arguments": {"language": "python", "code": "print(1)"}}})
    dt = (time.perf_counter() - t) * 1000
    assert m["result"]["structuredContent"]["stdout"] == "1", m
    return dt
def run(argv):
    t = time.perf_counter()
    subprocess.run(argv, env=ENV, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t) * 1000

cases = {"MCP stdio tools/call run_code": call,
         "isol8 run -e": lambda: run([f"{BIN}/isol8", "run", "-e", "print(1)"]),
         "bare /usr/bin/python3 -c": lambda: run(["/usr/bin/python3", "-c", "print(1)"])}
times = interleave(cases, args.runs)
mcp.stdin.close()
mcp.wait()
print(f"python print(1), {args.runs} interleaved runs each, {os.cpu_count()} CPUs, no pool")
print()
print("| path | median ms | p99 ms | ratio vs isol8 run |")
print("|---|---:|---:|---:|")
base = statistics.median(times["isol8 run -e"])
for k, v in times.items():
    print(f"| {k} | {statistics.median(v):.1f} | {pct(v, 0.99):.1f} | {statistics.median(v) / base:.2f}x |")
