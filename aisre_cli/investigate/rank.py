"""Two-stage ranking: retrieve candidate causes, score them, calibrate, decide.

Stage 1 (retrieval) proposes candidates `(service, kind, subject)` from the analyzer
findings: changes before the onset, anomalous services, saturated resources, dead
dependencies, crash loops, expiring certificates, network faults, traffic surges,
and (as a fallback) the deepest anomalous service with no specific explanation.

Stage 2 (scoring) describes each candidate with explicit, bounded features (below,
`FEATURES`): temporal precedence, topology position (does it explain the anomalies
of the services that call it, and is it explained by something deeper?), anomaly
strength, kind-specific signal strength, log evidence, change metadata. A linear
score per candidate goes through a softmax *that includes a "no cause found" option*
with a fixed score, over the suspects listed (`softmax_with_null`); the resulting
probabilities are the confidences. The weights are fit on the scenario suite with
cross-validation (`aisre eval --fit`) and stored in `weights.json`; held-out-fold
numbers are what we report.

Nothing here reads log text beyond fixed patterns: log lines can add or remove
evidence only by when and how often they occur, never by what they ask for.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aisre_cli.investigate import scene
from aisre_cli.investigate.analyzers.metrics import MetricFinding
from aisre_cli.investigate.evidence import (  # noqa: F401 (re-exported for callers)
    Candidate,
    Findings,
    _Ev,
    change_evidence,
    log_evidence,
    metric_evidence,
)
from aisre_cli.investigate.families import STATUS_LABELS
from aisre_cli.investigate.proposers import all_proposers
from aisre_cli.investigate.proposers.base import KIND_FEATURES

__all__ = [
    "DEFAULT_WEIGHTS",
    "FEATURES",
    "MEMORY_PRIOR_WEIGHT",
    "SUSPECTS",
    "WEIGHTS_FILE",
    "Candidate",
    "Findings",
    "Ranker",
    "Weights",
    "change_evidence",
    "listing_order",
    "log_evidence",
    "metric_evidence",
    "service_mass",
    "softmax_with_null",
]
from aisre_cli.model import (
    HYPOTHESIS_KINDS,
    Context,
    Evidence,
    Hypothesis,
    HypothesisKind,
    Topology,
)

CHANGE_EXPLAINED = frozenset({"crash_loop", "resource_saturation"})
"""Kinds a harmful change at the same service explains in part (`Ranker.candidates`)."""

FEATURES: tuple[str, ...] = (
    "anomaly",  # strongest bad-direction anomaly at the service (0-1)
    "root_local",  # anomaly not explained by a deeper anomalous dependency
    "deeper",  # strongest earlier-or-equal anomaly among the service's dependencies
    "explains",  # share of the other anomalous services that call it (transitively)
    "earliest",  # its onset is the earliest of the incident (1) or later (decays)
    "on_path",  # the paging service or one of its dependencies
    "is_alert_service",
    "logs",  # new/spiking error templates at the service
    "dependency_down",  # up==0 or callers report connection refused to it
    "trace",  # span errors/latency at the service
    "kind_signal",  # strength of the signal specific to the hypothesis kind
    "change_proximity",  # for change kinds: how close before the onset
    "change_after_onset",  # a change that came after the onset (a hot-fix)
    "fallback",  # "unknown" where a specific kind also reads the service (its kind signal)
    "families",  # number of anomalous signal families at the service (scaled)
    "memory_prior",  # past confirmed incidents of this (service, kind)
    "symptom_corr",  # its anomalous series move with the paging service's symptom
    "traffic",  # the service's own traffic rose (a surge; a fall is ambiguous)
    "sync",  # its onset is close in time to the paging service's onset
    "upstream",  # it calls the paging service (directly or not): load flows down to it
    "breadth",  # how many of its series are anomalous (scaled)
    "upstream_surge",  # a service calling it surged first: its trouble is load from above
    "corr_rel",  # symptom_corr relative to the best-correlated suspect of the incident
    "anomaly_rel",  # anomaly relative to the most anomalous suspect of the incident
    "crowd",  # how many services have comparable evidence with no precedence (diffuse)
    "change_harm",  # for change kinds: the changed service got worse at the change
    "net_edge",  # its share of the grown network time on traced calls
    "net_rel",  # net_edge relative to the most blamed service of the incident
    "generic_only",  # its anomalies are all signals the catalogue does not know
    "node_only",  # for saturation: resting only on node-wide signals
    "trace_blame",  # its own spans' share of the latency/error increase in traces
    "k8s_events",  # the cluster reported faults at it (crashes, failed starts, probes, capacity)
    "quiet",  # its own series are there and none moved, with no log, trace or event of its own
)

DEFAULT_WEIGHTS: dict[str, float] = {
    "anomaly": 1.5,
    "root_local": 2.5,
    "deeper": -1.0,
    "explains": 1.0,
    "earliest": 1.0,
    "on_path": 1.0,
    "is_alert_service": 0.0,
    "logs": 1.0,
    "dependency_down": 2.0,
    "trace": 0.5,
    "kind_signal": 2.5,
    "change_proximity": 2.0,
    "change_after_onset": -2.0,
    "fallback": -1.0,
    "families": 0.3,
    "memory_prior": 1.5,
    "symptom_corr": 2.0,
    "traffic": 0.0,
    "sync": 1.0,
    "upstream": 0.0,
    "breadth": 0.5,
    "upstream_surge": -1.0,
    "corr_rel": 0.5,
    "anomaly_rel": 0.5,
    "crowd": -1.0,
    "change_harm": 2.0,
    "net_edge": 1.0,
    "net_rel": 1.0,
    "generic_only": -0.5,
    "node_only": -1.0,
    "trace_blame": 1.5,
    "k8s_events": 1.0,
    "quiet": -1.0,
}
DESIGN_ONLY = frozenset({"k8s_events"})
"""Features no evaluation dataset exercises (none of them carries cluster events): a
fit cannot tell their weight, so a weights file without them keeps the design prior
(`DEFAULT_WEIGHTS`) instead of 0. Tests on bundles with events check the prior."""
MEMORY_PRIOR_WEIGHT = 1.5
"""`memory_prior` is not fit: evaluation runs without memory, so the data cannot tell
its weight. 1.5 is the value the memory replay (`aisre incident replay`) supports, at
temperature 1; a fit divides it by its temperature, as it does every other weight."""
DEFAULT_NULL_SCORE = 3.0
DEFAULT_ESCALATE_BELOW = 0.5
WEIGHTS_FILE = Path(__file__).with_name("weights.json")


_Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A finite JSON number (`"1.5"`, `true`, NaN and infinities are refused)."""


