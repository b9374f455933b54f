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
with a fixed score; the resulting probabilities are the confidences. The weights
are fit on the scenario suite with cross-validation (`aisre eval --fit`) and stored
in `weights.json`; held-out-fold numbers are what we report.

Nothing here reads log text beyond fixed patterns: log lines can add or remove
evidence only by when and how often they occur, never by what they ask for.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from aisre_cli.investigate.analyzers.changes import ChangeFinding
from aisre_cli.investigate.analyzers.dependency import DependencyFinding
from aisre_cli.investigate.analyzers.logs import LogFinding, LogStats
from aisre_cli.investigate.analyzers.metrics import MetricFinding
from aisre_cli.investigate.analyzers.traces import TraceFinding
from aisre_cli.model import (
    HYPOTHESIS_KINDS,
    Context,
    Evidence,
    EvidenceKind,
    Hypothesis,
    HypothesisKind,
    Topology,
)

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
    "fallback",  # no specific explanation, only "deepest anomalous service"
    "families",  # number of anomalous signal families at the service (scaled)
    "memory_prior",  # past confirmed incidents of this (service, kind)
    "symptom_corr",  # its anomalous series move with the paging service's symptom
    "traffic",  # traffic anomaly at the service (either direction)
    "sync",  # its onset is close in time to the paging service's onset
    "upstream",  # it calls the paging service (directly or not): load flows down to it
    "breadth",  # how many of its series are anomalous (scaled)
    "upstream_surge",  # a service calling it surged first: its trouble is load from above
    "corr_rel",  # symptom_corr relative to the best-correlated suspect of the incident
    "anomaly_rel",  # anomaly relative to the most anomalous suspect of the incident
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
}
MEMORY_PRIOR_WEIGHT = 1.5
"""`memory_prior` is not fit: evaluation runs without memory, so the data cannot tell
its weight. 1.5 is the value the memory replay (`aisre incident replay`) supports."""
DEFAULT_NULL_SCORE = 3.0
DEFAULT_ESCALATE_BELOW = 0.5
WEIGHTS_FILE = Path(__file__).with_name("weights.json")

SATURATION_FAMILIES = ("cpu", "memory", "disk", "connections")
TOL_S = 90.0


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
            raw = json.loads(p.read_text())
            w = {k: float(raw["weights"].get(k, 0.0)) for k in FEATURES}
            if not w.get("memory_prior"):
                w["memory_prior"] = MEMORY_PRIOR_WEIGHT
            return cls(
                w=w,
                null_score=float(raw.get("null_score", DEFAULT_NULL_SCORE)),
                escalate_below=float(raw.get("escalate_below", DEFAULT_ESCALATE_BELOW)),
                meta=dict(raw.get("meta", {})),
            )
        return cls(dict(DEFAULT_WEIGHTS), DEFAULT_NULL_SCORE, DEFAULT_ESCALATE_BELOW)

    def escalates(self, top_confidence: float | None, null_prob: float) -> bool:
        """The one escalation rule (triage and eval share it): no hypothesis, a top
        confidence below the calibrated threshold, or "no cause found" at least as
        likely as the best cause."""
        if top_confidence is None:
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
        p.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")


@dataclass
class _Ev:
    """Evidence before ids are assigned (ids follow citation order)."""

    key: str
    ev: Evidence


@dataclass
class Candidate:
    service: str
    kind: HypothesisKind
    subject: str | None
    statement: str
    features: dict[str, float]
    evidence: list[_Ev]
    score: float = 0.0
    prob: float = 0.0


@dataclass
class Findings:
    metrics: list[MetricFinding]
    logs: LogStats
    changes: list[ChangeFinding]
    dead: dict[str, DependencyFinding]
    traces: list[TraceFinding]
    certs: list[MetricFinding]
    memory: dict[tuple[str, str], float] = field(default_factory=dict)
    memory_evidence: list[Evidence] = field(default_factory=list)
    known_issue: bool = False
    """Memory matched a past incident unambiguously (it may then add a hypothesis)."""


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _hm(ts: float) -> str:
    return _dt(ts).strftime("%H:%M:%S")


