"""Real Prometheus and Alertmanager for tests, on free loopback ports.

`/usr/bin/prometheus` and `/usr/bin/prometheus-alertmanager` (Debian packages) are
started with temp data dirs, 1 s scrape and rule evaluation intervals and the
Alertmanager as Prometheus' alert target; `require_binary` skips locally but FAILS
under CI=true when a binary is missing. `Stack.stop()` (or the context manager)
terminates both and removes nothing but its own temp dir.

`shared_stack()` starts one stack per test session (lazily, torn down at exit) for
tests that only need *a* healthy Prometheus and Alertmanager (the fault matrix);
the end-to-end test starts its own with its own scrape targets and rules.
"""

from __future__ import annotations

import atexit
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO, require_binary

PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


CHECKOUT_ERROR_RULE: dict[str, Any] = {
    "alert": "CheckoutHighErrorRate",
    "expr": (
        'sum by (job) (rate(http_requests_total{job="checkout", code="500"}[5s]))'
        ' / sum by (job) (rate(http_requests_total{job="checkout"}[5s])) > 0.2'
    ),
    "for": "2s",
    "labels": {"severity": "critical"},
    "annotations": {"summary": "checkout is failing more than 20% of requests"},
}
"""The alert of the live scenarios: the demo checkout service failing (its `/fault`).
Only checkout's own series: frontend's errors follow checkout's, and on a loaded machine
the same rule fired for frontend too, so the alert name became ambiguous to triage."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_json(url: str, data: Any = None, method: str | None = None, timeout: float = 5) -> Any:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def wait_until(pred: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@dataclass
class Stack:
    """A running Prometheus + Alertmanager (+ optional demo services)."""

    tmp: Path
    prom_url: str = ""
    am_url: str = ""
    procs: list[Proc] = field(default_factory=list)

    def start_proc(self, name: str, argv: list[str], cwd: Path | None = None) -> Proc:
        log = self.tmp / f"{name}.log"
        fh = log.open("wb")
        p = subprocess.Popen(
            argv,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=str(cwd or self.tmp),
            start_new_session=True,
        )
        fh.close()
        proc = Proc(name, p, log)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()
        self.procs.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- helpers

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        http_json(f"{self.am_url}/api/v2/alerts", alerts, method="POST")

    def am_alerts(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = http_json(f"{self.am_url}/api/v2/alerts")
        return data

    def wait_alert(self, name: str, timeout: float) -> dict[str, Any]:
        """The first alert `name` once Alertmanager has it (Prometheus fired it)."""
        fired: list[dict[str, Any]] = wait_until(
            lambda: [a for a in self.am_alerts() if a["labels"].get("alertname") == name],
            timeout,
            f"{name} in Alertmanager",
        )
        return fired[0]

    def prom_query(self, q: str) -> list[dict[str, Any]]:
        from urllib.parse import urlencode

        data = http_json(f"{self.prom_url}/api/v1/query?{urlencode({'query': q})}")
        result: list[dict[str, Any]] = data["data"]["result"]
        return result

    def start_demo(self, name: str, port: int, loki: str | None = None) -> Proc:
        argv = [
            sys.executable,
            "-m",
            "tests.demo_service.service",
            "--name",
            name,
            "--port",
            str(port),
        ]
        if loki:
            argv += ["--loki", loki]
        p = self.start_proc(f"demo-{name}", argv, cwd=REPO)
        wait_until(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read(),
            15,
            f"demo service {name}",
        )
        return p


def start_stack(
    *,
    scrape_targets: dict[str, str] | None = None,
    rules: list[dict[str, Any]] | None = None,
    interval: str = "1s",
) -> Stack:
    """Start Alertmanager then Prometheus (pointing at it); wait until both are ready."""
    require_binary(PROMETHEUS)
    require_binary(ALERTMANAGER)
    tmp = Path(tempfile.mkdtemp(prefix="aisre-stack-"))
    st = Stack(tmp)
    try:
        am_port, prom_port = free_port(), free_port()
        am_cfg = {
            "route": {
                "receiver": "null",
                "group_by": ["alertname", "job"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "null"}],
        }
        (tmp / "am.yml").write_text(yaml.safe_dump(am_cfg))
        (tmp / "am-data").mkdir()
        st.start_proc(
            "alertmanager",
            [
                ALERTMANAGER,
                f"--config.file={tmp / 'am.yml'}",
                f"--storage.path={tmp / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
        )
        st.am_url = f"http://127.0.0.1:{am_port}"
        rule_file = tmp / "rules.yml"
        rule_file.write_text(yaml.safe_dump({"groups": [{"name": "test", "rules": rules or []}]}))
        scrape = [
            {
                "job_name": job,
                "scrape_interval": interval,
                "static_configs": [{"targets": [target]}],
            }
            for job, target in (scrape_targets or {}).items()
        ]
        scrape.append(
            {
                "job_name": "prometheus",
                "scrape_interval": interval,
                "static_configs": [{"targets": [f"127.0.0.1:{prom_port}"]}],
            }
        )
        prom_cfg = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(rule_file)],
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
            },
            "scrape_configs": scrape,
        }
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(prom_cfg))
        st.start_proc(
            "prometheus",
            [
                PROMETHEUS,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--rules.alert.resend-delay=1s",
                "--log.level=warn",
            ],
        )
        st.prom_url = f"http://127.0.0.1:{prom_port}"
        for proc, url in (
            (st.procs[0], f"{st.am_url}/-/ready"),
            (st.procs[1], f"{st.prom_url}/-/ready"),
        ):
            try:
                wait_until(
                    lambda u=url: urllib.request.urlopen(u, timeout=1).status == 200, 20, url
                )
            except TimeoutError:
                raise RuntimeError(f"{proc.name} did not start:\n{proc.tail()}") from None
    except BaseException:
        st.stop()
        raise
    return st


_SHARED: Stack | None = None


def shared_stack() -> Stack:
    """One healthy Prometheus + Alertmanager for the whole test session."""
    global _SHARED
    if _SHARED is None or any(p.proc.poll() is not None for p in _SHARED.procs):
        _SHARED = start_stack(
            rules=[
                {
                    "alert": "AisreTestAlways",
                    "expr": "vector(1) > 0",
                    "labels": {"service": "rules-test", "severity": "info"},
                }
            ]
        )
        atexit.register(_SHARED.stop)
    return _SHARED
