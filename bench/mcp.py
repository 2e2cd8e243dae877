#!/usr/bin/env python3
"""MCP: tools/call run_code python print(1) over stdio (one long-lived isol8-mcp) and over
Streamable HTTP (POST /mcp on isol8-serve, one MCP session, a connection per request as the
server closes each), against `isol8 run -e 'print(1)'` (a process per run), isol8-serve's own
POST /execute, and the bare interpreter, interleaved; median, p99 and ratios. Not a timed test.
usage: bench/mcp.py [--runs N] [--bin build/bin]"""
import http.client, json, os, select, statistics, subprocess, time

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
KEY = "bench-key-0123456789abcdef"
srv = subprocess.Popen([f"{BIN}/isol8-serve", "--key", KEY, "--listen", "127.0.0.1:0"], env=ENV,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
PORT = int(srv.stdout.readline().rsplit(":", 1)[1])
HDR = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
def post(path, body, hdr):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    c.request("POST", path, json.dumps(body), hdr)
    r = c.getresponse()
    out = (r.status, r.getheader("Mcp-Session-Id"), r.read())
    c.close()
    return out
_, SID, _ = post("/mcp", {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}, HDR)
MCP_HDR = dict(HDR, **{"Mcp-Session-Id": SID, "MCP-Protocol-Version": "2025-11-25"})
def http_call():
    n[0] += 1
    t = time.perf_counter()
    st, _, body = post("/mcp", {"jsonrpc": "2.0", "id": n[0], "method": "tools/call",
                                "params": {"name": "run_code", "arguments": {"language": "python", "code": "print(1)"}}}, MCP_HDR)
    dt = (time.perf_counter() - t) * 1000
    assert st == 200 and json.loads(body)["result"]["structuredContent"]["stdout"] == "1", body[:300]
    return dt
def execute():
    t = time.perf_counter()
    st, _, body = post("/execute", {"request": {"runtime": "python", "code": "print(1)"}}, HDR)
    dt = (time.perf_counter() - t) * 1000
    assert st == 200 and json.loads(body)["stdout"] == "1", body[:300]
    return dt
def run(argv):
    t = time.perf_counter()
    subprocess.run(argv, env=ENV, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t) * 1000

cases = {"MCP stdio tools/call run_code": call,
         "MCP HTTP POST /mcp tools/call run_code": http_call,
         "isol8-serve POST /execute": execute,
         "isol8 run -e": lambda: run([f"{BIN}/isol8", "run", "-e", "print(1)"]),
         "bare /usr/bin/python3 -c": lambda: run(["/usr/bin/python3", "-c", "print(1)"])}
times = interleave(cases, args.runs, rotate=True)
mcp.stdin.close()
mcp.wait()
srv.terminate()
srv.wait()
print(f"python print(1), {args.runs} interleaved runs each, {os.cpu_count()} CPUs, no pool")
print()
print("| path | median ms | p99 ms | ratio vs isol8 run |")
print("|---|---:|---:|---:|")
base = statistics.median(times["isol8 run -e"])
for k, v in times.items():
    print(f"| {k} | {statistics.median(v):.1f} | {pct(v, 0.99):.1f} | {statistics.median(v) / base:.2f}x |")
