"""Two readings of what a number means, each one signal shape at a time.

* A resource running out that several services say at once in their logs is one
  resource, relayed by its clients (`scene.relay_resource_logs`); one client saying it
  in its store's words relays it to that store.
* A whole-number gauge of things held at once (connections, queued tasks) moves by one
  as noise, and a gauge that flapped between a few values for an hour is not anomalous
  at a value it often held (`metrics._count_floor`, `metrics.VISITED`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from aisre_cli.investigate.analyzers.logs import LogFinding
from aisre_cli.investigate.analyzers.metrics import _detect_matrix, _detect_rows
from aisre_cli.investigate.families import FamilyMatcher
from aisre_cli.investigate.scene import relay_resource_logs
from aisre_cli.model import Series, Topology

T0 = 1_700_000_000.0
DISK = "ERROR: could not extend file <*>: No space left on device"


def _log(service: str, template: str = DISK, family: str | None = "disk") -> LogFinding:
    return LogFinding(
        service=service,
        template=template,
        level="error",
        family=family,
        before=0,
        after=12,
        rate_ratio=12.0,
        new=True,
        first_after=T0,
        strength=0.85,
    )


TOPO = Topology(
    depends_on={
        "web": ["auth", "db", "cache"],
        "auth": ["db", "cache"],
        "worker": ["db", "cache"],
        "db": [],
        "cache": [],
    }
)


def _families(logs_at: dict[str, list[LogFinding]]) -> dict[str, list[str | None]]:
    return {s: [lf.family for lf in v] for s, v in sorted(logs_at.items())}


def test_the_same_resource_running_out_at_three_clients_is_their_store_s() -> None:
    logs_at = {s: [_log(s)] for s in ("web", "auth", "worker")}
    relay_resource_logs(logs_at, TOPO, {"db": 1.6, "cache": 0.4, "web": 1.0}, {})
    assert _families(logs_at) == {
        "auth": [None],
        "db": ["disk"],
        "web": [None],
        "worker": [None],
    }
    # the line the store gets is a client's: its citation points where it was said
    assert logs_at["db"][0].service in ("web", "auth", "worker")


def test_a_store_that_says_it_first_hand_keeps_its_line() -> None:
    logs_at = {s: [_log(s)] for s in ("web", "auth", "db")}
    relay_resource_logs(logs_at, TOPO, {"db": 1.6, "web": 1.0, "auth": 1.0}, {})
    assert _families(logs_at) == {"auth": [None], "db": ["disk"], "web": [None]}
    assert logs_at["db"][0].service == "db"


def test_with_two_stores_alike_in_trouble_the_clients_only_lose_it() -> None:
    logs_at = {s: [_log(s)] for s in ("auth", "worker")}
    relay_resource_logs(logs_at, TOPO, {"db": 0.5, "cache": 0.5}, {})
    assert _families(logs_at) == {"auth": [None], "worker": [None]}


def test_one_service_saying_it_or_one_with_its_own_reading_keeps_it() -> None:
    alone = {"auth": [_log("auth")]}
    relay_resource_logs(alone, TOPO, {"db": 1.0}, {})
    assert _families(alone) == {"auth": ["disk"]}
    # worker's own disk series went bad: its line is its own; auth alone says it
    logs_at = {s: [_log(s)] for s in ("auth", "worker")}
    relay_resource_logs(logs_at, TOPO, {"db": 1.0}, {"worker": {"disk"}})
    assert _families(logs_at) == {"auth": ["disk"], "worker": ["disk"]}


REDIS_OOM = "redis command failed: OOM command not allowed when used memory > <*>."


def test_one_client_saying_it_in_its_stores_words_gives_it_to_that_store() -> None:
    """auth alone logs Redis' refusal (`OOM command not allowed`): the memory that ran
    out is the one Redis auth calls (cache, by its `redis_*` series), not auth's own.
    A store of another technology, or two Redis alike, leave auth its line."""
    stores = {"cache": {"redis"}, "db": {"postgresql"}}
    logs_at = {"auth": [_log("auth", REDIS_OOM, "memory")]}
    moved = relay_resource_logs(logs_at, TOPO, {"db": 1.0}, {}, stores)
    assert _families(logs_at) == {"auth": [None], "cache": ["memory"]}
    assert [(store, lf.service) for store, lf in moved] == [("cache", "auth")]
    for other in ({"cache": {"memcached"}}, {"cache": {"redis"}, "db": {"redis"}}, {}):
        kept = {"auth": [_log("auth", REDIS_OOM, "memory")]}
        assert relay_resource_logs(kept, TOPO, {"db": 1.0}, {}, other) == []
        assert _families(kept) == {"auth": ["memory"]}
    # auth's own memory reading went bad: its line is its own
    own = {"auth": [_log("auth", REDIS_OOM, "memory")]}
    relay_resource_logs(own, TOPO, {"db": 1.0}, {"auth": {"memory"}}, stores)
    assert _families(own) == {"auth": ["memory"]}


def test_other_errors_and_other_resources_are_left_alone() -> None:
    logs_at = {
        s: [_log(s, "rpc error: code = Unavailable", None), _log(s, "OOMKilled", "memory")]
        for s in ("auth",)
    } | {"worker": [_log("worker", DISK)]}
    relay_resource_logs(logs_at, TOPO, {"db": 1.0}, {})
    assert _families(logs_at) == {"auth": [None, "memory"], "worker": ["disk"]}


# ------------------------------------------------------------------ whole-number gauges


def _gauge(name: str, vals: list[float]) -> Series:
    return Series(
        name=name,
        service="checkout",
        labels={"service": "checkout"},
        timestamps=[T0 + 30.0 * i for i in range(len(vals))],
        values=vals,
        ref=f"metrics/{name}.json",
    )


def _found(row: Series, alert: float) -> list[tuple[float, float]]:
    """(direction, level) of each finding; both detection paths must agree."""
    m = FamilyMatcher()
    x = np.array([row.values], dtype=np.float64)
    rows, mat = _detect_rows([row], m, alert, 300.0), _detect_matrix(x, [row], m, alert, 300.0)
    assert [(f.z, f.onset, f.level) for f in rows] == [(f.z, f.onset, f.level) for f in mat]
    return [(f.direction, f.level) for f in rows]


def test_a_pool_that_flapped_between_0_and_1_is_not_saturated_at_1() -> None:
    """Hikari's active connections at low traffic: 0 or 1 for an hour (60% zeros, so
    a MAD of 0), then mostly 1. A value the baseline held in 40% of its points is no
    anomaly; 6 in use is."""
    flap = [1.0 if (i * 7) % 5 < 2 else 0.0 for i in range(100)]
    alert = T0 + 30.0 * 104
    assert _found(_gauge("hikaricp_connections_active", flap + [1.0] * 22), alert) == []
    high = _found(_gauge("hikaricp_connections_active", flap + [6.0] * 22), alert)
    assert [d for d, _ in high] == [1]


def test_a_queue_from_0_to_1_is_noise_and_from_0_to_12_is_not() -> None:
    alert = T0 + 30.0 * 104
    flat = [0.0] * 100
    assert _found(_gauge("dotnet_threadpool_queue_length", flat + [1.0] * 22), alert) == []
    assert _found(_gauge("dotnet_threadpool_queue_length", flat + [12.0] * 22), alert) != []
    # a pool's share in use is a percent, not things: no unit floor there
    pct = [0.0] * 100 + [1.0] * 22
    assert _found(_gauge("db_pool_usage_percent", pct), alert) != []


def test_a_heavy_tailed_latency_keeps_its_mad() -> None:
    """The VISITED floor is for few repeating values only: a latency percentile with a
    tail (MAD > 0) is read by its MAD: a sustained level under the tail's spikes (its
    90th percentile) is still a shift."""
    base = [0.10 + 0.01 * ((i * 7) % 5) + (0.3 if i % 9 == 0 else 0.0) for i in range(100)]
    vals = base + [0.35] * 22
    found = _found(_gauge("http_request_duration_seconds_p95", vals), T0 + 30.0 * 104)
    assert [d for d, _ in found] == [1]


def test_a_database_whose_running_threads_triple_from_a_flat_two_is_anomalous() -> None:
    """Half a thing is the floor (`UNIT_FLOOR`): 2 → 6 threads running is z 8."""
    alert = T0 + 30.0 * 104
    vals = [2.0] * 100 + [6.0] * 22
    assert [d for d, _ in _found(_gauge("mysql_global_status_threads_running", vals), alert)] == [1]
    assert (
        _found(_gauge("mysql_global_status_threads_running", [2.0] * 100 + [3.0] * 22), alert) == []
    )


# ------------------------------------------------------------------ probes name their target


def _probe(instance: str) -> Series:
    return Series(
        name="probe_ssl_earliest_cert_expiry",
        service=None,
        labels={"job": "blackbox-tls", "instance": instance},
        timestamps=[T0, T0 + 60.0],
        values=[1.0, 1.0],
        ref="metrics/probe.json",
    )


def test_a_probe_belongs_to_the_service_its_target_host_names() -> None:
    from aisre_cli.investigate.analyzers.metrics import attribute_by_url

    services = {"catalog", "core-db", "surescripts-api", "edge", "api"}
    got = [
        s.service
        for s in attribute_by_url(
            [
                _probe("https://catalog.shop.svc.cluster.local:8443/health"),
                _probe("core-db:5432"),
                _probe("api.surescripts.com:443"),  # an outside API: its words
                _probe("10.0.0.1:9100"),  # an address names nobody
                _probe("https://status.example.com/"),  # nobody's
                _probe("tcp://[::1]:80"),
            ],
            services,
        )
    ]
    assert got == ["catalog", "core-db", "surescripts-api", None, None, None]
    # a StatefulSet's pod by its own DNS name is the set's
    pod = attribute_by_url([_probe("kafka-1.kafka-headless.streaming.svc:9093")], {"kafka"})
    assert pod[0].service == "kafka"
    # two services alike in the host's words: neither
    assert attribute_by_url([_probe("pay.eu.example.com")], {"pay-eu", "eu-pay"})[0].service is None
    # a series that has its service keeps it
    owned = replace(_probe("catalog:443"), service="edge")
    assert attribute_by_url([owned], services)[0].service == "edge"
    # Telegraf's http_response check: the URL it checked is in `server`, its own agent
    # in `instance`
    checked = replace(
        _probe("mon01:9273"),
        labels={"job": "telegraf", "instance": "mon01:9273", "server": "https://api.shop.io/v1"},
    )
    assert attribute_by_url([checked], services)[0].service == "api"


def test_a_machine_pinged_is_the_service_that_alone_runs_on_it() -> None:
    """Telegraf's ping from the monitoring host: the machine pinged is in `url`, the
    agent in `instance`. db01 runs only mysql (its series say so), so db01's packet
    loss is mysql's; web01 runs two pools, so its loss is nobody's in particular."""
    from aisre_cli.investigate.analyzers.metrics import attribute_by_url, service_machines

    def own(svc: str, host: str) -> Series:
        return Series("cpu_usage_user", svc, {"host": host}, [T0], [1.0], ref="m.json")

    def ping(url: str) -> Series:
        labels = {"url": url, "host": "mon01", "instance": "mon01:9273", "job": "telegraf"}
        return Series("ping_percent_packet_loss", None, labels, [T0], [0.0], ref="p.json")

    fleet = [own("mysql", "db01"), own("storefront", "web01"), own("checkout", "web01")]
    machines = service_machines(fleet)
    assert machines == {"db01": "mysql"}
    got = attribute_by_url(
        [ping("db01.shop.internal"), ping("web01.shop.internal"), ping("db09")],
        {"mysql", "storefront", "checkout"},
        machines,
    )
    assert [s.service for s in got] == ["mysql", None, None]
    # a machine's own series, scraped there (node_exporter), is placed elsewhere: the
    # machine is not its one service's by this reading
    node = Series("node_netstat_Tcp_RetransSegs", None, {"instance": "db01:9100"}, [T0], [1.0])
    assert attribute_by_url([node], {"mysql"}, machines)[0].service is None


@pytest.mark.parametrize(
    ("labels", "want"),
    [
        # PHP-FPM runs a pool per application
        ({"pool": "checkout", "host": "web01"}, "checkout"),
        # a systemd unit, a template's instance (`php8.2-fpm@checkout`) or the template
        # itself (`queue-worker@2`)
        ({"systemd_unit": "php8.2-fpm@checkout.service", "host": "web01"}, "checkout"),
        ({"systemd_unit": "queue-worker@2.service", "host": "worker01"}, "queue-worker"),
        ({"unit": "queue_worker.service"}, "queue-worker"),
        # units of no known service
        ({"systemd_unit": "sshd.service"}, None),
        ({"systemd_unit": "php8.2-fpm@admin.service"}, None),
    ],
)
def test_a_process_group_names_its_service(labels: dict[str, str], want: str | None) -> None:
    from aisre_cli.investigate.analyzers.metrics import attribute_by_unit

    name = "phpfpm_active_processes" if "pool" in labels else "procstat_memory_rss"
    s = Series(name, None, labels, [T0], [1.0], ref="metrics/x.json")
    known = {"checkout", "queue-worker", "sessions"}
    assert attribute_by_unit([s], known)[0].service == want
    # a JDBC pool's name is a client's: Hikari's `pool` names no owner
    hikari = replace(s, name="hikaricp_connections_active", labels={"pool": "checkout"})
    assert attribute_by_unit([hikari], known)[0].service is None


# ------------------------------------------------ a client's TLS error names its server


def test_a_client_s_tls_error_is_the_certificate_of_the_server_it_names() -> None:
    from aisre_cli.investigate.scene import relay_peer_logs

    msgs = [
        'Post "https://recommender.svc.cluster.local/v1": x509: certificate has expired',
        "requests.exceptions.SSLError: HTTPSConnectionPool(host='tracking.svc', port=443)",
        "x509: certificate has expired (no host said)",
        'Get "https://www.partner.example/": x509: certificate has expired',
        'Get "https://web.shop.svc/health": x509: certificate has expired',  # itself
        'Get "https://tracking.svc/a" via host="recommender.svc": x509: expired',  # two
    ]

    def tls(svc: str, example: int) -> LogFinding:
        return replace(_log(svc, "x509 <*>", "certificates"), examples=[example])

    known = {"web", "partner-api", "recommender", "tracking", "batch"}
    logs_at = {
        "web": [tls("web", 0)],
        "partner-api": [tls("partner-api", 1)],
        "batch": [tls("batch", 2)],  # names no server: stays the client's
        "recommender": [],
    }
    logs_at["web"].append(tls("web", 3))  # an outside host: nobody's here
    logs_at["web"].append(tls("web", 4))  # its own name: its own certificate
    logs_at["batch"].append(tls("batch", 5))  # two servers: which one cannot be told
    moved = relay_peer_logs(logs_at, msgs, known)
    assert sorted((peer, lf.service) for peer, lf in moved) == [
        ("recommender", "web"),
        ("tracking", "partner-api"),
    ]
    assert _families(logs_at) == {
        "batch": ["certificates", "certificates"],
        "partner-api": [None],
        "recommender": ["certificates"],
        "tracking": ["certificates"],
        "web": [None, "certificates", "certificates"],
    }


def test_an_expired_certificate_a_client_names_no_host_for_is_its_one_server_s() -> None:
    """OpenSSL's `certificate verify failed: certificate has expired` in a client that
    calls one server is that server's certificate; a TLS alert it received (its own
    certificate refused), or a client of two servers, keeps the line."""
    from aisre_cli.investigate.scene import relay_peer_logs

    msgs = ["[ERROR] SSLError: certificate verify failed: certificate has expired"]

    def tls(svc: str, template: str) -> LogFinding:
        return replace(_log(svc, template, "certificates"), examples=[0])

    known = {"geocoder", "maps-provider", "web", "api", "db", "batch"}
    verify = "[ERROR] SSLError: certificate verify failed: certificate has expired"
    logs_at = {
        "geocoder": [tls("geocoder", verify)],
        "web": [tls("web", "SSL routines:ssl3_read_bytes:sslv3 alert certificate expired")],
        "api": [tls("api", verify)],
        # its own trust store lacks the issuer: nothing about the server's certificate
        "batch": [tls("batch", "certificate verify failed: unable to get local issuer")],
    }
    calls = {
        "geocoder": {"maps-provider"},
        "web": {"api"},
        "api": {"db", "maps-provider"},
        "batch": {"db"},
    }
    moved = relay_peer_logs(logs_at, msgs, known, calls=calls)
    assert [(peer, lf.service) for peer, lf in moved] == [("maps-provider", "geocoder")]
    assert _families(logs_at) == {
        "geocoder": [None],
        "maps-provider": ["certificates"],
        "web": ["certificates"],
        "api": ["certificates"],
        "batch": ["certificates"],
    }
    # without the call graph nothing says which server it was
    alone = {"geocoder": [tls("geocoder", verify)]}
    assert relay_peer_logs(alone, msgs, known) == []


def test_network_errors_naming_one_server_are_its_and_naming_many_the_resolver_s() -> None:
    from aisre_cli.investigate.scene import relay_peer_logs

    msgs = [
        "java.net.UnknownHostException: metadata-db.internal: Temporary failure in name",
        "Error: getaddrinfo EAI_AGAIN metadata-db.internal",
        "dial tcp: lookup profile-svc.prod on 10.0.0.10:53: no such host",
    ]

    def net(svc: str, example: int) -> LogFinding:
        return replace(_log(svc, "lookup <*>", "network"), examples=[example])

    known = {"playback", "ops-console", "metadata-db", "profile-svc", "web"}
    one = {"playback": [net("playback", 0)], "ops-console": [net("ops-console", 1)]}
    moved = relay_peer_logs(one, msgs, known)
    assert sorted((peer, lf.service) for peer, lf in moved) == [
        ("metadata-db", "ops-console"),
        ("metadata-db", "playback"),
    ]
    assert _families(one) == {
        "metadata-db": ["network", "network"],
        "ops-console": [None],
        "playback": [None],
    }
    # lookups of two names failing: the resolver's, nobody's to take
    many = {"playback": [net("playback", 0)], "web": [net("web", 2)]}
    assert relay_peer_logs(many, msgs, known) == []
    assert _families(many) == {"playback": ["network"], "web": ["network"]}
