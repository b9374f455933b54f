"""Network time on call edges, read from metrics: client-side latency named by its peer.

Clients report how long their calls to each peer take, labelled with the peer:

* OpenTelemetry HTTP/RPC client metrics (`http_client_request_duration_seconds`,
  `rpc_client_duration_milliseconds`) with `server_address` (older `net_peer_name`,
  `peer_service`);
* Micrometer/Spring Boot client timers (`http_client_requests_seconds_*`) with
  `clientName` (the host called; `client_name` where labels are snake-cased);
* Istio/Envoy sidecars, reported by the calling side (`reporter="source"`) with
  `destination_service_name`, `destination_workload` or `destination_app`;
* Linkerd's outbound metrics (`direction="outbound"`) with `dst_service` or the
  owner of the pods called: `dst_deployment`, `dst_statefulset` (a database, a
  broker), `dst_daemonset`.

When a caller's latency to peer B grew while B's own, server-side latency did not grow
as much, the time was spent between them (on the wire, in proxies, in B's network
stack): the metric form of the trace analyzer's network gap (`trace_edges`), and an
`EdgeFinding` for the same `network` reading. When B's own latency grew as much, B is
slow, and the existing metric findings already say so.

Which end a series measures is read from its meaning, not its service's name: a client
series names a peer and says it is the calling side (a `client` metric, a source or
outbound reporter); a series without a peer label is the service's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aisre_cli.investigate.analyzers.metrics import KIND_WORDS, MetricFinding, host_service
from aisre_cli.investigate.analyzers.trace_edges import EdgeFinding
from aisre_cli.investigate.families import label_or_pin, outbound, query_reading, timer_sum
from aisre_cli.model import Series, Topology, host_of

PEER_LABELS: tuple[str, ...] = (
    "server_address",
    "net_peer_name",
    "peer_service",
    "clientName",
    "client_name",
    "destination_service_name",
    "destination_workload",
    "destination_canonical_service",
    "destination_app",
    "destination_service",
    "dst_service",
    "dst_deployment",
    "dst_statefulset",
    "dst_daemonset",
    "upstream",
    "remote_service",
    "target_service",
)
"""Labels that name the peer a client series measures its calls to (`upstream` on a
client series: `external_request_duration_seconds{upstream="sms-provider"}`; a proxy's
series of a backend are no client series, `is_client_side`)."""
OWN_SHARE = 0.5
"""The peer's own latency grew at least this much (in z, relative to the edge's):
the peer is slow, not the way to it."""


def _side(s: Series) -> str:
    """Which end of the calls a series measures, where its `reporter` or `direction`
    says so, in its labels or pinned by its query where an aggregation dropped them
    (`families.label_or_pin`): "client", "server", or "" where they say nothing."""
    reporter = label_or_pin(s.labels, s.query, "reporter")
    direction = label_or_pin(s.labels, s.query, "direction")
    if reporter == "source" or direction == "outbound":
        return "client"
    if reporter == "destination" or direction == "inbound":
        return "server"
    return ""


BREAKER = re.compile(r"circuit_?breaker", re.IGNORECASE)
"""A circuit breaker's metrics (Resilience4j's `resilience4j_circuitbreaker_state`,
`_failure_rate`, `_calls`): the calls its service makes to the dependency it guards."""
BREAKER_LABELS = ("name", "circuit_breaker", "circuitbreaker", "breaker")
"""Where a breaker's series name it (Resilience4j's `name`): after the dependency it
guards, as code names it (`carrierRates`, `billingService`)."""
GENERIC_WORDS = frozenset({"api", "service", "svc", "client", "server", "app"})
"""Words a name carries that say what kind of thing it is, not which."""


def _words(name: str) -> frozenset[str]:
    """`carrierRates` and `carrier-rates-api` alike → {carrier, rates}."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return frozenset(w for w in re.split(r"[-_. /]+", spaced.lower()) if w) - GENERIC_WORDS


def breaker_target(breaker: str, known: set[str]) -> str | None:
    """The one known service a circuit breaker is named after: the same words, but for
    the generic ones (`carrierRates` guards carrier-rates-api)."""
    want = _words(breaker)
    if not want:
        return None
    hits = [k for k in known if _words(k) == want]
    return hits[0] if len(hits) == 1 else None


def is_client_side(s: Series) -> bool:
    """The series measures calls made by its service (not calls it serves): its
    `reporter` or `direction` says so (`_side`), else a `client` metric or a circuit
    breaker's (`BREAKER`)."""
    side = _side(s)
    if side:
        return side == "client"
    if BREAKER.search(s.name):
        return True
    # `peer.service` is set on the calling side only (OpenTelemetry, Datadog APM's
    # client integrations: `entitlements-mongodb` calling `mongo-users`)
    if "client" in s.name.lower() or bool(s.labels.get("peer_service")):
        return True
    # a timer of the calls it makes to outside services (`external_request_*`)
    return outbound(s.name, s.labels, s.query)


def is_server_side(s: Series) -> bool:
    """The series says it measures the calls its service serves (a mesh proxy's
    `direction="inbound"`, Istio's `reporter="destination"`): the service is a workload
    with a proxy of its own, not an endpoint known only from its callers."""
    return _side(s) == "server"


INTERNAL_SUFFIXES = ("svc", "cluster", "local", "internal")
"""DNS labels that mark a cluster-internal name (`api.shop.svc.cluster.local`), whose
first label is the service; any other dotted host (`api.stripe.com`) is external."""


