#!/usr/bin/env python3
"""Session benchmark: latency of one exec (`print(1)`) in a warm python session, measured two
ways — over the session's socket as a client library would (the exec itself), and end to end
through the `isol8-session exec` CLI (plus a process start) — side by side with a cold
`isol8 run` and the bare interpreter, interleaved, medians. Not a timed test.

usage: bench/session.py [--runs N] [--bin build/bin]"""
import json, os, shutil, socket, statistics, subprocess, time
from benchlib import interleave, pct, setup

args, b, run_dir, env = setup(default_runs=100)

subprocess.run([f"{b}/isol8-session", "create", "-r", "python", "--id", "bench"], env=env, check=True,
               stdout=subprocess.DEVNULL)
sock_path = f"{run_dir}/sessions/bench/ctl.sock"
req = (json.dumps({"op": "exec", "request": {"code": "print(1)"}}) + "\n").encode()

def via_socket():
    t = time.perf_counter()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(req)
    s.shutdown(socket.SHUT_WR)
    data = b""
    while b'"type":"result"' not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    dt = (time.perf_counter() - t) * 1000
    assert b'"stdout":"1"' in data, data
    return dt

def via_cmd(argv):
    t = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    dt = (time.perf_counter() - t) * 1000
    assert p.returncode == 0 and p.stdout.strip() == b"1", p.stderr
    return dt

cases = {
    "session exec (socket)": via_socket,
    "session exec (isol8-session CLI)": lambda: via_cmd([f"{b}/isol8-session", "exec", "bench", "-e", "print(1)"]),
    "cold isol8 run": lambda: via_cmd([f"{b}/isol8", "run", "-e", "print(1)"]),
    "bare python3 -c": lambda: via_cmd(["/usr/bin/python3", "-c", "print(1)"]),
}
times = interleave(cases, args.runs)
subprocess.run([f"{b}/isol8-session", "delete", "bench"], env=env, stdout=subprocess.DEVNULL)
shutil.rmtree(run_dir, ignore_errors=True)

bare = statistics.median(times["bare python3 -c"])
print(f"python print(1), {args.runs} interleaved runs each, {os.cpu_count()} CPUs")
print()
print("| path | median ms | p90 ms | ratio vs bare |")
print("|---|---:|---:|---:|")
for k, v in times.items():
    m = statistics.median(v)
    print(f"| {k} | {m:.2f} | {pct(v, 0.9):.2f} | {m / bare:.2f}x |")
