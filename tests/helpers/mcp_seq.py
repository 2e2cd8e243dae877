#!/usr/bin/env python3
"""Drives isol8-mcp over stdio one message at a time: initialize, then each argument (a JSON-RPC
message) — a request is sent only once the previous request's answer has come, so calls run in
order. Prints every line the server wrote. usage: mcp_seq.py PATH-TO-isol8-mcp MESSAGE…"""
import json, subprocess, sys, time

p = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "seq", "version": "1"}}}
for msg in [json.dumps(init)] + sys.argv[2:]:
    p.stdin.write(msg + "\n")
    p.stdin.flush()
    want = json.loads(msg).get("id")
    while want is not None:
        line = p.stdout.readline()
        if not line:
            sys.exit("the server ended before answering " + msg)
        print(line, end="", flush=True)
        if json.loads(line).get("id") == want:
            break
p.stdin.close()
for line in p.stdout:
    print(line, end="")
sys.exit(p.wait(30))
