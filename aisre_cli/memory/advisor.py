"""Inference over the incident memory: what triage asks it (`Advisor`).

Storage (storage.py) keeps what happened; this module decides what it means for the
alert at hand: which past incidents are similar enough to cite (similarity.py's
signatures), the (service, kind) priors they lend to the ranking, whether the alert
is a `known_issue` (one confirmed cause clearly ahead of any other) or `likely_noise`
(noise.py: it fires and clears by itself and nobody acts on it).

It reads through `MemoryStore`'s query methods only, so it works the same on a local
SQLite memory and on a team's PostgreSQL store: the known issue one engineer confirmed
is the next engineer's `known_issue`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from aisre_cli.memory import similarity
from aisre_cli.memory.backend import MemoryStoreError
from aisre_cli.memory.similarity import Match, Signature
from aisre_cli.memory.storage import Incident, MemoryStore, open_store
from aisre_cli.model import HYPOTHESIS_KINDS, Alert, Context, Evidence, SourceNote, TriageReport

if TYPE_CHECKING:
    from aisre_cli.settings.config import Profile

MATCH_BAND = 0.15
"""Only matches within this distance of the best one count (the nearest neighbours)."""
WEAK_MATCH_SHARE = 0.5
"""A match that is not strong (`Match.strong`: below the known-issue similarity or
support) lends this share of its similarity as a prior. Replays (`aisre incident
replay`, memory built as they go): nezha-ob top-1 with memory .857 -> .875, PetShop
.721 and the suite .930 unchanged."""
OTHER_KIND_PRIOR = 0.5
"""A confirmed cause at a service also lends this share of its prior to other specific
kinds there: the failure class may be named differently this time, the culprit is the
same. An `unknown` hypothesis there names only the service and gets the full prior."""


class Advisor:
    """What triage asks the memory (`investigate.triage.MemoryAdvisor`).

    Call order within one triage: `observe(ctx, facets)` (triage's evidence facets),
    `priors(ctx)`, `classify(ctx)`; then the UI calls `record(report)`. The advisor
    remembers the signature and matches per alert id between these calls.
    """

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._sig: dict[str, Signature] = {}
        self._alerts: dict[str, list[Alert]] = {}
        self._class: dict[str, str | None] = {}

    def observe(self, ctx: Context, facets: Mapping[str, Iterable[str]]) -> None:
        a = ctx.alert
        self._sig[a.id] = similarity.make_signature(a.labels, a.service, facets)

    def _signature(self, ctx: Context) -> Signature:
        a = ctx.alert
        if a.id not in self._sig:
            self._sig[a.id] = similarity.make_signature(a.labels, a.service, {})
        return self._sig[a.id]

    def priors(self, ctx: Context) -> tuple[dict[tuple[str, str], float], list[Evidence]]:
        """(service, kind) priors from similar resolved incidents, plus the evidence."""
        a = ctx.alert
        self._alerts[a.id] = list(ctx.alerts)
        self._class[a.id] = None
        try:
            return self._priors(ctx)
        except MemoryStoreError as err:
            ctx.notes.append(SourceNote("memory", "failed", err.message))
            return {}, []

    def _priors(self, ctx: Context) -> tuple[dict[tuple[str, str], float], list[Evidence]]:
        a = ctx.alert
        sig = self._signature(ctx)
        matches = self.store.similar(sig)
        priors: dict[tuple[str, str], float] = {}
        evidence: list[Evidence] = []
        if matches:
            best = matches[0][0].score
            kept = [(m, i) for m, i in matches if m.score >= best - MATCH_BAND]
            groups: dict[tuple[str, str, str | None], list[tuple[Match, Incident]]] = {}
            for m, inc in kept:
                svc = cast(str, inc.cause_service)
                kind = cast(str, inc.cause_kind)
                groups.setdefault((svc, kind, inc.cause_change), []).append((m, inc))
                # noisy-or: each similar confirmed incident is independent support
                # "unknown" claims only the service, which the confirmed cause names:
                # it is as well supported as the confirmed kind itself
                # a match too weak to name a known issue lends half its similarity: two
                # label-alike incidents at 0.55-0.6 added up (noisy-or) to a prior that
                # lifted a wrong service over the live evidence (nezha-ob T1447)
                ms = m.score if m.strong else WEAK_MATCH_SHARE * m.score
                for k in HYPOTHESIS_KINDS:
                    p = ms if k in (kind, "unknown") else OTHER_KIND_PRIOR * ms
                    old = priors.get((svc, k), 0.0)
                    priors[(svc, k)] = round(1.0 - (1.0 - old) * (1.0 - p), 4)
            ordered = sorted(groups.items(), key=lambda kv: -max(m.score for m, _ in kv[1]))
            for (svc, kind, change), lst in ordered[:3]:
                evidence.append(self._match_evidence(svc, kind, change, lst))
            top_m, top_i = matches[0]
            rival = next(
                (
                    m.score
                    for m, i in matches
                    if (i.cause_service, i.cause_kind) != (top_i.cause_service, top_i.cause_kind)
                ),
                0.0,
            )
            if top_m.strong and top_m.score - rival >= similarity.KNOWN_ISSUE_MARGIN:
                self._class[a.id] = "known_issue"
        verdict = self.store.noise(a)
        if verdict.noisy:
            if self._class[a.id] is None:
                self._class[a.id] = "likely_noise"
            evidence.append(
                Evidence(
                    id="",
                    kind="memory",
                    service=a.service,
                    summary=verdict.summary(a.name),
                    strength=round(min(1.0, verdict.episodes / 10.0), 4),
                    query=f"aisre incident list  # alert {a.short_id} history",
                    ref=f"memory:alert/{a.id}",
                    subject="noise",
                    data={
                        "episodes": verdict.episodes,
                        "self_resolved": verdict.self_resolved,
                        "actions": verdict.actions,
                    },
                )
            )
        return priors, evidence

    def _match_evidence(
        self, svc: str, kind: str, change: str | None, lst: list[tuple[Match, Incident]]
    ) -> Evidence:
        """One memory evidence for the similar incidents `lst` confirmed with one cause.
        Its "last confirmed cause" (note, runbook fix, `incident show`) is the incident
        confirmed most recently (`resolved_at`), not the highest number: an older
        incident re-resolved with what was learned since carries the newest note."""
        best_m, last = max(lst, key=lambda x: (confirmed_at(x[1]), x[1].id, x[0].score))
        score = max(m.score for m, _ in lst)
        runs = self.store.runs_for(last)
        fixed = ""
        if runs:
            r = runs[-1]
            fixed = f"; fixed by runbook {r['runbook']}, {r['outcome']}"
        nums = ", ".join(f"#{i.id}" for _, i in sorted(lst, key=lambda x: x[1].id)[-5:])
        times = "once" if len(lst) == 1 else f"{len(lst)} times"
        cause = f"{kind} on {svc}" + (f" (change {change})" if change else "")
        # the note is free text (typed, or from a teammate's import): one line here, as
        # every evidence summary is, so it cannot forge lines of the report around it
        note = f'; note: "{" ".join(last.note.split())}"' if last.note else ""
        strongest = max(lst, key=lambda x: x[0].score)[0]
        return Evidence(
            id="",
            kind="memory",
            service=svc,
            summary=(
                f"seen {times} before ({nums}, similarity {score:.2f}); "
                f"last confirmed cause: {cause}{fixed}{note}"
            )[:300],
            strength=round(min(1.0, score), 4),
            query=f"aisre incident show {last.id}",
            ref=f"memory:{last.uid}",
            subject=change or svc,
            data={
                "incidents": [i.uid for _, i in lst],
                "similarity": score,
                "facets": strongest.facets,
                "support": best_m.support,
                "cause": {"kind": kind, "service": svc, "change_id": change},
            },
        )

    def classify(self, ctx: Context) -> str | None:
        """`known_issue`, `likely_noise` or None (no opinion); after `priors`."""
        return self._class.get(ctx.alert.id)

    def record(self, report: TriageReport) -> Incident:
        a = report.alert
        return self.store.record_report(
            report, self._sig.get(a.id), alerts=self._alerts.pop(a.id, [])
        )


_NEVER = datetime.min.replace(tzinfo=UTC)


def confirmed_at(inc: Incident) -> datetime:
    """When `inc`'s cause was last confirmed (`resolved_at`, ISO 8601, kept by the store
    on both backends); the earliest time when it has none or one that does not parse
    (an imported teammate's file), so any dated confirmation is more recent. (Read
    with getattr: a stand-in incident without the field, as tests build, is undated.)"""
    try:
        d = datetime.fromisoformat(getattr(inc, "resolved_at", None) or "")
    except (TypeError, ValueError):
        return _NEVER
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def open_advisor(
    path: Path | None = None,
    *,
    profile: Profile | None = None,
    busy_timeout_ms: int | None = None,
) -> Advisor:
    """The advisor `aisre triage` uses (raises MemoryStoreError when unusable;
    `MemoryLocked` once another process held the local memory for `busy_timeout_ms`,
    which triage sets to `backend.TRIAGE_LOCK_WAIT_MS`). A team store that refuses the
    password is an offline one here: the triage's record waits in the spool."""
    return Advisor(
        open_store(path, profile=profile, busy_timeout_ms=busy_timeout_ms, keep_refused=True)
    )


def open_track_record(path: Path | None = None, *, profile: Profile | None = None) -> MemoryStore:
    """The store as governance's `TrackRecord` (successes/failures, record_run)."""
    return open_store(path, profile=profile)
