#!/usr/bin/env python3
"""A package index on loopback for tests of --install and image builds: stand-in numpy and pandas
wheels (a PEP 503 simple index), a stand-in lodash (an npm registry document and tarball) and a
flat apt repository at /apt/ with three Debian packages (hello-isol8, which depends on
libhello-isol8, and big-isol8: 3 MiB of incompressible data), built here, offline. usage: pkg_index.py [PORT]
(default 80, on 127.0.0.1)."""
import sys
import base64, hashlib, http.server, io, json, random, tarfile, zipfile
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
def targz(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz") as t:
        for p, (s, mode) in files.items():
            d = s if isinstance(s, bytes) else s.encode()
            i = tarfile.TarInfo(p); i.size = len(d); i.mode = mode; t.addfile(i, io.BytesIO(d))
    return b.getvalue()
def deb(name, depends, files):
    """A .deb: an ar archive of debian-binary, control.tar.gz and data.tar.gz."""
    control = f"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: isol8 tests <t@localhost>\n"
    control += (f"Depends: {depends}\n" if depends else "") + f"Description: {name} for isol8's tests\n"
    members = [("debian-binary", b"2.0\n"), ("control.tar.gz", targz({"./control": (control, 0o644)})),
               ("data.tar.gz", targz(files))]
    out = b"!<arch>\n"
    for n, d in members:
        out += f"{n:<16}{0:<12}{0:<6}{0:<6}{0o100644:<8o}{len(d):<10}`\n".encode() + d + (b"\n" if len(d) % 2 else b"")
    return control, out
DEBS = {}
for name, dep, files in (("hello-isol8", "libhello-isol8",
                          {"./usr/bin/hello-isol8": ("#!/bin/sh\necho hello from a Debian package\n", 0o755)}),
                         ("libhello-isol8", None, {"./usr/lib/hello-isol8/greeting": ("greetings\n", 0o644)}),
                         # 3 MiB that does not compress: bigger than a small /sandbox or /tmp
                         ("big-isol8", None, {"./usr/share/big-isol8/blob": (random.Random(8).randbytes(3 << 20), 0o644)})):
    DEBS[name] = deb(name, dep, files)
PACKAGES = "".join(c + f"Filename: ./{n}_1.0_all.deb\nSize: {len(d)}\nSHA256: {hashlib.sha256(d).hexdigest()}\n\n"
                   for n, (c, d) in DEBS.items()).encode()
RELEASE = (f"Origin: isol8-tests\nSuite: ./\nDate: Thu, 01 Jan 2026 00:00:00 UTC\nSHA256:\n"
           f" {hashlib.sha256(PACKAGES).hexdigest()} {len(PACKAGES)} Packages\n").encode()
class H(http.server.BaseHTTPRequestHandler):
    def send(self, body, ctype):
        self.send_response(200); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        p = self.path.split("?")[0].replace("/./", "/")
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
        if p == "/apt/Packages":
            return self.send(PACKAGES, "text/plain")
        if p == "/apt/Release":
            return self.send(RELEASE, "text/plain")
        for n, (c, d) in DEBS.items():
            if p == f"/apt/{n}_1.0_all.deb":
                return self.send(d, "application/vnd.debian.binary-package")
        self.send_error(404)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 80), H).serve_forever()