class WeightsFile(BaseModel):
    """weights.json, as `Weights.save` (and `aisre eval --fit`) writes it: the boundary
    model of `Weights.load`, so a hand-edited or foreign file fails with one line naming
    the place instead of scoring with garbage. Unknown top-level keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    weights: dict[str, _Number]
    """Feature name (one of `FEATURES`) → weight. A feature left out weighs 0 (its
    design prior for `DESIGN_ONLY` features)."""
    null_score: _Number = DEFAULT_NULL_SCORE
    """The score of the "no cause found" option of the softmax."""
    escalate_below: Annotated[_Number, Field(ge=0.0, le=1.0)] = DEFAULT_ESCALATE_BELOW
    """Escalate when the top confidence is below this."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Provenance of a fit (date, folders, held-out numbers): reported, never used."""

    @field_validator("weights", mode="before")
    @classmethod
    def _known_features(cls, v: Any) -> Any:
        if isinstance(v, dict):
            unknown = [k for k in v if k not in FEATURES]
            if unknown:
                raise ValueError(f"unknown feature {str(unknown[0])[:60]!r}")
        return v


def _read_weights_file(p: Path) -> WeightsFile:
    """Parse and validate a weights file; any problem is a one-line `ConfigError`."""
    from aisre_cli.errors import ConfigError

    shape = (
        'a weights file is what `aisre eval --fit` writes: {"weights": {FEATURE: number, ...},'
        ' "null_score": number, "escalate_below": number in [0, 1]}'
    )
    try:
        raw = json.loads(p.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror})", hint=shape) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{p}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", hint=shape
        ) from None
    except ValueError:  # not UTF-8 (UnicodeDecodeError)
        raise ConfigError(f"{p}: not UTF-8 JSON text", hint=shape) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a JSON object, got {type(raw).__name__}", hint=shape)
    try:
        return WeightsFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "$"
        msg = str(err["msg"]).removeprefix("Value error, ")
        hint = shape
        if msg.startswith("unknown feature"):
            hint = "features: " + ", ".join(FEATURES)
        raise ConfigError(f"{p}: {where}: {msg[:1].lower()}{msg[1:]}", hint=hint) from None


