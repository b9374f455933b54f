"""A tiny instrumented "service" for the live end-to-end test.

Run as `python -m tests.demo_service.service --name checkout --port N [--calls frontend]
[--loki URL]`. It serves

* `/metrics`: Prometheus metrics via prometheus_client: `http_requests_total{service,
  code}` and `http_request_duration_seconds` (histogram), plus the default process
  collectors (cpu, memory);
* `POST /fault?mode=errors|latency|none`: switches the fault in (a bad "deploy");
* `/healthz`.

A background thread simulates traffic (about 40 requests per second): healthy, 1%
of requests fail and latency is ~20 ms; with `mode=errors` 45% fail with a logged
`upstream returned 500: NullPointerException in CartService.total` error; with
`mode=latency` requests take ~400 ms. Every request is logged as one JSON line on
stdout and, with `--loki`, pushed to Loki's push API in batches.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.process_collector import ProcessCollector

RATE = 40.0


class Demo:
    def __init__(self, name: str, loki: str | None) -> None:
        self.name = name
        self.mode = "none"
        self.loki = loki
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "http_requests_total", "Requests served.", ["service", "code"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Request latency.",
            ["service"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        # Pre-create the series so rates exist (at 0) before the first error.
        for code in ("200", "500"):
            self.requests.labels(service=name, code=code)
        self.batch: list[list[str]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def log(self, level: str, msg: str, **extra: object) -> None:
        ts = time.time()
        rec = {"ts": round(ts, 6), "service": self.name, "level": level, "msg": msg, **extra}
        line = json.dumps(rec)
        sys.stdout.write(line + "\n")
        if self.loki:
            with self.lock:
                self.batch.append([str(int(ts * 1e9)), line])

    def traffic(self) -> None:
        rng = random.Random(hash(self.name) & 0xFFFF)
        while not self.stop.is_set():
            err_p = 0.45 if self.mode == "errors" else 0.01
            base = 0.4 if self.mode == "latency" else 0.02
            dur = max(0.001, rng.gauss(base, base / 5))
            failed = rng.random() < err_p
            code = "500" if failed else "200"
            self.requests.labels(service=self.name, code=code).inc()
            self.latency.labels(service=self.name).observe(dur)
            if failed:
                self.log(
                    "error",
                    "upstream returned 500: NullPointerException in CartService.total",
                    route="/cart",
                )
            elif rng.random() < 0.1:
                self.log("info", "served /cart", route="/cart", ms=round(dur * 1000, 1))
            self.stop.wait(1.0 / RATE)

    def shipper(self) -> None:
        while not self.stop.wait(0.5):
            with self.lock:
                batch, self.batch = self.batch, []
            if not batch or not self.loki:
                continue
            body = json.dumps(
                {"streams": [{"stream": {"service": self.name, "job": self.name}, "values": batch}]}
            ).encode()
            req = urllib.request.Request(
                f"{self.loki}/loki/api/v1/push",
                data=body,
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                urllib.request.urlopen(req, timeout=2).read()
            except OSError:
                pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--loki", default=None)
    args = ap.parse_args()
    demo = Demo(args.name, args.loki)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *a: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            if path == "/metrics":
                data = generate_latest(demo.registry)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                data = b"ok\n"
                self.send_response(200)
            else:
                data = b"not found\n"
                self.send_response(404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            if parts.path != "/fault":
                self.send_response(404)
                self.end_headers()
                return
            mode = parse_qs(parts.query).get("mode", ["errors"])[0]
            demo.mode = mode
            demo.log("warn" if mode != "none" else "info", f"fault mode set to {mode}")
            self.send_response(204)
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    threading.Thread(target=demo.traffic, daemon=True).start()
    threading.Thread(target=demo.shipper, daemon=True).start()
    demo.log("info", f"{args.name} listening on {args.port}")
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        demo.stop.set()


if __name__ == "__main__":
    main()
