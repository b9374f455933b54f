"""Time to a ranked answer: the whole `aisre triage` process, as an engineer runs it.

Cases (each a fresh `aisre` process; medians over --runs):
  demo        `aisre triage CheckoutHighErrorRate` with no config (the built-in demo profile)
  demo-json   `aisre triage --bundle aisre_cli/data/demo --json`
  real        `aisre triage --bundle <the first nezha-ob bundle> --json` (24 metric files,
              195 series, about 1 MB of sampled spans), when ../shared/datasets/nezha-ob
              exists
  real-max    the same on the nezha-ob bundle with the largest spans file (the worst case
              of that dataset; every nezha-ob bundle has the same 195 series)
  baseline    `python -c pass`: the interpreter alone, to read the others against (on a
              loaded machine it shows how much the load inflates every number)

Reported per case: median wall time and median CPU time (user + sys of the child; less
sensitive than wall time to other load on the machine, though a loaded machine inflates
it too: shared caches, frequency), each against the target, and one breakdown:
  imports   `python -X importtime`: total, and the heaviest top-level packages;
  phases    the same command run in-process with timers wrapped around the pipeline's
            stages (gather, metric/log/trace analyzers, ranking, report, runbooks,
            memory, output). The wrappers are installed by this script; the product
            has no timing code. A stage the code no longer has is simply not listed.

Every run uses a temporary AISRE_HOME (no config, an empty incident memory that the
runs then fill, as a first week of use would) and a bytecode cache in a temporary
folder, warmed by one untimed run, so that the numbers are those of an installed
package (pip compiles bytecode) even where PYTHONDONTWRITEBYTECODE is set.

    python bench/time_to_answer.py             # the table
    python bench/time_to_answer.py --runs 15 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
NEZHA = REPO.parent / "shared" / "datasets" / "nezha-ob"
TARGETS = {"demo": 0.5, "demo-json": 0.5, "real": 0.8, "real-max": 0.8, "baseline": None}


def cases() -> dict[str, list[str]]:
    out = {
        "demo": ["triage", "CheckoutHighErrorRate"],
        "demo-json": ["triage", "--bundle", str(REPO / "aisre_cli" / "data" / "demo"), "--json"],
    }
    if NEZHA.is_dir():
        real = sorted(p for p in NEZHA.iterdir() if (p / "bundle.yaml").exists())
        if real:
            out["real"] = ["triage", "--bundle", str(real[0]), "--json"]

            def spans(p: Path) -> int:
                f = p / "traces" / "spans.jsonl"
                return f.stat().st_size if f.exists() else 0

            out["real-max"] = ["triage", "--bundle", str(max(real, key=spans)), "--json"]
    out["baseline"] = []
    return out


def aisre_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "aisre"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "aisre_cli"]


def child_env(home: Path, pyc: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        AISRE_HOME=str(home),
        PYTHONPYCACHEPREFIX=str(pyc),
        PYTHONPATH=str(REPO),
        NO_COLOR="1",
        COLUMNS="100",
    )
    return env


def timed_run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, cpu s) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{err[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime


def import_summary(args: list[str], env: dict[str, str], top: int) -> dict[str, Any]:
    cp = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "aisre_cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    total = 0
    tops: list[tuple[int, str]] = []
    for line in cp.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        self_us, cum_us, raw_name = line.removeprefix("import time:").split("|")
        if not self_us.strip().isdigit():
            continue  # the header line
        total += int(self_us)
        name = raw_name.strip()
        if len(raw_name) - len(raw_name.lstrip()) <= 1:  # a top-level import
            tops.append((int(cum_us), name))
    tops.sort(reverse=True)
    return {
        "total_s": round(total / 1e6, 3),
        "top": [{"module": n, "s": round(us / 1e6, 3)} for us, n in tops[:top]],
    }


# ------------------------------------------------------------------ phases (in-process)

PHASES: list[tuple[str, str, str]] = [
    # (label, module, attribute path)
    ("load profile+sources", "aisre_cli.ui.cli.triage", "load"),
    ("runbooks", "aisre_cli.ui.cli.triage", "_runbook_matcher"),
    ("memory open", "aisre_cli.ui.cli.triage", "_memory"),
    ("list alerts", "aisre_cli.investigate.triage", "list_alerts"),
    ("gather", "aisre_cli.investigate.triage", "gather"),
    ("analyze (all)", "aisre_cli.investigate.triage", "analyze_context"),
    ("  metrics detect", "aisre_cli.investigate.analyzers.metrics", "detect"),
    ("  cert expiry", "aisre_cli.investigate.analyzers.metrics", "cert_expiry"),
    ("  logs", "aisre_cli.investigate.analyzers.logs", "analyze"),
    ("  traces", "aisre_cli.investigate.analyzers.traces", "analyze"),
    ("  changes", "aisre_cli.investigate.analyzers.changes", "correlate"),
    ("  onset", "aisre_cli.investigate.rank", "Ranker.incident_onset"),
    ("  candidates", "aisre_cli.investigate.rank", "Ranker.candidates"),
    ("  score", "aisre_cli.investigate.rank", "Ranker.score"),
    ("  memory priors", "aisre_cli.memory.store", "Advisor.priors"),
    ("build report", "aisre_cli.investigate.triage", "build_report"),
    ("memory record", "aisre_cli.memory.store", "Advisor.record"),
    ("output json", "aisre_cli.ui.cli.triage", "print_json"),
    ("output render", "aisre_cli.ui.render", "render_report"),
]


def child_phases(args: list[str], out: str) -> None:
    import importlib

    t_start = time.perf_counter()
    totals: dict[str, float] = {}
    installed: set[tuple[str, str]] = set()

    def wrap(label: str, owner: Any, attr: str) -> None:
        fn = getattr(owner, attr)

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - t0

        setattr(owner, attr, timed)

    def install() -> None:
        for label, mod, path in PHASES:
            if (mod, path) in installed or mod not in sys.modules:
                continue
            owner: Any = sys.modules[mod]
            *parents, attr = path.split(".")
            for p in parents:
                owner = getattr(owner, p, None)
            if owner is not None and hasattr(owner, attr):
                wrap(label, owner, attr)
                installed.add((mod, path))

    # Modules load lazily inside the command: install wrappers as they appear.
    real_import = importlib.import_module
    import builtins

    orig_import = builtins.__import__

    def hooked(name: str, *a: Any, **k: Any) -> Any:
        m = orig_import(name, *a, **k)
        if name.startswith("aisre_cli"):
            install()
        return m

    builtins.__import__ = hooked
    del real_import
    from aisre_cli.ui.cli.app import main

    install()
    sys.argv = ["aisre", *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    builtins.__import__ = orig_import
    totals["process (after interpreter start)"] = time.perf_counter() - t_start
    Path(out).write_text(json.dumps({"phases": totals, "exit": code}))


def phases(args: list[str], env: dict[str, str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    try:
        subprocess.run(
            [sys.executable, __file__, "--child-phases", out, "--", *args],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        data: dict[str, float] = json.loads(Path(out).read_text())["phases"]
        return data
    finally:
        os.unlink(out)


# ------------------------------------------------------------------ driver


def measure(runs: int, top: int, only: list[str] | None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="aisre-tta-") as tmp:
        pyc = Path(tmp) / "pyc"
        for name, args in cases().items():
            if only and name not in only:
                continue
            home = Path(tmp) / f"home-{name}"
            env = child_env(home, pyc)
            cmd = [*aisre_cmd(), *args] if args else [sys.executable, "-c", "pass"]
            timed_run(cmd, env)  # warm the bytecode and disk caches
            walls, cpus = [], []
            for _ in range(runs):
                w, c = timed_run(cmd, env)
                walls.append(w)
                cpus.append(c)
            results[name] = {
                "command": "aisre " + " ".join(args) if args else "python -c pass",
                "runs": runs,
                "wall_median_s": round(statistics.median(walls), 3),
                "wall_min_s": round(min(walls), 3),
                "cpu_median_s": round(statistics.median(cpus), 3),
                "cpu_min_s": round(min(cpus), 3),
                "target_s": TARGETS[name],
            }
            if args:
                results[name]["imports"] = import_summary(args, env, top)
                results[name]["phases"] = {k: round(v, 4) for k, v in phases(args, env).items()}
            print(
                f"  {name}: wall median {results[name]['wall_median_s']}s, "
                f"cpu median {results[name]['cpu_median_s']}s",
                file=sys.stderr,
            )
    return results


def print_table(res: dict[str, Any]) -> None:
    for name, r in res.items():
        print(f"{name}: {r['command']}")
        target = r["target_s"]
        if target is None:
            print(
                f"  wall median {r['wall_median_s']:.3f}s, cpu median {r['cpu_median_s']:.3f}s"
                f" ({r['runs']} runs)"
            )
            continue

        def verdict(v: float, target: float = target) -> str:
            return "ok" if v <= target else "OVER"

        print(
            f"  wall median {r['wall_median_s']:.3f}s (min {r['wall_min_s']:.3f}s), "
            f"cpu median {r['cpu_median_s']:.3f}s (min {r['cpu_min_s']:.3f}s), "
            f"{r['runs']} runs; target ≤ {target}s: "
            f"wall {verdict(r['wall_median_s'])}, cpu {verdict(r['cpu_median_s'])}"
        )
        imp = r["imports"]
        print(f"  imports (-X importtime, self times summed): {imp['total_s']:.3f}s; heaviest:")
        for t in imp["top"]:
            print(f"    {t['s']:.3f}s  {t['module']}")
        print("  phases (in-process, one run; includes lazy imports made inside a phase):")
        order = [label for label, _, _ in PHASES] + ["process (after interpreter start)"]
        for label in order:
            if label in r["phases"]:
                print(f"    {r['phases'][label]:.3f}s  {label}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="whole-process time to a ranked triage answer")
    ap.add_argument("--runs", type=int, default=9, help="timed runs per case (median)")
    ap.add_argument("--top", type=int, default=10, help="heaviest imports to list")
    ap.add_argument("--case", action="append", help="only this case (repeatable)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child-phases", help=argparse.SUPPRESS)
    ap.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child_phases:
        child_phases(a.rest, a.child_phases)
        return 0
    res = measure(a.runs, a.top, a.case)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print_table(res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
