"""RunSession: the one governed path from a runbook to actions.

Both front ends (the CLI stepper in `ui/cli/runbook.py` and the Textual console)
drive a run through this object; neither decides, confirms or executes by itself.

    session = RunSession.start(runbook, profile_name, profile, params={"service": "api"},
                               report=triage_report)          # or RunSession.resume(run_id, ...)
    for ps in session.plan.steps:                             # show the whole plan first
        show(ps.action.text(), ps.scope, session.decide(ps))
    while (ps := session.current_step()) is not None:
        d = session.decide(ps)                                # execute|confirm|refuse|escalate
        if d.kind in ("refuse", "escalate"):
            session.stop(ps, d); break                        # audited; exit code 5
        if d.kind == "confirm":
            show(ps.action.text())                            # what the human sees ...
            key = read_one_key()                              # y n d a ?
            if key == "d": show(session.preview(ps).text); continue   # dry run (audited)
            if key == "n": session.skip(ps); continue
            if key == "a": session.abort("operator"); break
            if key != "y": continue                           # default deny
            conf = session.confirm(ps, ps.action.digest())    # ... is what gets bound
        else:
            conf = None                                       # autonomy: policy said execute
        out = session.run(ps, conf)                           # intent fsynced, then the action
        if out.undo is not None and not out.ok:               # verification failed: offer undo
            ...session.confirm(out.undo, ...); session.run_undo(out.undo, conf)
    summary = session.finish()                                # run_end; summary.head = audit head

The API, for a front end:

* `RunSession.start(runbook, profile_name, profile, params=, report=, dry_run=,
  break_glass=)`: plan, audit `run_start`, checkpoint.
* `RunSession.resume(run_id, profile_name, profile, break_glass=)`: reload, refuse a
  changed runbook, reconcile the checkpoint with the audit log.
* `session.plan.steps`, `session.status_of(ps)`: every `PlannedStep` (`.action.text()`,
  `.scope`, `.step.verify`, ...) and its status.
* `session.current_step()`: the next step to act on, or None.
* `session.decide(ps)`: `Decision(kind, reasons, trust, risk, autonomy, freeze)`; pure.
* `session.preview(ps)`: dry run (kubectl `--dry-run=server`; HTTP shown, not sent);
  audited.
* `session.confirm(ps, shown_digest)`: a human said yes to what was shown; returns the
  `Confirmation` to pass to `run()`.
* `session.run(ps, confirmation)`: governed execution, then verification; returns a
  `StepOutcome` whose `.undo` is offered when verification failed.
* `session.run_undo(undo_ps, confirmation)`: run the offered undo (confirm it first).
* `session.skip(ps)`, `abort()`, `stop(ps, reason, decision)`, `fail(ps, reason)`: pause
  or end the run (all audited; every one of them can be resumed).
* `session.finish()`: `RunSummary` with the audit head hash, to print.

`run()` blocks (subprocesses, HTTP): call it from a worker thread in the console, one
call at a time (a session is not thread-safe).

Guarantees, enforced here and not in the UI:

* `run()` re-renders the step's action from its validated inputs and refuses unless
  the confirmation was issued by this session for exactly that action digest (an
  HMAC with a per-session key over run id, step id and digest). If inputs change, the
  action and digest change, and the step must be confirmed again.
* A `confirm` decision needs a `Confirmation`; `refuse`/`escalate` never run;
  `execute` (autonomy) runs without one, and the audit record says so.
* Steps run in order; a finished step is never run again (also across `resume`).
* A capability from a plugin is routed on its effective scope (`routing.governed`:
  an untrusted plugin's `read` as `write`, its hand-off as an ordinary step); the
  audit records of a step carry the declared `scope` and, when it differs,
  `governed_as`. A run whose verification uses a plugin capability the policy does not
  trust is refused at `start`/`resume` (a verification runs without confirmation).
* Before an action the checkpoint marks the step `running`, then the intent record is
  appended and fsynced; if that fails the action does not run. The result record
  follows the action, then the checkpoint. `resume()` reconciles the checkpoint with
  the audit log (the truth): an intent without a result is offered again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from aisre_cli.errors import AisreError, ExitCode, GovernanceRefused, UsageError, crashpoint
from aisre_cli.govern.audit import AuditRecord, AuditSink, open_audit_log
from aisre_cli.govern.policy import Policy, load_policy
from aisre_cli.govern.routing import (
    TRUST_SETTING,
    Decision,
    EmptyTrackRecord,
    StepFacts,
    TrackRecord,
    decide,
    governed,
)
from aisre_cli.model import TriageReport
from aisre_cli.remediate import checkpoint, executor
from aisre_cli.remediate.capabilities import (
    Capability,
    ExecContext,
    Preview,
    Registry,
    default_registry,
    target_of,
    unpinned_reason,
)
from aisre_cli.remediate.capabilities.base import NotAllowed
from aisre_cli.remediate.checkpoint import RunState, StepState, StepStatus
from aisre_cli.remediate.executor import Permit, VerifyResult
from aisre_cli.remediate.plan import Plan, PlannedStep, build_plan, plan_undo, unsupported_by
from aisre_cli.remediate.runbook import Runbook, load_file
from aisre_cli.settings.config import Profile

MIN_BREAK_GLASS = 8


@dataclass(frozen=True)
class Confirmation:
    """A human's yes to one exact action (or the policy's, for autonomy)."""

    run_id: str
    step_id: str
    action_digest: str
    token: str
    via: Literal["human"] = "human"


@dataclass
class StepOutcome:
    step_id: str
    status: StepStatus
    ok: bool
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    verify: VerifyResult | None = None
    undo: PlannedStep | None = None
    """Offered when the action ran but its verification failed."""
    audit_seq: int = 0
    exit_code: ExitCode | None = None
    """Why the action failed, as an exit class (`ExecResult.exit_code`)."""


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    status: str
    steps: dict[str, str]
    head: str
    """The audit log's head hash after the run_end record."""
    head_seq: int
    dry_run: bool = False
    unverified: dict[str, str] = field(default_factory=dict)
    """Step id -> why its declared verification could not be made."""
    audit_warning: str = ""
    """The team audit trail lost records this machine wrote (`PgAuditLog`); shown
    with the audit head."""
    audit_spooled: bool = False
    """The run_end record went to the local audit spool (team store down): `head` is
    its local hash, which `audit verify --expect-head` accepts once it is sent."""

    @property
    def resumable(self) -> bool:
        """`aisre runbook resume` can continue it (never a dry run)."""
        return not self.dry_run and self.status in ("stopped", "aborted", "failed")


