"""`network`: faults between services rather than inside one.

Three readings: network-family metrics in the bad direction (drops, retransmits,
errors on the interface), network-family log lines (timeouts, resets, unreachable),
and in traces, calls to or from the service whose *network time* grew (client span
minus server span; `analyzers.trace_edges`), while the service's own spans did not.
"""

from __future__ import annotations

from aisre_cli.investigate.analyzers.trace_edges import edge_strength
from aisre_cli.investigate.evidence import Candidate, _hm, is_bad, log_evidence, metric_evidence
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.scene import Scene, ServiceView

NET_EDGE_MIN = 0.1
"""A service's share of the grown network time from which traces alone propose it."""


def _callee_z(scene: Scene, s: str) -> list[float]:
    return [e.z for e in scene.edges if e.callee == s]


@register("network")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    net = [f for f in view.metrics if f.family == "network" and is_bad(f)]
    net_logs = [x for x in view.logs if x.family == "network"]
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
        )
    ]
