"""Signal families: which kind of signal a metric is, decided by name patterns.

The engine never looks at exact metric names. A series' name (its `__name__` or the
bundle file stem) plus a few telling label values are matched against regular
expressions per family; the first family that matches wins, in the order below
(more specific first). Users extend or override the patterns per profile
(`signal_families` in config) for their own naming schemes.

Each family also has a *bad direction*: errors going up is bad, free disk going down
is bad. Some names flip the direction (`*_avail*`, `*_free*`, `*expiry*`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

FAMILIES: tuple[str, ...] = (
    "certificates",
    "restarts",
    "availability",
    "errors",
    "latency",
    "connections",
    "disk",
    "memory",
    "cpu",
    "network",
    "traffic",
)

DEFAULT_PATTERNS: dict[str, list[str]] = {
    "certificates": [r"cert", r"ssl", r"tls_.*expir", r"x509"],
    "restarts": [r"restart", r"crashloop", r"oom_?kill", r"waiting_reason", r"terminated_reason"],
    "availability": [
        r"(^|_)up$",
        r"^up(_|$)",
        r"probe_success",
        r"availability",
        r"uptime_ratio",
        r"health(y|check)?(_|$)",
        r"replicas_available",
    ],
    "errors": [
        r"error",
        r"err(_|s?$)",
        r"5xx",
        r"fail",
        r"exception",
        r"fault",
        r"reject",
        r"_panic",
    ],
    "latency": [
        r"latenc",
        r"duration",
        r"response_time",
        r"_seconds_bucket",
        r"(^|_)p(50|90|95|99|999)($|_)",
        r"rtt",
        r"lag",
        r"wait_time",
    ],
    "connections": [
        r"conn",
        r"pool",
        r"sessions?(_|$)",
        r"pg_stat_activity",
        r"threads_(busy|active)",
        r"active_workers",
        r"queue_(depth|size|length)",
        r"backlog",
    ],
    "disk": [r"disk", r"filesystem", r"(^|_)fs_", r"inode", r"volume", r"iops", r"io_time"],
    "memory": [r"mem", r"heap", r"rss", r"working_set", r"(^|_)gc_", r"swap", r"oom"],
    "cpu": [r"cpu", r"throttl", r"load(1|5|15)?$", r"(^|_)load_average"],
    "network": [
        r"network",
        r"(^|_)net(stat|_|dev)",
        r"packet",
        r"retrans",
        r"(^|_)drop",
        r"dns",
        r"tcp",
        r"(^|_)rx_|(^|_)tx_",
        r"socket",
    ],
    "traffic": [
        r"request",
        r"(^|_)rps($|_)",
        r"(^|_)qps($|_)",
        r"throughput",
        r"(^|_)hits?($|_)",
        r"http_.*_total",
        r"messages_(in|received)",
        r"(^|_)calls($|_)",
        r"ingress",
    ],
}

# Names matching these are "bad when they go DOWN" (free space, remaining validity...).
_DOWN_IS_BAD = re.compile(
    r"avail|free|remaining|expiry|expire|not_after|(^|_)up$|^up(_|$)|probe_success|availab|"
    r"success_ratio|healthy|uptime|replicas_available|headroom"
)


@dataclass(frozen=True, slots=True)
class SignalClass:
    family: str | None
    bad_up: bool
    """True when an increase is the bad direction."""


class FamilyMatcher:
    """Compiled patterns; caches per name because a bundle repeats names a lot."""

    def __init__(self, overrides: Mapping[str, list[str]] | None = None):
        pats = {k: list(v) for k, v in DEFAULT_PATTERNS.items()}
        for fam, extra in (overrides or {}).items():
            # An override replaces the family's patterns; a new family is appended.
            pats[fam] = list(extra)
        order = [f for f in FAMILIES if f in pats] + [f for f in pats if f not in FAMILIES]
        self._compiled = [
            (fam, re.compile("|".join(f"(?:{p})" for p in pats[fam]))) for fam in order
        ]
        self._cache: dict[str, SignalClass] = {}

    def classify(self, name: str, labels: Mapping[str, str] | None = None) -> SignalClass:
        key = name
        reason = ""
        if labels:
            # kube-state-metrics style: the interesting bit is in a label value
            reason = labels.get("reason", "") or labels.get("code", "") or ""
            key = f"{name}|{reason}"
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        text = name.lower()
        fam: str | None = None
        for f, rx in self._compiled:
            if rx.search(text):
                fam = f
                break
        r = reason.lower()
        if r:
            if "crashloop" in r or "oomkill" in r or "error" == r:
                fam = "restarts"
            elif r.startswith("5") and fam in (None, "traffic"):
                fam = "errors"
        bad_up = not bool(_DOWN_IS_BAD.search(text))
        out = SignalClass(family=fam, bad_up=bad_up)
        self._cache[key] = out
        return out


# Log message patterns that speak about a family (used to type log evidence).
LOG_FAMILY_PATTERNS: dict[str, str] = {
    "certificates": r"x509|certificate|ssl|tls handshake|cert(ificate)? (has )?expired",
    "restarts": r"back-?off restarting|crashloop|oomkilled|panic:|segmentation fault|"
    r"fatal error|exited with code|killed|core dumped",
    "connections": r"pool (is )?exhausted|too many connections|connection pool|"
    r"max_connections|remaining connection slots|could not obtain connection",
    "disk": r"no space left|disk (is )?full|read-only file system|quota exceeded|inode",
    "memory": r"out ?of ?memory|outofmemory|gc overhead|heap space|memory limit|oom",
    "cpu": r"cpu throttl|high cpu|thread starvation",
    "dependency": r"connection refused|connect: connection refused|econnrefused|"
    r"could not connect|unable to connect|connection to .* failed|service unavailable|"
    r"name or service not known|no healthy upstream|upstream connect error",
    "network": r"i/o timeout|no route to host|connection reset|network is unreachable|"
    r"broken pipe|packet loss|dns|temporary failure in name resolution|econnreset|"
    r"timed out|timeout",
    "traffic": r"rate limit|too many requests|429|queue full|load shedding|overload",
}