@dataclass
class Weights:
    w: dict[str, float]
    null_score: float
    escalate_below: float
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Weights:
        p = path or WEIGHTS_FILE
        if p.exists():
            raw = _read_weights_file(p)
            fitted = raw.weights
            w = {
                k: float(
                    fitted[k] if k in fitted else DEFAULT_WEIGHTS[k] if k in DESIGN_ONLY else 0.0
                )
                for k in FEATURES
            }
            if not w.get("memory_prior"):
                w["memory_prior"] = MEMORY_PRIOR_WEIGHT
            return cls(
                w=w,
                null_score=float(raw.null_score),
                escalate_below=float(raw.escalate_below),
                meta=dict(raw.meta),
            )
        return cls(dict(DEFAULT_WEIGHTS), DEFAULT_NULL_SCORE, DEFAULT_ESCALATE_BELOW)

    def escalates(
        self, top_confidence: float | None, null_prob: float, top_kind: str | None = None
    ) -> bool:
        """The one escalation rule (triage and eval share it): no hypothesis, a top
        confidence below the calibrated threshold, "no cause found" at least as likely
        as the best cause, or a best hypothesis of kind `unknown` (it says where the
        incident starts, not why: a person has to find the cause)."""
        if top_confidence is None or top_kind == "unknown":
            return True
        conf = round(min(1.0, max(0.0, top_confidence)), 4)
        return conf < self.escalate_below or null_prob >= conf

    def save(self, path: Path | None = None) -> None:
        p = path or WEIGHTS_FILE
        body = {
            "weights": {k: round(self.w.get(k, 0.0), 6) for k in FEATURES},
            "null_score": round(self.null_score, 6),
            "escalate_below": round(self.escalate_below, 4),
            "meta": self.meta,
        }
        # the old weights or the new ones, never a half-written file, whatever stops the
        # write (Ctrl-C after a long fit, a full disk): triage reads this on every run
        # (through a symlink, as `cp` or `>` would: the link is not replaced by a file)
        from aisre_cli.settings.durable import write_atomic

        p = Path(os.path.realpath(p))
        write_atomic(p, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode(), 0o644)


def listing_order(
    keys: Sequence[tuple[str, str, str | None]], scores: Sequence[float]
) -> list[int]:
    """The candidates a report lists, as indices, best first (score, then service, kind,
    subject): one per (service, kind, subject), the best-scored.

    An `unknown` ("the incident starts at this service; no specific cause") is left out
    when a specific hypothesis on the same service ranks above it: it restates that
    hypothesis' service without its cause, and would push the next suspect out of the
    engineer's first screen. Ranked first, or with nothing specific above it on its
    service, it is listed as before."""
    order = sorted(
        range(len(keys)),
        key=lambda i: (-scores[i], keys[i][0], keys[i][1], keys[i][2] or ""),
    )
    seen: set[tuple[str, str, str | None]] = set()
    listed: set[str] = set()  # services already named (a service has one `unknown`)
    out: list[int] = []
    for i in order:
        service, kind, _ = keys[i]
        if keys[i] in seen or (kind == "unknown" and service in listed):
            continue
        seen.add(keys[i])
        listed.add(service)
        out.append(i)
    return out