MAYBE_RAN = "it may or may not have run; check before confirming again"


def _maybe_ran(error: str | None) -> str:
    """An interrupted step's error, saying that its action may have taken effect."""
    if error and "may or may not" in error:
        return error
    return f"{error or 'interrupted'}: {MAYBE_RAN}"


def _check_break_glass(reason: str | None) -> str | None:
    if reason is None:
        return None
    r = " ".join(reason.split())
    if len(r) < MIN_BREAK_GLASS:
        raise UsageError(
            f"break-glass needs a real reason (at least {MIN_BREAK_GLASS} characters)",
            hint='e.g. --break-glass "INC-123: checkout down, CTO approved rollback"',
        )
    return r


class _Readable:
    """A track record that cannot be read now (the team store went away between steps, a
    failover) counts as no history: no autonomy from it, the human confirms; the run goes
    on instead of dying between two steps of a remediation."""

    def __init__(self, inner: TrackRecord) -> None:
        self.inner = inner

    def successes(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        try:
            return self.inner.successes(runbook_id, kind, environment)
        except AisreError:
            return 0

    def failures(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        try:
            return self.inner.failures(runbook_id, kind, environment)
        except AisreError:
            return 0


def default_track_record(profile: Profile | None = None) -> TrackRecord:
    """The incident memory's track record (and outcome sink); none if it cannot open."""
    try:
        from aisre_cli.memory.store import open_track_record

        return open_track_record(profile=profile)
    except AisreError:  # unreadable memory: no history, so no autonomy from it
        return EmptyTrackRecord()


def run_outcome(state: RunState) -> str:
    """What a finished run counts as in the track record (memory.store.OUTCOMES)."""
    steps = state.steps
    if state.status == "aborted":
        return "aborted"
    if any(s.status == "undone" for s in steps):
        return "undone"
    if state.status == "failed" or any(s.status == "failed" for s in steps):
        return "failed"
    if state.status == "unverified" or any(s.unverified for s in steps):
        return "unverified" if state.status in ("completed", "unverified") else "stopped"
    if state.status == "completed":
        verified = [s.verified for s in steps if s.verified is not None]
        return "verified" if verified and all(verified) else "completed"
    return "stopped"


def untrusted_verification(plan: Plan, registry: Registry, policy: Policy) -> str | None:
    """Why the plan may not run: a step verifies with a plugin capability the policy
    does not trust (a verification runs without confirmation, so a plugin's word that
    it only reads is not enough). None: every verification may run."""
    for ps in plan.steps:
        v = ps.step.verify
        name = v.capability if v is not None else None
        if name and registry.plugin(name) is not None and not policy.trusts(name):
            return (
                f"step {ps.id}: verify uses plugin capability {name}, which the policy does"
                f" not trust (a verification runs unconfirmed; list it in {TRUST_SETTING})"
            )
    return None


def _minutes_since_change(report: TriageReport | None, now: datetime) -> float | None:
    if report is None:
        return None
    times = [e.start for e in report.evidence if e.kind == "change" and e.start is not None]
    times = [t for t in times if t <= now]
    if not times:
        return None
    return (now - max(times)).total_seconds() / 60.0


class RunSession:
    """See the module docstring."""

    def __init__(
        self,
        *,
        plan: Plan,
        state: RunState,
        policy: Policy,
        ctx: ExecContext,
        registry: Registry,
        audit: AuditSink,
        record: TrackRecord,
        clock: Callable[[], datetime],
    ) -> None:
        self.plan = plan
        self.state = state
        self.policy = policy
        self.ctx = ctx
        self.registry = registry
        self.audit = audit
        self.record = record
        self.clock = clock
        self.lock: checkpoint.RunLock | None = None
        """Held while this process drives the run (`checkpoint.RunLock`)."""
        self._key = secrets.token_bytes(32)
        self._undo_for: dict[str, PlannedStep] = {}
        self.finished = False

    # ------------------------------------------------------------ construction

    @classmethod
    def start(
        cls,
        runbook: Runbook,
        profile_name: str,
        profile: Profile,
        *,
        params: Mapping[str, str] | None = None,
        report: TriageReport | None = None,
        policy: Policy | None = None,
        registry: Registry | None = None,
        audit: AuditSink | None = None,
        record: TrackRecord | None = None,
        ctx: ExecContext | None = None,
        dry_run: bool = False,
        break_glass: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> RunSession:
        pol = policy or load_policy(profile.policy_file)
        reg = registry or default_registry()
        log = audit or open_audit_log(profile)
        ctx = ctx or cls.context_for(profile, pol)
        bg = _check_break_glass(break_glass)
        now = (clock or (lambda: datetime.now(UTC)))()
        run_id = checkpoint.new_run_id()
        try:
            plan = build_plan(
                runbook,
                params or {},
                report=report,
                registry=reg,
                ctx=ctx,
                run_id=run_id,
                governed=governed_scope(reg, pol),
            )
            untrusted = untrusted_verification(plan, reg, pol)
            if untrusted is not None:
                raise GovernanceRefused(
                    untrusted,
                    hint=f"add it to {TRUST_SETTING} in the policy file ({pol.source}) if you"
                    " trust the plugin",
                )
        except (GovernanceRefused, NotAllowed) as exc:  # the policy refused an action
            log.append(
                "refused",
                {
                    "runbook": runbook.id,
                    "profile": profile_name,
                    "environment": profile.environment,
                    "reason": exc.message,
                },
                run_id,
            )
            raise
        hyp = plan.hypothesis
        signals: dict[str, Any] = {
            "confidence": hyp.confidence
            if hyp is not None and plan.specificity is not None
            else None,
            "specificity": plan.specificity,
            "kind": hyp.kind if hyp is not None else (runbook.applies_to.kinds or ["unknown"])[0],
            "minutes_since_change": _minutes_since_change(report, now),
            "verdict_escalate": report.verdict.escalate if report else None,
            "unsupported": unsupported_by(runbook, report),
        }
        state = RunState(
            run_id=run_id,
            runbook_id=runbook.id,
            runbook_sha256=runbook.sha256 or _model_sha(runbook),
            runbook_source=runbook.source,
            profile=profile_name,
            environment=profile.environment,
            kube_context=profile.kube_context,
            kube_namespace=profile.namespace,
            params=dict(plan.values),
            param_sources=dict(plan.sources),
            alert_id=report.alert.id if report else None,
            dry_run=dry_run,
            steps=[StepState(id=s.id) for s in plan.steps],
            break_glass=bg,
            signals=signals,
            runbook_json=runbook.model_dump(mode="json", by_alias=True),
        )
        lock = checkpoint.RunLock(run_id)  # before the run can be seen
        s = cls(
            plan=plan,
            state=state,
            policy=pol,
            ctx=ctx,
            registry=reg,
            audit=log,
            record=record or default_track_record(profile),
            clock=clock or (lambda: datetime.now(UTC)),
        )
        s.lock = lock
        try:
            rec = log.append(
                "run_start",
                {
                    "runbook": runbook.id,
                    "runbook_sha256": state.runbook_sha256,
                    "runbook_source": runbook.source,
                    "profile": profile_name,
                    "environment": profile.environment,
                    "kube": {"context": profile.kube_context, "namespace": profile.namespace},
                    "params": plan.values,
                    "param_sources": plan.sources,
                    "alert": state.alert_id,
                    "dry_run": dry_run,
                    "policy": pol.source,
                    "signals": signals,
                    "plan": [s._planned(ps) for ps in plan.steps],
                },
                run_id,
            )
        except BaseException:
            lock.release()  # the run never started: no lock of it is left behind
            raise
        if bg:
            log.append("break_glass", {"reason": bg}, run_id)
        for st in state.steps:
            st.audit_seq = rec.seq
        checkpoint.save(state)
        return s

    @classmethod
    def resume(
        cls,
        run_id: str,
        profile_name: str,
        profile: Profile,
        *,
        policy: Policy | None = None,
        registry: Registry | None = None,
        audit: AuditSink | None = None,
        record: TrackRecord | None = None,
        ctx: ExecContext | None = None,
        break_glass: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> RunSession:
        lock = checkpoint.RunLock(run_id)  # before reading: the holder may be writing
        try:
            return cls._resume(
                run_id,
                profile_name,
                profile,
                lock,
                policy=policy,
                registry=registry,
                audit=audit,
                record=record,
                ctx=ctx,
                break_glass=break_glass,
                clock=clock,
            )
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _resume(
        cls,
        run_id: str,
        profile_name: str,
        profile: Profile,
        lock: checkpoint.RunLock,
        *,
        policy: Policy | None,
        registry: Registry | None,
        audit: AuditSink | None,
        record: TrackRecord | None,
        ctx: ExecContext | None,
        break_glass: str | None,
        clock: Callable[[], datetime] | None,
    ) -> RunSession:
        state = checkpoint.load(run_id)
        if state.status in ("completed", "unverified"):
            raise UsageError(f"run {run_id} is {state.status}; nothing to resume")
        if state.dry_run:
            raise UsageError(f"run {run_id} was a dry run; start a new run instead")
        if state.environment != profile.environment:
            raise GovernanceRefused(  # what was approved for one environment stays there
                f"run {run_id} started in environment {state.environment!r}; this profile's"
                f" environment is {profile.environment!r}",
                hint=f"resume with --profile {state.profile}",
            )
        if state.kube_context and state.kube_context != profile.kube_context:
            raise GovernanceRefused(
                f"run {run_id} was planned against Kubernetes context {state.kube_context!r},"
                f" this profile names {profile.kube_context or 'none'}",
                hint=f"resume with the profile it started with (--profile {state.profile}),"
                " or start a new run",
            )
        fresh = f"start a new run: `aisre runbook run {state.runbook_id}`"
        try:
            runbook = Runbook.model_validate(state.runbook_json)
        except ValidationError as exc:  # an old, damaged or edited checkpoint
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"]) or "runbook"
            raise UsageError(
                f"run {run_id}: its checkpoint holds no usable runbook ({where}: {err['msg']})",
                hint=fresh,
            ) from None
        runbook.source = state.runbook_source
        if state.runbook_source and Path(state.runbook_source).exists():
            loaded = load_file(Path(state.runbook_source))
            if loaded.runbook is None or loaded.runbook.sha256 != state.runbook_sha256:
                raise GovernanceRefused(
                    f"runbook {state.runbook_id} changed since run {run_id} started",
                    hint="start a new run: the plan that was approved is not the plan on disk",
                )
            runbook = loaded.runbook
        runbook.sha256 = state.runbook_sha256
        planned = [st.id for st in state.steps]
        if [st.id for st in runbook.steps] != planned:  # never half-apply another plan
            raise UsageError(
                f"run {run_id}: its checkpoint's steps ({', '.join(planned) or 'none'}) are not"
                f" those of runbook {state.runbook_id}",
                hint=fresh,
            )
        pol = policy or load_policy(profile.policy_file)
        reg = registry or default_registry()
        log = audit or open_audit_log(profile)
        ctx = ctx or cls.context_for(profile, pol)
        given = {
            k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in state.params.items()
            if v is not None
        }
        plan = build_plan(
            runbook,
            given,
            report=None,
            registry=reg,
            ctx=ctx,
            run_id=run_id,
            governed=governed_scope(reg, pol),
        )
        plan.sources = dict(state.param_sources)
        untrusted = untrusted_verification(plan, reg, pol)
        if untrusted is not None:  # the policy may have changed since the run started
            raise GovernanceRefused(
                untrusted,
                hint=f"add it to {TRUST_SETTING} in the policy file ({pol.source}) if you"
                " trust the plugin",
            )
        bg = _check_break_glass(break_glass)
        s = cls(
            plan=plan,
            state=state,
            policy=pol,
            ctx=ctx,
            registry=reg,
            audit=log,
            record=record or default_track_record(profile),
            clock=clock or (lambda: datetime.now(UTC)),
        )
        s.lock = lock
        changes = s._reconcile()
        state.status = "running"
        if bg:
            state.break_glass = bg
        log.append(
            "resume",
            {"reconciled": changes, "steps": {st.id: st.status for st in state.steps}},
            run_id,
        )
        if bg:
            log.append("break_glass", {"reason": bg}, run_id)
        checkpoint.save(state)
        return s

    @staticmethod
    def context_for(profile: Profile, policy: Policy) -> ExecContext:
        return ExecContext(
            profile=profile,
            http_allowlist=tuple(policy.http_allowlist),
            exec_allowlist=tuple(tuple(p) for p in policy.exec_allowlist),
        )

    def _reconcile(self) -> dict[str, str]:
        """Bring step states in line with the audit log. Returns what changed."""
        last_intent: dict[str, AuditRecord] = {}
        results: dict[tuple[str, int], AuditRecord] = {}
        checks: dict[tuple[str, int], AuditRecord] = {}
        skipped: set[str] = set()
        for rec in self.audit.records():
            if rec.run != self.state.run_id:
                continue
            step = str(rec.data.get("step", ""))
            if rec.event == "intent" and not rec.data.get("undo_of"):
                last_intent[step] = rec
            elif rec.event == "result" and not rec.data.get("undo_of"):
                results[(step, int(rec.data.get("attempt", 0)))] = rec
            elif rec.event == "verify":
                checks[(step, int(rec.data.get("attempt", 0)))] = rec  # the last one counts
            elif rec.event == "skip":
                skipped.add(step)
        by_id = {ps.id: ps for ps in self.plan.steps}
        changed: dict[str, str] = {}
        for st in self.state.steps:
            before = st.status
            intent = last_intent.get(st.id)
            if intent is not None:
                attempt = int(intent.data.get("attempt", 0))
                st.attempts = max(st.attempts, attempt)
                res = results.get((st.id, attempt))
                if res is not None:
                    ok = bool(res.data.get("ok"))
                    stopped = res.data.get("status") == "interrupted"
                    if st.status not in ("undone",):
                        st.status = "done" if ok else "interrupted" if stopped else "failed"
                    st.output = dict(res.data.get("output") or {})
                    st.error = res.data.get("error")
                    if stopped and not ok:
                        st.error = _maybe_ran(st.error)
                    st.audit_seq = res.seq
                    chk = checks.get((st.id, attempt))
                    if ok and st.id in by_id:
                        if chk is None:  # died before its check was recorded
                            st.verified, st.unverified = None, None
                        else:
                            _mark_verified(
                                st,
                                bool(chk.data.get("ok")),
                                bool(chk.data.get("skipped")),
                                str(chk.data.get("detail") or ""),
                                chk.data.get("status") == "interrupted",
                                by_id[st.id],
                            )
                elif st.status in ("running", "done", "failed", "interrupted"):
                    st.status = "pending"
                    st.error = f"interrupted after its intent was recorded: {MAYBE_RAN}"
                    st.audit_seq = intent.seq
            elif st.id in skipped:
                st.status = "skipped"
            elif st.status in ("running", "refused", "failed", "interrupted"):
                st.status = "pending"
            if st.status == "refused":
                st.status = "pending"
            if st.status != before:
                changed[st.id] = f"{before} -> {st.status}"
        return changed

    # ------------------------------------------------------------ queries

    @property
    def run_id(self) -> str:
        return self.state.run_id

    @property
    def dry_run(self) -> bool:
        return self.state.dry_run

    def status_of(self, ps: PlannedStep) -> StepStatus:
        return self.state.step(ps.id).status

    def current_step(self) -> PlannedStep | None:
        """The next step to act on, or None when every step is done or skipped."""
        if self.state.status not in ("running",):
            return None
        for ps in self.plan.steps:
            if self.state.step(ps.id).status not in ("done", "skipped", "undone"):
                return ps
        return None

    def facts(self, ps: PlannedStep) -> StepFacts:
        sig = self.state.signals
        conf = sig.get("confidence")
        spec = sig.get("specificity")
        mins = sig.get("minutes_since_change")
        return StepFacts(
            capability=ps.capability.name,
            scope=ps.scope,
            environment=self.state.environment,
            runbook_id=self.state.runbook_id,
            kind=str(sig.get("kind") or "unknown"),
            confirm_forced=ps.step.confirm,
            handoff=bool(getattr(ps.capability, "handoff", False)),
            blast_radius=ps.blast_radius(),
            confidence=float(conf) if isinstance(conf, int | float) else None,
            specificity=float(spec) if isinstance(spec, int | float) else None,
            minutes_since_change=float(mins) if isinstance(mins, int | float) else None,
            now=self.clock(),
            break_glass=self.state.break_glass,
            unpinned=unpinned_reason(ps.capability, self.ctx),
            unpinned_hint=getattr(ps.capability, "pin_hint", None),
            unsupported=sig.get("unsupported") or None,
            plugin=self.registry.plugin(ps.capability.name) is not None,
        )

    def decide(self, ps: PlannedStep) -> Decision:
        """The routing decision for a step right now (pure; call it as often as needed)."""
        return decide(self.facts(ps), self.policy, _Readable(self.record))

    def _planned(self, ps: PlannedStep) -> dict[str, Any]:
        """One step of the plan, for the run_start record."""
        d = self.decide(ps)
        return {
            "step": ps.id,
            "capability": ps.capability.name,
            "scope": ps.scope,
            **_governed_as(d),
            "target": _target(ps),
            "action": ps.action.text(),
            "digest": ps.action.digest(),
            "decision": d.to_dict(),
        }

    def preview(self, ps: PlannedStep) -> Preview:
        """Dry run: show exactly what the step would do. Audited; changes nothing."""
        pv = executor.dry_run(ps, self.ctx)
        self.audit.append(
            "dry_run",
            {
                "step": ps.id,
                "target": _target(ps),
                "digest": ps.action.digest(),
                "ok": pv.ok,
                "preview": pv.text[:4000],
            },
            self.run_id,
        )
        return pv

    # ------------------------------------------------------------ actions

    def _token(self, step_id: str, digest: str) -> str:
        msg = f"{self.run_id}\0{step_id}\0{digest}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def confirm(self, ps: PlannedStep, shown_digest: str) -> Confirmation:
        """Record a human's yes to the action whose digest was shown."""
        current = ps.capability.render(ps.inputs, self.ctx).digest()
        if shown_digest != current:
            raise GovernanceRefused(
                f"step {ps.id}: the action shown is not the action that would run",
                hint="it changed after it was displayed; review it again",
            )
        self.audit.append(
            "confirm",
            {"step": ps.id, "digest": current, "via": "keystroke", "undo_of": ps.undo_of},
            self.run_id,
        )
        return Confirmation(self.run_id, ps.id, current, self._token(ps.id, current))

    def _check_allowed(
        self, ps: PlannedStep, confirmation: Confirmation | None
    ) -> tuple[Decision, str]:
        if self.finished or self.state.status != "running":
            raise GovernanceRefused(f"run {self.run_id} is {self.state.status}")
        if self.state.dry_run:
            raise GovernanceRefused("this is a dry run: nothing is executed")
        d = self.decide(ps)
        digest = ps.capability.render(ps.inputs, self.ctx).digest()
        if d.kind in ("refuse", "escalate"):
            raise GovernanceRefused(f"step {ps.id}: {d.kind}: {'; '.join(d.reasons)}")
        if d.kind == "confirm" or confirmation is not None:
            if confirmation is None:
                raise GovernanceRefused(
                    f"step {ps.id} needs a human confirmation", hint="press y at the prompt"
                )
            if (
                confirmation.run_id != self.run_id
                or confirmation.step_id != ps.id
                or confirmation.action_digest != digest
                or not hmac.compare_digest(confirmation.token, self._token(ps.id, digest))
            ):
                raise GovernanceRefused(
                    f"step {ps.id}: the confirmation does not match this action",
                    hint="the action changed after it was confirmed; confirm it again",
                )
            return d, "human"
        return d, "autonomy"

    def run(
        self, ps: PlannedStep, confirmation: Confirmation | None = None, *, verify: bool = True
    ) -> StepOutcome:
        """Run the current step under governance. See the module docstring.

        With `verify=False` the step's verification is left to a separate `verify()`
        call (the stepper does that, so a front end can show the wait)."""
        if ps.undo_of is not None:
            return self.run_undo(ps, confirmation)
        cur = self.current_step()
        if cur is None or cur.id != ps.id:
            raise GovernanceRefused(
                f"step {ps.id} is not the current step"
                + (f" ({cur.id} is)" if cur is not None else " (the run has no pending step)")
            )
        d, via = self._check_allowed(ps, confirmation)
        st = self.state.step(ps.id)
        st.status = "running"
        st.attempts += 1
        attempt = st.attempts
        checkpoint.save(self.state)
        crashpoint(f"before_intent@{ps.id}")
        action = ps.capability.render(ps.inputs, self.ctx)
        try:
            intent = self.audit.append(
                "intent",
                {
                    "step": ps.id,
                    "attempt": attempt,
                    "capability": ps.capability.name,
                    "scope": ps.scope,
                    **_governed_as(d),
                    "target": _target(ps),
                    "action": action.text(),
                    "digest": action.digest(),
                    "decision": d.to_dict(),
                    "confirmed_via": via,
                    "break_glass": self.state.break_glass if d.freeze else None,
                },
                self.run_id,
                tag=ps.id,
            )
        except Exception:
            st.status = "pending"
            st.attempts -= 1
            checkpoint.save(self.state)
            raise
        crashpoint(f"after_intent@{ps.id}")
        try:
            res = executor.execute(
                ps, self.ctx, Permit(self.run_id, ps.id, action.digest(), intent.seq)
            )
        except Exception as exc:  # a bug or a refused permit: record it, never leave it open
            self.audit.append(
                "result",
                {
                    "step": ps.id,
                    "attempt": attempt,
                    "ok": False,
                    "output": {},
                    "error": f"{type(exc).__name__}: {exc}",
                    "intent": intent.seq,
                },
                self.run_id,
            )
            st.status = "failed"
            st.error = str(exc)
            checkpoint.save(self.state)
            raise
        crashpoint(f"after_action@{ps.id}")
        result = self.audit.append(
            "result",
            {
                "step": ps.id,
                "attempt": attempt,
                "target": _target(ps),
                "ok": res.ok,
                "output": res.output,
                "error": res.error,
                "seconds": round(res.seconds, 3),
                "intent": intent.seq,
                **_interrupted(res.interrupted),
            },
            self.run_id,
            tag=ps.id,
        )
        crashpoint(f"after_result@{ps.id}")
        st.output = res.output
        st.error = res.error
        st.audit_seq = result.seq
        outcome = StepOutcome(
            ps.id,
            "done",
            res.ok,
            res.output,
            res.error,
            audit_seq=result.seq,
            exit_code=res.exit_code,
        )
        if not res.ok:
            st.status = "interrupted" if res.interrupted else "failed"
            if res.interrupted:
                st.error = _maybe_ran(res.error)
            outcome.status = st.status
            checkpoint.save(self.state)
            crashpoint(f"after_checkpoint@{ps.id}")
            return outcome
        st.status = "done"
        checkpoint.save(self.state)
        crashpoint(f"after_checkpoint@{ps.id}")
        if verify and ps.step.verify is not None:
            vr = self.verify(ps)
            outcome.verify = vr
            if not vr.ok and not vr.skipped:
                outcome.ok = False
                outcome.undo = self.undo_for(ps)
        return outcome

    def verify(
        self, ps: PlannedStep, progress: Callable[[str], None] | None = None
    ) -> VerifyResult:
        """Check that a step that ran did what it should (its `verify:`), audited.

        A check that cannot be made (no Prometheus configured) leaves the step
        *unverified*: the run then ends `unverified`, not `completed`. `progress` is
        told about each attempt while the check waits for the system to settle."""
        st = self.state.step(ps.id)
        if st.status != "done":
            raise GovernanceRefused(f"step {ps.id} has not run; nothing to verify")
        vr = executor.verify(ps, self.ctx, self.registry, progress=progress)
        _mark_verified(st, vr.ok, vr.skipped, vr.detail, bool(vr.interrupted), ps)
        rec = self.audit.append(
            "verify",
            {
                "step": ps.id,
                "attempt": st.attempts,
                "target": self._verify_target(ps),
                "ok": vr.ok,
                "skipped": vr.skipped,
                "detail": vr.detail,
                "value": vr.value,
                "attempts": vr.attempts,
                **_interrupted(vr.interrupted),
            },
            self.run_id,
        )
        st.audit_seq = rec.seq
        checkpoint.save(self.state)
        return vr

    def _verify_target(self, ps: PlannedStep) -> dict[str, str | None] | None:
        """Where a capability verification (`kubectl rollout status`) looks."""
        v = ps.step.verify
        if v is None or v.capability is None or ps.verify_inputs is None:
            return None
        t = target_of(self.registry.get(v.capability), ps.verify_inputs, self.ctx)
        return t.to_dict() if t is not None else None

    def undo_for(self, ps: PlannedStep) -> PlannedStep | None:
        """The planned undo of a step that ran (None when it has none)."""
        if ps.id in self._undo_for:
            return self._undo_for[ps.id]
        st = self.state.step(ps.id)
        if st.status != "done":
            return None
        u = plan_undo(self.plan, ps, st.output, self.registry, self.ctx, self.run_id)
        if u is not None:
            self._undo_for[ps.id] = u
        return u

    def run_undo(self, undo: PlannedStep, confirmation: Confirmation | None) -> StepOutcome:
        """Run the undo offered for a step (governed like any step)."""
        if undo.undo_of is None or self._undo_for.get(undo.undo_of) is not undo:
            raise GovernanceRefused("not an undo this session offered")
        d, via = self._check_allowed(undo, confirmation)
        action = undo.capability.render(undo.inputs, self.ctx)
        intent = self.audit.append(
            "intent",
            {
                "step": undo.id,
                "undo_of": undo.undo_of,
                "capability": undo.capability.name,
                "scope": undo.scope,
                **_governed_as(d),
                "target": _target(undo),
                "action": action.text(),
                "digest": action.digest(),
                "decision": d.to_dict(),
                "confirmed_via": via,
            },
            self.run_id,
        )
        res = executor.execute(
            undo, self.ctx, Permit(self.run_id, undo.id, action.digest(), intent.seq)
        )
        rec = self.audit.append(
            "result",
            {
                "step": undo.id,
                "undo_of": undo.undo_of,
                "target": _target(undo),
                "ok": res.ok,
                "output": res.output,
                "error": res.error,
                "intent": intent.seq,
                **_interrupted(res.interrupted),
            },
            self.run_id,
        )
        if res.ok:
            self.state.step(undo.undo_of).status = "undone"
            checkpoint.save(self.state)
        return StepOutcome(
            undo.id,
            "done" if res.ok else "failed",
            res.ok,
            res.output,
            res.error,
            audit_seq=rec.seq,
        )

    def skip(self, ps: PlannedStep, reason: str = "skipped by the operator") -> None:
        cur = self.current_step()
        if cur is None or cur.id != ps.id:
            raise GovernanceRefused(f"step {ps.id} is not the current step")
        self.audit.append("skip", {"step": ps.id, "reason": reason}, self.run_id)
        self.state.step(ps.id).status = "skipped"
        checkpoint.save(self.state)

    def stop(self, ps: PlannedStep | None, reason: str, decision: Decision | None = None) -> None:
        """Stop the run without finishing it (refused, escalated, no terminal, failure)."""
        data: dict[str, Any] = {"step": ps.id if ps else None, "reason": reason}
        if decision is not None:
            data["decision"] = decision.to_dict()
        self.audit.append("stopped", data, self.run_id)
        if ps is not None and decision is not None and decision.kind in ("refuse", "escalate"):
            self.state.step(ps.id).status = "refused"
        self.state.status = "stopped"
        checkpoint.save(self.state)

    def abort(self, reason: str = "aborted by the operator") -> None:
        self.audit.append("abort", {"reason": reason}, self.run_id)
        self.state.status = "aborted"
        checkpoint.save(self.state)

    def finish(self) -> RunSummary:
        """Write run_end and return the summary with the audit head hash."""
        if self.state.status == "running" and self.state.dry_run:
            self.state.status = "completed"  # a dry run ends when its plan was shown
        if self.state.status == "running":
            if self.current_step() is None:
                unverified = any(s.unverified for s in self.state.steps if s.status == "done")
                self.state.status = "unverified" if unverified else "completed"
            elif any(s.status == "failed" for s in self.state.steps):
                self.state.status = "failed"
            else:
                self.state.status = "stopped"
        rec = self.audit.append(
            "run_end",
            {"status": self.state.status, "steps": {s.id: s.status for s in self.state.steps}},
            self.run_id,
        )
        checkpoint.save(self.state)
        self.finished = True
        self._remember(rec.hash)
        if self.lock is not None:
            self.lock.release()
        return RunSummary(
            self.run_id,
            self.state.status,
            {s.id: s.status for s in self.state.steps},
            rec.hash,
            rec.seq,
            dry_run=self.state.dry_run,
            unverified={
                s.id: s.unverified for s in self.state.steps if s.status == "done" and s.unverified
            },
            audit_warning=str(getattr(self.audit, "integrity_warning", "") or ""),
            audit_spooled=bool(getattr(self.audit, "last_spooled", False)),
        )

    def _remember(self, audit_head: str) -> None:
        """Record the run's outcome in the incident memory (the track record)."""
        from aisre_cli.memory.store import MemoryStore, RunOutcome

        if self.state.dry_run or not isinstance(self.record, MemoryStore):
            return
        try:
            self.record.record_run(
                RunOutcome(
                    run_id=self.run_id,
                    runbook_id=self.state.runbook_id,
                    outcome=run_outcome(self.state),
                    kind=str(self.state.signals.get("kind") or "unknown"),
                    alert_id=self.state.alert_id,
                    environment=self.state.environment,
                    audit_head=audit_head,
                    steps={s.id: s.status for s in self.state.steps},
                )
            )
        except AisreError:
            pass  # the audit log is the record of truth; memory is a view derived from it

    def fail(self, ps: PlannedStep, reason: str) -> None:
        """Stop after a failed step or failed verification; resume offers it again."""
        self.audit.append("stopped", {"step": ps.id, "reason": reason}, self.run_id)
        self.state.status = "failed"
        checkpoint.save(self.state)


def _mark_verified(
    st: StepState, ok: bool, skipped: bool, detail: str, interrupted: bool, ps: PlannedStep
) -> None:
    """A step's verification state from one check. An interrupted check settles
    nothing: the step stays unchecked, so a resumed run checks it again (the stepper's
    `_unchecked`) instead of ending `unverified` or going past a failure."""
    if interrupted:
        st.verified, st.unverified = None, None
    elif skipped and ps.step.verify is not None:
        st.verified, st.unverified = None, detail  # the check could not be made
    else:
        st.verified, st.unverified = ok, None


def governed_scope(registry: Registry, policy: Policy) -> Callable[[Capability], str | None]:
    """For `build_plan`: the scope governance routes a capability on when it is not the
    declared one (`routing.governed`: an untrusted plugin's `read` is a `write`), else
    None. Which steps write decides the dependencies between them."""

    def scope(cap: Capability) -> str | None:
        g = governed(
            cap.name,
            cap.scope,
            handoff=bool(getattr(cap, "handoff", False)),
            plugin=registry.plugin(cap.name) is not None,
            policy=policy,
        )
        return g.scope if g.scope != cap.scope else None

    return scope


def _governed_as(d: Decision) -> dict[str, str]:
    """`governed_as` for a step's audit record, when it was routed on another scope
    than the one its capability declares (an untrusted plugin's `read`)."""
    return {"governed_as": d.governed_as} if d.governed_as is not None else {}


def _target(ps: PlannedStep) -> dict[str, str | None] | None:
    """Where a step's action lands, for the audit log (None: not a targeted system)."""
    return ps.target.to_dict() if ps.target is not None else None


def _interrupted(signal_name: str | None) -> dict[str, Any]:
    """Audit fields of a step stopped by SIGINT/SIGTERM (`remediate.interrupt`)."""
    return {"status": "interrupted", "signal": signal_name} if signal_name else {}


def _model_sha(rb: Runbook) -> str:
    import json

    return hashlib.sha256(
        json.dumps(rb.model_dump(mode="json", by_alias=True), sort_keys=True).encode()
    ).hexdigest()
