"""Two-signal routing: trust and risk decide what happens to one step.

* **Trust** (0..1) is how sure we are that this runbook is the right fix:
  0.5 x the confidence of the hypothesis it fixes, 0.3 x how specifically the
  runbook matches (`remediate.matching.specificity`), 0.2 x its track record
  (Laplace-smoothed success rate from memory; 0.5 with no history). Without a triage
  report (parameters given by hand) trust is unknown and counts as 0: the human who
  chose the runbook confirms.
* **Risk** (0..1) is how much damage a wrong action can do: the capability's scope
  (read 0, write 0.35, destructive 0.7), the environment (prod +0.2, staging +0.05),
  blast radius (+0.05 per extra target, up to +0.2), a recent change (+0.1), and an
  active freeze window (+0.3, and a hard stop for writes, see below).

A capability's `scope` and `handoff` are what it declares about itself. For a built-in
that is the truth; a capability from a plugin (marked by the loader when it registered
it, `Registry.plugin`, never by anything the plugin sets) is governed on an *effective*
scope (`governed`): a declared `read` counts as `write`, and a declared hand-off as an
ordinary step, unless the policy lists it in `trusted_plugin_capabilities`. A declared
`write` or `destructive` is never lowered. The decision's first reason then says so,
and `Decision.governed_as` holds the scope it was routed on.

Rules, in order (first match wins), for one step (on its effective scope):

0. a step that writes to a target that is not pinned (a kubectl write when the profile
   names no `kube_context`): `refuse`, whatever the policy, break-glass included;
1. read steps run (`execute`), unless the runbook says `confirm: true`;
   hand-off steps (a PagerDuty note or escalation) are never refused for low trust,
   risk or a freeze: `confirm` (or `execute` when autonomous), unless the policy is
   `read_only`/`advised` for them;
2. a freeze window is active and the step writes: `refuse`, unless break-glass was
   given with a reason, then `confirm` (never autonomous during a freeze);
3. the resolved autonomy is `read_only` or `advised` and the step writes: `refuse`;
4. risk >= `escalate_risk`, or (with a report) trust < `escalate_trust`: `escalate`;
5. autonomy `approved`: `confirm`;
6. autonomy `autonomous`: `execute` when trust >= `min_trust`, risk <= `max_risk`,
   blast radius <= `max_blast_radius`, the track record has `min_successes` and a
   failure rate <= `max_failure_rate`, and the runbook does not force `confirm`;
   otherwise `confirm`, with the reason for each signal that crossed.

Every decision lists its reasons; they go to the prompt, the plan and the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

from aisre_cli.govern.policy import Autonomy, Policy

DecisionKind = Literal["execute", "confirm", "refuse", "escalate"]
TRUST_SETTING = "trusted_plugin_capabilities"
"""The policy key that lists the plugin capabilities taken at their word."""


class TrackRecord(Protocol):
    """Past outcomes of a runbook, per failure class and environment (memory implements
    it). `environment` None counts every environment; routing always names one, so
    runs in dev never earn autonomy in prod."""

    def successes(self, runbook_id: str, kind: str, environment: str | None = None) -> int: ...

    def failures(self, runbook_id: str, kind: str, environment: str | None = None) -> int: ...


class EmptyTrackRecord:
    """No history: every runbook is new (so autonomy needing a track record never applies)."""

    def successes(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        return 0

    def failures(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        return 0


@dataclass(frozen=True)
class StepFacts:
    """Everything routing needs about one step, gathered by the session."""

    capability: str
    scope: str
    environment: str
    runbook_id: str
    kind: str = "unknown"
    """The hypothesis kind (failure class) the run addresses."""
    confirm_forced: bool = False
    blast_radius: int = 1
    confidence: float | None = None
    """Confidence of the hypothesis the runbook fixes; None without a triage report."""
    specificity: float | None = None
    minutes_since_change: float | None = None
    now: datetime | None = None
    break_glass: str | None = None
    handoff: bool = False
    """The step hands the incident to a human (a PagerDuty note, an escalation)."""
    unpinned: str | None = None
    """Why the step's target is not pinned (a kubectl write with no context), if so."""
    unpinned_hint: str | None = None
    unsupported: str | None = None
    """Why the triage verdict does not support this runbook (run against the verdict:
    a human decides; never autonomous, never refused for it)."""
    plugin: bool = False
    """The capability comes from a plugin (as the registry recorded when the plugin
    loader registered it): its declared `scope: read` and `handoff` are claims."""


