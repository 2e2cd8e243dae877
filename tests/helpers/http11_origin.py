#!/usr/bin/env python3
"""A loopback HTTP/1.1 (keep-alive) origin for the proxy tests. usage: http11_origin.py PORT
  GET /len -> 'fixed-length' (Content-Length)   GET /chunked -> 'chunked-body' (chunked)
  POST /echo -> the request body                 HEAD /len -> headers only"""
import http.server, sys

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _send(self, body, chunked=False):
        self.send_response(200)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            if self.command != "HEAD":
                for part in (body[:5], body[5:]):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body))); self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
    def do_GET(self):
        self._send(b"chunked-body" if self.path == "/chunked" else b"fixed-length", self.path == "/chunked")
    do_HEAD = do_GET
    def do_POST(self):
        self._send(self.rfile.read(int(self.headers["Content-Length"])))
    def log_message(self, *a):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
