"""Time and memory of refusing hostile input (issue 11, findings 4, 5, 11).

For each case: the whole CLI process (wall seconds, peak RSS from getrusage, exit code)
and, where a single call does the refusing, that call in-process (seconds, tracemalloc
peak). Acceptance: each refusal < 1 s and < 100 MB.

    .venv/bin/python bench/hostile_input.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "aisre_cli" / "data" / "demo"


def bomb(levels: int = 9, fan: int = 9) -> str:
    out = [f"a0: &a0 [{', '.join(['lol'] * fan)}]"]
    for i in range(1, levels + 1):
        out.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]")
    return "\n".join(out) + "\n"


def cli(home: Path, *args: str) -> tuple[float, float, int, str]:
    """Run the CLI; wall seconds, the child's own peak RSS (MB), exit code, first line."""
    env = dict(os.environ, AISRE_HOME=str(home), NO_COLOR="1")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(
            [sys.executable, "-m", "aisre_cli", *args], stdout=out, stderr=err, env=env
        )
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    return wall, usage.ru_maxrss / 1024, p.returncode, first[:110]


def inproc(fn: Callable[[], object]) -> tuple[float, float, str]:
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        fn()
        what = "accepted"
    except Exception as exc:  # noqa: BLE001 - report whatever happened
        what = f"{type(exc).__name__}"
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dt, peak / 1e6, what


def main() -> None:
    from aisre_cli.govern.policy import load_policy
    from aisre_cli.remediate.runbook import load_file
    from aisre_cli.settings.config import load_config
    from aisre_cli.sources.bundle import BundleSource

    tmp = Path(tempfile.mkdtemp(prefix="aisre-bench-"))
    home = tmp / "home"
    (home / "config").mkdir(parents=True)

    def bundle(name: str) -> Path:
        b = tmp / name
        shutil.copytree(DEMO, b)
        return b

    rows: list[tuple[str, tuple[float, float, int, str], tuple[float, float, str] | None]] = []

    rb = tmp / "rb.yaml"
    rb.write_text(bomb())
    rows.append(
        ("runbook bomb", cli(home, "runbook", "validate", str(rb)), inproc(lambda: load_file(rb)))
    )

    pol = tmp / "policy.yaml"
    pol.write_text(bomb())
    cfg = {"version": 1, "default_profile": "p", "profiles": {"p": {"policy_file": str(pol)}}}
    (home / "config" / "config.yaml").write_text(json.dumps(cfg))
    rows.append(("policy bomb", cli(home, "runbook", "policy"), inproc(lambda: load_policy(pol))))
    (home / "config" / "config.yaml").unlink()

    b = bundle("queries")
    (b / "metrics" / "queries.yaml").write_text(bomb())
    rows.append(
        (
            "queries.yaml bomb (triage)",
            cli(home, "triage", "--bundle", str(b)),
            inproc(lambda: BundleSource(b).all_series()),
        )
    )

    b = bundle("topo")
    (b / "topology.yaml").write_text(bomb())
    rows.append(
        (
            "topology bomb",
            cli(home, "bundle", "validate", str(b)),
            inproc(lambda: BundleSource(b).fetch_topology()),
        )
    )

    cfgf = home / "config" / "config.yaml"
    cfgf.write_text(bomb())
    rows.append(("config bomb", cli(home, "config", "show"), inproc(lambda: load_config(cfgf))))
    cfgf.write_text("a: " + "[" * 50_000 + "]" * 50_000)
    rows.append(("config 50k deep", cli(home, "config", "show"), inproc(lambda: load_config(cfgf))))
    cfgf.unlink()

    for rel, target in [
        ("alerts.json", "/dev/zero"),
        ("logs/zero.jsonl", "/dev/urandom"),
        ("changes.json", "/etc/passwd"),
    ]:
        b = bundle(rel.replace("/", "_"))
        (b / rel).unlink(missing_ok=True)
        (b / rel).symlink_to(target)
        rows.append(
            (
                f"{rel} -> {target}",
                cli(home, "bundle", "validate", str(b)),
                inproc(BundleSource(b).validate),
            )
        )
    b = bundle("fifo")
    (b / "changes.json").unlink()
    os.mkfifo(b / "changes.json")
    rows.append(
        (
            "changes.json FIFO",
            cli(home, "bundle", "validate", str(b)),
            inproc(BundleSource(b).validate),
        )
    )

    b = bundle("bigtopo")
    lines = ["services:"] + [f"  s{i}: {{depends_on: [s{i + 1}]}}" for i in range(100_000)]
    (b / "topology.yaml").write_text("\n".join(lines) + "\n")
    rows.append(
        (
            "topology 100k services (triage)",
            cli(home, "triage", "--bundle", str(b)),
            inproc(lambda: BundleSource(b).fetch_topology()),
        )
    )

    b = bundle("plain")
    rows.append(("baseline: demo triage", cli(home, "triage", "--bundle", str(b)), None))
    rows.append(("baseline: aisre --help", cli(home, "--help"), None))

    print(
        f"{'case':34} {'cli s':>6} {'rss MB':>7} {'rc':>3} {'call s':>7} {'peak MB':>8}  first line"
    )
    for name, (wall, rss, rc, first), ip in rows:
        call = f"{ip[0]:7.3f} {ip[1]:8.1f}" if ip else f"{'':7} {'':8}"
        print(f"{name:34} {wall:6.2f} {rss:7.0f} {rc:3d} {call}  {first}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
