#!/usr/bin/env python3
"""An HTTP proxy that forwards S3 requests to an upstream server (moto) and injects faults.

Every request goes upstream unchanged (method, path and query, headers with Host, body) and
its answer comes back unchanged, except for the requests a seeded generator picks, which get:

  500       500 InternalError with an S3 XML error body; nothing is forwarded
  503       503 SlowDown, likewise
  delay     forwarded after a pause of 0.3-1 s (not a failure)
  drop      the connection closes without an answer; nothing is forwarded
  lost      forwarded, then the connection closes without an answer: the write landed
            but the client saw a failure

The n-th request meets the generator's n-th draw, so a seed fixes the sequence of faults; with
concurrent clients, which request meets which draw follows arrival order. Fault kinds rotate
so that every kind appears once there are five faults. The first single-part PUT under data/,
the first start of a multipart upload and the first multipart completion always get `lost`.

A client retrying each request a few times always gets through: no object (path without
query) meets more than --budget failures, plus the forced ones. Exempt from faults: HEAD of the
bucket (an access check that is not retried).

Usage: s3_fault_proxy.py --upstream http://127.0.0.1:5000 [--port 0] [--seed 1]
       [--rate 0.3] [--budget 2]
Prints the port it listens on as its first line of output; logs each fault on stderr.
"""

import argparse
import http.client
import http.server
import random
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade"}
KINDS = ["500", "503", "delay", "drop", "lost"]
ERRORS = {"500": ("InternalError", "We encountered an internal error. Please try again."),
          "503": ("SlowDown", "Please reduce your request rate.")}


class FaultPlan:
    """Chooses each request's fault; thread-safe."""

    def __init__(self, seed, rate, budget):
        self.random = random.Random(seed)
        self.rate, self.budget = rate, budget
        self.lock = threading.Lock()
        self.failures = {}  # object path -> failures injected
        self.faults = 0
        self.forced = {"data put": False, "start": False, "complete": False}

    def choose(self, method, path, query):
        """Returns (kind, delay in seconds) for one request; kind is None for no fault."""
        with self.lock:
            roll, pause = self.random.random(), self.random.uniform(0.3, 1.0)
            segments = [s for s in path.split("/") if s]
            if method == "HEAD" and len(segments) <= 1:
                return None, 0
            forced = None
            if method == "PUT" and not query and "data" in segments[:-1]:
                forced = "data put"
            elif method == "POST" and "uploadId" in query:
                forced = "complete"
            elif method == "POST" and "uploads" in query:
                forced = "start"
            if forced and not self.forced[forced]:
                self.forced[forced] = True
                kind = "lost"
            elif roll < self.rate and self.failures.get(path, 0) < self.budget:
                kind = KINDS[self.faults % len(KINDS)]
            else:
                return None, 0
            if kind != "delay":
                self.failures[path] = self.failures.get(path, 0) + 1
            self.faults += 1
            return kind, pause


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None  # (host, port)
    plan = None

    def log_message(self, format, *args):
        pass  # stderr carries only the faults

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return body
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def handle_any(self):
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        kind, pause = self.plan.choose(self.command, url.path, urllib.parse.parse_qs(
            url.query, keep_blank_values=True))
        if kind:
            detail = f" {pause:.2f} s" if kind == "delay" else ""
            print(f"fault {kind}{detail}: {self.command} {self.path}", file=sys.stderr,
                  flush=True)
        if kind == "delay":
            time.sleep(pause)
        if kind in ERRORS:
            code, message = ERRORS[kind]
            self.answer(int(kind), [("Content-Type", "application/xml")], (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                f"<Resource>{url.path}</Resource><RequestId>fault-proxy</RequestId></Error>"
            ).encode())
            return
        if kind == "drop":
            self.close_connection = True
            return
        status, headers, answer = self.forward(body)
        if kind == "lost":
            self.close_connection = True
            return
        self.answer(status, headers, answer)

    def forward(self, body):
        connection = http.client.HTTPConnection(*self.upstream, timeout=300)
        try:
            connection.putrequest(self.command, self.path, skip_host=True,
                                  skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    connection.putheader(name, value)
            connection.endheaders(body if body else None)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def answer(self, status, headers, body):
        self.send_response_only(status)
        for name, value in headers:
            lower = name.lower()
            if lower in HOP_BY_HOP or (lower == "content-length" and self.command != "HEAD"):
                continue
            self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(body)))
        elif not any(name.lower() == "content-length" for name, _ in headers):
            self.send_header("Content-Length", "0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_any


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="http://host:port of the S3 server")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks one")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.3, help="share of requests faulted")
    parser.add_argument("--budget", type=int, default=2, help="most failures per object")
    options = parser.parse_args()
    upstream = urllib.parse.urlsplit(options.upstream)
    Proxy.upstream = (upstream.hostname, upstream.port or 80)
    Proxy.plan = FaultPlan(options.seed, options.rate, options.budget)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", options.port), Proxy)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