SUSPECTS = 5
"""How many hypotheses a report lists (`Ranker.to_hypotheses`), and so how many suspect
services share the confidence (`softmax_with_null`)."""


def softmax_with_null(
    keys: Sequence[tuple[str, str, str | None]], scores: Sequence[float], null_score: float
) -> tuple[list[float], float]:
    """Each candidate's probability and that of "no cause", from their scores.

    The field is the suspects: every candidate on a service among the first `SUSPECTS`
    hypotheses listed (`listing_order`), and "no cause". Services below the list
    (bystanders, each with its faint reading) do not each take a slice: with all of
    them in the softmax a system of 40 components gave its top suspect less than one
    of 10 with the same evidence, and the confidence, and the escalation read from it,
    measured the size of the system rather than the evidence (leave-one-dataset-out:
    the 41-component dataset came out .13 under-confident). A bystander's probability
    is its weight against the same field, not added to it: it still orders below the
    listed ones, and the listed ones with "no cause" sum to 1."""
    if not scores:
        return [], 1.0
    suspects = {keys[i][0] for i in listing_order(keys, scores)[:SUSPECTS]}
    m = max([s for k, s in zip(keys, scores, strict=True) if k[0] in suspects] + [null_score])
    z = math.exp(null_score - m)
    exps = [math.exp(min(0.0, s - m)) for s in scores]
    total = z + sum(e for k, e in zip(keys, exps, strict=True) if k[0] in suspects)
    return [e / total for e in exps], z / total


