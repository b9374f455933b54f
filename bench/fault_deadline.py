"""Deadline overhead: how long `aisre triage` takes when every source hangs.

The tight number the fault-matrix tests used to assert (`seconds < budget + 1.5`) lives
here, where a loaded machine makes a slow run a measurement instead of a red build.
Every source points at a server that accepts and never answers; the run must end
after one `gather_budget_s` plus the time to start, analyse and print. Each run is a
fresh process with its own AISRE_HOME.

    python bench/fault_deadline.py [--runs 5] [--budget 2.5] [--json]

Exit 1 when the median overhead exceeds --max-overhead (default 1.5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


class HangServer:
    """Accepts connections, reads nothing back, never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for c in self.conns:
            c.close()


def aisre_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("aisre")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("aisre")
    return [found] if found else [sys.executable, "-m", "aisre_cli"]


def one_run(url: str, budget: float) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as home:
        http = {"connect_timeout": 0.5, "read_timeout": 1.0, "retries": 1}
        profile = {
            "environment": "bench",
            "gather_budget_s": budget,
            "sources": {
                "alertmanager": {"url": url, "http": http},
                "prometheus": {"url": url, "http": http},
                "loki": {"url": url, "http": http},
            },
        }
        cfg = Path(home) / "config" / "config.yaml"
        cfg.parent.mkdir(parents=True)
        cfg.write_text(
            yaml.safe_dump({"version": 1, "default_profile": "b", "profiles": {"b": profile}})
        )
        env = {**os.environ, "AISRE_HOME": home}
        t0 = time.perf_counter()
        cp = subprocess.run(
            [*aisre_cmd(), "triage", "BenchAlert", "--json"],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        return time.perf_counter() - t0, cp.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--budget", type=float, default=2.5)
    ap.add_argument("--max-overhead", type=float, default=1.5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    srv = HangServer()
    try:
        runs = [one_run(srv.url, args.budget) for _ in range(args.runs)]
    finally:
        srv.close()
    secs = [s for s, _ in runs]
    med = statistics.median(secs)
    overhead = med - args.budget
    result = {
        "runs": args.runs,
        "budget_s": args.budget,
        "median_s": round(med, 3),
        "max_s": round(max(secs), 3),
        "median_overhead_s": round(overhead, 3),
        "exit_codes": sorted({c for _, c in runs}),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"every source hanging, budget {args.budget:g}s: median {med:.2f}s"
            f" (overhead {overhead:.2f}s), max {max(secs):.2f}s, exit codes"
            f" {result['exit_codes']}, {args.runs} runs"
        )
    return 0 if overhead <= args.max_overhead else 1


if __name__ == "__main__":
    raise SystemExit(main())
