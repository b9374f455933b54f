"""Log templates that are new or spiking after the incident onset.

A template is a message with its variable parts masked (numbers, hex ids, UUIDs,
IPs, quoted strings, key=value values). We count each (service, template) before and
after the reference time `ref` (the incident onset minus a guard, so a template that
starts with a deploy a few minutes before the metrics move still counts as "after").

Only warn/error/fatal records (and records with an unknown level) are templated. On a
busy system info/debug lines are 80-95% of the volume and almost never name a cause;
skipping them keeps triage within its time budget on a million lines.

Log content is data, never instructions: the text is only counted and masked, and a
template's weight depends on when and how often it appears, never on what it says
beyond the fixed family patterns below.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from aisre_cli.investigate.families import LOG_FAMILY_PATTERNS
from aisre_cli.model import LogTable

_DIGITS = str.maketrans("0123456789", "0000000000")
_MASK = re.compile(
    r"""
    (?P<uuid>\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b)
  | (?P<ip>\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b)
  | (?P<hex>\b(?:0x)?[0-9a-f]*\d[0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*\d[0-9a-f]*\b)
  | (?P<kv>(?<==)[^\s,;)\]}]+)
  | (?P<quoted>"[^"]{0,200}"|'[^']{0,200}')
  | (?P<num>[-+]?\b\d+(?:\.\d+)?(?:ms|s|us|ns|m|h|kb|mb|gb|b|%)?\b)
    """,
    re.VERBOSE | re.IGNORECASE,
)
_FAMILY_RX = [(fam, re.compile(rx, re.IGNORECASE)) for fam, rx in LOG_FAMILY_PATTERNS.items()]
_TEMPLATED_LEVELS = frozenset({"warn", "error", "fatal"})
_SKIPPED_LEVELS = frozenset({"info", "debug"})


def template_of(msg: str) -> str:
    return _MASK.sub("<*>", msg.translate(_DIGITS))[:240]


def log_family(template: str) -> str | None:
    for fam, rx in _FAMILY_RX:
        if rx.search(template):
            return fam
    return None


@dataclass(slots=True)
class LogFinding:
    service: str
    template: str
    level: str
    family: str | None
    before: int
    after: int
    rate_ratio: float
    new: bool
    first_after: float
    """Unix seconds of the first occurrence after `ref`."""
    strength: float
    examples: list[int] = field(default_factory=list)
    """Record indices of a few examples (for file:line citations)."""


@dataclass(slots=True)
class LogStats:
    findings: list[LogFinding]
    total_records: int
    templated_records: int
    templates: int
    mentions: dict[str, list[int]] = field(default_factory=dict)
    """Record indices of error lines per family (used by the dependency analyzer)."""


def analyze(logs: LogTable, ref: float, start: float, end: float) -> LogStats:
    n = len(logs)
    if n == 0:
        return LogStats([], 0, 0, 0)
    level = logs.level
    svc = logs.service
    msg = logs.msg
    keys: dict[tuple[str, str], int] = {}
    key_level: list[str] = []
    rec_idx: list[int] = []
    rec_key: list[int] = []
    for i in range(n):
        lv = level[i]
        if lv in _SKIPPED_LEVELS:
            continue
        k = (svc[i], msg[i].translate(_DIGITS))
        kid = keys.get(k)
        if kid is None:
            kid = len(keys)
            keys[k] = kid
            key_level.append(lv if lv in _TEMPLATED_LEVELS else "error")
        rec_idx.append(i)
        rec_key.append(kid)
    if not rec_idx:
        return LogStats([], n, 0, 0)
    # Collapse translated keys into templates (regex only once per distinct key).
    tmpl_ids: dict[tuple[str, str], int] = {}
    key_to_tmpl = np.empty(len(keys), dtype=np.int64)
    tmpl_info: list[tuple[str, str, str]] = []
    for (s, m), kid in keys.items():
        t = template_of(m)
        tk = (s, t)
        tid = tmpl_ids.get(tk)
        if tid is None:
            tid = len(tmpl_ids)
            tmpl_ids[tk] = tid
            tmpl_info.append((s, t, key_level[kid]))
        key_to_tmpl[kid] = tid
    ridx = np.asarray(rec_idx, dtype=np.int64)
    tids = key_to_tmpl[np.asarray(rec_key, dtype=np.int64)]
    ts = np.frombuffer(logs.ts, dtype=np.float64)[ridx]
    post = ts >= ref
    nt = len(tmpl_info)
    before = np.bincount(tids[~post], minlength=nt)
    after = np.bincount(tids[post], minlength=nt)
    first_after = np.full(nt, np.inf)
    np.minimum.at(first_after, tids[post], ts[post])

    pre_span = max(ref - start, 60.0)
    post_span = max(end - ref, 60.0)
    findings: list[LogFinding] = []
    mentions: dict[str, list[int]] = {}
    for tid in range(nt):
        a = int(after[tid])
        b = int(before[tid])
        if a == 0:
            continue
        s, t, lv = tmpl_info[tid]
        fam = log_family(t)
        rate_b = b / pre_span
        rate_a = a / post_span
        expected = max(rate_b * post_span, 0.5)
        ratio = rate_a / max(rate_b, 0.5 / pre_span)
        new = b == 0 and a >= 3
        # Poisson tail: how surprising `a` is given the baseline rate.
        surprise = _poisson_surprise(a, expected)
        spiking = ratio >= 3.0 and a >= 5 and surprise >= 6.0
        if not (new or spiking):
            continue
        sev = {"fatal": 1.0, "error": 0.85, "warn": 0.6}.get(lv, 0.7)
        vol = min(1.0, math.log1p(a) / math.log1p(50))
        strength = sev * (0.55 + 0.45 * vol) * (1.0 if new else min(1.0, 0.5 + ratio / 20.0))
        sel = np.nonzero((tids == tid) & post)[0][:3]
        findings.append(
            LogFinding(
                service=s,
                template=t,
                level=lv,
                family=fam,
                before=b,
                after=a,
                rate_ratio=float(ratio),
                new=new,
                first_after=float(first_after[tid]),
                strength=float(min(1.0, strength)),
                examples=[int(ridx[k]) for k in sel],
            )
        )
        if fam:
            mentions.setdefault(fam, []).extend(int(ridx[k]) for k in sel)
    return LogStats(findings, n, len(rec_idx), nt, mentions)


def _poisson_surprise(observed: int, expected: float) -> float:
    """-log10 of the (approximate) upper tail P(X >= observed) for X ~ Poisson(expected)."""
    if observed <= expected:
        return 0.0
    # Chernoff bound on the upper tail, good enough to rank and threshold.
    k, lam = float(observed), max(expected, 1e-9)
    log_p = -lam + k - k * math.log(k / lam)
    return -log_p / math.log(10)
