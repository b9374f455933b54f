"""Which runbooks fit a hypothesis (and its alert), best first.

Triage calls `match_runbooks()` to fill `Hypothesis.runbooks`; governance uses
`specificity()` as one part of the *trust* signal: a runbook written for exactly this
kind of failure, this alert and this service is a stronger signal than a generic one.

Scoring (0..1):
* the hypothesis kind is one the runbook lists: +0.5 (a runbook that lists kinds and
  not this one never matches); a runbook that lists no kinds is generic: +0.1;
* every label matcher matches the alert: +0.3 (any mismatch, or matchers with no
  alert, means no match);
* a service pattern matches the hypothesis' service: +0.2 (a pattern that does not
  match means no match).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aisre_cli import __version__
from aisre_cli.model import Alert, Hypothesis
from aisre_cli.settings import paths

if TYPE_CHECKING:
    from aisre_cli.remediate.runbook import Runbook
    from aisre_cli.settings.config import Profile


class _AppliesTo(Protocol):
    @property
    def kinds(self) -> list[str]: ...
    @property
    def labels(self) -> dict[str, str]: ...
    @property
    def services(self) -> list[str]: ...


class Matchable(Protocol):
    """What matching reads of a runbook: a `Runbook`, or its cached `RunbookRef`."""

    @property
    def id(self) -> str: ...
    @property
    def applies_to(self) -> _AppliesTo: ...
    @property
    def needs(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class AppliesToRef:
    kinds: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    services: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunbookRef:
    """A validated runbook's id and `applies_to`, as kept in the match cache."""

    id: str
    applies_to: AppliesToRef
    needs: dict[str, str] = field(default_factory=dict)
    """`Runbook.needs`: required parameters without a default, each with the verdict
    fact that can fill it ("" when none can)."""


def specificity(rb: Matchable, hypothesis: Hypothesis | None, alert: Alert | None) -> float | None:
    """How specifically `rb` fits; None when it does not apply at all."""
    a = rb.applies_to
    score = 0.0
    if a.kinds:
        if hypothesis is None or hypothesis.kind not in a.kinds:
            return None
        score += 0.5
    else:
        score += 0.1
    if a.labels:
        if alert is None:
            return None
        for label, rx in a.labels.items():
            value = alert.labels.get(label)
            if label == "alertname" and value is None:
                value = alert.name
            if value is None or not re.fullmatch(rx, value):
                return None
        score += 0.3
    if a.services:
        service = (
            hypothesis.service if hypothesis is not None else (alert.service if alert else None)
        )
        if service is None or not any(re.fullmatch(rx, service) for rx in a.services):
            return None
        score += 0.2
    return round(score, 4)


def match_runbooks(
    hypothesis: Hypothesis, alert: Alert | None, runbooks: Sequence[Matchable]
) -> list[str]:
    """Ids of the runbooks that apply to `hypothesis`, most specific first."""
    scored: list[tuple[float, str]] = []
    for rb in runbooks:
        s = specificity(rb, hypothesis, alert)
        if s is not None:
            scored.append((s, rb.id))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [rid for _, rid in scored]


def load_runbooks(
    profile: Profile | None = None,
    on_skip: Callable[[str], None] | None = None,
    trusted: Collection[str] = (),
) -> list[Runbook]:
    """The profile's runbooks (shipped + `runbook_dirs`), skipping invalid files.

    `on_skip` is told about each skipped file (its first problem, as FILE:LINE: WHAT).
    `trusted`: the policy's `trusted_plugin_capabilities` (a runbook that verifies with
    a plugin capability the policy does not trust is invalid).
    """
    from aisre_cli.remediate.runbook import Problem
    from aisre_cli.remediate.runbook import load_runbooks as _load

    skipped: list[Problem] = []
    books = _load(profile, strict=False, skipped=skipped, trusted=trusted)
    if on_skip is not None:
        for prob in skipped:
            on_skip(prob.render())
    return books


def _cache_key(profile: Profile | None) -> str:
    """Changes whenever a runbook file, the set of files, the validating code or the
    profile's policy file (which plugin capabilities it trusts) does."""
    from aisre_cli.remediate.files import runbook_dirs, runbook_files

    h = hashlib.sha256(f"aisre {__version__}\n".encode())
    policy = profile.policy_file if profile is not None else None
    if policy:
        h.update(f"policy {policy}\n".encode())
        try:
            h.update(Path(policy).expanduser().read_bytes())
        except OSError:
            h.update(b"<unreadable>")
    code = Path(__file__).resolve().parent
    for src in sorted([*code.glob("*.py"), *code.glob("capabilities/*.py")]):
        st = src.stat()
        h.update(f"{src.name} {st.st_mtime_ns} {st.st_size}\n".encode())
    for f in runbook_files(d for d in runbook_dirs(profile) if d.exists()):
        h.update(f"{f}\n".encode())
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(b"<unreadable>")
    return h.hexdigest()


def load_for_matching(
    profile: Profile | None = None,
    on_skip: Callable[[str], None] | None = None,
    trusted: Callable[[], Collection[str]] | None = None,
) -> list[Matchable]:
    """The runbooks matching needs (id and applies_to), from a cache of the last full
    validation when no runbook file and no validating code changed since.

    Triage calls this on every run: a cache hit reads and hashes the runbook files but
    does not parse YAML, build models or load the capability registry. A miss (or an
    unreadable cache) validates everything with `load_runbooks` and rewrites the cache.
    `trusted` gives the policy's trusted plugin capabilities, asked only on a miss (the
    key covers the policy file).
    """
    key = _cache_key(profile)
    cache = paths.data_dir() / "cache" / "runbooks.json"
    try:
        data: Any = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("key") == key:
            if on_skip is not None:
                for msg in data.get("skipped", []):
                    on_skip(str(msg))
            return [
                RunbookRef(
                    str(r["id"]),
                    AppliesToRef(
                        [str(k) for k in r["kinds"]],
                        {str(k): str(v) for k, v in r["labels"].items()},
                        [str(x) for x in r["services"]],
                    ),
                    {str(k): str(v) for k, v in r["needs"].items()},
                )
                for r in data["runbooks"]
            ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    skipped: list[str] = []
    books = load_runbooks(
        profile, on_skip=skipped.append, trusted=trusted() if trusted is not None else ()
    )
    if on_skip is not None:
        for msg in skipped:
            on_skip(msg)
    entry = {
        "key": key,
        "skipped": skipped,
        "runbooks": [
            {
                "id": rb.id,
                "kinds": list(rb.applies_to.kinds),
                "labels": dict(rb.applies_to.labels),
                "services": list(rb.applies_to.services),
                "needs": rb.needs,
            }
            for rb in books
        ],
    }
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".runbooks.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only data dir only costs the next run a full validation
    return list(books)
