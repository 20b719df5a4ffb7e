#!/usr/bin/env python3
"""Servers in a guest for Wrenn's port forwarding tests and bench: the standard library only.

usage: guest-servers.py [HTTP_PORT [WEBSOCKET_PORT [LOOPBACK_PORT]]]   (8000, 8765, 8001)

HTTP on 0.0.0.0:HTTP_PORT (HTTP/1.1, keep-alive):
  /hello                          a short text
  /download?size=N[&hold=FILE]    N bytes (byte i is i % 256); with hold, the first MiB, then the rest once FILE exists
  /upload[?progress=FILE]         reads the body as it streams (FILE holds the bytes received so far: after the first piece, then every 256 KiB), answers its length and SHA-256
  /events?hold=FILE               server-sent events: "one" at once, "two" once FILE exists, then the end
  /redirect                       302 to /hello
  anything else                   echoes the request as JSON: method, path (with query), headers, body length and SHA-256
WebSocket echo on 0.0.0.0:WEBSOCKET_PORT (RFC 6455): each message comes back as sent; pings get pongs; a close is answered.
HTTP on 127.0.0.1:LOOPBACK_PORT: /hello, listening on loopback only (out of the reach of port forwarding).
"""
import base64
import hashlib
import json
import os
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MIB = 1 << 20
BLOCK = bytes(range(256)) * (MIB // 256)
WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.05)


class Http(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="text/plain; charset=utf-8", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        """The request body piece by piece as it arrives (Content-Length or chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                while size:
                    piece = self.rfile.read1(min(size, 256 * 1024))
                    if not piece:
                        return
                    size -= len(piece)
                    yield piece
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                piece = self.rfile.read1(min(remaining, 256 * 1024))
                if not piece:
                    return
                remaining -= len(piece)
                yield piece

    def handle_one(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/hello":
            return self.reply(200, b"hello from the guest\n")
        if url.path == "/redirect":
            return self.reply(302, b"", headers=[("Location", "/hello")])
        if url.path == "/download":
            return self.download(int(query.get("size", "0")), query.get("hold"))
        if url.path == "/upload":
            return self.upload(query.get("progress"))
        if url.path == "/events":
            return self.events(query.get("hold"))
        digest, length = hashlib.sha256(), 0
        for piece in self.body():
            digest.update(piece)
            length += len(piece)
        echo = {"method": self.command, "path": self.path, "headers": [[k, v] for k, v in self.headers.items()],
                "bodyLength": length, "bodySha256": digest.hexdigest()}
        self.reply(200, json.dumps(echo).encode(), "application/json")

    def download(self, size, hold):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        sent = 0
        while sent < size:
            if hold and sent == MIB:
                wait_for(hold)
            piece = BLOCK[: min(MIB, size - sent)]
            self.wfile.write(piece)
            sent += len(piece)

    def upload(self, progress):
        digest, length, reported = hashlib.sha256(), 0, 0
        for piece in self.body():
            digest.update(piece)
            length += len(piece)
            if progress and (reported == 0 or length - reported >= 256 * 1024):
                with open(progress + ".partial", "w") as f:
                    f.write(str(length))
                os.replace(progress + ".partial", progress)
                reported = length
        self.reply(200, json.dumps({"length": length, "sha256": digest.hexdigest()}).encode(), "application/json")

    def events(self, hold):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"data: one\n\n")
        self.wfile.flush()
        if hold:
            wait_for(hold)
        self.wfile.write(b"data: two\n\n")
        self.wfile.flush()
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_one


class WebSocketEcho(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        key = self.headers.get("Sec-WebSocket-Key")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not key:
            body = b"a WebSocket echo server: connect with a WebSocket client\n"
            self.send_response(426)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + WEBSOCKET_GUID).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.close_connection = True
        try:
            self.echo()
        except (EOFError, ConnectionError):
            pass

    def read(self, n):
        data = self.rfile.read(n)
        if len(data) < n:
            raise EOFError()
        return data

    def send(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack(">BB", 0x80 | opcode, n)
        elif n < 1 << 16:
            head = struct.pack(">BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack(">BBQ", 0x80 | opcode, 127, n)
        self.wfile.write(head + payload)

    def echo(self):
        opcode, parts = None, []
        while True:
            first, second = self.read(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self.read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.read(8))[0]
            mask = self.read(4) if second & 0x80 else None
            payload = self.read(n) if n else b""
            if mask:
                key = (mask * (n // 4 + 1))[:n]
                payload = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
            kind = first & 0x0F
            if kind == 8:
                self.send(8, payload[:2])
                return
            if kind == 9:
                self.send(10, payload)
                continue
            if kind == 10:
                continue
            if kind != 0:
                opcode, parts = kind, []
            parts.append(payload)
            if first & 0x80:
                self.send(opcode, b"".join(parts))


def main():
    ports = [int(p) for p in sys.argv[1:]] + [8000, 8765, 8001][len(sys.argv) - 1:]
    ThreadingHTTPServer.daemon_threads = True
    servers = [ThreadingHTTPServer(("0.0.0.0", ports[0]), Http),
               ThreadingHTTPServer(("0.0.0.0", ports[1]), WebSocketEcho),
               ThreadingHTTPServer(("127.0.0.1", ports[2]), Http)]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
