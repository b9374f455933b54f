"""`network`: faults between services rather than inside one.

Three readings: network-family metrics in the bad direction (drops, retransmits,
errors on the interface), network-family log lines (timeouts, resets, unreachable),
and in traces, calls to or from the service whose *network time* grew (client span
minus server span; `analyzers.trace_edges`), while the service's own spans did not.
"""

from __future__ import annotations

from aisre_cli.investigate.analyzers.logs import LogFinding
from aisre_cli.investigate.analyzers.trace_edges import edge_strength
from aisre_cli.investigate.evidence import Candidate, _hm, is_bad, log_evidence, metric_evidence
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.scene import Scene, ServiceView, felt_by_clients

NET_EDGE_MIN = 0.1
"""A service's share of the grown network time from which traces alone propose it."""


def _callee_z(scene: Scene, s: str) -> list[float]:
    return [e.z for e in scene.edges if e.callee == s]


def own_network_logs(scene: Scene, view: ServiceView) -> list[LogFinding]:
    """The service's network-family log findings that speak of its own network: not
    those naming the one service it calls (`upstream request timeout calling pricing`
    is about the calls to pricing, which `dependency` reads at pricing). Timeouts
    naming two or more callees stay: one caller failing to reach several is its own
    side of the wire."""
    logs = [x for x in view.logs if x.family == "network"]
    peers: dict[int, set[str]] = {}
    for callee, d in scene.fnd.dead.items():
        if callee == view.name:
            continue
        for lf in d.logs:
            peers.setdefault(id(lf), set()).add(callee)
    named = set().union(*(peers.get(id(x), set()) for x in logs)) if logs else set()
    if len(named) != 1:
        return logs
    return [x for x in logs if id(x) not in peers]


@register("network")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    net = [f for f in view.metrics if f.family == "network" and is_bad(f)]
    net_logs = own_network_logs(scene, view)
    edge = view.features.get("net_edge", 0.0)
    if not net and not net_logs and edge < NET_EDGE_MIN:
        return []
    sig = max(
        [f.strength for f in net]
        + [0.5 * x.strength for x in net_logs]
        # traces: as strong as its slowest grown call, as far as it is where the grown
        # network time concentrates (relative to the most blamed service)
        + [
            edge_strength(max(zs)) * view.features.get("net_rel", 0.0)
            if (zs := _callee_z(scene, s))
            else 0.0
        ]
    )
    starts = [f.onset for f in net] + [x.first_after for x in net_logs]
    starts += [e.onset for e in scene.edges if e.callee == s or e.caller == s]
    what = "packet drops, retransmits or timeouts"
    if edge >= NET_EDGE_MIN and not net and not net_logs:
        what = "network time on its calls grew in traces"
    return [
        make(
            scene,
            view,
            "network",
            s,
            f"Network faults at {s} ({what} from {_hm(min(starts))}).",
            sig,
            [metric_evidence(f) for f in net[:1]]
            + [log_evidence(x, scene.ctx) for x in net_logs[:1]],
            felt_by_clients(scene, view, "network"),
        )
    ]
