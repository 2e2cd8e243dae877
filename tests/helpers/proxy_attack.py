#!/usr/bin/env python3
"""Attacks on isol8-proxy, for tests/integ/86-proxy-attacks.t.

  proxy_attack.py origin PORT [CERT KEY]
      an origin on [::]:PORT (v4 and v6, every address of the namespace) answering
      'origin-ok host=<Host header>' (over TLS when CERT and KEY are given)
  proxy_attack.py raw PROXYPORT 'REQUEST'...
      sends each REQUEST (\\r\\n written as the two characters) to the proxy on a connection of
      its own, prints the status line of each answer
  proxy_attack.py hello PROXYPORT HOST:PORT SNI RECORDS
      CONNECT HOST:PORT, then a real ClientHello naming SNI re-framed into RECORDS TLS records
      and, if the proxy lets it through, the
      rest of the handshake and a GET. Prints the body, or 'closed' when the tunnel is cut.
  proxy_attack.py tunnel PROXYPORT HOST:PORT HEX
      CONNECT HOST:PORT, then sends the bytes HEX; prints 'closed' or 'answered'
  proxy_attack.py ech PROXYPORT HOST:PORT SNI
      CONNECT HOST:PORT, then a real ClientHello naming SNI with an encrypted_client_hello
      extension added (the outer SNI a front, the inner one hidden); prints 'closed' or
      'answered' (the origin's ServerHello came back)
  proxy_attack.py trickle PROXYPORT HOST:PORT|- SECONDS
      CONNECT HOST:PORT and a real ClientHello (or, for -, a plain request head), one byte
      every 0.25 s; prints 'cut' when the proxy closes the connection within SECONDS, else 'open'
  proxy_attack.py body PROXYPORT 'REQUEST'
      as raw, but prints the answer's body
"""
import http.server, os, select, socket, ssl, struct, sys, time


def origin(port, cert=None, key=None):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = ("origin-ok host=%s" % self.headers.get("Host")).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    class S(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    srv = S(("::", port), H)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def connect(pport, target):
    s = socket.create_connection(("127.0.0.1", pport), timeout=5)
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target.encode(), target.encode()))
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(1)
        if not d:
            break
        head += d
    status = head.split(b"\r\n")[0].decode(errors="replace")
    if " 200 " not in status:
        print(status or "closed")
        sys.exit(0)
    return s


def recv_some(s):
    try:
        return s.recv(65536)
    except (socket.timeout, ConnectionResetError):
        return b""


def split_records(data, n):
    """The handshake bytes of data's TLS records, framed again as n records."""
    hs, i = b"", 0
    while i < len(data):
        ln = struct.unpack("!H", data[i + 3:i + 5])[0]
        hs += data[i + 5:i + 5 + ln]
        i += 5 + ln
    size = -(-len(hs) // n)
    out = b""
    for k in range(0, len(hs), size):
        part = hs[k:k + size]
        out += b"\x16\x03\x01" + struct.pack("!H", len(part)) + part
    return out


def client_hello(sni):
    """A TLS client's state and the ClientHello records it sends first."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return tls, inc, out, out.read()


def hello(pport, target, sni, records):
    tls, inc, out, first = client_hello(sni)
    s = connect(pport, target)
    s.sendall(split_records(first, records))
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            if out.pending:
                s.sendall(out.read())
            d = recv_some(s)
            if not d:
                print("closed")
                return
            inc.write(d)
    tls.write(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % sni.encode())
    s.sendall(out.read())
    resp = b""
    while True:
        try:
            resp += tls.read(65536)
        except ssl.SSLWantReadError:
            d = recv_some(s)
            if not d:
                break
            inc.write(d)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            break
    print(resp.split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))


def tunnel(pport, target, hexbytes):
    s = connect(pport, target)
    s.sendall(bytes.fromhex(hexbytes))
    print("answered" if recv_some(s) else "closed")


def with_ech(records):
    """The ClientHello of records with an encrypted_client_hello extension (outer form:
    HPKE suite, config id, encapsulated key, encrypted inner hello) appended, as one record."""
    hs = split_records(records, 1)[5:]
    body = hs[4:]
    p = 34
    p += 1 + body[p]                                   # session id
    p += 2 + struct.unpack("!H", body[p:p + 2])[0]     # cipher suites
    p += 1 + body[p]                                   # compression methods
    ext_len = struct.unpack("!H", body[p:p + 2])[0]
    payload = (b"\x00" + b"\x00\x01\x00\x01" + b"\x2a" + b"\x00\x20" + os.urandom(32)
               + b"\x00\xd0" + os.urandom(208))
    ext = b"\xfe\x0d" + struct.pack("!H", len(payload)) + payload
    body = body[:p] + struct.pack("!H", ext_len + len(ext)) + body[p + 2:] + ext
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def ech(pport, target, sni):
    first = client_hello(sni)[3]
    s = connect(pport, target)
    s.sendall(with_ech(first))
    print("answered" if recv_some(s) else "closed")


def trickle(pport, target, seconds):
    if target == "-":
        s = socket.create_connection(("127.0.0.1", pport), timeout=5)
        data = b"GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow\r\n\r\n"
    else:
        s = connect(pport, target)
        data = split_records(client_hello("localhost")[3], 1)
    start = time.monotonic()
    for b in data:
        if time.monotonic() - start > seconds:
            break
        try:
            s.sendall(bytes([b]))
            if select.select([s], [], [], 0.25)[0] and not s.recv(65536):
                print("cut")
                return
        except (BrokenPipeError, ConnectionResetError):
            print("cut")
            return
    print("open")


def body(pport, request):
    s = socket.create_connection(("127.0.0.1", pport), timeout=5)
    s.sendall(request.replace("\\r\\n", "\r\n").encode("utf-8", "surrogateescape"))
    data = b""
    while True:
        d = recv_some(s)
        if not d:
            break
        data += d
    print(data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))


def raw(pport, request):
    s = socket.create_connection(("127.0.0.1", pport), timeout=5)
    s.sendall(request.replace("\\r\\n", "\r\n").encode("utf-8", "surrogateescape"))
    data = recv_some(s)
    print(data.split(b"\r\n")[0].decode(errors="replace") if data else "closed")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "origin":
        origin(int(args[0]), *args[1:3])
    elif cmd == "raw":
        for request in args[1:]:
            raw(int(args[0]), request)
    elif cmd == "hello":
        hello(int(args[0]), args[1], args[2], int(args[3]))
    elif cmd == "tunnel":
        tunnel(int(args[0]), args[1], args[2])
    elif cmd == "ech":
        ech(int(args[0]), args[1], args[2])
    elif cmd == "trickle":
        trickle(int(args[0]), args[1], float(args[2]))
    elif cmd == "body":
        body(int(args[0]), args[1])
    else:
        sys.exit(__doc__)