def peer_of(s: Series, known: set[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """The known service a client series names as its peer, if any; `aliases`: hosts
    the data ties to a known service (`dependency.host_aliases`, `callee_aliases`). A
    circuit breaker's series name the dependency it guards (`breaker_target`)."""
    if BREAKER.search(s.name):
        named = next((s.labels[k] for k in BREAKER_LABELS if s.labels.get(k)), "")
        return breaker_target(named, known) if named else None
    lower = {k.lower(): k for k in known}
    for key in PEER_LABELS:
        raw = s.labels.get(key)
        if not raw:
            continue
        if raw in known:
            return raw
        host = host_of(raw)
        if aliases and aliases.get(host) in known:
            return aliases[host]
        first, _, rest = host.partition(".")
        if host in lower:
            return lower[host]
        if first in lower and (not rest or any(x in INTERNAL_SUFFIXES for x in rest.split("."))):
            return lower[first]
        # an outside API's host holds the words of the name the topology gives it
        # (`api.stripe.com` is stripe-api's)
        outside = host_service(host, lower, first=False) if rest else None
        if outside is not None:
            return outside
    return None


def client_calls(series: list[Series], known: set[str]) -> dict[str, set[str]]:
    """Who calls whom, read from client-side series that name their peer (`peer_of`):
    the caller's own count of its calls to it, whatever their family (requests, errors,
    latency). Only known services on both ends; a service naming itself says nothing."""
    out: dict[str, set[str]] = {}
    for s in series:
        if not s.service or not is_client_side(s):
            continue
        peer = peer_of(s, known)
        if peer is not None and peer != s.service:
            out.setdefault(s.service, set()).add(peer)
    return out


def callee_aliases(series: list[Series], topo: Topology, heard: set[str]) -> dict[str, str]:
    """Hosts a caller's client metrics name that the topology names otherwise: where a
    caller calls exactly one host that is no known service (`api.carrierhub.example`)
    and the topology gives it exactly one callee that no data of its own names (no
    series, no log: an outside API, `carrier-rates-api`), the host is that callee. A
    host two callers would give two names is nobody's."""
    known = topo.services() | heard
    hosts: dict[str, set[str]] = {}
    for s in series:
        if not s.service or not is_client_side(s) or BREAKER.search(s.name):
            continue
        raw = next((s.labels[k] for k in PEER_LABELS if s.labels.get(k)), "")
        if raw and "." in (host := host_of(raw)) and peer_of(s, known) is None:
            hosts.setdefault(s.service, set()).add(host)
    tied: dict[str, set[str]] = {}
    for caller, hs in hosts.items():
        quiet = [d for d in topo.depends_on.get(caller, []) if d not in heard]
        if len(hs) != 1:
            continue
        host = next(iter(hs))
        if len(quiet) > 1:
            # several outside callees: the one whose words begin the host's words
            # (`tax-api` and `api.taxrates.example`, not `object-storage`)
            quiet = [d for d in quiet if words_begin(d, host)]
        if len(quiet) == 1:
            tied.setdefault(host, set()).add(quiet[0])
    return {h: next(iter(v)) for h, v in tied.items() if len(v) == 1}


def words_begin(name: str, host: str) -> bool:
    """Every word of `name` that says which (not `api`, `svc`: `KIND_WORDS`) begins a
    word of `host`, and at least one does: `tax-api` of `api.taxrates.example`."""
    words = [w for w in re.split(r"[-_.]", name.lower()) if w and w not in KIND_WORDS]
    parts = [p for p in re.split(r"[-_.]", host) if p]
    return bool(words) and all(len(w) >= 3 and any(p.startswith(w) for p in parts) for w in words)


def metric_edges(
    findings: list[MetricFinding], known: set[str], aliases: Mapping[str, str] | None = None
) -> list[EdgeFinding]:
    """Edges whose client-side latency grew more than the callee's own latency did
    (`aliases`: hosts the data ties to a known service, as for `peer_of`)."""
    own: dict[str, float] = {}
    for f in findings:
        s = f.series
        if f.family != "latency" or f.direction <= 0 or not s.service:
            continue
        if is_client_side(s):
            continue  # a server-side view, its own or a mesh's `reporter="destination"`
        own[s.service] = max(own.get(s.service, 0.0), f.z)
    best: dict[tuple[str, str], EdgeFinding] = {}
    for f in findings:
        s = f.series
        if f.family != "latency" or f.direction <= 0 or not s.service or not is_client_side(s):
            continue
        if timer_sum(s.name):
            continue  # time spent calling it (no count to divide by), not one call's time
        callee = peer_of(s, known, aliases)
        if callee is None or callee == s.service:
            continue
        if own.get(callee, 0.0) >= OWN_SHARE * f.z:
            continue
        e = EdgeFinding(
            caller=s.service,
            callee=callee,
            before_ms=_ms(s, f.baseline),
            after_ms=_ms(s, f.level),
            z=f.z,
            n_after=0,
            onset=f.onset,
            ref=s.ref,
            series=s,
        )
        key = (e.caller, e.callee)
        if key not in best or e.z > best[key].z:
            best[key] = e
    return [best[k] for k in sorted(best)]


_UNITS = (("millisecond", "_ms"), ("microsecond", "_us"), ("second", "_s"))


def _unit(name: str) -> str:
    """The unit a metric's name says ("ms", "us" or "s"), else ""."""
    n = name.lower()
    for (word, suffix), unit in zip(_UNITS, ("ms", "us", "s"), strict=True):
        if word in n or n.endswith(suffix):
            return unit
    return ""


def _ms(s: Series, v: float) -> float:
    """A latency value in milliseconds. Its name says its unit, or where it is named by
    its file (`05_linkerd_out_p99`) the metric its query reads does
    (`response_latency_ms_bucket`); seconds by default."""
    unit = _unit(s.name) or _unit(query_reading(s.query) or "")
    return v if unit == "ms" else v / 1000.0 if unit == "us" else v * 1000.0
