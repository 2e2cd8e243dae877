#!/usr/bin/env python3
"""A loopback HTTPS origin for the proxy tests: serves 'secure-ok' on 127.0.0.1:PORT with the
given certificate. usage: https_origin.py PORT CERT KEY"""
import http.server, ssl, sys

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"secure-ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
