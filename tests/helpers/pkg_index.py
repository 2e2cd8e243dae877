#!/usr/bin/env python3
"""A package index on loopback for tests of --install and image builds: stand-in numpy and pandas
wheels (a PEP 503 simple index) and a stand-in lodash (an npm registry document and tarball),
built here, small and offline. usage: pkg_index.py [PORT] (default 80, on 127.0.0.1)."""
import sys
import base64, hashlib, http.server, io, json, tarfile, zipfile
def wheel(name, code):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        di = f"{name}-1.0.dist-info"
        files = {f"{name}/__init__.py": code,
                 f"{di}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
                 f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
        rec = "".join(f"{p},,\n" for p in files) + f"{di}/RECORD,,\n"
        for p, t in files.items():
            z.writestr(p, t)
        z.writestr(f"{di}/RECORD", rec)
    return b.getvalue()
NUMPY = 'class array(list):\n    def __str__(self): return "[" + " ".join(map(str, self)) + "]"\n'
PANDAS = "import numpy\n"
WHEELS = {n: wheel(n, c) for n, c in (("numpy", NUMPY), ("pandas", PANDAS))}
def tgz():
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz") as t:
        for p, s in (("package/package.json", '{"name":"lodash","version":"4.17.21","main":"index.js"}'),
                     ("package/index.js", "exports.chunk = (a, n) => a.reduce((o, x, i) => "
                      "(i % n ? o[o.length - 1].push(x) : o.push([x]), o), [])\n")):
            d = s.encode(); i = tarfile.TarInfo(p); i.size = len(d); t.addfile(i, io.BytesIO(d))
    return b.getvalue()
LODASH = tgz()
class H(http.server.BaseHTTPRequestHandler):
    def send(self, body, ctype):
        self.send_response(200); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        p = self.path.split("?")[0]
        for n, w in WHEELS.items():
            f = f"{n}-1.0-py3-none-any.whl"
            if p == f"/simple/{n}/":
                return self.send(f'<a href="/files/{f}#sha256={hashlib.sha256(w).hexdigest()}">{f}</a>'.encode(), "text/html")
            if p == f"/files/{f}":
                return self.send(w, "application/octet-stream")
        if p == "/lodash":
            t = "http://localhost/lodash/-/lodash-4.17.21.tgz"
            dist = {"tarball": t, "shasum": hashlib.sha1(LODASH).hexdigest(),
                    "integrity": "sha512-" + base64.b64encode(hashlib.sha512(LODASH).digest()).decode()}
            doc = {"name": "lodash", "dist-tags": {"latest": "4.17.21"},
                   "versions": {"4.17.21": {"name": "lodash", "version": "4.17.21", "dist": dist}}}
            return self.send(json.dumps(doc).encode(), "application/json")
        if p == "/lodash/-/lodash-4.17.21.tgz":
            return self.send(LODASH, "application/octet-stream")
        self.send_error(404)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 80), H).serve_forever()
