"""The edge: the proxy that terminates TLS for the public hosts a system serves.

A prober's view of `https://tickets.example.com/` names a host, not a service
(`metrics.endpoint_certs` keeps such a certificate under its host, as it does a
third-party API's). When the certificate is the system's own, the service that serves it
is its edge: an ingress controller, a load balancer, an API gateway, at the top of the
call graph. The data says which when exactly one such service is tied to the host:
- its name says what it is (`EDGE_NAME`: ingress-nginx, HAProxy, Traefik, Envoy, a
  gateway, an edge proxy...);
- nothing in the topology calls it but a cloud load balancer in front of it
  (`load_balancers`: an ALB passing TLS through to the ingress gateway); an egress
  proxy, called by the services, is not the edge;
- and its own logs tie it to the host: TLS failures it logged (nginx's and HAProxy's
  handshake failures, its peers rejecting its certificate), or records that name the
  host (its access log's Host or referrer).

A host no edge is tied to stays the host's own suspect, as a third-party API's does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from aisre_cli.investigate.analyzers.logs import LogFinding
from aisre_cli.investigate.analyzers.metrics import MetricFinding
from aisre_cli.investigate.families import FamilyMatcher
from aisre_cli.model import LogTable, Series, Topology

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
CLOUD_LB = re.compile(
    r"^(?:aws_(?:alb|elb|nlb|applicationelb|networkelb)_|azure_\w*(?:frontdoor|applicationgateway)|"
    r"(?:gcp|stackdriver)_\w*(?:loadbalancing|https_lb))",
    re.IGNORECASE,
)
"""Metrics a cloud load balancer reports of itself, exported to Prometheus (CloudWatch's
`aws_alb_request_count_sum`, `aws_applicationelb_*`; Azure Front Door's and Application
Gateway's; Google's `loadbalancing` metrics)."""
MENTION_SCAN = 50_000
"""Records of a candidate edge read at most for the host's name (a few are enough)."""


def is_edge_name(name: str) -> bool:
    return EDGE_NAME.search(name) is not None


LB_LABELS = ("dimension_LoadBalancer", "dimension_LoadBalancerName", "load_balancer")
"""Where a cloud load balancer's series name it: CloudWatch's `LoadBalancer` dimension
(`app/meridian-prod-web/50dc6c49…` for an ALB, `net/…` for an NLB) or a classic ELB's
`LoadBalancerName`, as YACE exports them."""


def workload_signal(s: Series, matcher: FamilyMatcher) -> bool:
    """A series a workload reports of itself: not a certificate's expiry (a collector
    names the certificate, cert-manager's Certificate `tv-meridian-tv`), nor a prober's
    view of an endpoint."""
    c = matcher.classify(s.name, s.labels)
    return c.family != "certificates" and c.scope != "probe"


def lb_name(labels: Mapping[str, str]) -> str | None:
    """The name a cloud load balancer's series give it (`LB_LABELS`): an ALB's, NLB's or
    Gateway LB's own name out of its `app/<name>/<id>` dimension."""
    for key in LB_LABELS:
        v = labels.get(key, "")
        parts = v.split("/")
        if len(parts) == 3 and parts[0] in ("app", "net", "gwy"):
            v = parts[1]
        if v:
            return v
    return None


def load_balancers(series: Sequence[Series]) -> set[str]:
    """The cloud load balancers the series report of themselves (`CLOUD_LB`), by the
    name they give it (`lb_name`) or the service they were given."""
    out: set[str] = set()
    for x in series:
        if CLOUD_LB.match(x.name) is None:
            continue
        name = lb_name(x.labels) or x.service
        if name:
            out.add(name)
    return out


def attribute_load_balancers(series: list[Series], services: set[str]) -> list[Series]:
    """A cloud load balancer's series with no service (YACE names no workload for them:
    the `LoadBalancer` dimension fronts one) are that load balancer's where the system
    knows a service by its name (`alb-public` in the topology, calling the API behind
    it): the requests and answers it counted, as a proxy's own. Others stay as they
    are. New objects."""
    out: list[Series] = []
    for x in series:
        if not x.service and CLOUD_LB.match(x.name) is not None:
            name = lb_name(x.labels)
            if name in services:
                x = replace(x, service=name)
        out.append(x)
    return out


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
    fronts: set[str] | None = None,
) -> str | None:
    """The one edge service tied to `host` (see the module), or None. `fronts`: the
    cloud load balancers (`load_balancers`), whose calls do not make a service called."""
    called = {d for x, deps in topo.depends_on.items() if x not in (fronts or set()) for d in deps}
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
    fronts: set[str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[MetricFinding]:
    """Certificates kept under a host no known service is named by (`endpoint_certs`)
    given to the service the data ties the host to (`aliases`: a third-party API known
    by its host), else to the edge that serves that host (`edge_of_host`); the others
    as they were. New objects."""
    out: list[MetricFinding] = []
    found: dict[str, str | None] = {}
    for f in certs:
        host = f.series.service
        if not host or host in known:  # a service's own (its series name it), or nobody's
            out.append(f)
            continue
        if host not in found:
            found[host] = (aliases or {}).get(host) or edge_of_host(
                host, topo, known, log_findings, logs, fronts
            )
        edge = found[host]
        out.append(f if edge is None else replace(f, series=replace(f.series, service=edge)))
    return out