def _gap(seconds: float) -> str:
    s = abs(seconds)
    if s < 90:
        txt = f"{s:.0f}s"
    elif s < 5400:
        txt = f"{s / 60:.0f} min"
    else:
        txt = f"{s / 3600:.1f} h"
    return txt


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 1e6 or (a < 1e-3 and a > 0):
        return f"{v:.3g}"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def _selector(labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def metric_evidence(f: MetricFinding, kind: EvidenceKind = "metric_anomaly") -> _Ev:
    s = f.series
    word = "rose" if f.direction > 0 else "fell"
    summary = (
        f"{s.name}{' on ' + s.service if s.service else ''} {word} from {_fmt(f.baseline)} "
        f"to {_fmt(f.level)} (peak {_fmt(f.peak)}, {min(f.z, 999):.0f}σ) from {_hm(f.onset)}"
    )
    query = s.query or s.name
    if s.labels and query and "{" not in query:
        query = f"{query}{_selector(s.labels)}"
    elif s.labels:
        query = f"{query}  # series {_selector(s.labels)}"
    ev = Evidence(
        id="",
        kind=kind,
        service=s.service,
        start=_dt(f.onset),
        end=_dt(s.timestamps[-1]),
        summary=summary,
        strength=round(f.strength, 4),
        query=query,
        ref=s.ref,
        excerpt=[
            f"{_hm(t)} {_fmt(v)}" for t, v in list(zip(s.timestamps, s.values, strict=False))[-4:]
        ],
        family=f.family,
        data={"z": round(min(f.z, 1e6), 2), "baseline": f.baseline, "level": f.level},
    )
    return _Ev(f"m:{s.ref}:{s.name}:{_selector(s.labels)}", ev)


def log_evidence(f: LogFinding, ctx: Context) -> _Ev:
    logs = ctx.logs
    what = "new" if f.new else f"{f.rate_ratio:.0f}x more frequent"
    summary = (
        f"{f.level.upper()} template {what} on {f.service} after {_hm(f.first_after)}: "
        f'"{f.template[:90]}" ({f.after} after, {f.before} before)'
    )
    refs = [logs.ref(i) for i in f.examples]
    excerpt = [logs.msg[i][:200] for i in f.examples]
    ev = Evidence(
        id="",
        kind="log_template",
        service=f.service,
        start=_dt(f.first_after),
        end=ctx.window.end,
        summary=summary,
        strength=round(f.strength, 4),
        query=logs.query.get(f.service, "") or (refs[0] if refs else ""),
        ref=refs[0] if refs else None,
        excerpt=excerpt,
        family=f.family,
        data={"before": f.before, "after": f.after, "new": f.new},
    )
    return _Ev(f"l:{f.service}:{f.template}", ev)


def change_evidence(cf: ChangeFinding, onset: float) -> _Ev:
    c = cf.change
    when = "before" if cf.gap_s >= 0 else "after"
    ver = ""
    if c.version:
        ver = f" {c.previous_version + ' → ' if c.previous_version else ''}{c.version}"
    summary = (
        f"{c.kind} of {c.service}{ver} at {_hm(c.ts.timestamp())}, {_gap(cf.gap_s)} {when} "
        f"the onset{': ' + c.summary if c.summary else ''}"
    )
    ev = Evidence(
        id="",
        kind="change",
        service=c.service,
        start=c.ts,
        end=None,
        summary=summary[:240],
        strength=round(cf.proximity, 4),
        query=c.url or (c.ref or f"changes: id={c.id}"),
        ref=c.ref or c.url,
        excerpt=[f"{c.id} by {c.author}" if c.author else c.id],
        subject=c.id,
        data={"gap_s": round(cf.gap_s, 1), "kind": c.kind},
    )
    return _Ev(f"c:{c.id}", ev)


def _is_bad(f: MetricFinding) -> bool:
    return f.bad and not (f.family == "traffic" and f.direction < 0)


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
        own = [f for f in rel if a and f.series.service == a]
        if own:
            top = max(f.strength for f in own)
            return min(f.onset for f in own if f.strength >= 0.5 * top)
        inc = [f for f in rel if f.series.service in cone and f.strength >= 0.3]
        if inc:
            return min(f.onset for f in inc)
        return alert_ts - 120.0

    # ------------------------------------------------------------------ stages 1+2
    def candidates(
        self, ctx: Context, fnd: Findings, onset: float, topo: Topology
    ) -> list[Candidate]:
        a = ctx.alert.service
        alert_ts = ctx.alert.starts_at.timestamp()
        known = topo.services()
        has_topo = bool(a and a in known)
        cone = ({a} | topo.downstream(a)) if (has_topo and a) else set()
        lo = onset - 3600.0
        hi = max(alert_ts, onset) + 600.0

        per_svc: dict[str, list[MetricFinding]] = {}
        for f in fnd.metrics:
            s = f.series.service
            if not s or f.onset < lo or f.onset > hi:
                continue
            per_svc.setdefault(s, []).append(f)

        anom: dict[str, float] = {}
        first: dict[str, float] = {}
        fams: dict[str, set[str]] = {}
        traffic: dict[str, float] = {}
        nser: dict[str, int] = {}
        for s, lst in per_svc.items():
            core = [f for f in lst if f.family != "traffic"]
            tr = [f for f in lst if f.family == "traffic"]
            if tr:
                traffic[s] = max(f.strength for f in tr)
            score = max([f.strength for f in core] + [0.0])
            if score <= 0:
                continue
            anom[s] = score
            strong = [f for f in core if f.strength >= 0.5 * score]
            first[s] = min(f.onset for f in strong)
            fams[s] = {f.family or "other" for f in core}
            nser[s] = len(core)
        surge_at: dict[str, tuple[float, float]] = {}
        for s, lst in per_svc.items():
            ups = [f for f in lst if f.family == "traffic" and f.direction > 0]
            if ups:
                surge_at[s] = (max(f.strength for f in ups), min(f.onset for f in ups))
        symptom = self._symptom(a, per_svc, ctx)
        for svc, d in fnd.dead.items():
            anom[svc] = max(anom.get(svc, 0.0), d.strength)
            first[svc] = min(first.get(svc, d.onset), d.onset)
        for tf in fnd.traces:
            anom[tf.service] = max(anom.get(tf.service, 0.0), 0.8 * tf.strength)
            first.setdefault(tf.service, tf.onset)

        anomalous = {s for s, v in anom.items() if v >= 0.2}
        ref_onset = first.get(a, onset) if a else onset
        step = _step(symptom) if symptom is not None else 60.0
        sync_scale = max(2 * step, 300.0)

        logs_at: dict[str, list[LogFinding]] = {}
        for lf in fnd.logs.findings:
            if lf.first_after < onset - 1800 or lf.first_after > hi:
                continue
            logs_at.setdefault(lf.service, []).append(lf)
        for found in logs_at.values():
            found.sort(key=lambda x: -x.strength)

        def corroboration(s: str) -> float:
            """A dead dependency explains an incident only if its callers degrade soon
            after it dies, or say so in their logs."""
            d = fnd.dead[s]
            caller_on = (
                [
                    x_on
                    for x in topo.upstream(s)
                    if (x_on := first.get(x)) is not None and x_on >= d.onset - TOL_S
                ]
                if has_topo
                else []
            )
            near = [
                math.exp(-max(0.0, c - d.onset - TOL_S) / max(2 * step, 120.0)) for c in caller_on
            ]
            return max([*near, 0.9 if d.logs else 0.0, 0.0 if has_topo else 0.5])

        def svc_features(s: str) -> dict[str, float]:
            an = anom.get(s, 0.0)
            on = first.get(s)
            deeper = 0.0
            if has_topo:
                for d in topo.downstream(s):
                    od = first.get(d, math.inf)
                    if d in anom and (on is None or od <= on + TOL_S):
                        # a deeper anomaly explains this one only if it started about
                        # when this one did (one that began long before does not)
                        near = 1.0 if on is None else math.exp(-abs(on - od) / sync_scale)
                        # and only as far as it is as strong: a faint wobble below a
                        # strong anomaly does not explain it away
                        rel = min(1.0, anom[d] / an) if an > 0 else 1.0
                        deeper = max(deeper, anom[d] * near * rel)
            up_surge = 0.0
            if has_topo:
                for x in topo.upstream(s):
                    if x in surge_at and (on is None or surge_at[x][1] <= on + TOL_S):
                        up_surge = max(up_surge, surge_at[x][0])
            others = [x for x in anomalous if x != s and (not cone or x in cone)]
            explains = 0.0
            if others and has_topo:
                up = topo.upstream(s)
                explains = sum(1 for x in others if x in up) / len(others)
            if on is None:
                earliest = 0.0
            else:
                earliest = math.exp(-max(on - ref_onset - TOL_S, 0.0) / 600.0)
            sync = math.exp(-abs(on - ref_onset) / sync_scale) if on is not None else 0.0
            corr = 0.0
            if symptom is not None:
                for f in per_svc.get(s, []):
                    if f.family != "traffic":
                        corr = max(corr, _corr(f, symptom))
            if not has_topo:
                on_path = 0.5
            else:
                on_path = 1.0 if s in cone else 0.0
            lg = max((x.strength for x in logs_at.get(s, [])), default=0.0)
            dd = fnd.dead[s].strength * corroboration(s) if s in fnd.dead else 0.0
            tr = max((t.strength for t in fnd.traces if t.service == s), default=0.0)
            return {
                "anomaly": an,
                "root_local": an * (1.0 - deeper) * sync,
                "deeper": deeper,
                "explains": explains,
                "earliest": earliest,
                "on_path": on_path,
                "upstream": 1.0 if has_topo and a and s in topo.upstream(a) else 0.0,
                "is_alert_service": 1.0 if s == a else 0.0,
                "logs": lg,
                "dependency_down": dd,
                "trace": tr,
                "families": min(1.0, len(fams.get(s, ())) / 4.0),
                "breadth": min(1.0, nser.get(s, 0) / 6.0),
                "upstream_surge": up_surge,
                "symptom_corr": corr,
                "sync": sync,
                "traffic": traffic.get(s, 0.0),
            }

        services: set[str] = set(anomalous) | set(logs_at) | set(fnd.dead)
        services |= {cf.change.service for cf in fnd.changes}
        if a:
            services.add(a)
        out: list[Candidate] = []
        bases = {s: svc_features(s) for s in sorted(services)}
        # Relative to the other suspects of this incident: how a service compares
        # with the best-correlated / most anomalous one carries across datasets
        # better than the raw value does.
        top_corr = max((b["symptom_corr"] for b in bases.values()), default=0.0)
        top_anom = max((b["anomaly"] for b in bases.values()), default=0.0)
        for b in bases.values():
            b["corr_rel"] = b["symptom_corr"] / top_corr if top_corr > 0 else 0.0
            b["anomaly_rel"] = b["anomaly"] / top_anom if top_anom > 0 else 0.0
        for s in sorted(services):
            base = bases[s]
            svc_metric = sorted(
                per_svc.get(s, []), key=lambda f: (-f.strength, f.onset, f.series.name)
            )
            topo_ev = self._topology_evidence(s, topo, anomalous, first, anom, has_topo)
            common_ev: list[_Ev] = []
            if svc_metric:
                seen_fam: set[str | None] = set()
                for f in svc_metric:
                    if f.family in seen_fam:
                        continue
                    seen_fam.add(f.family)
                    common_ev.append(metric_evidence(f))
                    if len(seen_fam) >= 2:
                        break
            log_ev = [log_evidence(lf, ctx) for lf in logs_at.get(s, [])[:2]]
            trace_ev = [self._trace_evidence(t) for t in fnd.traces if t.service == s][:1]

            def add(
                kind: HypothesisKind,
                subject: str | None,
                statement: str,
                kind_signal: float,
                specific: list[_Ev],
                extra: dict[str, float] | None = None,
                fallback: bool = False,
                s: str = s,
                base: dict[str, float] = base,
                shared: list[_Ev] = common_ev + log_ev + trace_ev,
                topo_ev: _Ev | None = topo_ev,
            ) -> None:
                feats = dict(base)
                feats["kind_signal"] = kind_signal
                feats["change_proximity"] = 0.0
                feats["change_after_onset"] = 0.0
                feats["fallback"] = 1.0 if fallback else 0.0
                feats["memory_prior"] = fnd.memory.get((s, kind), 0.0)
                if extra:
                    feats.update(extra)
                ev = specific + shared
                if topo_ev is not None:
                    ev.append(topo_ev)
                out.append(Candidate(s, kind, subject, statement, feats, _dedupe(ev)))

            # -- changes
            for cf in fnd.changes:
                if cf.change.service != s:
                    continue
                c = cf.change
                kind: HypothesisKind = "deploy" if c.kind == "deploy" else "config_change"
                what = (
                    f"deploy {c.version}"
                    if c.kind == "deploy" and c.version
                    else f"{c.kind} change"
                )
                if cf.before_onset:
                    stmt = (
                        f"The {what} of {s} at {_hm(c.ts.timestamp())}, {_gap(cf.gap_s)} before "
                        f"the onset, {self._effect(s, base, fams)}."
                    )
                else:
                    stmt = (
                        f"The {what} of {s} came {_gap(cf.gap_s)} after the onset, so it cannot "
                        "have started it."
                    )
                add(
                    kind,
                    c.id,
                    stmt,
                    cf.proximity * (0.5 + 0.5 * max(base["anomaly"], base["logs"])),
                    [change_evidence(cf, onset)],
                    {
                        "change_proximity": cf.proximity,
                        "change_after_onset": 0.0 if cf.before_onset else 1.0,
                    },
                )
            sat = [f for f in svc_metric if f.family in SATURATION_FAMILIES and _is_bad(f)]
            sat_logs = [x for x in logs_at.get(s, []) if x.family in SATURATION_FAMILIES]
            if sat or sat_logs:
                sig = max([f.strength for f in sat] + [0.7 * x.strength for x in sat_logs])
                res = (sat[0].family if sat else sat_logs[0].family) or "resource"
                spec = [metric_evidence(f, "saturation") for f in sat[:2]] + [
                    log_evidence(x, ctx) for x in sat_logs[:1]
                ]
                add(
                    "resource_saturation",
                    res,
                    f"{s} is saturating its {res}{self._sat_detail(sat)}, "
                    f"{self._effect(s, base, fams, skip=res)}.",
                    sig,
                    spec,
                )
            crash_sig = 0.0
            cert_sig = 0.0
            rs = [f for f in svc_metric if f.family == "restarts" and f.direction > 0]
            rs_logs = [x for x in logs_at.get(s, []) if x.family == "restarts"]
            if rs or rs_logs:
                sig = max([f.strength for f in rs] + [0.8 * x.strength for x in rs_logs])
                crash_sig = sig
                add(
                    "crash_loop",
                    s,
                    f"{s} is crash-looping (restarts{' and crash logs' if rs_logs else ''} "
                    f"from {_hm(min([f.onset for f in rs] + [x.first_after for x in rs_logs]))}).",
                    sig,
                    [metric_evidence(f) for f in rs[:1]]
                    + [log_evidence(x, ctx) for x in rs_logs[:1]],
                )
            certs = [f for f in fnd.certs if f.series.service == s]
            cert_logs = [x for x in fnd.logs.findings if x.family == "certificates"]
            cert_logs_here = [x for x in cert_logs if x.service == s or s in x.template.lower()]
            if certs or (cert_logs_here and s in fnd.dead):
                sig = max([f.strength for f in certs] + [0.6 * x.strength for x in cert_logs_here])
                cert_sig = sig
                add(
                    "certificate_expiry",
                    s,
                    f"The TLS certificate of {s} has expired or is about to"
                    f"{' (' + _hm(certs[0].onset) + ')' if certs else ''}; TLS clients fail.",
                    sig,
                    [metric_evidence(f, "certificate") for f in certs[:1]]
                    + [log_evidence(x, ctx) for x in cert_logs_here[:1]],
                )
            net = [f for f in svc_metric if f.family == "network" and _is_bad(f)]
            net_logs = [x for x in logs_at.get(s, []) if x.family == "network"]
            if net or net_logs:
                sig = max([f.strength for f in net] + [0.5 * x.strength for x in net_logs])
                add(
                    "network",
                    s,
                    f"Network faults at {s} (packet drops, retransmits or timeouts from "
                    f"{_hm(min([f.onset for f in net] + [x.first_after for x in net_logs]))}).",
                    sig,
                    [metric_evidence(f) for f in net[:1]]
                    + [log_evidence(x, ctx) for x in net_logs[:1]],
                )
            if s in fnd.dead:
                d = fnd.dead[s]
                callers = ", ".join(d.callers[:3]) or "its callers"
                spec = []
                if d.metric:
                    spec.append(metric_evidence(d.metric, "dependency_down"))
                spec += [log_evidence(x, ctx) for x in d.logs[:2]]
                corro = corroboration(s)
                add(
                    "dependency_failure",
                    s,
                    f"{s} is down from {_hm(d.onset)} and {callers} cannot reach it.",
                    # down *because* it crash-loops or its certificate expired: those
                    # kinds are the better explanation
                    d.strength * corro * (1.0 - max(crash_sig, cert_sig)),
                    spec,
                )
            surge = [f for f in svc_metric if f.family == "traffic" and f.direction > 0]
            if surge:
                # A surge explains an incident when the surging service or the services
                # it calls then degrade, and no caller surged first (the surge then
                # comes from that caller: load flows downstream).
                f0 = surge[0]
                health = [
                    f
                    for f in svc_metric
                    if f.family != "traffic" and _is_bad(f) and f.onset >= f0.onset - TOL_S
                ]
                down = [
                    anom[d]
                    for d in (topo.downstream(s) if has_topo else set())
                    if d in anom and first.get(d, -math.inf) >= f0.onset - TOL_S
                ]
                follow = max([f.strength for f in health] + down + [0.0])
                upstream_surge = max(
                    [
                        surge_at[x][0]
                        for x in (topo.upstream(s) if has_topo else set())
                        if x in surge_at and surge_at[x][1] <= f0.onset + TOL_S
                    ]
                    + [0.0]
                )
                if follow > 0:
                    growth = (
                        f"{f0.level / f0.baseline:.1f}x"
                        if f0.baseline > 0
                        else f"from {_fmt(f0.baseline)} to {_fmt(f0.level)}"
                    )
                    degraded = sorted({f.family or "other" for f in health})
                    effect = (
                        f"{', '.join(degraded)} degraded"
                        if degraded
                        else "its dependencies degraded"
                    )
                    # a surge that overwhelms a service is large in relative terms
                    # (x2 and more); +20% on a steady counter is many sigmas but no surge
                    size = min(1.0, max(f0.rel, 0.0)) if f0.baseline > 0 else 1.0
                    add(
                        "traffic_surge",
                        s,
                        f"Request rate at {s} rose {growth} from {_hm(f0.onset)}, then {effect}.",
                        f0.strength * size * follow * (1.0 - upstream_surge),
                        [metric_evidence(f0)] + [metric_evidence(f) for f in health[:1]],
                    )
            if base["anomaly"] >= 0.2 or base["logs"] >= 0.3:
                fam_txt = ", ".join(sorted(fams.get(s, set()) - {"other"})) or "its signals"
                when = f" at {_hm(first[s])}" if s in first else ""
                if base["deeper"] >= 0.3:
                    stmt = (
                        f"{fam_txt} moved at {s}{when}, but services it depends on degraded "
                        "as early: more likely a symptom than the cause."
                    )
                else:
                    stmt = (
                        f"{s} is where the incident starts: {fam_txt} moved there{when}"
                        f"{' before its callers' if base['explains'] > 0 else ''}; no change, "
                        "resource or dependency signal explains why."
                    )
                add(
                    "unknown",
                    s,
                    stmt,
                    0.0,
                    [],
                    fallback=True,
                )
        self._memory_candidates(out, fnd, svc_features, services)
        for cand in out:
            cand.evidence = [
                e for e in cand.evidence if e.ev.strength > 0 or e.ev.kind == "topology"
            ]
        return [cand for cand in out if cand.evidence]

    def _memory_candidates(
        self,
        out: list[Candidate],
        fnd: Findings,
        svc_features: Callable[[str], dict[str, float]],
        services: set[str],
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
            feats = svc_features(svc) if svc in services else dict.fromkeys(FEATURES, 0.0)
            feats.update(
                {
                    "kind_signal": 0.0,
                    "change_proximity": 0.0,
                    "change_after_onset": 0.0,
                    "fallback": 0.0,
                    "memory_prior": fnd.memory.get((svc, kind), mev.strength),
                }
            )
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

    def _effect(
        self, s: str, base: dict[str, float], fams: dict[str, set[str]], skip: str | None = None
    ) -> str:
        f = sorted(fams.get(s, set()) - {"other", skip or ""})
        if not f and base["logs"] > 0:
            return "is followed by new errors in its logs"
        if not f:
            return "precedes no measurable anomaly at it"
        return f"is followed by {', '.join(f)} anomalies at {s}"

    def _sat_detail(self, sat: list[MetricFinding]) -> str:
        if not sat:
            return ""
        f = sat[0]
        return f" ({f.series.name} {_fmt(f.baseline)} → {_fmt(f.level)} from {_hm(f.onset)})"

    def _topology_evidence(
        self,
        s: str,
        topo: Topology,
        anomalous: set[str],
        first: dict[str, float],
        anom: dict[str, float],
        has_topo: bool,
    ) -> _Ev | None:
        if not has_topo or s not in anomalous:
            return None
        up = sorted(
            (x for x in topo.upstream(s) if x in anomalous and x in first),
            key=lambda x: first[x],
        )
        down_bad = [d for d in topo.downstream(s) if d in anomalous]
        if not up and not down_bad:
            return None
        parts = []
        if up:
            lags = [
                f"{x} (+{_gap(first[x] - first[s])})" if first[x] >= first[s] else f"{x} (earlier)"
                for x in up[:4]
            ]
            parts.append(f"callers of {s} anomalous after it: {', '.join(lags)}")
        if down_bad:
            parts.append(f"its anomalous dependencies: {', '.join(sorted(down_bad)[:3])}")
        else:
            parts.append(
                f"none of the {len(topo.downstream(s))} services it depends on is anomalous"
            )
        strength = max(0.05, anom.get(s, 0.0) * (1.0 if not down_bad else 0.4))
        ev = Evidence(
            id="",
            kind="topology",
            service=s,
            start=_dt(first[s]) if s in first else None,
            summary="; ".join(parts)[:240],
            strength=round(min(1.0, strength), 4),
            query=(
                f"topology: {', '.join(up[:3])} depends_on … {s}"
                if up
                else f"topology: {s} depends_on {', '.join(sorted(down_bad)[:3])}"
            ),
            ref="topology.yaml",
        )
        return _Ev(f"t:{s}", ev)

    def _trace_evidence(self, t: TraceFinding) -> _Ev:
        ev = Evidence(
            id="",
            kind="trace",
            service=t.service,
            start=_dt(t.onset),
            summary=(
                f"spans of {t.service}: errors {t.err_before:.0%} → {t.err_after:.0%}, "
                f"median {t.p50_before:.0f} → {t.p50_after:.0f} ms"
            ),
            strength=round(t.strength, 4),
            query=f"spans where service={t.service}",
            ref=t.ref,
        )
        return _Ev(f"tr:{t.service}", ev)

    def _symptom(
        self, a: str | None, per_svc: dict[str, list[MetricFinding]], ctx: Context
    ) -> MetricFinding | None:
        """The paging service's main symptom: its strongest non-traffic anomaly."""
        if not a:
            return None
        own = [f for f in per_svc.get(a, []) if f.family != "traffic"]
        if not own:
            return None
        return max(own, key=lambda f: (f.strength, -f.onset))

    # ------------------------------------------------------------------ scoring
    def score(self, cands: list[Candidate]) -> float:
        """Set score and prob on every candidate; return the probability of "no cause"."""
        w = self.weights.w
        for c in cands:
            c.score = sum(w.get(k, 0.0) * c.features.get(k, 0.0) for k in FEATURES)
        m = max([c.score for c in cands] + [self.weights.null_score])
        z = math.exp(self.weights.null_score - m)
        exps = [math.exp(c.score - m) for c in cands]
        total = z + sum(exps)
        for c, e in zip(cands, exps, strict=True):
            c.prob = e / total
        return z / total

    def to_hypotheses(
        self, cands: list[Candidate], limit: int = 5
    ) -> tuple[list[Hypothesis], list[Evidence]]:
        ranked = sorted(cands, key=lambda c: (-c.score, c.service, c.kind, c.subject or ""))
        # One hypothesis per (service, kind, subject); keep the best.
        seen: set[tuple[str, str, str | None]] = set()
        top: list[Candidate] = []
        for c in ranked:
            key = (c.service, c.kind, c.subject)
            if key in seen:
                continue
            seen.add(key)
            top.append(c)
            if len(top) >= limit:
                break
        ids: dict[str, str] = {}
        evidence: list[Evidence] = []
        hyps: list[Hypothesis] = []
        w = self.weights.w
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
                    evidence=cited,
                    features=dict(sorted(contrib.items(), key=lambda kv: -abs(kv[1]))),
                    score=round(c.score, 4),
                )
            )
        return hyps, evidence