def service_mass(probs: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Probability per service that the cause lies in it: the sum over its candidates.

    What the fit maximises for a truth that names only the service (`match: service`
    labels every candidate of that service), so it is the confidence to report, and to
    grade, for the claim "the trouble is in this service"."""
    out: dict[str, float] = {}
    for svc, p in probs:
        out[svc] = out.get(svc, 0.0) + p
    return out


ONSET_DECAY_S = 1800.0
"""How fast an anomaly's claim to be the incident's start fades with how long before the
page it began (`Ranker.incident_onset`, when the paging service has no finding)."""


ONSET_MIN = 0.3
"""A finding weaker than this does not date the incident on its own: a faint drift of the
paging service's half hour before the page (a generic counter edging up) is not when its
trouble began; its dependencies' stronger anomalies, or the page itself, say more."""


TRAFFIC_DATES = 0.25
"""How far (a share of its level before) a service's request rate must move to date its
incident: a rise or fall of 5% is a busy or a quiet minute, however many σ it is."""


def dates(f: MetricFinding) -> bool:
    """A finding that may say when the paging service's trouble began: anything but a
    request rate that moved by less than `TRAFFIC_DATES` of its level (a canary's
    share of traffic stepping, 19.3 → 18.1 calls a second a quarter of an hour before
    the errors), or the rate of one outcome the catalogue reads as demand (`status="400"`
    born with four bad requests from a client): the service's demand is its total's."""
    if f.family != "traffic":
        return True
    if any(f.series.labels.get(k) for k in STATUS_LABELS):
        return False
    return abs(f.level - f.baseline) >= TRAFFIC_DATES * max(abs(f.baseline), 1e-9)


def _recency(before_page_s: float) -> float:
    return math.exp(-max(0.0, before_page_s) / ONSET_DECAY_S)


class Ranker:
    def __init__(self, weights: Weights):
        self.weights = weights

    # ------------------------------------------------------------------ stage 0
    def incident_onset(
        self, ctx: Context, metrics: list[MetricFinding], alert_ts: float, cone: set[str]
    ) -> float:
        a = ctx.alert.service
        lo = alert_ts - 3600.0
        rel = [f for f in metrics if f.onset >= lo and f.onset <= alert_ts + 300 and f.strength > 0]
        own = [f for f in rel if a and f.series.service == a and dates(f)]
        top = max((f.strength for f in own), default=0.0)
        if top >= ONSET_MIN:
            return scene.weighted_onset(
                scene.per_signal(
                    [(f, f.strength) for f in own if f.strength >= scene.ONSET_SHARE * top]
                )
            )
        inc = [f for f in rel if f.series.service in cone and f.strength >= ONSET_MIN]
        # trouble dates it; a shift that harms nothing (a release moving traffic
        # between versions, a quiet hour ending) does not, and the page does then
        inc = [f for f in inc if f.bad and dates(f)]
        if inc:
            # the paging service shows nothing of its own: the incident began where its
            # dependencies' strongest anomalies near the page began, not at the
            # earliest drift of the hour before it (an alert fires minutes after its
            # cause, so an anomaly counts less the longer before the page it began)
            near = [(f.onset, f.strength * _recency(alert_ts - f.onset)) for f in inc]
            top = max(w for _, w in near)
            return scene.weighted_onset([(t, w) for t, w in near if w >= scene.ONSET_SHARE * top])
        return alert_ts - 120.0

    # ------------------------------------------------------------------ stages 1+2
    def candidates(
        self, ctx: Context, fnd: Findings, onset: float, topo: Topology
    ) -> list[Candidate]:
        """Stage 1: build the shared per-service scene once, then let every registered
        proposer add the candidates of its kind at every service."""
        sc = scene.build(ctx, fnd, onset, topo)
        proposers = all_proposers()
        out: list[Candidate] = []
        for s in sorted(sc.views):
            view = sc.views[s]
            for name in sorted(proposers):
                out.extend(proposers[name](sc, view))
        self._memory_candidates(out, fnd, sc)
        # a change at a service that did harm there explains its crash loop or its
        # resource running out (a leak the release brought, a pool it shrank): the
        # mechanism is the change's doing, as a surge above explains load (`make`)
        harmed: dict[str, float] = {}
        for c in out:
            if c.kind in ("deploy", "config_change"):
                h = min(1.0, c.features.get("change_harm", 0.0))
                harmed[c.service] = max(harmed.get(c.service, 0.0), h)
        # ... and so does a change elsewhere whose touch its errors name (`Scene.echoes`:
        # a topic's size limit lowered, and its producer's sink fails on that topic)
        for said in sc.echoes.values():
            for lf in said:
                harmed[lf.service] = max(harmed.get(lf.service, 0.0), min(1.0, lf.strength))
        for c in out:
            if c.kind in CHANGE_EXPLAINED and harmed.get(c.service, 0.0) > 0:
                c.features["kind_signal"] *= 1.0 - 0.5 * harmed[c.service]
        # "unknown" is the lesser reading of a service only as far as a specific kind
        # reads it too; at a service nothing specific explains, it is the only
        # reading and must compete with other services on their shared features
        specific: dict[str, float] = {}
        for c in out:
            if c.kind != "unknown":
                sig = min(1.0, max(0.0, c.features.get("kind_signal", 0.0)))
                specific[c.service] = max(specific.get(c.service, 0.0), sig)
        for c in out:
            if c.kind == "unknown":
                c.features["fallback"] = specific.get(c.service, 0.0)
        for cand in out:
            kept = [e for e in cand.evidence if e.ev.strength > 0 or e.ev.kind == "topology"]
            # The change a change hypothesis names stays cited though it came too late
            # to count (a change after the onset has strength 0): its statement quotes
            # the change's time, which only that evidence lets the reader check. Only
            # next to other evidence, so which candidates are listed does not change.
            cand.evidence = [
                e
                for e in cand.evidence
                if e in kept or (kept and e.ev.kind == "change" and e.ev.subject == cand.subject)
            ]
        return [cand for cand in out if cand.evidence]

    def _memory_candidates(
        self,
        out: list[Candidate],
        fnd: Findings,
        sc: scene.Scene,
    ) -> None:
        """Past confirmed causes: cite them on matching candidates and, for a known issue
        (an unambiguous match), add a candidate for a remembered (service, kind) that
        the live signals did not propose."""
        for mev in fnd.memory_evidence:
            cause = mev.data.get("cause")
            if not isinstance(cause, dict):
                continue
            svc, kind = str(cause.get("service", "")), str(cause.get("kind", ""))
            if not svc or kind not in HYPOTHESIS_KINDS:
                continue
            ev = _Ev(f"mem:{mev.ref or mev.summary}", mev)
            matched = [c for c in out if c.service == svc and c.kind == kind]
            for c in matched:
                c.evidence.append(ev)
            if matched or not fnd.known_issue:
                # without an unambiguous match, memory only adds priors and evidence
                continue
            view = sc.views.get(svc)
            feats = dict(view.features) if view else dict.fromkeys(FEATURES, 0.0)
            feats.update(KIND_FEATURES)
            feats["memory_prior"] = fnd.memory.get((svc, kind), mev.strength)
            change = cause.get("change_id")
            out.append(
                Candidate(
                    svc,
                    cast(HypothesisKind, kind),  # checked against HYPOTHESIS_KINDS above
                    str(change) if change else svc,
                    f"Seen before: {kind} on {svc} was the confirmed cause of similar "
                    "incidents; today's live signals at it are thin, so check it first.",
                    feats,
                    [ev],
                )
            )

    # ------------------------------------------------------------------ scoring
    def score(self, cands: list[Candidate]) -> float:
        """Set score and prob on every candidate; return the probability of "no cause"."""
        w = self.weights.w
        for c in cands:
            c.score = sum(w.get(k, 0.0) * c.features.get(k, 0.0) for k in FEATURES)
        probs, null_prob = softmax_with_null(
            [(c.service, c.kind, c.subject) for c in cands],
            [c.score for c in cands],
            self.weights.null_score,
        )
        for c, p in zip(cands, probs, strict=True):
            c.prob = p
        return null_prob

    def to_hypotheses(
        self, cands: list[Candidate], limit: int = SUSPECTS
    ) -> tuple[list[Hypothesis], list[Evidence]]:
        order = listing_order(
            [(c.service, c.kind, c.subject) for c in cands], [c.score for c in cands]
        )
        top = [cands[i] for i in order[:limit]]
        ids: dict[str, str] = {}
        evidence: list[Evidence] = []
        hyps: list[Hypothesis] = []
        w = self.weights.w
        per_service = service_mass((c.service, c.prob) for c in cands)
        for rank, c in enumerate(top, 1):
            cited: list[str] = []
            for e in c.evidence:
                if e.key not in ids:
                    ids[e.key] = f"E{len(ids) + 1}"
                    evidence.append(e.ev.model_copy(update={"id": ids[e.key]}))
                if ids[e.key] not in cited:
                    cited.append(ids[e.key])
            contrib = {
                k: w.get(k, 0.0) * c.features.get(k, 0.0)
                for k in FEATURES
                if abs(w.get(k, 0.0) * c.features.get(k, 0.0)) >= 0.005
            }
            hyps.append(
                Hypothesis(
                    rank=rank,
                    kind=c.kind,
                    service=c.service,
                    subject=c.subject,
                    statement=c.statement,
                    confidence=round(min(1.0, max(0.0, c.prob)), 4),
                    service_confidence=round(min(1.0, max(0.0, per_service[c.service])), 4),
                    evidence=cited,
                    features=dict(sorted(contrib.items(), key=lambda kv: -abs(kv[1]))),
                    score=round(c.score, 4),
                )
            )
        return hyps, evidence
