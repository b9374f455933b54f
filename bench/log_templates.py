"""Log templater comparison: aisre's masking templater against drain3.

Accuracy is *grouping accuracy* (as in the Loghub benchmarks): a message counts as
right when the set of messages its template groups it with is exactly the set of
messages that share its true template. Two labelled sets:

  synthetic  error/warn lines from known formats (ids, numbers, IPs, durations, UUIDs,
             quoted keys, user names, hex ids), plus Java, Python and Go stack traces
             as multi-line messages whose variable parts differ (line numbers, ids);
  demo       the shipped demo bundle's warn/error lines, labelled by the format that
             wrote them (the message with digits and ids removed by hand-written,
             rules below: key=value values, UUIDs, numbers and hex ids).

Speed: seconds per 100k distinct ERROR lines (every line its own template, the
templater's worst case), CPU time in this process.

drain3 is optional (`pip install drain3`); without it only aisre's numbers are printed.

    python bench/log_templates.py [--lines 100000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

Templater = Callable[[Sequence[str]], list[str]]


def aisre_templater(msgs: Sequence[str]) -> list[str]:
    from aisre_cli.investigate.analyzers.logs import template_of

    return [template_of(m) for m in msgs]


def drain_templater(msgs: Sequence[str]) -> list[str]:
    from drain3 import TemplateMiner  # type: ignore[import-not-found]
    from drain3.template_miner_config import (  # type: ignore[import-not-found]
        TemplateMinerConfig,
    )

    cfg = TemplateMinerConfig()
    cfg.profiling_enabled = False
    miner = TemplateMiner(config=cfg)
    ids = [miner.add_log_message(m)["cluster_id"] for m in msgs]
    # a cluster's template can generalise after a message joined it: read them at the end
    final = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    return [final.get(i, str(i)) for i in ids]


def grouping_accuracy(truth: Sequence[str], pred: Sequence[str]) -> float:
    by_truth: dict[str, set[int]] = defaultdict(set)
    by_pred: dict[str, set[int]] = defaultdict(set)
    for i, (t, p) in enumerate(zip(truth, pred, strict=True)):
        by_truth[t].add(i)
        by_pred[p].add(i)
    right = sum(1 for i, p in enumerate(pred) if by_pred[p] == by_truth[truth[i]])
    return right / len(truth) if truth else 1.0


# ------------------------------------------------------------------ labelled sets

_USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]


def synthetic(n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)

    def hexid(k: int) -> str:
        return f"{rng.getrandbits(4 * k):0{k}x}"

    def uuid() -> str:
        return f"{hexid(8)}-{hexid(4)}-{hexid(4)}-{hexid(4)}-{hexid(12)}"

    def ip() -> str:
        return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"

    forms: list[tuple[str, Callable[[], str]]] = [
        ("conn", lambda: f"connection refused to {ip()}:{rng.choice([5432, 6379, 8080])}"),
        ("pay", lambda: f"payment {uuid()} failed after {rng.randrange(10, 9000)}ms"),
        ("order", lambda: f"order_id={rng.randrange(10**6)} rejected: insufficient stock"),
        ("user", lambda: f"user {rng.choice(_USERS)} exceeded rate limit (429)"),
        ("key", lambda: f'cache key "cart:{rng.randrange(10**5)}" missing, refetching'),
        ("trace", lambda: f"span {hexid(16)} dropped: exporter queue full"),
        ("pool", lambda: f"pool exhausted: {rng.randrange(1, 64)} of 64 connections busy"),
        ("disk", lambda: f"write /data/seg-{rng.randrange(9999)}.log: no space left on device"),
        ("oom", lambda: f"Container worker-{hexid(5)} was OOMKilled (exit code 137)"),
        ("tls", lambda: f"x509: certificate for {rng.choice(_USERS)}.svc expired"),
        (
            "java",
            lambda: (
                "Request processing failed\njava.lang.IllegalStateException: pool closed "
                f"for tenant {rng.randrange(99)}\n\tat com.shop.pay.Gateway.charge("
                f"Gateway.java:{rng.randrange(100, 130)})\n\tat com.shop.pay.Api.handle("
                "Api.java:57)\nCaused by: "
                "java.net.SocketTimeoutException: Read timed out\n\t... 12 more"
            ),
        ),
        (
            "python",
            lambda: (
                'Traceback (most recent call last):\n  File "/app/svc.py", line '
                f'{rng.randrange(80, 99)}, in handle\n    charge(order)\n  File "/app/pay.py", '
                f"line 12, in charge\n    raise ValueError(f'bad amount {{amount}}')\nValueError: "
                f"bad amount {rng.randrange(-9, 0)}"
            ),
        ),
        (
            "go",
            lambda: (
                "panic: runtime error: index out of range "
                f"[{rng.randrange(3, 9)}] with length 3\n\ngoroutine {rng.randrange(1, 500)} "
                f"[running]:\nmain.(*Cart).Total(0xc000{hexid(6)})\n\t/src/cart.go:41 +0x1d"
            ),
        ),
    ]
    msgs, truth = [], []
    for _ in range(n):
        label, make = forms[rng.randrange(len(forms))]
        msgs.append(make())
        truth.append(label)
    return msgs, truth


_DEMO_RULES = [
    (re.compile(r"=\S+"), "=#"),  # key=value parameters
    (re.compile(r"\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b"), "#"),  # UUIDs
    (re.compile(r"\b\d+(?:\.\d+)?[a-z]*\b"), "#"),  # numbers with units
    (re.compile(r"\b[0-9a-f]*\d[0-9a-f]*\b"), "#"),  # hex ids
]


def demo() -> tuple[list[str], list[str]]:
    """The demo bundle's warn/error lines, labelled by their format: key=value values,
    UUIDs, numbers and hex ids replaced by `#` (the demo's only variable parts)."""
    msgs, truth = [], []
    for p in sorted((REPO / "aisre_cli" / "data" / "demo" / "logs").glob("*.jsonl")):
        for line in p.read_text().splitlines():
            rec = json.loads(line)
            if str(rec.get("level", "")).lower() not in ("warn", "warning", "error", "fatal"):
                continue
            m = str(rec.get("msg", ""))
            label = m
            for rx, rep in _DEMO_RULES:
                label = rx.sub(rep, label)
            msgs.append(m)
            truth.append(f"{p.stem}|{label}")
    return msgs, truth


def distinct(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    syl = ["ka", "lo", "mi", "nu", "po", "ri", "su", "tu", "vo", "zy", "gra", "ple", "stro"]

    def word() -> str:
        return "".join(rng.choice(syl) for _ in range(2 + rng.randrange(3)))

    return [
        f"{word()} failed while {word()} the {word()}: {word()} {word()} after "
        f"{rng.randrange(10**6)}ms id={rng.getrandbits(48):012x}"
        for _ in range(n)
    ]


def measure(lines: int) -> dict[str, object]:
    templaters: dict[str, Templater] = {"aisre": aisre_templater}
    try:
        import drain3  # type: ignore[import-not-found]  # noqa: F401

        templaters["drain3"] = drain_templater
    except ImportError:
        print("drain3 is not installed: only aisre's templater is measured", file=sys.stderr)
    sets = {"synthetic": synthetic(5000), "demo": demo()}
    dist = distinct(lines)
    out: dict[str, object] = {}
    for name, fn in templaters.items():
        row: dict[str, object] = {}
        for set_name, (msgs, truth) in sets.items():
            pred = fn(msgs)
            row[f"{set_name}_accuracy"] = round(grouping_accuracy(truth, pred), 3)
            row[f"{set_name}_templates"] = len(set(pred))
            row[f"{set_name}_true_templates"] = len(set(truth))
        t0 = time.process_time()
        pred = fn(dist)
        row["distinct_s"] = round(time.process_time() - t0, 2)
        row["distinct_lines"] = lines
        row["distinct_templates"] = len(set(pred))
        out[name] = row
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="aisre's log templater vs drain3")
    ap.add_argument("--lines", type=int, default=100_000, help="distinct lines for speed")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    res = measure(a.lines)
    if a.json:
        print(json.dumps(res, indent=2))
        return 0
    for name, row in res.items():
        print(
            f"{name:7} synthetic acc {row['synthetic_accuracy']:.3f} "
            f"({row['synthetic_templates']} templates / {row['synthetic_true_templates']} true)"
            f"  demo acc {row['demo_accuracy']:.3f} ({row['demo_templates']} / "
            f"{row['demo_true_templates']})  {row['distinct_lines']:,} distinct lines: "
            f"{row['distinct_s']:.2f}s cpu ({row['distinct_templates']:,} templates)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
