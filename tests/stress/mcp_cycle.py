#!/usr/bin/env python3
"""One MCP client's life for the stress suite (tests/stress/50-mcp.t), over stdio: concurrent
calls, a call cancelled after its first output, a session whose running exec is cancelled (the
next exec gets a fresh interpreter and the files), and the client leaving (its unnamed session
closed). Prints "ok", or what went wrong. usage: mcp_cycle.py ISOL8-MCP RUN-DIR"""
import json, os, select, subprocess, sys, time

mcp, run_dir = sys.argv[1], sys.argv[2]
p = subprocess.Popen([mcp], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
buf, seen = b"", []

def send(o):
    p.stdin.write(json.dumps(o).encode() + b"\n")
    p.stdin.flush()

def until(pred, timeout=20):
    """The first message, seen already or coming, that pred accepts."""
    global buf
    for m in seen:
        if pred(m):
            return m
    end = time.time() + timeout
    while time.time() < end:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            m = json.loads(line)
            seen.append(m)
            if pred(m):
                return m
        r, _, _ = select.select([p.stdout], [], [], max(0, end - time.time()))
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
    sys.exit("no answer in time; seen: " + json.dumps(seen)[-400:])

def call(i, name, args, token=None):
    params = {"name": name, "arguments": args}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    send({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params})

def result(i):
    return until(lambda m: m.get("id") == i)["result"]

def expect(cond, what):
    if not cond:
        sys.exit(what + "; seen: " + json.dumps(seen)[-400:])

send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}})
until(lambda m: m.get("id") == 0)
# three at once: two that finish, one cancelled after its first output
call(1, "run_code", {"language": "python", "code": "print(6 * 7)"})
call(2, "run_command", {"command": "echo hi"})
call(3, "run_code", {"language": "python", "code": "import time\nprint('go', flush=True)\ntime.sleep(60)"}, token="t3")
until(lambda m: m.get("method") == "notifications/progress" and m["params"]["progressToken"] == "t3")
send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}})
expect(result(1)["structuredContent"]["stdout"] == "42", "run_code")
expect(result(2)["structuredContent"]["stdout"] == "hi", "run_command")
# a session: state, a cancelled exec, then a fresh interpreter with the files
call(4, "create_session", {"language": "python"})
sid = result(4)["structuredContent"]["sessionId"]
call(5, "run_code", {"language": "python", "sessionId": sid, "code": "x = 1\nopen('/sandbox/f', 'w').write('kept')"})
expect(not result(5)["isError"], "session exec")
call(6, "run_code", {"language": "python", "sessionId": sid, "code": "import time\nprint('go', flush=True)\ntime.sleep(60)"}, token="t6")
until(lambda m: m.get("method") == "notifications/progress" and m["params"]["progressToken"] == "t6")
send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 6}})
call(7, "run_code", {"language": "python", "sessionId": sid, "code": "print('x' in globals(), open('/sandbox/f').read())"})
r = result(7)
expect(r["structuredContent"]["stdout"] == "False kept", "after a cancelled exec: a new interpreter, the files kept")
expect(not any(m.get("id") in (3, 6) for m in seen), "a cancelled call was answered")
p.stdin.close()
expect(p.wait(20) == 0, "the server did not exit")
# its own session only: another client of the same run dir may hold one right now
expect(not os.path.exists(os.path.join(run_dir, "sessions", sid)), "its unnamed session %s was left" % sid)
print("ok")
