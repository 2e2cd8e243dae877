#!/usr/bin/env python3
"""A JSON-RPC client for isol8-mcp's stdio transport: one line per check, "ok NAME" or
"fail NAME: why". usage: mcp_stdio.py PATH-TO-isol8-mcp"""
import json, os, select, subprocess, sys, time

p = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
buf = b""
def send(obj):
    p.stdin.write((obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n"); p.stdin.flush()
def read(timeout=30):
    global buf
    end = time.time() + timeout
    while b"\n" not in buf:
        r, _, _ = select.select([p.stdout], [], [], max(0, end - time.time()))
        if not r:
            return None
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            return None
        buf += chunk
    line, buf = buf.split(b"\n", 1)
    return json.loads(line)
def until(pred, timeout=30):
    seen = []
    end = time.time() + timeout
    while time.time() < end:
        m = read(end - time.time())
        if m is None:
            break
        seen.append(m)
        if pred(m):
            return m, seen
    return None, seen
def check(name, cond, why=""):
    print(("ok " if cond else "fail ") + name + ("" if cond else ": " + str(why)[:300]))

send({"jsonrpc": "2.0", "id": 0, "method": "tools/list"})
m = read()
check("a request before initialize is refused", m and m.get("error", {}).get("code") == -32600, m)
send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
m = read()
check("initialize: the client's version, tools capability", m["result"]["protocolVersion"] == "2025-06-18" and "tools" in m["result"]["capabilities"], m)
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
m = read()
TOOLS = ["run_code", "run_command", "write_file", "read_file", "list_files", "create_session", "list_sessions", "close_session"]
check("tools/list: the eight tools with input and output schemas", [t["name"] for t in m["result"]["tools"]] == TOOLS and all("inputSchema" in t and "outputSchema" in t and t["description"] for t in m["result"]["tools"]), m)
send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "run_code", "arguments": {"language": "python", "code": "import time\nfor i in range(3):\n    print(i, flush=True); time.sleep(0.2)"}, "_meta": {"progressToken": "tok"}}})
m, seen = until(lambda m: m.get("id") == 3)
prog = [s for s in seen if s.get("method") == "notifications/progress"]
check("run_code: output streams as progress notifications", len(prog) >= 2 and all(s["params"]["progressToken"] == "tok" for s in prog), seen)
check("…then the result: text content and the ExecutionResult", m and not m["result"]["isError"] and m["result"]["structuredContent"]["stdout"] == "0\n1\n2" and m["result"]["content"][0]["type"] == "text", m)
send({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "run_command", "arguments": {"command": "echo no >&2; exit 3"}}})
m, _ = until(lambda m: m.get("id") == 4)
check("a failing program is isError, not a JSON-RPC error", m and m["result"]["isError"] is True and m["result"]["structuredContent"]["exitCode"] == 3, m)
send({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "run_command", "arguments": {"command": "sleep 30"}}})
time.sleep(1)
send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5, "reason": "test"}})
send({"jsonrpc": "2.0", "id": 6, "method": "ping"})
m, seen = until(lambda m: m.get("id") == 6, 10)
time.sleep(1)
# the whole command line, anchored: "sleep 300" elsewhere on the machine is not the run's
left = subprocess.run(["pgrep", "-f", "^sleep 30$"], capture_output=True).stdout.strip()
check("cancellation ends the run: no answer for it, no process left", m is not None and not any(s.get("id") == 5 for s in seen) and not left, (seen, left))
for bad, code, name in ((b"{not json", -32700, "malformed JSON: parse error"),
                        ({"jsonrpc": "2.0", "id": 7, "method": "no/such"}, -32601, "an unknown method: method not found"),
                        ({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "no_such_tool", "arguments": {}}}, -32602, "an unknown tool: invalid params"),
                        ({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "run_code", "arguments": {"language": "python", "code": 5}}}, -32602, "a wrong argument type: invalid params"),
                        ({"jsonrpc": "1.0", "id": 10, "method": "ping"}, -32600, "not JSON-RPC 2.0: invalid request"),
                        (b"x" * (17 << 20), -32600, "a message over 16 MiB: refused")):
    send(bad)
    m = read(60)
    check(name, m is not None and m.get("error", {}).get("code") == code, m)
send({"jsonrpc": "2.0", "id": 11, "method": "ping"})
m = read()
check("…and the server keeps serving", m == {"jsonrpc": "2.0", "id": 11, "result": {}}, m)
p.stdin.close()
check("the client leaving ends the server", p.wait(10) == 0)
