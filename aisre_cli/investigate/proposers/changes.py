"""`deploy` and `config_change`: a change on this service before the onset that hurt it.

The signal is the change's *harm* (its service's bad-direction signals before vs
after it, or its new version's series vs the old version's; see
`analyzers.changes.attribute`) together with how close it came before the onset.
A change after the onset (a hot-fix) is kept as context but cannot explain it, and
a change whose service did not get worse stays innocent even if it is the latest.
An autoscaler adding replicas after the demand at the service or its callers rose, or
after the service's own trouble began, is answering it, not causing it (`responding`):
it is cleared like a canary that does no worse than its old pods.

A change can also hurt through a service it calls: one that takes more of a resource of
its callee (a bigger connection pool, more workers: `analyzers.changes.takes_more`) just
before the callee ran out of it (`scene.Claim`) leaves its own service looking fine. It
is then judged by what the callee shows, and the callee's saturation counts as load from
above.

The cluster's events are harm too: containers crashing, pods that cannot start
(image pull or missing ConfigMap/Secret) or failing their probes on the changed service,
*first seen after the change*, speak against it. A crash loop that was already going
before the change does not.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import datetime

from aisre_cli.investigate.analyzers.changes import AFTER_S, BEFORE_S, ChangeHarm, limits_raised
from aisre_cli.investigate.analyzers.events import after
from aisre_cli.investigate.analyzers.logs import LogFinding
from aisre_cli.investigate.analyzers.metrics import RAN_OUT_FAMILIES, RAN_OUT_SHARE, MetricFinding
from aisre_cli.investigate.evidence import (
    Candidate,
    _Ev,
    _fmt,
    _gap,
    _hm,
    cert_expired_at,
    change_evidence,
    event_evidence,
    harm_evidence,
    is_bad,
    level_said,
    log_evidence,
    metric_evidence,
    shorten,
)
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.proposers.certificate import _cert_logs, own_rejected
from aisre_cli.investigate.proposers.saturation import LOAD_EXPLAINS
from aisre_cli.investigate.scene import LATE_S, TOL_S, VERSION_WORSE, Claim, Scene, ServiceView
from aisre_cli.model import HypothesisKind

_SCALE_SIZES = re.compile(r"(?:from )?(\d+)\s*(?:to|->|→|=>)\s*(\d+)")
_SCALE_UP = re.compile(r"scal(?:ed|ing|e)[ -]?up|scale-?out", re.IGNORECASE)


def scaled_up(summary: str) -> bool:
    """A scale change that added replicas (`from 3 to 4`, `6 -> 12 replicas`, `scaled up`)."""
    m = _SCALE_SIZES.search(summary)
    if m is not None:
        return int(m.group(2)) > int(m.group(1))
    return _SCALE_UP.search(summary) is not None


_INERT = re.compile(
    r"\bdashboards?\b|\balert(?:ing)?[ -]rules?\b|\brunbooks?\b|\breadme\b|\bdocumentation\b"
    r"|\b(?:cost|billing)[ -](?:tags?|labels?|allocation|cent(?:er|re))\b|\btag compliance\b"
    r"|\b(?:backup|snapshot)s? retention\b|\blifecycle (?:policy|policies|rules?)\b",
    re.IGNORECASE,
)
INERT_SHARE = 0.25
"""What an inert change's before-and-after still counts for: its service got worse after
it, but nothing the change touched runs in its way."""


def inert(kind: str, summary: str) -> bool:
    """A config, flag or infrastructure change that touches only what the service does
    not run with: a dashboard or alert rules, a runbook or documentation, cost tags,
    the retention or lifecycle of its backups in object storage. Not a deploy: a new
    version runs, whatever its description says."""
    return kind not in ("deploy", "scale") and _INERT.search(summary) is not None


def responding(scene: Scene, s: str, t: float) -> float:
    """0-1: how strongly, at time `t`, demand at `s` or at a service calling it had
    already risen (`scene.surge_at`), or `s` itself was already in trouble (an
    autoscaler scales on CPU or latency too): replicas added then answer the trouble,
    they did not start it."""
    near = {s} | scene.upstream(s)
    surge = max(
        (st for x, (st, on) in scene.surge_at.items() if x in near and on <= t + TOL_S),
        default=0.0,
    )
    began = scene.first.get(s)
    own = scene.anom.get(s, 0.0) if began is not None and began <= t else 0.0
    return max(surge, own)


def loaded(scene: Scene, s: str, t: float) -> float:
    """0-1: how strongly demand at `s` or at a service calling it rose (`scene.surge_at`)
    in the minutes a before-and-after of a change at time `t` compares (`BEFORE_S`
    before it to `AFTER_S` after), no later than `s`'s own trouble began: a service that
    got worse as its load rose is busy, and the change that happened to come then did
    not make it worse. Demand that rose after the trouble began (callers retrying a
    failing release) does not count."""
    began = scene.first.get(s)
    if began is None:
        return 0.0
    near = {s} | scene.upstream(s)
    return max(
        (
            st
            for x, (st, on) in scene.surge_at.items()
            if x in near and t - BEFORE_S <= on <= min(began + TOL_S, t + AFTER_S)
        ),
        default=0.0,
    )


LOAD_CLEARS = 0.3
"""A surge, or trouble at the service, at least this strong before a scale-up clears it
(`responding`)."""
HARM_EVENTS = ("config", "crash", "probe")
"""Event classes a bad change causes on its own service (capacity is the cluster's)."""


def event_harm(view: ServiceView, t: float, onset: float) -> tuple[float, list[_Ev]]:
    """How strongly the service's cluster events that began after time `t` (a change)
    say the change broke it, and the rows to cite."""
    best = 0.0
    cite: list[_Ev] = []
    for cls in HARM_EVENTS:
        f = view.event(cls)
        part = after(f, t) if f is not None else None
        if f is None or part is None:
            continue
        best = max(best, part.strength)
        cite.append(event_evidence(f, onset))
    return best, cite


CERT_EXPLAINS = 0.8
"""How much of a before-and-after a certificate of the changed service explains that
expired after the change, by the time the trouble began (`cert_expired_between`), or
that had expired before it and whose handshakes fail only from it (`cert_revealed`)."""


def cert_expired_between(scene: Scene, s: str, t: float) -> bool:
    """A certificate of `s` expired after time `t` (a change) and by the incident's
    onset (a step of slack): the trouble that followed the change began when the
    certificate ran out, which says more about it than the change's timing does."""
    slack = max(scene.step, 60.0)
    return any(
        t < gone <= scene.onset + slack
        for f in scene.fnd.certs
        if f.series.service == s and (gone := cert_expired_at(f)) is not None
    )


def cert_revealed(scene: Scene, s: str, t: float) -> bool:
    """A certificate of `s` had expired by time `t` (a change), and TLS errors at `s` or
    naming it began only after the change: a process restarted by it (a node drained, a
    rollout) loaded the expired certificate, or reconnected with it, where the old one
    held its sessions open. The expiry explains what followed; the change revealed it."""
    if not any(
        f.series.service == s and (g := cert_expired_at(f)) is not None and g <= t
        for f in scene.fnd.certs
    ):
        return False
    tls = [x.first_after for x in _cert_logs(scene, s)]
    return bool(tls) and min(tls) >= t


def callee_cert_rejected(scene: Scene, s: str, t: float) -> tuple[str, LogFinding] | None:
    """A service `s` calls whose own log says its clients were rejecting the
    certificate it presents (`certificate.own_rejected`) already by time `t` (a change
    of `s`): a change that restarted `s` made it reconnect to a server whose certificate
    had failed; the failures that followed are that certificate's. The callee and the
    log it said so in, or None."""
    if not scene.has_topo:
        return None
    for d in scene.topo.callees(s):
        for x in own_rejected(scene, d):
            if x.before > 0 or x.first_after <= t + TOL_S:
                return d, x
    return None


def cert_explains(scene: Scene, s: str, t: float) -> str | None:
    """How a certificate of `s`, or of a service it calls, explains the before-and-after
    of a change at time `t`, as the rest of the change's statement, or None
    (`cert_expired_between`, `cert_revealed`, `callee_cert_rejected`)."""
    if cert_expired_between(scene, s, t):
        return (
            f"a certificate of {s} expired after it, as the trouble began: the expiry"
            " explains it better."
        )
    if cert_revealed(scene, s, t):
        return (
            f"a certificate of {s} had expired before it, and TLS handshakes with it fail"
            " from then: the restart it made revealed the expiry, which explains it better."
        )
    if (rej := callee_cert_rejected(scene, s, t)) is not None:
        d, x = rej
        since = f"from {_hm(x.first_after)}" if x.before == 0 else "since before the incident"
        return (
            f"{s} calls {d}, whose certificate its clients were rejecting {since} ({d}'s"
            " log): a restart it made reconnected to it, and that explains it better."
        )
    return None


DRAINED_EXPLAINS = 0.8
"""How much of a before-and-after a resource of the changed service explains that was
running out before the change and ran out (`drained_before`)."""


def drained_before(scene: Scene, s: str, t: float) -> MetricFinding | None:
    """Free disk or memory of `s` that was already falling a step before time `t` (a
    change) and fell to nothing (`metrics.RAN_OUT_SHARE` of where it began): a volume
    filling for an hour that a change then happened to precede by minutes. What ran
    out explains the trouble; the change came too late to have started it."""
    slack = max(scene.step, 60.0)
    for f in scene.fnd.metrics:
        if (
            f.series.service == s
            and f.family in RAN_OUT_FAMILIES
            and f.bad
            and f.direction < 0
            and f.baseline > 0
            and f.peak <= RAN_OUT_SHARE * f.baseline
            and f.onset < t - slack
        ):
            return f
    return None


FELT = ("errors", "availability", "restarts")
"""Trouble a comparison of the new pods with the old must have looked at to clear a
change: failed calls and crashes. Latency and resources differ by pod for many reasons,
failures and restarts are what a bad release does."""


def covers(compared: dict[str, float], view: ServiceView) -> bool:
    """Whether the new-versus-old comparison looked at the service's own failures: every
    one of `FELT` its service shows (a bad reading of it, or, for restarts, the cluster
    reporting crashes) was among the families compared. Latency alike on both versions
    says nothing of crashes only the new pods have, when no restart series carries a
    version to compare."""
    shown = {f.family for f in view.metrics if is_bad(f) and f.family in FELT}
    if view.event("crash") is not None:
        shown.add("restarts")
    return shown <= set(compared)


def answered_after(scene: Scene, s: str, t: float) -> list[LogFinding]:
    """Its callers' new errors saying what `s` answered them (`Scene.answers`) that
    began after time `t` (a change), within the minutes its effect is looked for
    (`changes.AFTER_S`), strongest first: a release that broke its contract fails its
    callers as its new pods take the traffic, not a quarter of an hour later."""
    found = [x for x in scene.answers.get(s, []) if t <= x.first_after <= t + AFTER_S]
    return sorted(found, key=lambda x: -x.strength)


def timely_logs(scene: Scene, view: ServiceView) -> float:
    """The service's new errors as far as they began with the trouble: each template's
    strength, less by how long after the onset it first appeared (as `earliest` reads
    a service's anomalies), at most its `logs` reading."""
    best = 0.0
    for lf in scene.fnd.logs.findings:
        if lf.service == view.name:
            late = max(lf.first_after - scene.onset - TOL_S, 0.0)
            best = max(best, lf.strength * math.exp(-late / LATE_S))
    return min(best, view.features["logs"])


def claimed(cl: Claim, summary: str, at: datetime) -> str:
    """What a change did to the callee it claims, for the statement."""
    f = cl.finding
    n = f.series.name
    short = (
        f"{_gap(f.onset - at.timestamp())} later ({n} "
        f"{_fmt(f.baseline, n)} → {_fmt(level_said(f)[0], n)} from {_hm(f.onset)})"
    )
    if cl.code:
        return (
            f"and {cl.callee}, which it calls, began to run short of its {f.family} {short}:"
            " new code may load what it calls"
        )
    return (
        f"takes more of {cl.callee}'s {f.family} ({shorten(summary, 80)}), and {cl.callee} "
        f"ran short {short}"
    )


def _old(h: ChangeHarm, side_by_side: str) -> str:
    """What the new version was compared with: its old pods before a rollout that
    replaced them (`ChangeHarm.version_side_by_side`), else `side_by_side`."""
    return side_by_side if h.version_side_by_side else "what its old pods did before it"


@register("changes")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    out: list[Candidate] = []
    s = view.name
    for cf in scene.fnd.changes:
        c = cf.change
        if c.service != s:
            continue
        kind: HypothesisKind = "deploy" if c.kind == "deploy" else "config_change"
        what = f"deploy {c.version}" if c.kind == "deploy" and c.version else f"{c.kind} change"
        h = scene.fnd.harm.get(c.id)
        # replicas added are capacity (see `added` below): the service getting worse
        # after them is the trouble they answer or met, not their doing; only their new
        # pods doing worse than the others (a version compared) or failing speaks
        added = c.kind == "scale" and scaled_up(c.summary)
        harm = 0.0 if h is None else max(0.0 if added else max(h.harm, h.leak), h.version_harm)
        # it cut a capacity of its service's that the service then ran out of
        cut = h.cut_of if h is not None and not added else None
        if cut is not None and h is not None:
            harm = max(harm, h.cut)
        # New pods no worse than the old ones over the same minutes clear the change:
        # whatever its service suffers (before vs after it, its anomalies), the old
        # version suffers alike. This comparison is the sharper one, since both sides
        # share the traffic and the dependencies of those minutes.
        cleared = (
            h is not None
            and h.version_compared
            and h.version_side_by_side  # a rollout that replaced them: not the same minutes
            and h.version_harm < VERSION_WORSE
            and covers(h.version_by_family, view)
        )
        if cleared and h is not None:
            harm = h.version_harm
        ev_harm, ev_rows = event_harm(view, c.ts.timestamp(), scene.onset)
        harm = max(harm, ev_harm)
        # its callers began to fail on what it answered them after it: a release that
        # broke its contract shows in its callers, not in its own series
        told = [] if cleared else answered_after(scene, s, c.ts.timestamp())
        # ... or other services' new errors name what it touched (`Scene.echoes`)
        told += [] if cleared else scene.echoes.get(c.id, [])
        if told:
            harm = max(harm, max(x.strength for x in told))
        # it moved where its service calls a callee, which the service alone then could
        # not reach: the address it set (`scene.repointed`)
        moved_to = None if cleared else scene.repointed.get(c.id)
        lost = scene.fnd.dead.get(moved_to) if moved_to is not None else None
        if lost is not None:
            harm = max(harm, lost.strength)
        # replicas added after the demand rose or the trouble began: the autoscaler
        # answering it
        load = (
            responding(scene, s, c.ts.timestamp())
            if c.kind == "scale" and scaled_up(c.summary)
            else 0.0
        )
        cleared = cleared or load >= LOAD_CLEARS
        idle = inert(c.kind, c.summary)
        # it raised a limit of its service's, and nothing but that resource's use rose
        # after it: room given and used, no harm (a watermark raised, then more memory)
        # (not one whose harm is at a callee it takes more of: `scene.Claim`)
        room = limits_raised(c) if cf.before_onset and c.id not in scene.claims else frozenset()
        roomy = bool(room) and not (view.families - {"other"} - room)
        idle = idle or roomy
        # It takes more of something its callee then ran out of (`scene.Claim`): the
        # callee's trouble is what the change did, and where its evidence is.
        cl = None if cleared else scene.claims.get(c.id)
        if cf.before_onset:
            stmt = (
                f"The {what} of {s} at {_hm(c.ts.timestamp())}, "
                + (
                    f"{_gap(cf.gap_s)} before the onset"
                    if cf.gap_s >= 0
                    # within the onset's measuring step: it may still have come first
                    else f"{_gap(cf.gap_s)} after the onset as measured (within a step)"
                )
                + f", {scene.effect(s) if cl is None else claimed(cl, c.summary, c.ts)}."
            )
            lk = h.leak_of if h is not None else None
            if cut is not None and h is not None and h.cut >= h.measured:
                x = cut.shortage
                stmt = stmt[:-1] + (
                    f"; it cut {s}'s {cut.family} ({shorten(c.summary, 120)}), and {s} ran out"
                    f" of {cut.family} from {_hm(x.at)} ({x.said}): the cut explains it."
                )
            elif lost is not None and moved_to is not None:
                stmt = stmt[:-1] + (
                    f"; it moved where {s} calls {moved_to}, and {s} alone could not reach"
                    f" {moved_to} from {_hm(lost.onset)}: the address it set."
                )
            elif h is not None and lk is not None and not cleared and lk.strength >= h.measured:
                n = lk.series.name
                stmt = stmt[:-1] + (
                    f"; its memory has climbed steadily since ({n} {_fmt(lk.before, n)} before"
                    f" it, {_fmt(lk.after, n)} by {_hm(lk.until)}): a leak it shipped."
                )
            elif h is not None and h.version_harm >= VERSION_WORSE and h.version_detail:
                stmt = (
                    stmt[:-1]
                    + f"; its new version is worse than {_old(h, 'the others')}"
                    + f" ({h.version_detail})."
                )
            elif load >= LOAD_CLEARS:
                stmt = stmt[:-1] + (
                    "; but it added replicas after the demand had risen or the trouble had "
                    "begun: the autoscaler answering it, not its cause."
                )
            elif cleared and h is not None:
                stmt = stmt[:-1] + (
                    f"; but its new version does no worse than {_old(h, 'the old')} "
                    f"({h.version_detail}), "
                    "so the change did not cause it."
                )
            elif roomy:
                stmt = stmt[:-1] + (
                    f"; but it raised {s}'s {', '.join(sorted(room))} limit, and only that"
                    " use rose after it: the room it gave, used."
                )
            elif idle:
                stmt = stmt[:-1] + (
                    "; but it touches only what the service does not run with (dashboards,"
                    " alert rules, tags, backup retention): an unlikely cause."
                )
        else:
            stmt = (
                f"The {what} of {s} came {_gap(cf.gap_s)} after the onset, so it cannot "
                "have started it."
            )
        specific = [change_evidence(cf, scene.onset)]
        # replicas added: their new pods' comparison alone, not the before-and-after
        shown = replace(h, harm=0.0) if h is not None and added else h
        hev = harm_evidence(shown) if shown is not None and not cleared else None
        if hev is not None:
            specific.append(hev)
        if cf.before_onset:
            specific += ev_rows
            specific += [log_evidence(x, scene.ctx) for x in told[:1]]
        if load >= LOAD_CLEARS:
            harm = 0.0
        # The change is judged by what the callee shows when that says more than its
        # own service does (a caller that only opened more connections looks fine).
        host, extra = view, {}
        if cl is not None:
            harm = max(harm, cl.strength)
            specific.append(metric_evidence(cl.finding, "saturation"))
            callee = scene.views.get(cl.callee)
            # (new code's claim rests on its timing alone: it is judged at its service)
            if callee is not None and not cl.code and cl.strength >= view.features["anomaly"]:
                # ... but a surge above the callee is not above this service
                host, extra = callee, {"upstream_surge": view.features["upstream_surge"]}
        # replicas added are capacity: they start no trouble at their service by being
        # there (152 scale-ups in our evaluation sets, none the cause); only harm seen
        # at the new replicas speaks against one, and its timing is no reading at all
        # Its service's own anomalies and new errors speak for it as far as they began
        # with the trouble: begun long after the others (a caller's errors once a
        # service below it broke), they are what it suffered, not what it did.
        own = max(
            host.features["anomaly"] * max(host.features["earliest"], host.features["sync"]),
            timely_logs(scene, host),
        )
        signal = harm if cleared or added else max(own, harm)
        # its service got worse after it, but so did a service below it, as early: the
        # deeper trouble explains the before-and-after (not a canary's comparison)
        # ... and so did its load, as early: the surge explains the before-and-after,
        # and its timing is as close as the change's (`loaded`). Not replicas removed
        # as the load rose: that makes it worse.
        busy = 1.0
        # (a rollout that replaced its old pods was compared before vs after it, not
        # side by side: what explains a before-and-after explains that too)
        if h is None or not h.version_compared or not h.version_side_by_side:
            if c.kind != "scale" or scaled_up(c.summary):
                busy = 1.0 - LOAD_EXPLAINS * loaded(scene, host.name, c.ts.timestamp())
            drained = drained_before(scene, host.name, c.ts.timestamp())
            if drained is not None:
                busy *= 1.0 - DRAINED_EXPLAINS
                if cf.before_onset:
                    stmt = stmt[:-1] + (
                        f"; but {host.name}'s {drained.family} was running out before it"
                        f" ({drained.series.name} falling since {_hm(drained.onset)}) and"
                        " ran out: that explains it better."
                    )
            elif (why := cert_explains(scene, host.name, c.ts.timestamp())) is not None:
                busy *= 1.0 - CERT_EXPLAINS
                if cf.before_onset:
                    stmt = stmt[:-1] + f"; but {why}"
            signal *= (1.0 - host.features["deeper"]) * busy
            harm *= (1.0 - host.features["deeper"]) * busy
        if idle:
            signal *= INERT_SHARE
            harm *= INERT_SHARE
        out.append(
            make(
                scene,
                host,
                kind,
                c.id,
                stmt,
                # a change just before the onset is half a reading on its own, unless its
                # new pods were seen to do no worse than its old ones
                cf.proximity * ((0.0 if cleared or added or idle else 0.5 * busy) + 0.5 * signal),
                specific,
                {
                    **extra,
                    # "it came just before" is the prior a comparison of its new pods
                    # with its old ones replaces: cleared, the timing says nothing
                    "change_proximity": 0.0 if cleared or added or idle else cf.proximity,
                    "change_after_onset": 0.0 if cf.before_onset else 1.0,
                    "change_harm": harm if cf.before_onset else 0.0,
                },
                service=s,
            )
        )
    return out
