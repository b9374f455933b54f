"""Startup cost: median wall time of `aisre --help` against `python -c "import typer"`.

The CLI's budget is to cost little more than Typer itself: command modules keep the
engine, httpx and textual imports inside the commands. Each command runs in a fresh
process, N times (default 20), after one warm-up run of each (the OS page cache).
The CPU time of each child (user + sys) is reported beside the wall time: on a loaded
machine it is the steadier of the two, and the ratio is given for both.

    python bench/startup.py [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def aisre_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("aisre")
    if exe.exists():
        return [str(exe), "--help"]
    found = shutil.which("aisre")
    return [found, "--help"] if found else [sys.executable, "-m", "aisre_cli", "--help"]


def _one(cmd: list[str]) -> tuple[float, float]:
    """(wall s, cpu s) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}")
    return wall, ru.ru_utime + ru.ru_stime


def median_wall(cmd: list[str], runs: int) -> tuple[float, list[float], float]:
    """Median wall time, every wall time, and the median CPU time."""
    _one(cmd)  # warm-up
    walls, cpus = [], []
    for _ in range(runs):
        w, c = _one(cmd)
        walls.append(w)
        cpus.append(c)
    return statistics.median(walls), walls, statistics.median(cpus)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cli = aisre_cmd()
    typer_cmd = [sys.executable, "-c", "import typer"]
    bare_cmd = [sys.executable, "-c", "pass"]
    m_cli, t_cli, c_cli = median_wall(cli, args.runs)
    m_typer, t_typer, c_typer = median_wall(typer_cmd, args.runs)
    m_bare, _, c_bare = median_wall(bare_cmd, args.runs)
    ratio = m_cli / m_typer
    cpu_ratio = c_cli / c_typer if c_typer else float("inf")
    if args.json:
        print(
            json.dumps(
                {
                    "runs": args.runs,
                    "aisre_help_s": round(m_cli, 4),
                    "import_typer_s": round(m_typer, 4),
                    "python_bare_s": round(m_bare, 4),
                    "ratio": round(ratio, 2),
                    "aisre_help_cpu_s": round(c_cli, 4),
                    "import_typer_cpu_s": round(c_typer, 4),
                    "python_bare_cpu_s": round(c_bare, 4),
                    "cpu_ratio": round(cpu_ratio, 2),
                    "aisre_help_p90_s": round(sorted(t_cli)[int(0.9 * len(t_cli)) - 1], 4),
                    "import_typer_p90_s": round(sorted(t_typer)[int(0.9 * len(t_typer)) - 1], 4),
                },
                indent=2,
            )
        )
    else:
        print(f"{'command':<32} {'wall ms':>10} {'cpu ms':>10}  (medians)")
        name = " ".join(Path(c).name for c in cli)
        print(f"{name:<32} {m_cli * 1000:>10.1f} {c_cli * 1000:>10.1f}")
        label = 'python -c "import typer"'
        print(f"{label:<32} {m_typer * 1000:>10.1f} {c_typer * 1000:>10.1f}")
        print(f"{'python -c pass':<32} {m_bare * 1000:>10.1f} {c_bare * 1000:>10.1f}")
        print(
            f"ratio aisre --help / import typer: wall {ratio:.2f}x, cpu {cpu_ratio:.2f}x"
            f"  ({args.runs} runs each)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
