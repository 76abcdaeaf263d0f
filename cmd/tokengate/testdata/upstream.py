#!/usr/bin/python3
"""A service not written in Go, for the tests and the benchmark of
"tokengate proxy": it answers every request with a JSON document of what it
received (method, path, and each header whose name reads as X-Auth-* once
underscores are taken for hyphens, as CGI and WSGI take them), padded to
exactly 1024 bytes, over HTTP/1.1 with keep-alive.

Usage: upstream.py PORT   (0 picks a free port; "listening PORT" goes to stdout)
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIZE = 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per answer (handle_one_request flushes), sent at once: with
    # the head and the body in two writes, Nagle's algorithm holds the body
    # until the client acknowledges the head, which a delayed ACK makes
    # take up to 40 ms.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        identity = {}
        for name, value in self.headers.items():
            if name.lower().replace("_", "-").startswith("x-auth-"):
                identity.setdefault(name, []).append(value)
        doc = {
            "method": self.command,
            "path": self.path,
            "identity": identity,
            "authorization": self.headers.get("Authorization") is not None,
            "pad": "",
        }
        body = json.dumps(doc, sort_keys=True).encode()
        if len(body) < SIZE:
            doc["pad"] = "." * (SIZE - len(body))
            body = json.dumps(doc, sort_keys=True).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = answer

    def log_message(self, format, *args):
        pass


def main():
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