def _step(f: MetricFinding) -> float:
    ts = f.series.timestamps
    if len(ts) < 2:
        return 60.0
    gaps = sorted(b - a for a, b in zip(ts, ts[1:], strict=False))
    return max(1.0, gaps[len(gaps) // 2])


def _corr(f: MetricFinding, g: MetricFinding) -> float:
    """Correlation of two anomalies' series on shared timestamps, sign-adjusted so that
    both moving in their anomalous direction counts as positive."""
    if f.series is g.series:
        return 1.0
    gv = dict(zip(g.series.timestamps, g.series.values, strict=False))
    xs: list[float] = []
    ys: list[float] = []
    for t, v in zip(f.series.timestamps, f.series.values, strict=False):
        w = gv.get(t)
        if w is not None and math.isfinite(v) and math.isfinite(w):
            xs.append(v)
            ys.append(w)
    n = len(xs)
    if n < 5:
        return 0.0
    mx = sum(xs) / n
    my = sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return 0.0
    r = sxy / math.sqrt(sxx * syy) * f.direction * g.direction
    return max(0.0, r)


def _dedupe(evs: Iterable[_Ev]) -> list[_Ev]:
    seen: set[str] = set()
    out: list[_Ev] = []
    for e in evs:
        if e.key in seen:
            continue
        seen.add(e.key)
        out.append(e)
    return out