@dataclass(frozen=True)
class Governed:
    """How governance treats a capability: the scope it routes on, whether it is a
    hand-off, and (when that differs from what the capability declares) why."""

    scope: str
    handoff: bool
    note: str | None = None
    """One line: `plugin capability X declares read; governed as write (...)`."""


def governed(
    capability: str, scope: str, *, handoff: bool, plugin: bool, policy: Policy
) -> Governed:
    """The effective scope and hand-off of a capability under `policy`.

    A built-in, or a plugin capability the policy trusts, is taken as declared. An
    untrusted plugin's `read` is governed as `write` and its `handoff` is not honoured;
    its `write`/`destructive` stays as declared (never lowered)."""
    if not plugin or policy.trusts(capability):
        return Governed(scope, handoff)
    claims = [c for c, made in (("read", scope == "read"), ("a hand-off", handoff)) if made]
    effective = "write" if scope == "read" else scope
    if not claims:
        return Governed(effective, False)
    return Governed(
        effective,
        False,
        f"plugin capability {capability} declares {' and '.join(claims)}; governed as"
        f" {effective} (trust it with policy {TRUST_SETTING})",
    )


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reasons: tuple[str, ...]
    trust: float
    risk: float
    autonomy: Autonomy
    autonomy_rule: str
    freeze: tuple[str, ...] = field(default=())
    hint: str | None = field(default=None, compare=False)
    """What the human can do about a refusal (shown under it; not part of the record)."""
    governed_as: str | None = None
    """The scope the step was routed on when it is not the one its capability declares
    (an untrusted plugin's `read`, routed as `write`); None otherwise."""

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "reasons": list(self.reasons),
            "trust": round(self.trust, 4),
            "risk": round(self.risk, 4),
            "autonomy": self.autonomy,
            "autonomy_rule": self.autonomy_rule,
            "freeze": list(self.freeze),
        }
        if self.governed_as is not None:
            out["governed_as"] = self.governed_as
        return out


def trust_score(f: StepFacts, record: TrackRecord) -> float:
    if f.confidence is None:
        return 0.0
    s = record.successes(f.runbook_id, f.kind, f.environment)
    fl = record.failures(f.runbook_id, f.kind, f.environment)
    track = (s + 1) / (s + fl + 2)
    return min(1.0, 0.5 * f.confidence + 0.3 * (f.specificity or 0.0) + 0.2 * track)


def risk_score(f: StepFacts, policy: Policy, freezes: list[str]) -> float:
    r = {"read": 0.0, "write": 0.35, "destructive": 0.7}.get(f.scope, 0.7)
    if f.scope != "read":
        r += {"prod": 0.2, "production": 0.2, "staging": 0.05}.get(f.environment, 0.0)
        r += min(0.2, 0.05 * max(0, f.blast_radius - 1))
        if (
            f.minutes_since_change is not None
            and f.minutes_since_change < policy.thresholds.recent_change_minutes
        ):
            r += 0.1
        if freezes:
            r += 0.3
    return min(1.0, r)


def decide(f: StepFacts, policy: Policy, record: TrackRecord | None = None) -> Decision:
    g = governed(f.capability, f.scope, handoff=f.handoff, plugin=f.plugin, policy=policy)
    if g.scope != f.scope or g.handoff != f.handoff:
        # a plugin's claim not taken at its word: route it as what it may really be
        d = _decide(replace(f, scope=g.scope, handoff=g.handoff), policy, record)
        return replace(
            d,
            reasons=(g.note, *d.reasons) if g.note else d.reasons,
            governed_as=g.scope if g.scope != f.scope else None,
        )
    return _decide(f, policy, record)


