"""`certificate_expiry`: the service's TLS certificate expired or is about to.

Read from expiry timestamps (blackbox `probe_ssl_earliest_cert_expiry`) and from
countdown gauges ("seconds/days remaining"), both by `metrics.cert_expiry`, or from
TLS errors in logs: its clients' naming it as the server they called, its own log of
its peers rejecting its certificate, or any while the service is also unreachable."""

from __future__ import annotations

import re

from aisre_cli.investigate.analyzers.logs import LogFinding
from aisre_cli.investigate.analyzers.metrics import MetricFinding, host_words, probe_target
from aisre_cli.investigate.evidence import (
    Candidate,
    _hm,
    cert_expired_at,
    cert_left,
    log_evidence,
    metric_evidence,
)
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.scene import Scene, ServiceView, felt_by_clients


def served_host(f: MetricFinding) -> str | None:
    """The public host a certificate was probed at when the service serving it is not
    named by it (the edge that terminates TLS for it, `tls_edge.edge_certs`)."""
    labels, _ = host_words(probe_target(f.series))
    host = ".".join(labels)
    return host if labels and labels[0] != f.series.service else None


def _cert_logs(scene: Scene, s: str) -> list[LogFinding]:
    return [
        x
        for x in scene.fnd.logs.findings
        if x.family == "certificates" and (x.service == s or s in x.template.lower())
    ]


OWN_CERT_REJECTED = re.compile(
    r"remote error: tls: (bad|expired|unknown|revoked|unsupported) certificate"
    # `sslv3`, `tlsv1.2` (a template masks their digits)
    r"|(ssl|tls)v\S* alert ((bad|unknown|revoked|unsupported) )?certificate"
    r"|(ssl|tls)v\S* alert unknown ca"
    # Erlang's ssl (RabbitMQ, EMQX): `TLS server: In state certify received CLIENT ALERT:
    # Fatal - Certificate Expired`; Java's `Received fatal alert: certificate_expired`
    r"|received (client |server )?alert: fatal - (certificate (expired|unknown|revoked)|"
    r"bad certificate|unknown ca|unsupported certificate)"
    r"|received fatal alert: (certificate_(expired|unknown|revoked)|bad_certificate|unknown_ca)",
    re.IGNORECASE,
)
"""A TLS alert the service received about the certificate it presented: its peer
rejected it. Go's `remote error: tls: expired certificate` (a client whose mTLS
certificate the server refused, or Go's server: `http: TLS handshake error from …:
remote error: tls: bad certificate`), OpenSSL's `sslv3 alert certificate expired` in
nginx's `SSL_do_handshake() failed (…) while SSL handshaking`. The certificate is this
service's own; a TLS error it raised itself (`x509: certificate has expired`) is about
the peer's. Erlang's and Java's say the same in their words: the alert was received,
so the certificate refused was the one this side presented."""


LOG_SHARE = 0.6
"""What a TLS error in a log counts for, of a reading of the certificate's expiry: it may
be a wrong CA, a name mismatch, a client's own certificate."""
EXPIRED = re.compile(r"certificate[ _]expired|expired[ _]certificate", re.IGNORECASE)
"""A TLS alert that says why: the certificate had expired."""


def own_rejected(scene: Scene, s: str) -> list[LogFinding]:
    """`s`'s own log of its peers rejecting its certificate (`OWN_CERT_REJECTED`), in
    its template or, where the template masked the words that say so (Elixir's
    `{:tls_alert, {:certificate_expired, ~c"TLS client: … received SERVER ALERT …"}}`
    keeps them in a quoted charlist), in the line it was read from."""
    return [
        x
        for x in scene.fnd.logs.findings
        if x.family == "certificates"
        and x.service == s
        and (
            OWN_CERT_REJECTED.search(x.template)
            or any(OWN_CERT_REJECTED.search(scene.ctx.logs.msg[i]) for i in x.examples[:1])
        )
    ]


def _named_by_clients(view: ServiceView) -> list[LogFinding]:
    """TLS errors its clients logged naming it as the server they called
    (`scene.relay_peer_logs`)."""
    return [x for x in view.logs if x.family == "certificates" and x.service != view.name]


def handshakes_failing(view: ServiceView) -> list[MetricFinding]:
    """Its own listener's TLS handshakes failing more (nginx's and HAProxy's ssl
    handshake errors, an ALB's client TLS negotiation errors): a rising counter of the
    certificates family, which no expiry reading is."""
    return [
        f
        for f in view.metrics
        if f.family == "certificates" and f.bad and f.direction > 0 and f.shape == "counter"
    ]


def cert_signal(scene: Scene, view: ServiceView) -> float:
    """How strongly the service's certificate expired: its expiry readings; TLS errors
    its clients logged naming it (an expired certificate fails every handshake with it,
    though the service stays up and its own series show only the calls that no longer
    arrive), or its own log of its peers rejecting its certificate (`own_rejected`);
    or, while it is unreachable, any TLS error about it."""
    s = view.name
    certs = [f for f in scene.fnd.certs if f.series.service == s]
    own = own_rejected(scene, s)
    named = _named_by_clients(view) + own
    logs = _cert_logs(scene, s) + named
    shakes = handshakes_failing(view)
    if not certs and not named and not shakes and not (logs and s in scene.fnd.dead):
        return 0.0
    return max(
        [f.strength for f in certs]
        + [LOG_SHARE * x.strength for x in logs]
        # as a TLS error in a log does: a wrong chain or a TLS policy fails them too
        + [LOG_SHARE * f.strength for f in shakes]
        # its peers refused its certificate as expired, in its own log: the kind itself
        + [x.strength for x in own if EXPIRED.search(x.template)]
    )


@register("certificate")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    certs = [f for f in scene.fnd.certs if f.series.service == s]
    logs = _cert_logs(scene, s) + _named_by_clients(view)
    sig = cert_signal(scene, view)
    if sig <= 0:
        return []
    own = own_rejected(scene, s)
    if not certs and any(EXPIRED.search(x.template) for x in own):
        what = "has expired (its own log: its peers refuse it as expired)"
        logs = own + logs
    elif not certs and not logs and (shakes := handshakes_failing(view)):
        what = (
            f"has expired or is not valid (TLS handshakes with it fail: {shakes[0].series.name}"
            f" rising from {_hm(shakes[0].onset)})"
        )
    elif not certs:  # only TLS errors in logs, while the service is unreachable
        what = "has expired or is not yet valid (its clients' TLS errors say so)"
    elif (gone := cert_expired_at(certs[0])) is not None:
        what = f"expired at {_hm(gone)}"
    else:
        what = f"expires in {cert_left(certs[0].level)}"
    host = served_host(certs[0]) if certs else None
    whose = f"{s} serves for {host}" if host else f"of {s}"
    return [
        make(
            scene,
            view,
            "certificate_expiry",
            s,
            f"The TLS certificate {whose} {what}; TLS clients fail.",
            sig,
            [metric_evidence(f, "certificate") for f in certs[:1]]
            + [log_evidence(x, scene.ctx) for x in logs[:1]]
            + [metric_evidence(f) for f in handshakes_failing(view)[:1]],
            # an expired certificate is a fault *at* the service that no dependency
            # explains, although none of its own metrics moves: its clients fail; nor
            # does load from above (a caller's surge, often its retries) expire one
            {
                "anomaly": max(view.features["anomaly"], sig),
                "root_local": max(view.features["root_local"], sig),
                "deeper": 0.0,
                "upstream_surge": 0.0,
                **felt_by_clients(scene, view, "certificates"),
            },
        )
    ]
