"""The edge: the proxy that terminates TLS for the public hosts a system serves.

A prober's view of `https://tickets.example.com/` names a host, not a service
(`metrics.endpoint_certs` keeps such a certificate under its host, as it does a
third-party API's). When the certificate is the system's own, the service that serves it
is its edge: an ingress controller, a load balancer, an API gateway, at the top of the
call graph. The data says which when exactly one such service is tied to the host:
- its name says what it is (`EDGE_NAME`: ingress-nginx, HAProxy, Traefik, Envoy, a
  gateway, an edge proxy...);
- nothing in the topology calls it (an egress proxy, called by the services, is not the
  edge);
- and its own logs tie it to the host: TLS failures it logged (nginx's and HAProxy's
  handshake failures, its peers rejecting its certificate), or records that name the
  host (its access log's Host or referrer).

A host no edge is tied to stays the host's own suspect, as a third-party API's does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from aisre_cli.investigate.analyzers.logs import LogFinding
from aisre_cli.investigate.analyzers.metrics import MetricFinding
from aisre_cli.model import LogTable, Topology

EDGE_NAME = re.compile(
    r"(?:^|[-_.])(?:ingress|ingress-?nginx|ingressgateway|nginx|haproxy|traefik|envoy|"
    r"gateway|gw|edge|proxy|lb|loadbalancer|load-balancer|caddy|kong|apisix|contour|"
    r"ambassador|emissary|front-?door|alb|elb)(?:[-_.]|$)",
    re.IGNORECASE,
)
"""Names that say a service is an HTTP(S) edge: the ingress controllers, proxies, load
balancers and API gateways teams run in front of their services (`ingress-nginx-
controller`, `istio-ingressgateway`, `haproxy`, `traefik`, `edge-proxy`, `api-gateway`,
`public-lb`)."""
MENTION_SCAN = 50_000
"""Records of a candidate edge read at most for the host's name (a few are enough)."""


def is_edge_name(name: str) -> bool:
    return EDGE_NAME.search(name) is not None


def _names_host(logs: LogTable, service: str, host: str) -> bool:
    """Whether one of `service`'s first `MENTION_SCAN` records names `host`."""
    seen = 0
    for svc, msg in zip(logs.service, logs.msg, strict=True):
        if svc != service:
            continue
        if host in msg:
            return True
        seen += 1
        if seen >= MENTION_SCAN:
            break
    return False


def edge_of_host(
    host: str,
    topo: Topology,
    known: set[str],
    log_findings: Sequence[LogFinding],
    logs: LogTable,
) -> str | None:
    """The one edge service tied to `host` (see the module), or None."""
    called = {d for deps in topo.depends_on.values() for d in deps}
    edges = sorted(s for s in known if is_edge_name(s) and s not in called)
    tls = {x.service for x in log_findings if x.family == "certificates"}
    tied = [s for s in edges if s in tls or _names_host(logs, s, host)]
    return tied[0] if len(tied) == 1 else None


def edge_certs(
    certs: list[MetricFinding],
    topo: Topology,
    known: set[str],
    log_findings: Sequence[LogFinding],
    logs: LogTable,
) -> list[MetricFinding]:
    """Certificates kept under a host no known service is named by (`endpoint_certs`)
    given to the edge that serves that host (`edge_of_host`); the others as they were.
    New objects."""
    out: list[MetricFinding] = []
    found: dict[str, str | None] = {}
    for f in certs:
        host = f.series.service
        if not host or host in known:  # a service's own (its series name it), or nobody's
            out.append(f)
            continue
        if host not in found:
            found[host] = edge_of_host(host, topo, known, log_findings, logs)
        edge = found[host]
        out.append(f if edge is None else replace(f, series=replace(f.series, service=edge)))
    return out