def _decide(f: StepFacts, policy: Policy, record: TrackRecord | None) -> Decision:
    rec = record or EmptyTrackRecord()
    th = policy.thresholds
    now = f.now or datetime.now().astimezone()
    freezes = [w.name for w in policy.active_freezes(now, f.environment)]
    trust = trust_score(f, rec)
    risk = risk_score(f, policy, freezes)
    autonomy, rule = policy.autonomy_for(f.environment, f.capability, f.scope)

    def d(kind: DecisionKind, *reasons: str) -> Decision:
        return Decision(kind, tuple(reasons), trust, risk, autonomy, rule, tuple(freezes))

    if f.scope != "read" and f.unpinned:
        return Decision(
            "refuse",
            (f.unpinned,),
            trust,
            risk,
            autonomy,
            rule,
            tuple(freezes),
            hint=f.unpinned_hint,
        )
    if f.scope == "read":
        if f.confirm_forced:
            return d("confirm", "read step; the runbook asks for confirmation")
        return d("execute", "read-only step")
    if f.handoff:
        # Handing off to a human is never a risky action: low trust is the very reason
        # to escalate, and a freeze window protects the systems, not the pager.
        if autonomy in ("read_only", "advised"):
            return d(
                "refuse", f"policy is {autonomy} for {f.capability} in {f.environment} ({rule})"
            )
        if autonomy == "autonomous" and not f.confirm_forced:
            return d("execute", f"hand-off to a human; autonomous ({rule})")
        return d("confirm", "hand-off to a human: never refused for low trust or a freeze")
    if freezes:
        if f.break_glass:
            return d(
                "confirm",
                f"freeze window active ({', '.join(freezes)}); break-glass: {f.break_glass}",
                "break-glass never runs unattended: a human confirms",
            )
        return d(
            "refuse",
            f"freeze window active ({', '.join(freezes)}): {f.scope} steps are blocked",
            "to override, re-run with --break-glass REASON (audited)",
        )
    if autonomy == "read_only":
        return d("refuse", f"policy is read_only for {f.capability} in {f.environment} ({rule})")
    if autonomy == "advised":
        return d(
            "refuse",
            f"policy is advised for {f.capability} in {f.environment} ({rule}):"
            " recommend only, run it yourself",
        )
    if risk >= th.escalate_risk:
        return d("escalate", f"risk {risk:.2f} >= escalate_risk {th.escalate_risk:.2f}")
    if f.confidence is not None and trust < th.escalate_trust:
        return d(
            "escalate",
            f"trust {trust:.2f} < escalate_trust {th.escalate_trust:.2f}:"
            " the evidence does not support this fix",
        )
    if autonomy == "approved":
        return d("confirm", f"policy requires approval ({rule})")
    # autonomous
    blockers: list[str] = []
    if f.confirm_forced:
        blockers.append("the runbook asks for confirmation of this step")
    if f.unsupported:
        blockers.append(f.unsupported)
    elif f.confidence is None:
        blockers.append("trust unknown (no triage report)")
    elif trust < th.min_trust:
        blockers.append(f"trust {trust:.2f} < min_trust {th.min_trust:.2f}")
    if risk > th.max_risk:
        blockers.append(f"risk {risk:.2f} > max_risk {th.max_risk:.2f}")
    if f.blast_radius > th.max_blast_radius:
        blockers.append(f"blast radius {f.blast_radius} > {th.max_blast_radius}")
    s = rec.successes(f.runbook_id, f.kind, f.environment)
    fl = rec.failures(f.runbook_id, f.kind, f.environment)
    if s < th.min_successes:
        blockers.append(f"track record {s} success(es) < min_successes {th.min_successes}")
    elif s + fl and fl / (s + fl) > th.max_failure_rate:
        blockers.append(f"failure rate {fl / (s + fl):.0%} > {th.max_failure_rate:.0%}")
    if blockers:
        return d("confirm", *blockers)
    return d(
        "execute",
        f"autonomous ({rule}): trust {trust:.2f} >= {th.min_trust:.2f},"
        f" risk {risk:.2f} <= {th.max_risk:.2f}",
    )
