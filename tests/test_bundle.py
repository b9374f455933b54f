"""The incident bundle v1 reader: accepts every documented field, rejects malformed
input with one line naming the file and the place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aisre_cli.errors import BundleError, ExitCode
from aisre_cli.model import LogTable
from aisre_cli.sources import bundle as bundle_mod
from aisre_cli.sources.bundle import BundleSource, focus_matches
from aisre_cli.sources.timeparse import to_unix

T0 = 1_700_000_000


def make_bundle(root: Path, **overrides: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "bundle.yaml").write_text(
        'id: "t1"\ntitle: "test"\n'
        'window: {start: "2023-11-14T22:00:00Z", end: "2023-11-14T23:00:00Z"}\n'
        'focus_alert: "abcd1234abcd1234"\nextra_field: ignored\n'
    )
    alerts = [
        {
            "labels": {"alertname": "HighErrors", "job": "api", "severity": "critical"},
            "annotations": {"summary": "errors"},
            "startsAt": "2023-11-14T22:40:00.123456789Z",
            "endsAt": "2023-11-14T23:40:00Z",
            "updatedAt": "2023-11-14T22:40:00Z",
            "fingerprint": "abcd1234abcd1234",
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
            "generatorURL": "http://prom/graph",
            "receivers": [{"name": "pager"}],
            "unknownKey": {"nested": True},
        }
    ]
    (root / "alerts.json").write_text(json.dumps(overrides.get("alerts", alerts)))
    (root / "metrics").mkdir(exist_ok=True)
    series = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"__name__": "http_errors", "app": "api"},
                    "values": [[T0 + i * 60, str(float(i))] for i in range(10)],
                },
                {"metric": {"job": "db"}, "values": [[T0, "NaN"], [T0 + 60, "+Inf"]]},
            ],
        },
    }
    (root / "metrics" / "errors_rate.json").write_text(json.dumps(series))
    (root / "metrics" / "queries.yaml").write_text('errors_rate: "sum(rate(x[5m]))"\n')
    (root / "logs").mkdir(exist_ok=True)
    lines = [
        {"ts": "2023-11-14T22:30:00Z", "service": "api", "level": "ERROR", "msg": "boom 1"},
        {"ts": "2023-11-14T22:30:01.5+00:00", "service": "api", "level": "warn", "msg": "w"},
        {"ts": T0, "service": "api", "level": "info", "msg": "unix s", "pod": "p1"},
        {"ts": T0 * 1000 + 250, "level": "info", "message": "unix ms, no service"},
        {"ts": str(T0), "service": "api", "level": "debug", "msg": "string seconds"},
    ]
    (root / "logs" / "api.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    (root / "changes.json").write_text(
        json.dumps(
            [
                {
                    "id": "c1",
                    "ts": "2023-11-14T22:35:00Z",
                    "service": "api",
                    "kind": "deploy",
                    "summary": "v2",
                    "version": "2",
                    "previous_version": "1",
                    "author": "me",
                    "url": "http://ci/1",
                    "extra": 1,
                },
                {"id": "c2", "ts": T0, "service": "db", "kind": "flag"},
            ]
        )
    )
    (root / "topology.yaml").write_text(
        "services:\n  api:\n    depends_on: [db]\n  db:\n    depends_on: []\n  leaf:\n"
    )
    (root / "traces").mkdir(exist_ok=True)
    (root / "traces" / "t.jsonl").write_text(
        json.dumps(
            {
                "trace_id": "t",
                "span_id": "1",
                "parent_id": None,
                "service": "api",
                "name": "GET",
                "start": "2023-11-14T22:30:00Z",
                "duration_ms": 12.5,
                "status": "error",
            }
        )
        + "\n"
    )
    (root / "truth.yaml").write_text("root_cause: {kind: deploy, service: api, change_id: c1}\n")
    (root / "README.txt").write_text("extra files are ignored")
    return root


def test_reads_every_documented_field(tmp_path: Path) -> None:
    b = BundleSource(make_bundle(tmp_path / "b"))
    b.validate()
    (alert,) = b.list_alerts()
    assert alert.id == "abcd1234abcd1234" and alert.name == "HighErrors"
    assert alert.service == "api"  # via `job`, the second label in the mapping
    assert alert.receivers == ["pager"] and alert.severity == "critical"
    series = b.all_series()
    assert series[0].name == "http_errors" and series[0].service == "api"  # via `app`
    assert series[1].name == "errors_rate" and series[1].service == "db"  # file stem
    assert series[0].query == "sum(rate(x[5m]))"
    logs = b.all_logs()
    assert len(logs) == 5
    assert logs.service[3] == "api"  # defaults to the file stem
    assert logs.ts[3] == pytest.approx(T0 + 0.25)
    assert logs.level[0] == "error" and logs.level[1] == "warn"
    assert logs.ref(2) == "logs/api.jsonl:3"
    changes = b.fetch_changes(b.window.start, b.window.end)
    assert [c.kind for c in changes] == ["deploy", "flag"]
    topo = b.fetch_topology()
    assert topo.depends_on == {"api": ["db"], "db": [], "leaf": []}
    (span,) = b.fetch_spans(b.window.start, b.window.end)
    assert span.error and span.duration_ms == 12.5
    truth = b.truth()
    assert truth is not None and truth.root_cause.change_id == "c1"


def test_custom_service_label_mapping(tmp_path: Path) -> None:
    b = BundleSource(make_bundle(tmp_path / "b"), service_labels=["app"])
    assert b.all_series()[0].service == "api"
    assert b.list_alerts()[0].service is None


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2023-11-14T22:13:20Z", 1_700_000_000),
        ("2023-11-14T22:13:20.5Z", 1_700_000_000.5),
        ("2023-11-14T22:13:20.123456789Z", 1_700_000_000.123456),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000),
        (1_700_000_000, 1_700_000_000),
        (1_700_000_000_500, 1_700_000_000.5),
        ("1700000000", 1_700_000_000),
        (1.7e9, 1.7e9),
    ],
)
def test_timestamps(value: object, expected: float) -> None:
    assert to_unix(value) == pytest.approx(expected, abs=1e-5)


def _err(root: Path) -> str:
    with pytest.raises(BundleError) as exc:
        BundleSource(root).validate()
    msg = exc.value.message
    assert "\n" not in msg
    assert exc.value.exit_code == ExitCode.USAGE
    return msg


def test_missing_bundle_yaml(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "bundle.yaml").unlink()
    assert "bundle.yaml: missing" in _err(root)


def test_not_a_directory(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert "not a directory" in _err(f)
    assert "no such bundle directory" in _err(tmp_path / "nope")


def test_invalid_json_in_alerts(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "alerts.json").write_text('[{"labels": {}\n,, ]')
    msg = _err(root)
    assert "alerts.json: invalid JSON at line 2" in msg


def test_alert_missing_field_names_json_path(tmp_path: Path) -> None:
    root = make_bundle(
        tmp_path / "b",
        alerts=[{"labels": {"alertname": "x"}, "startsAt": "2023-11-14T22:00:00Z"}, {}],
    )
    msg = _err(root)
    assert "alerts.json: $[0].fingerprint: field required" in msg


def test_alerts_saved_from_a_webhook_or_api_v1_are_read(tmp_path: Path) -> None:
    """alerts.json saved from an Alertmanager webhook notification (status as a string,
    no fingerprint before 0.19) or from API v1 (receivers as names) reads as the same
    alert as the API v2 body; an invalid alert inside names its JSON path."""
    v2 = {
        "labels": {"alertname": "HighErrors", "service": "checkout"},
        "annotations": {"summary": "5xx"},
        "startsAt": "2023-11-14T22:00:00Z",
        "fingerprint": "abc",
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        "receivers": [{"name": "pager"}],
    }
    hook = {
        "version": "4",
        "status": "firing",
        "receiver": "pager",
        "alerts": [{**{k: v for k, v in v2.items() if k != "receivers"}, "status": "firing"}],
    }
    v1 = {"status": "success", "data": [{**v2, "receivers": ["pager"]}]}
    got = []
    for body in (hook, v1):
        root = make_bundle(tmp_path / str(len(got)), alerts=body)
        (a,) = BundleSource(root).list_alerts()
        got.append((a.id, a.name, a.service, a.state, a.receivers))
    assert got == [("abc", "HighErrors", "checkout", "active", ["pager"])] * 2
    no_fp = {**hook, "alerts": [{k: v for k, v in hook["alerts"][0].items() if k != "fingerprint"}]}
    (a,) = BundleSource(make_bundle(tmp_path / "nofp", alerts=no_fp)).list_alerts()
    assert len(a.id) == 16 and a.name == "HighErrors"
    bad = {**hook, "alerts": [{"labels": {}}]}
    assert "alerts.json: $.alerts[0].startsAt" in _err(make_bundle(tmp_path / "bad", alerts=bad))


def test_alert_bad_timestamp(tmp_path: Path) -> None:
    root = make_bundle(
        tmp_path / "b",
        alerts=[{"labels": {}, "startsAt": "yesterday", "fingerprint": "f"}],
    )
    assert "alerts.json: $[0].startsAt: not an RFC 3339 timestamp: 'yesterday'" in _err(root)


def test_metrics_not_a_matrix(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "metrics" / "instant.json").write_text(
        json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})
    )
    assert "metrics/instant.json: $.data.resultType: expected 'matrix'" in _err(root)


def test_metrics_bad_point(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {}, "values": [[T0, "1"], [T0 + 60, "one"]]}],
        },
    }
    (root / "metrics" / "bad.json").write_text(json.dumps(body))
    assert 'metrics/bad.json: $.data.result[0].values[1]: expected [unix_ts, "value"]' in _err(root)


def test_jsonl_line_not_an_object(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    with (root / "logs" / "api.jsonl").open("a") as fh:
        fh.write("[1, 2]\n")
    assert "logs/api.jsonl:7: expected a JSON object, got list" in _err(root)


def test_jsonl_invalid_json_line(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "logs" / "db.jsonl").write_text('{"ts": 1, "msg": "ok"}\n{"ts": \n')
    assert "logs/db.jsonl:2: invalid JSON" in _err(root)


def test_unparseable_log_timestamp(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "logs" / "db.jsonl").write_text('{"ts": "13/11/2023 10:00", "msg": "x"}\n')
    assert "logs/db.jsonl:1: ts: not an RFC 3339 timestamp" in _err(root)


def _log_times(root: Path) -> list[float]:
    return list(BundleSource(root).all_logs().ts)


@pytest.mark.parametrize("bulk_from", [1, 10**9], ids=["numpy", "one-by-one"])
def test_log_times_in_bulk_equal_the_per_line_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk_from: int
) -> None:
    """A large file's `...Z` times are parsed by numpy in one call; they are the times
    the per-line parse gives, also when other shapes (an offset, epoch seconds, no
    fraction) sit between them."""
    monkeypatch.setattr(bundle_mod, "_BULK_TIMES", bulk_from)
    root = make_bundle(tmp_path / "b")
    times = [
        "2023-11-14T09:00:00.123Z",
        "2023-11-14T10:00:00.5+01:00",
        "2023-11-14T09:00:01.000001Z",
        1_699_952_402.25,
        "2023-11-14T09:00:03Z",
        "2023-11-14T09:59:59.999Z",
    ]
    only_z = [t for t in times if isinstance(t, str) and t.endswith("Z") and "." in t]
    for name, ts in (("db", times), ("zz", only_z)):  # rows apart, and rows in one run
        (root / "logs" / f"{name}.jsonl").write_text(
            "".join(json.dumps({"ts": t, "level": "error", "msg": "m"}) + "\n" for t in ts)
        )
    got = [round(x, 6) for x in _log_times(root)[-len(times) - len(only_z) :]]
    assert got == [round(to_unix(t), 6) for t in [*times, *only_z]]


@pytest.mark.parametrize("bulk_from", [1, 10**9], ids=["numpy", "one-by-one"])
def test_a_bad_time_among_many_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk_from: int
) -> None:
    monkeypatch.setattr(bundle_mod, "_BULK_TIMES", bulk_from)
    root = make_bundle(tmp_path / "b")
    good = '{"ts": "2023-11-14T09:00:00.123Z", "msg": "x"}\n'
    bad = '{"ts": "2023-11-14T09:00:61.000Z", "msg": "x"}\n'
    (root / "logs" / "db.jsonl").write_text(good * 3 + bad + good)
    assert "logs/db.jsonl:4: ts: not an RFC 3339 timestamp" in _err(root)


def test_unparseable_window(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "bundle.yaml").write_text('id: x\nwindow: {start: "soon", end: "later"}\n')
    assert "bundle.yaml: window.start: not an RFC 3339 timestamp" in _err(root)


@pytest.mark.parametrize(
    "text,needle",
    [
        ("- api\n- db\n", "expected `services:"),
        ("services: [api, db]\n", "services: expected a mapping"),
        ("services:\n  api: [db]\n", "services.api: expected a mapping with depends_on, got list"),
        ("services:\n  api:\n    depends_on: db\n", "services.api.depends_on: expected a list"),
        ("services:\n  api: {depends_on: [1, 2]}\n", "services.api.depends_on: expected a list"),
        ("services: {api: [\n", "not valid YAML"),
    ],
)
def test_topology_unknown_shape(tmp_path: Path, text: str, needle: str) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "topology.yaml").write_text(text)
    msg = _err(root)
    assert "topology.yaml" in msg and needle in msg


def test_change_unknown_kind(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "changes.json").write_text(
        json.dumps([{"id": "c", "ts": T0, "service": "a", "kind": "yolo"}])
    )
    assert "changes.json: $[0].kind: 'yolo' is not one of" in _err(root)


def test_optional_files_may_be_missing(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    for name in ("changes.json", "topology.yaml", "truth.yaml"):
        (root / name).unlink()
    for d in ("logs", "traces", "metrics"):
        shutil.rmtree(root / d)
    b = BundleSource(root)
    b.validate()
    assert b.truth() is None and len(b.all_logs()) == 0 and b.all_series() == []


@pytest.mark.parametrize(
    ("labels", "want"),
    [
        ({"service": "checkout", "job": "kubelet"}, "checkout"),
        ({"job": "checkout"}, "checkout"),
        ({"job": "shop/checkout", "pod": "x-1"}, "checkout"),  # Promtail's namespace/app
        ({"job": "kubelet", "pod": "checkout-7d9f8b6c5d-x2x9q", "container": "server"}, "checkout"),
        ({"job": "kube-state-metrics", "pod": "ledger-db-0"}, "ledger-db"),
        ({"job": "integrations/kubernetes/cadvisor", "pod": "fluentd-7xk2p"}, "fluentd"),
        ({"job": "node-exporter", "instance": "10.0.0.1:9100"}, None),
        # Istio names a destination outside the mesh "unknown": the next label says
        (
            {
                "destination_canonical_service": "unknown",
                "destination_service_name": "db.example.net",
            },
            "db.example.net",
        ),
        # node_exporter's job as the Prometheus docs name it
        ({"job": "node", "instance": "10.0.0.1:9100", "host": "cass-01"}, None),
        # windows_exporter's (formerly wmi_exporter's) job as its docs name it
        ({"job": "windows", "instance": "web-01:9182", "role": "web"}, None),
        ({"job": "wmi", "instance": "sql-01:9182"}, None),
        # a CloudWatch namespace as a job, the resource in YACE's dimension labels
        ({"job": "aws_lambda", "dimension_FunctionName": "track-parcel"}, "track-parcel"),
        ({"job": "aws_rds", "name": "arn:aws:rds:eu-west-1:1:db:x"}, None),
        (
            {"job": "aws_apigateway", "dimension_ApiName": "public", "dimension_Stage": "prod"},
            "public",
        ),
        # azure-metrics-exporter: its scrape job is no service; the resource is
        ({"job": "azure-metrics-sql", "resourceName": "sql-prod/sqldb-billing"}, "sqldb-billing"),
        ({"job": "azure-metrics-redis", "resourceName": "redis-sessions"}, "redis-sessions"),
        # Powertools' `service` dimension on a function's own (EMF) metrics
        ({"job": "aws_parcelwise", "dimension_service": "rate-quote"}, "rate-quote"),
        # words are not suffixes: Kubernetes' random suffixes have no vowels
        ({"job": "kubelet", "pod": "api-proxy-5f6585d649-fnmft"}, "api-proxy"),
        ({"job": "kubelet", "pod": "debug-shell"}, "debug-shell"),
        ({"job": "kubelet", "pod": "node-agent-x7k2p"}, "node-agent"),
        ({"app": "cart", "job": "node-exporter"}, "cart"),
        # other stacks' names for the service: OpenTelemetry, Kubernetes' recommended
        # labels (directly or through kube-state-metrics), Istio's destination workload;
        # each before the pod's workload, and none before a profile's own labels
        ({"service_name": "cart", "job": "otel-collector"}, "cart"),
        ({"app_kubernetes_io_name": "cart", "pod": "cart-7d9f8b6c5d-x2x9q"}, "cart"),
        ({"label_app_kubernetes_io_name": "cart", "job": "kube-state-metrics"}, "cart"),
        ({"k8s_deployment_name": "cart", "k8s_pod_name": "cart-1"}, "cart"),
        ({"destination_workload": "cart", "source_workload": "web"}, "cart"),
        # Istio names the service before the workload, which may be one version of it
        (
            {"destination_canonical_service": "reviews", "destination_workload": "reviews-v2"},
            "reviews",
        ),
        ({"service": "cart-svc", "service_name": "cart"}, "cart-svc"),
        # kube-prometheus' ServiceMonitors also set `service` to the scraped Service: the
        # kubelet's cAdvisor, kube-state-metrics; an exporter's series describe others
        (
            {"service": "kubelet", "job": "kubelet", "pod": "rates-svc-5f6585d649-fnmft"},
            "rates-svc",
        ),
        ({"service": "kube-state-metrics", "statefulset": "ledger-pg"}, "ledger-pg"),
        ({"service": "kafka-exporter", "consumergroup": "claims-worker"}, "claims-worker"),
        # an exporter's own pod names no service (the one running its product is found
        # later, `attribute_by_product`); one product's exporter scraped per target
        # names it by its `instance`, a name, not an address or its own pod
        ({"service": "postgres-exporter", "pod": "postgres-exporter-6d8f9b7c4d-x2x9q"}, None),
        (
            {"job": "redis-exporter", "instance": "seat-holds", "pod": "redis-exporter-6f5b-w4tmx"},
            "seat-holds",
        ),
        ({"job": "redis-exporter", "instance": "10.52.3.17:9121"}, None),
        # (a sidecar exporter scraped at its own pod's address: the pod's workload)
        (
            {
                "job": "redis-exporter",
                "instance": "redis-master-0.redis-headless.data.svc:9121",
                "pod": "redis-master-0",
            },
            "redis-master",
        ),
        ({"job": "node-exporter", "instance": "kafka-2:9100"}, None),
        # stackdriver_exporter's Google Cloud resource (GMP labels the exporter's pod too)
        (
            {
                "job": "stackdriver-exporter",
                "pod": "stackdriver-exporter-5d8c7b9f4-qk2wz",
                "database_id": "lanternfish-prod:orders-db",
            },
            "orders-db",
        ),
        (
            {"job": "stackdriver-exporter", "subscription_id": "order-events-push"},
            "order-events-push",
        ),
        ({"job": "stackdriver-exporter", "pod": "stackdriver-exporter-5d8c7b9f4-qk2wz"}, None),
        # the blackbox prober's instance is the URL it probed; YACE's the AWS resource
        ({"job": "blackbox", "instance": "https://tinyco.app/"}, None),
        ({"job": "yace", "dimension_LoadBalancer": "app/driver-bff/1f2e"}, None),
        ({"job": "yace", "service": "driver-bff"}, "driver-bff"),
        # a managed resource that is itself the workload: an RDS instance, an ElastiCache
        # cluster (less its node's -00N), a Lambda function, an SQS queue
        ({"job": "yace-exporter", "dimension_DBInstanceIdentifier": "orders-db"}, "orders-db"),
        ({"job": "yace", "dimension_CacheClusterId": "cart-redis-002"}, "cart-redis"),
        ({"job": "yace", "dimension_FunctionName": "thumbnailer"}, "thumbnailer"),
        ({"job": "yace", "dimension_QueueName": "orders-dlq"}, "orders-dlq"),
        # Prometheus' example Kubernetes scrape jobs name the scrape, not the service:
        # the Service's name is relabelled to kubernetes_name, or the pod says
        ({"job": "kubernetes-service-endpoints", "kubernetes_name": "orders"}, "orders"),
        ({"job": "kubernetes-pods", "pod": "orders-7d9f8b6c5d-x2x9q"}, "orders"),
        ({"job": "blackbox-tls", "instance": "https://api.example.com"}, None),
        # Nomad's client telemetry names the task group; dotnet-monitor and statsd's
        # exporter keep the job they were sent as in exported_job
        ({"job": "nomad-clients", "task_group": "rating-engine"}, "rating-engine"),
        ({"job": "dotnet-monitor", "exported_job": "labels"}, "labels"),
        ({"job": "statsd-exporter", "exported_job": "ns/playback"}, "playback"),
        # Envoy's sidecar names its own service's cluster
        ({"job": "envoy-stats", "local_cluster": "trips"}, "trips"),
        ({"job": "consul-connect-envoy", "local_cluster": "promo"}, "promo"),
        ({"job": "edge-envoy", "local_cluster": "edge"}, "edge-envoy"),  # a service's name
        ({"local_cluster": "trips", "envoy_cluster_name": "pg"}, "trips"),
        # the `k8s-app` pod label, relabelled onto the target (kube-dns and add-ons)
        ({"job": "kubernetes-pods", "k8s_app": "fx-rates", "pod": "fx-rates-9c1a-x"}, "fx-rates"),
        # the series' own `service`, renamed because the target had one (ingress-nginx's
        # metrics Service scraped without honorLabels)
        (
            {"service": "ingress-nginx-controller-metrics", "exported_service": "web-bff"},
            "web-bff",
        ),
        # certificate collectors describe the certificate of the service it is named for
        ({"job": "cert-manager", "service": "cert-manager", "name": "web-bff-tls"}, "web-bff"),
        ({"job": "cert-manager", "name": "auth-mtls"}, "auth"),
        ({"job": "x509-certificate-exporter", "secret_name": "ledger-server-cert"}, "ledger"),
        ({"job": "cert-manager", "name": "inventory-grpc-tls"}, "inventory"),
        ({"job": "cert-manager", "name": "partner-api-tls"}, "partner-api"),
        # the JMX exporter's job, named after the JVM application it runs in
        ({"job": "kafka-jmx", "instance": "kafka-2:7071"}, "kafka"),
        ({"job": "cassandra_jmx"}, "cassandra"),
        # a client certificate is named after the server it is presented to; its subject
        # says whose it is (none given, or a wildcard: its name is all there is)
        (
            {
                "job": "x509-certificate-exporter",
                "secret_name": "gridops-client-mtls",
                "subject_CN": "outage-svc.tidewater-energy.example",
            },
            "outage-svc",
        ),
        ({"job": "x509-certificate-exporter", "secret_name": "gridops-client-mtls"}, "gridops"),
        (
            {
                "job": "x509-certificate-exporter",
                "secret_name": "mesh-client-tls",
                "subject_CN": "*.shop.svc.cluster.local",
            },
            "mesh",
        ),
        (
            {
                "job": "x509-certificate-exporter",
                "secret_name": "web-bff-tls",
                "subject_CN": "www.example.com",
            },
            "web-bff",
        ),
        # an exporter describes the server it watches, or the release it was installed as
        (
            {
                "job": "payments-db-prometheus-postgres-exporter",
                "server": "payments-db.db.svc:5432",
            },
            "payments-db",
        ),
        ({"job": "orders-db-prometheus-postgres-exporter"}, "orders-db"),
        ({"job": "redis-exporter", "addr": "redis://cart-redis.shop.svc:6379"}, "cart-redis"),
        ({"job": "postgres-exporter", "server": "10.0.0.5:5432"}, None),
        # stackdriver_exporter scraped at its own pod's name: the resource its labels
        # name (Cloud SQL's `database_id`, Memorystore's `instance_id` path), not the pod
        (
            {
                "job": "stackdriver-exporter",
                "instance": "stackdriver-exporter-gx87d:9255",
                "database_id": "ridego-prod:identity-pg",
            },
            "identity-pg",
        ),
        (
            {
                "job": "stackdriver-exporter",
                "instance": "stackdriver-exporter-gx87d:9255",
                "instance_id": "projects/ridego-prod/locations/us-central1/instances/geo-redis",
            },
            "geo-redis",
        ),
        ({"instance_id": "1234567890123", "job": "node-exporter"}, None),  # a VM's id
        # Telegraf's `server` tag is a libpq connection string of keywords: its host
        ({"job": "telegraf", "server": "host=pg-main port=5432 user=telegraf"}, "pg-main"),
        ({"job": "telegraf", "server": "host=localhost port=6432 dbname=pgbouncer"}, None),
        ({"job": "telegraf", "server": "dbname=postgres sslmode=disable"}, None),
        # a chart's `<release>-metrics` Service for its exporter sidecar; not an application
        # whose own pods are called so
        (
            {
                "service": "session-redis-metrics",
                "pod": "session-redis-master-0",
                "container": "metrics",
            },
            "session-redis",
        ),
        ({"service": "pg-postgresql-metrics", "pod": "pg-postgresql-0"}, "pg-postgresql"),
        (
            {"service": "order-metrics", "pod": "order-metrics-6d8f9b7c4d-x2x9q"},
            "order-metrics",
        ),
        # the collector's own pod measures the node, not a service called after it
        ({"job": "node-exporter", "service": "node-exporter", "pod": "node-exporter-7czx4"}, None),
        ({"pod": "kube-prometheus-stack-prometheus-node-exporter--cptd"}, None),
        # kube-prometheus-stack's node-exporter is no release watching a workload
        (
            {
                "job": "node-exporter",
                "service": "kube-prometheus-stack-prometheus-node-exporter",
                "pod": "kube-prometheus-stack-prometheus-node-exporter-x7k2p",
            },
            None,
        ),
        ({"service": "mon-prometheus-blackbox-exporter", "instance": "https://x.io"}, None),
        # a consumer group's lag is the consumer's, whichever broker's job scraped it
        ({"job": "kafka-exporter", "consumergroup": "ledger-sink"}, "ledger-sink"),
        (
            {"job": "events-kafka", "consumer_group": "ticketing-worker", "topic": "t"},
            "ticketing-worker",
        ),
        # no pod (Nomad, Docker): the application's container, not a sidecar's
        ({"job": "cadvisor", "container": "geocoder"}, "geocoder"),
        ({"job": "cadvisor", "container": "istio-proxy"}, None),
        # cAdvisor on plain Docker: the container's `name`; a Swarm task's service with
        # its stack taken off, Compose's own service label, a replica's number dropped
        (
            {
                "job": "cadvisor",
                "name": "cinder_api",
                "image": "registry:4000/openstack.kolla/cinder-api:2024.1",
                "id": "/docker/5ddf77024323",
            },
            "cinder_api",
        ),
        (
            {
                "name": "socialnetwork_post-storage-memcached.1.iqjc644abhe3ldwmknnnxgqjh",
                "container_label_com_docker_swarm_service_name": (
                    "socialnetwork_post-storage-memcached"
                ),
            },
            "post-storage-memcached",
        ),
        (
            {"name": "sn_text-service.1.fse3ihklnc4sjskt9opqfr6nv", "image": "dsb/sn:1"},
            "text-service",
        ),
        (
            {
                "name": "shop_cart_1",
                "image": "shop/cart:3",
                "container_label_com_docker_compose_service": "cart",
            },
            "cart",
        ),
        ({"name": "shop-worker-2", "id": "/system.slice/docker-ab12.scope"}, "shop-worker"),
        # a `name` that is no container's (no image, no cgroup id) names nothing
        ({"name": "orders"}, None),
        # an OpenTelemetry collector's receiver as `namespace/name`: the Redis it read
        # is in `service_name`, not "redis" (two Redises were one service)
        ({"job": "otel-collector/redis", "service_name": "redis-sessions"}, "redis-sessions"),
        ({"job": "otelcol-contrib/postgresql", "service_name": "pg-ledger"}, "pg-ledger"),
        ({"job": "otel-collector/redis"}, None),
        # a `namespace/name` job of a workload is still its name
        ({"job": "shop/checkout"}, "checkout"),
        # Telegraf's `server` is the database it reads (`db01:3306`), but for its
        # http_response check the URL it checked: a public host names no workload
        ({"job": "telegraf", "server": "db01:3306"}, "db01"),
        ({"job": "telegraf", "server": "https://www.shop.example/"}, None),
        ({}, None),
    ],
)
def test_service_of_reads_what_the_scraper_put_there(
    labels: dict[str, str], want: str | None
) -> None:
    from aisre_cli.settings.config import DEFAULT_SERVICE_LABELS
    from aisre_cli.sources.bundle import service_of

    assert service_of(labels, DEFAULT_SERVICE_LABELS) == want


def test_log_times_under_other_loggers_names_and_units(tmp_path: Path) -> None:
    """ECS/Logstash `@timestamp`, OpenTelemetry's `timeUnixNano` (nanoseconds), and
    epoch microseconds all date a record at the same instant as `ts` does."""
    root = make_bundle(tmp_path / "b")
    at = 1699952400  # 2023-11-14T09:00:00Z
    recs = [
        {"ts": "2023-11-14T09:00:00Z"},
        {"@timestamp": "2023-11-14T09:00:00.000Z"},
        {"timeUnixNano": str(at * 10**9)},
        {"time_unix_nano": at * 10**9},
        {"timestamp": at * 10**6},
        {"time": at * 1000},
    ]
    (root / "logs" / "db.jsonl").write_text(
        "".join(json.dumps({**r, "level": "error", "msg": "x"}) + "\n" for r in recs)
    )
    table = BundleSource(root).all_logs()
    got = [
        t
        for t, f in zip(table.ts, table.file_idx, strict=True)
        if table.files[f].endswith("db.jsonl")
    ]
    assert got == [float(at)] * len(recs)


def test_spans_under_opentelemetry_zipkin_and_jaeger_names(tmp_path: Path) -> None:
    """The same failing 250 ms span written with bundle v1's keys, OpenTelemetry's
    (camelCase ids, nanosecond start and end, a status object) and Jaeger/Zipkin's
    (operationName, microseconds, an `error` tag)."""
    from datetime import UTC, datetime

    root = make_bundle(tmp_path / "b")
    at = 1699952400
    recs = [
        {"trace_id": "t1", "span_id": "a", "parent_id": "r", "service": "db", "name": "q",
         "start": at, "duration_ms": 250, "status": "error"},
        {"traceId": "t1", "spanId": "a", "parentSpanId": "r", "service.name": "db", "name": "q",
         "startTimeUnixNano": str(at * 10**9), "endTimeUnixNano": str(at * 10**9 + 250 * 10**6),
         "status": {"code": "STATUS_CODE_ERROR"}},
        {"traceID": "t1", "spanID": "a", "parentId": "r", "serviceName": "db",
         "operationName": "q", "startTime": at * 10**6, "duration_us": 250000, "error": True},
    ]  # fmt: skip
    (root / "traces" / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    w = (datetime.fromtimestamp(at - 60, UTC), datetime.fromtimestamp(at + 60, UTC))
    spans = BundleSource(root).fetch_spans(*w)
    got = {(x.trace_id, x.span_id, x.parent_id, x.service, x.name, x.start, x.duration_ms,
            x.error) for x in spans}  # fmt: skip
    assert got == {("t1", "a", "r", "db", "q", float(at), 250.0, True)}


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        (30, "info"),  # pino / bunyan
        (50, "error"),
        ("60", "fatal"),
        (3, "error"),  # syslog severities
        (4, "warn"),
        ("SEVERE", "error"),  # java.util.logging
        ("FINE", "debug"),
        ("E", "error"),  # glog / klog
        ("W", "warn"),
        ("notice", "info"),
        (None, "info"),
        ("weird", "weird"),  # kept: the analyzer reads an unknown level as an error
        (float("nan"), "nan"),
    ],
)
def test_levels_other_loggers_write(raw: object, level: str) -> None:
    from aisre_cli.sources.bundle import normalize_level

    assert normalize_level(raw) == level


def test_a_record_with_no_time_is_a_clear_error(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "logs" / "db.jsonl").write_text(json.dumps({"level": "error", "msg": "x"}) + "\n")
    with pytest.raises(BundleError, match=r"db\.jsonl:1: ts: not a timestamp"):
        BundleSource(root).all_logs()


def test_what_failed_is_read_with_the_message(tmp_path: Path) -> None:
    """zap, zerolog and logrus write what failed beside the message (`error`, `err`),
    Java's logstash encoder its `stack_trace`:
    a warn or error record's message carries it; an info record's, or one whose message
    already says it, is left as it is."""
    root = make_bundle(tmp_path / "b")
    recs = [
        {"level": "error", "msg": "call paylane failed", "error": "tls: expired certificate"},
        {"level": "warn", "msg": "retrying", "err": "dial tcp: i/o timeout"},
        {"level": "info", "msg": "served", "error": "none"},
        {"level": "error", "msg": "db: conn refused", "error": "conn refused"},
        {"level": "error", "msg": "odd", "error": {"code": 3}},
        # Powertools for AWS Lambda: Python's traceback under `exception` (its last line
        # is the exception), TypeScript's `error` object
        {
            "level": "ERROR",
            "message": "Failed to record pickup charge",
            "exception_name": "QueryCanceled",
            "exception": 'Traceback (most recent call last):\n  File "app.py", line 84, in h\n'
            "QueryCanceled: canceling statement due to statement timeout\n",
        },
        {
            "level": "ERROR",
            "message": "Quote failed",
            "error": {"name": "TimeoutError", "message": "northpost did not answer", "stack": "x"},
        },
        # logstash-logback-encoder: Java's throwable under `stack_trace` (its first line
        # is the exception, the last `Caused by:` the one that began it)
        {
            "level": "ERROR",
            "message": "Idempotency check failed",
            "stack_trace": "software.amazon.awssdk.services.dynamodb.model.DynamoDbException:"
            " Internal server error (Service: DynamoDb, Status Code: 500)\n\tat a.B.c(B.java:9)\n",
        },
        {
            "level": "ERROR",
            "message": "Posting failed",
            "stack_trace": "org.springframework.dao.DataAccessResourceFailureException: x\n"
            "\tat a.B.c(B.java:9)\nCaused by: java.net.SocketTimeoutException: Read timed out\n"
            "\t... 12 more\n",
        },
        # Elastic Common Schema: an `error` object of a `type` and a `message`
        {
            "level": "error",
            "message": "Charge failed",
            "error": {"type": "java.io.IOException", "message": "Broken pipe"},
        },
    ]
    (root / "logs" / "pay.jsonl").write_text(
        "".join(json.dumps({"ts": "2023-11-14T22:30:00Z", **r}) + "\n" for r in recs)
    )
    table = BundleSource(root).all_logs()
    got = [m for m, f in zip(table.msg, table.file_idx, strict=True) if "pay" in table.files[f]]
    assert got == [
        "call paylane failed: tls: expired certificate",
        "retrying: dial tcp: i/o timeout",
        "served",
        "db: conn refused",
        "odd",
        "Failed to record pickup charge: QueryCanceled: canceling statement due to statement"
        " timeout",
        "Quote failed: TimeoutError: northpost did not answer",
        "Idempotency check failed: software.amazon.awssdk.services.dynamodb.model."
        "DynamoDbException: Internal server error (Service: DynamoDb, Status Code: 500)",
        "Posting failed: org.springframework.dao.DataAccessResourceFailureException: x --->"
        " java.net.SocketTimeoutException: Read timed out",
        "Charge failed: java.io.IOException: Broken pipe",
    ]


def test_log_records_say_which_machine_a_service_runs_on(tmp_path: Path) -> None:
    """A shipper's `node` field (Fluent Bit's, Vector's Kubernetes metadata) places the
    record's service (its pod, where the record names it) on that machine; a record
    without one, or with a node that is no name, places nothing."""
    root = make_bundle(tmp_path / "b")
    recs = [
        {"service": "pay", "node": "gke-pool-1-abc", "pod": "pay-7d9f8-x2x9q", "msg": "a"},
        {"service": "pay", "node": "gke-pool-1-abc", "pod": "pay-7d9f8-x2x9q", "msg": "b"},
        {"app": "edge", "node": "gke-pool-1-def", "msg": "c"},
        {"service": "pay", "msg": "no node"},
        {"service": "pay", "node": 3, "msg": "not a name"},
    ]
    (root / "logs" / "pay.jsonl").write_text(
        "".join(json.dumps({"ts": "2023-11-14T22:30:00Z", **r}) + "\n" for r in recs)
    )
    table = BundleSource(root).all_logs()
    assert table.placements == {
        ("gke-pool-1-abc", "pay", "pay-7d9f8-x2x9q"),
        ("gke-pool-1-def", "edge", ""),
    }


def test_a_shippers_host_beside_a_records_service_places_it(tmp_path: Path) -> None:
    """Vector's and syslog's `host` beside the record's own service: the service runs on
    that machine (its short name). A record naming no service of its own is the machine's
    own log (`LogTable.hosts`), which places nothing."""
    root = make_bundle(tmp_path / "b")
    recs = [
        {"service": "kafka", "host": "kafka-2.dc1.example", "msg": "a"},
        {"service": "kafka", "host": "kafka-2.dc1.example", "msg": "b"},
        {"service": "kafka", "hostname": "KAFKA-3", "msg": "c"},
        {"host": "kafka-1", "msg": "the machine's own line"},
    ]
    (root / "logs" / "journal.jsonl").write_text(
        "".join(json.dumps({"ts": "2023-11-14T22:30:00Z", **r}) + "\n" for r in recs)
    )
    table = BundleSource(root).all_logs()
    assert table.placements == {("kafka-2", "kafka", ""), ("kafka-3", "kafka", "")}
    assert set(table.hosts.values()) == {"kafka-1"}


def test_log_levels_and_services_under_other_loggers_names(tmp_path: Path) -> None:
    """Structured loggers name the level and the service differently (GCP and Serilog
    `severity`, Python `levelname`, ECS `log.level`, OpenTelemetry `severity_text` and
    `service.name`); a line with no level at all states it in its text, or is info."""
    root = make_bundle(tmp_path / "b")
    recs = [
        {"severity": "ERROR", "msg": "a"},
        {"levelname": "WARNING", "message": "b"},
        {"log.level": "error", "msg": "c"},
        {"severity_text": "FATAL", "service.name": "ledger", "msg": "d"},
        {"msg": "2024-01-01 12:00:00 ERROR [pool-1] connection refused"},
        {"msg": "request served in 12 ms"},
        {"level": "info", "msg": "an ERROR word in an info line stays info"},
        {"level": "error", "event": "structlog keeps the text under event"},
        {"severity_text": "ERROR", "body": "OpenTelemetry keeps it under body"},
    ]
    (root / "logs" / "db.jsonl").write_text(
        "".join(json.dumps({"ts": "2023-11-14T09:00:00Z", **r}) + "\n" for r in recs)
    )
    table = BundleSource(root).all_logs()
    got = [
        (s, lv)
        for s, lv, f in zip(table.service, table.level, table.file_idx, strict=True)
        if table.files[f].endswith("db.jsonl")
    ]
    assert got == [
        ("db", "error"),
        ("db", "warn"),
        ("db", "error"),
        ("ledger", "fatal"),
        ("db", "error"),
        ("db", "info"),
        ("db", "info"),
        ("db", "error"),
        ("db", "error"),
    ]
    texts = [
        m
        for m, f in zip(table.msg, table.file_idx, strict=True)
        if table.files[f].endswith("db.jsonl")
    ]
    assert texts[-2:] == [
        "structlog keeps the text under event",
        "OpenTelemetry keeps it under body",
    ]


def test_dotnet_json_console_records_are_read_as_dotnet_writes_them(tmp_path: Path) -> None:
    """.NET's JSON console formatter: the level in `LogLevel` (Information, Warning,
    Error, Critical), the text in `Message`, and an exception's `ToString()` in
    `Exception`, read as its first line and innermost cause."""
    root = make_bundle(tmp_path / "b")
    base = {"@timestamp": "2025-05-08T13:19:04.418Z", "EventId": 3001, "Category": "Claims.Api"}
    recs = [
        {**base, "LogLevel": "Information", "Message": "Assessment completed for CLM-1"},
        {
            **base,
            "LogLevel": "Error",
            "Message": "Failed executing DbCommand (30,012ms)",
            "Exception": "Microsoft.Data.SqlClient.SqlException (0x80131904): Execution Timeout"
            " Expired.\r\n ---> System.ComponentModel.Win32Exception (258): The wait"
            " operation timed out.\r\n   at Microsoft.Data.SqlClient.SqlConnection.OnError()",
        },
        {**base, "LogLevel": "Critical", "Message": "Host terminated unexpectedly"},
    ]
    (root / "logs" / "claims.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    table = BundleSource(root).all_logs()
    rows = [i for i, f in enumerate(table.file_idx) if table.files[f].endswith("claims.jsonl")]
    assert [table.level[i] for i in rows] == ["info", "error", "fatal"]
    assert [table.msg[i] for i in rows] == [
        "Assessment completed for CLM-1",
        "Failed executing DbCommand (30,012ms): Microsoft.Data.SqlClient.SqlException"
        " (0x80131904): Execution Timeout Expired. ---> System.ComponentModel.Win32Exception"
        " (258): The wait operation timed out.",
        "Host terminated unexpectedly",
    ]


def test_serilog_compact_json_is_read_as_serilog_writes_it(tmp_path: Path) -> None:
    """Serilog's compact JSON (CLEF): the time in `@t`, the level in `@l` (none for
    Information), the rendered text in `@m` or the template in `@mt` with its holes
    filled from the record's properties, and the exception in `@x`, read as its first
    line and innermost cause."""
    root = make_bundle(tmp_path / "b")
    recs = [
        {
            "@t": "2025-02-28T11:04:28.1322780Z",
            "@mt": "Error when executing service method '{ServiceMethod}'.",
            "@l": "Error",
            "@x": "System.OperationCanceledException: The operation was canceled.\r\n"
            "   at Microsoft.Data.SqlClient.SqlCommand.ExecuteDbDataReaderAsync()",
            "ServiceMethod": "/slots.v1.SlotService/ReserveSlot",
            "Application": "scheduling-svc",
        },
        {
            "@t": "2025-02-28T11:05:00.0000000Z",
            "@mt": "HTTP {RequestMethod} {RequestPath} responded {StatusCode}"
            " in {Elapsed:0.0000} ms",
            "RequestMethod": "GET",
            "RequestPath": "/",
            "StatusCode": 200,
            "Elapsed": 11.8957,
        },
        {
            "@t": "2025-02-28T11:06:00.0000000Z",
            "@m": "Slot query failed for clinic 42",
            "@l": "Warning",
            "@x": "System.Net.Http.HttpRequestException: An error occurred while sending"
            " the request.\r\n ---> System.Net.Sockets.SocketException (10060): A connection"
            " attempt failed\r\n   at System.Net.Http.HttpConnection.SendAsync()",
        },
        # a hole the record has no property for stays as written
        {"@t": "2025-02-28T11:07:00Z", "@mt": "Cache {Name} refreshed", "@l": "Debug"},
    ]
    (root / "logs" / "sched.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    table = BundleSource(root).all_logs()
    rows = [i for i, f in enumerate(table.file_idx) if table.files[f].endswith("sched.jsonl")]
    assert [table.level[i] for i in rows] == ["error", "info", "warn", "debug"]
    assert [table.ts[i] for i in rows][:2] == [1740740668.132278, 1740740700.0]
    assert [table.msg[i] for i in rows] == [
        "Error when executing service method '/slots.v1.SlotService/ReserveSlot'.: "
        "System.OperationCanceledException: The operation was canceled.",
        "HTTP GET / responded 200 in 11.8957 ms",
        "Slot query failed for clinic 42: System.Net.Http.HttpRequestException: An error "
        "occurred while sending the request. ---> System.Net.Sockets.SocketException (10060):"
        " A connection attempt failed",
        "Cache {Name} refreshed",
    ]


def test_cloudnativepg_records_are_read_by_their_own_message_and_severity(
    tmp_path: Path,
) -> None:
    """CloudNativePG's instance manager wraps each PostgreSQL log record in its own line:
    `"msg": "record"` and `"level": "info"` on every one, the record's text and severity
    in a `record` object. Read as the wrapper, a database's errors were `info: record`."""
    root = make_bundle(tmp_path / "b")
    recs = [
        {
            "level": "info",
            "ts": "2025-06-03T16:10:53.002Z",
            "logger": "postgres",
            "msg": "record",
            "logging_pod": "pg-main-3",
            "record": {
                "error_severity": "FATAL",
                "sql_state_code": "53300",
                "message": "remaining connection slots are reserved for superuser",
            },
        },
        {
            "level": "info",
            "ts": "2025-06-03T16:11:00.000Z",
            "msg": "record",
            "record": {"error_severity": "LOG", "message": "checkpoint complete"},
        },
        # the instance manager's own lines, and a record without a severity
        {"level": "error", "ts": "2025-06-03T16:12:00.000Z", "msg": "failed to reload"},
        {"level": "warning", "ts": "2025-06-03T16:13:00.000Z", "msg": "record", "record": {}},
    ]
    (root / "logs" / "pg-main.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    table = BundleSource(root).all_logs()
    rows = [i for i, f in enumerate(table.file_idx) if table.files[f].endswith("pg-main.jsonl")]
    assert [(table.level[i], table.msg[i]) for i in rows] == [
        ("fatal", "remaining connection slots are reserved for superuser"),
        ("info", "checkpoint complete"),
        ("error", "failed to reload"),
        ("warn", "record"),
    ]


def test_azure_metrics_exporters_one_name_is_read_by_its_metric_label(tmp_path: Path) -> None:
    """webdevops' azure-metrics-exporter names every Azure Monitor metric
    `azurerm_resource_metric` and says which in `metric`: the series is read as
    `azure_<metric>`, of the resource its `resourceName` names."""
    root = make_bundle(tmp_path / "b")
    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {
                        "__name__": "azurerm_resource_metric",
                        "job": "azure-metrics-sql",
                        "metric": "cpu_percent",
                        "resourceName": "sql-prod/sqldb-billing",
                        "aggregation": "average",
                    },
                    "values": [[1700000000, "12.5"], [1700000060, "13.0"]],
                }
            ],
        },
    }
    (root / "metrics" / "azure_sqldb.json").write_text(json.dumps(body))
    got = [(s.name, s.service) for s in BundleSource(root).all_series() if "azure" in s.name]
    assert got == [("azure_cpu_percent", "sqldb-billing")]


def test_records_naming_only_their_machine_keep_it(tmp_path: Path) -> None:
    """Winlogbeat's event log names the machine (`host.name`, an FQDN in Windows'
    `computer_name`, ECS' nested `host: {name}`), not the service: the row keeps its
    machine, in short and in lower case, for the triage to place it; a record naming its
    service does not need one. Tables joined keep each row's machine."""
    root = make_bundle(tmp_path / "b")
    recs = [
        {"host.name": "app-03", "message": "a"},
        {"computer_name": "APP-03.fernhill.local", "message": "b"},
        {"host": {"name": "web-01"}, "message": "c"},
        {"host.name": "10.0.0.7", "message": "d"},
        {"host.name": "web-02", "service": "booking-web", "message": "e"},
        {"message": "f"},
    ]
    (root / "logs" / "windows-events.jsonl").write_text(
        "".join(json.dumps({"@timestamp": "2025-03-17T11:45:07.503Z", **r}) + "\n" for r in recs)
    )
    table = BundleSource(root).all_logs()
    rows = [i for i, f in enumerate(table.file_idx) if table.files[f].endswith("events.jsonl")]
    assert {r - rows[0]: h for r, h in table.hosts.items() if r in rows} == {
        0: "app-03",
        1: "app-03",
        2: "web-01",
        3: "10.0.0.7",
    }
    joined = LogTable()
    joined.msg.append("x")
    joined.extend(table)
    assert joined.hosts == {r + 1: h for r, h in table.hosts.items()}


def test_change_kinds_under_other_feeds_names(tmp_path: Path) -> None:
    """Other change feeds' words for the five kinds are read as them; a kind that is
    none of them stays a one-line error naming its place."""
    from aisre_cli.sources.bundle import parse_changes

    words = ["Rollout", "feature-flag", "ConfigMap", "Terraform", "HPA", "deploy"]
    data = [
        {"id": f"c{i}", "ts": "2023-11-14T22:35:00Z", "service": "api", "kind": w}
        for i, w in enumerate(words)
    ]
    got = [c.kind for c in parse_changes(data, "changes.json")]
    assert got == ["deploy", "flag", "config", "infra", "scale", "deploy"]
    with pytest.raises(BundleError, match=r"changes.json: \$\[0\].kind: 'backup' is not one of"):
        parse_changes([{**data[0], "kind": "backup"}], "changes.json")


def test_metric_times_in_milliseconds_or_rfc3339_are_read_as_seconds() -> None:
    """Converters write the sample times of query_range as milliseconds or RFC 3339
    where Prometheus writes unix seconds; both are the same instants. Out of range
    stays a one-line error naming the sample."""
    from aisre_cli.sources.bundle import parse_query_range

    def body(values: list[list[object]]) -> dict[str, object]:
        result = [{"metric": {"service": "a"}, "values": values}]
        return {"status": "success", "data": {"resultType": "matrix", "result": result}}

    (s,) = parse_query_range(
        body([[1700000000000, "1"], ["2023-11-14T22:14:20Z", "2"], [1700000120.0, "3"]]),
        "metrics/m.json",
        "m",
        ["service"],
    )
    assert s.timestamps == [1700000000.0, 1700000060.0, 1700000120.0]
    with pytest.raises(BundleError, match=r"values\[0\]: timestamp -5 out of range"):
        parse_query_range(body([[-5, "1"]]), "metrics/m.json", "m", ["service"])


# ------------------------------------------------------------------ bundle-level checks


def _set_meta(root: Path, key: str, value: str | None) -> None:
    """Replace (or, with None, drop) one top-level key of bundle.yaml; add it if absent."""
    meta = root / "bundle.yaml"
    lines = [x for x in meta.read_text().splitlines() if not x.startswith(f"{key}:")]
    if value is not None:
        lines.append(f"{key}: {value}")
    meta.write_text("\n".join(lines) + "\n")


def test_a_missing_alerts_json_is_reported(tmp_path: Path) -> None:
    """docs/bundle-format.md marks alerts.json required: validate says it is missing."""
    root = make_bundle(tmp_path / "b")
    (root / "alerts.json").unlink()
    msg = _err(root)
    assert msg.endswith("alerts.json: missing (required: the alerts of the incident)")


@pytest.mark.parametrize("value", ["2", '"banana"', "0", '"2.0"', "true", "[1]", "-1"])
def test_an_unknown_format_version_is_refused_by_the_reader(tmp_path: Path, value: str) -> None:
    root = make_bundle(tmp_path / "b")
    _set_meta(root, "format_version", value)
    with pytest.raises(BundleError) as exc:
        BundleSource(root)  # the reader itself refuses, not only `bundle validate`
    assert "bundle.yaml: format_version: " in exc.value.message
    assert "not supported" in exc.value.message or "expected a version number" in exc.value.message
    assert exc.value.hint and exc.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("value", [None, "1", '"1"', "1.2", '"1.0"', "null"])
def test_format_version_1_or_none_is_read(tmp_path: Path, value: str | None) -> None:
    root = make_bundle(tmp_path / "b")
    _set_meta(root, "format_version", value)
    BundleSource(root).validate()


@pytest.mark.parametrize(
    ("focus", "ok"),
    [
        ("abcd1234abcd1234", True),  # fingerprint
        ("abcd", True),  # unique prefix of four characters
        ("HighErrors", True),  # unique alertname
        ("abc", False),  # too short a prefix
        ("NoSuchAlert", False),
    ],
)
def test_a_focus_alert_that_names_no_alert_is_reported(
    tmp_path: Path, focus: str, ok: bool
) -> None:
    root = make_bundle(tmp_path / "b")
    _set_meta(root, "focus_alert", f'"{focus}"')
    if ok:
        BundleSource(root).validate()
        return
    (p,) = BundleSource(root).problems()
    assert (p.file, p.line) == ("bundle.yaml", 5)
    assert p.message == f"focus_alert {focus!r} matches no alert in alerts.json"
    assert p.hint and "bundle.yaml" in p.hint and f"aisre alerts --bundle {root}" in p.hint


def test_a_focus_alert_naming_two_alerts_is_ambiguous(tmp_path: Path) -> None:
    one = {
        "labels": {"alertname": "Same", "job": "api"},
        "startsAt": "2023-11-14T22:40:00Z",
        "fingerprint": "aaaa000000000001",
    }
    two = {**one, "fingerprint": "aaaa000000000002"}
    root = make_bundle(tmp_path / "b", alerts=[one, two])
    _set_meta(root, "focus_alert", "Same")
    assert "is ambiguous: 2 alerts match" in _err(root)


_CRIT = {"alertname": "Same", "job": "api", "severity": "critical"}


@pytest.mark.parametrize(
    ("two", "picked"),
    [
        ({"labels": {**_CRIT, "job": "web", "severity": "warning"}}, 1),
        ({"labels": {**_CRIT, "job": "web"}, "startsAt": "2023-11-14T22:39:00Z"}, 2),
        ({"labels": {**_CRIT, "job": "web", "severity": "page"}}, 1),
        ({"status": {"state": "suppressed", "silencedBy": ["s1"]}}, 1),
    ],
    ids=["less-severe", "older", "critical-before-page", "silenced"],
)
def test_a_focus_alert_naming_two_alerts_resolves_to_the_page(
    tmp_path: Path, two: dict[str, object], picked: int
) -> None:
    """One rule fired on two services: the bundle's focus is the alert that paged
    (firing, then the most severe, then the oldest), not a refusal."""
    one = {"labels": _CRIT, "startsAt": "2023-11-14T22:40:00Z", "fingerprint": "aaaa000000000001"}
    other = {**one, **two, "fingerprint": "aaaa000000000002"}
    root = make_bundle(tmp_path / "b", alerts=[other, one])
    _set_meta(root, "focus_alert", "Same")
    src = BundleSource(root)
    src.validate()
    (hit,) = focus_matches(src.list_alerts(), "Same")
    assert hit.id == f"aaaa00000000000{picked}"


@pytest.mark.parametrize(
    ("truth", "needle"),
    [
        ("root_cause: {kind: bogus, service: api}\n", "root_cause.kind: unknown kind 'bogus'"),
        (
            "root_cause: {kind: deploy, service: api}\nmatch: banana\n",
            "match: expected 'service' or no match, got 'banana'",
        ),
        ("", "truth.yaml: the file is empty"),
        ("# nothing yet\n", "truth.yaml: the file is empty"),
        ("[1]\n", "truth.yaml: expected a mapping"),
    ],
)
def test_an_invalid_truth_is_reported(tmp_path: Path, truth: str, needle: str) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "truth.yaml").write_text(truth)
    assert needle in _err(root)


def test_a_service_truth_may_carry_any_kind_label(tmp_path: Path) -> None:
    """nezha-ob labels causes `code_defect` under `match: service`: still valid."""
    root = make_bundle(tmp_path / "b")
    (root / "truth.yaml").write_text(
        "root_cause: {kind: code_defect, service: api}\nmatch: service\n"
    )
    truth = BundleSource(root).truth()
    assert truth is not None and truth.root_cause.kind == "code_defect" and truth.service_only


def test_problems_lists_each_file_with_its_place(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "logs" / "api.jsonl").write_text('{"ts": 1, "msg": "a"}\n[1]\n')
    (root / "changes.json").write_text("{not json")
    (root / "truth.yaml").write_text("root_cause: {kind: bogus, service: api}\n")
    got = [(p.file, p.line) for p in BundleSource(root).problems()]
    assert got == [("logs/api.jsonl", 2), ("changes.json", None), ("truth.yaml", None)]


def test_validate_cli_json(tmp_path: Path) -> None:
    """`bundle validate --json`: schema, ok, and every problem with file/line/message."""
    from tests.contract_servers.cli import run_cli

    root = make_bundle(tmp_path / "b")
    r = run_cli(["bundle", "validate", str(root), "--json"])
    assert r.code == 0, r.err
    body = json.loads(r.out)
    assert body == {
        "schema": "aisre.bundle.validate/v1",
        "bundle": str(root),
        "id": "t1",
        "ok": True,
        "problems": [],
        "notes": [],
    }
    (root / "alerts.json").unlink()
    (root / "logs" / "api.jsonl").write_text("[1]\n")
    r = run_cli(["bundle", "validate", str(root), "--json"])
    assert r.code == 2
    body = json.loads(r.out)
    assert body["ok"] is False
    assert body["problems"] == [
        {
            "file": "alerts.json",
            "line": None,
            "message": "missing (required: the alerts of the incident)",
        },
        {"file": "logs/api.jsonl", "line": 1, "message": "expected a JSON object, got list"},
    ]
    # without --json: each problem is an error line on stderr (the first one first)
    r = run_cli(["bundle", "validate", str(root)])
    assert r.code == 2 and r.out == ""
    errors = [x for x in r.err.splitlines() if x.startswith("error: ")]
    assert len(errors) == 2 and "alerts.json: missing" in errors[0]
    # an unreadable bundle.yaml is one problem, still as JSON
    _set_meta(root, "format_version", "2")
    body = json.loads(run_cli(["bundle", "validate", str(root), "--json"]).out)
    assert body["id"] is None and [p["file"] for p in body["problems"]] == ["bundle.yaml"]
    assert body["problems"][0]["message"].startswith("format_version: 2 is not supported")


def test_a_bundle_without_alerts_json_is_an_error_not_an_empty_inbox(tmp_path: Path) -> None:
    """alerts.json is required; reading its absence as "no alerts" told a user with a
    half-copied bundle that nothing was firing."""
    import shutil

    from tests.conftest import DEMO
    from tests.contract_servers.cli import run_cli

    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    (b / "alerts.json").unlink()
    for argv in (["triage", "--bundle", str(b)], ["alerts", "--bundle", str(b)]):
        r = run_cli(argv)
        assert r.code == 2, (argv, r.out, r.err)
        assert "alerts.json: missing (required" in r.err and "hint:" in r.err
        assert "nothing is firing" not in r.err and "no active alerts" not in r.out


def test_a_cut_off_last_log_line_is_said_not_dropped_silently(tmp_path: Path) -> None:
    """A log file copied while it was written ends in half a record: the lines before it
    are read and the half line dropped, as documented, and now triage and validate say
    so (it was dropped without a word: the evidence might be in the lost record)."""
    import shutil

    from tests.conftest import DEMO
    from tests.contract_servers.cli import run_cli

    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    f = b / "logs" / "payments.jsonl"
    raw = f.read_bytes()
    n = raw.count(b"\n")
    f.write_bytes(raw[:-30])  # the last record loses its tail and its newline
    r = run_cli(["triage", "--no-record", "--bundle", str(b), "--json"])
    assert r.code == 0, r.err
    notes = json.loads(r.out)["notes"]
    assert any(f"logs/payments.jsonl:{n}: the last line is cut off" in x for x in notes), notes
    r = run_cli(["bundle", "validate", str(b)])
    assert r.code == 0 and "the last line is cut off" in r.err and "valid bundle" in r.err
    body = json.loads(run_cli(["bundle", "validate", str(b), "--json"]).out)
    assert body["ok"] and len(body["notes"]) == 1
    # an intact bundle has no such note
    body = json.loads(run_cli(["bundle", "validate", str(DEMO), "--json"]).out)
    assert body["notes"] == []


def test_files_the_reader_skips_are_named_not_dropped_unseen(tmp_path: Path) -> None:
    """Logs written as plain text or compressed (`app.log`, `app.jsonl.gz`) and a CSV
    export among the metrics are not bundle v1 and are not read; extra files are never
    fatal, but their data vanished without a word. Triage and validate now say, once per
    folder, which files were not read; the readable rest still gives the answer."""
    import gzip
    import shutil

    from tests.conftest import DEMO
    from tests.contract_servers.cli import run_cli

    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    logs = sorted((b / "logs").glob("*.jsonl"))
    for f in logs[:2]:
        (f.parent / (f.name + ".gz")).write_bytes(gzip.compress(f.read_bytes()))
        f.unlink()
    (b / "logs" / "api.log").write_text("2025-03-11T13:30:00Z ERROR boom\n")
    (b / "metrics" / "export.csv").write_text("ts,value\n1,2\n")
    (b / "metrics" / ".DS_Store").write_bytes(b"\0")  # hidden: not data, not named
    r = run_cli(["triage", "--no-record", "--bundle", str(b), "--json"])
    assert r.code == 0, r.err
    body = json.loads(r.out)
    notes = [x for x in body["notes"] if "not read" in x]
    gz = [f.name + ".gz" for f in logs[:2]]
    assert len(notes) == 2, notes
    (lognote,) = [x for x in notes if "logs/:" in x]
    assert "3 files not read" in lognote and "only logs/*.jsonl is read" in lognote
    assert all(n in lognote for n in ["api.log", *gz]) and "decompress them" in lognote
    assert "more" not in lognote  # three files: all named, none counted
    (metnote,) = [x for x in notes if "metrics/:" in x]
    assert "1 file not read (export.csv)" in metnote and ".DS_Store" not in metnote
    assert "decompress" not in metnote and "queries.yaml" not in metnote
    assert body["hypotheses"][0]["service"] == "payments"  # the rest is still read
    v = json.loads(run_cli(["bundle", "validate", str(b), "--json"]).out)
    assert v["ok"] and len(v["notes"]) == 2
    assert all(any(x.endswith(n) for x in notes) for n in v["notes"]), (v["notes"], notes)
    # many skipped files: three named, the rest counted
    for i in range(5):
        (b / "traces" / f"part{i}.json").write_text("{}")
    v = json.loads(run_cli(["bundle", "validate", str(b), "--json"]).out)
    (tn,) = [x for x in v["notes"] if x.startswith("traces/:")]
    assert "5 files not read (part0.json, part1.json, part2.json and 2 more)" in tn, tn


@pytest.mark.parametrize(
    ("stem", "query", "name"),
    [
        # one metric, summed or maxed over labels: the query's metric names the series
        (
            "34_pg_stat_activity",
            'sum by (service, pod, state) (pg_stat_activity_count{datname="game"})',
            "pg_stat_activity_count",
        ),
        (
            "35_pg_max",
            "max by (service, pod) (pg_settings_max_connections)",
            "pg_settings_max_connections",
        ),
        ("x", "sum(redis_connected_clients) by (instance)", "redis_connected_clients"),
        ("33_up", 'up{namespace=~"game|data"}', "up"),
        (
            "25_agones",
            'label_replace(sum by (fleet, type) (agones_gameservers_count), "service", "$1",'
            ' "fleet", "(.*)")',
            "agones_gameservers_count",
        ),
        # a rate, a quantile or a ratio is what the file says it is, without its number
        ("14_phoenix_http_rps", "sum by (service) (rate(phoenix_x_count[5m]))", "phoenix_http_rps"),
        ("02_wait_p95", "histogram_quantile(0.95, sum by (le) (rate(w_bucket[5m])))", "wait_p95"),
        ("05_ok_ratio", "sum(rate(a[5m])) / sum(rate(b[5m]))", "ok_ratio"),
        ("sum_a_b", "sum(a) + sum(b)", "sum_a_b"),
        ("cpu", "file metrics/cpu.json", "cpu"),
        # selected by what they mean: the failures, not the requests
        ("07_http_5xx", 'sum by (svc) (http_requests_total{code=~"5.."})', "http_5xx"),
        ("08_ready", 'sum(kube_pod_status_ready{condition="false"})', "ready"),
        ("2xx_rate", "file metrics/2xx_rate.json", "2xx_rate"),  # a name, not a place
    ],
)
def test_a_series_without_a_name_is_named_by_its_query_or_its_file(
    stem: str, query: str, name: str
) -> None:
    """Prometheus drops `__name__` from an aggregation's result, and a file's ordering
    number is no part of a metric name (none begins with a digit)."""
    from aisre_cli.sources.bundle import parse_query_range

    result = [{"metric": {"service": "a"}, "values": [[1700000000, "1"], [1700000060, "2"]]}]
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    (s,) = parse_query_range(body, f"metrics/{stem}.json", stem, ["service"], query)
    assert s.name == name
    named = [{"metric": {"__name__": "kept_total", "service": "a"}, "values": result[0]["values"]}]
    body["data"] = {"resultType": "matrix", "result": named}
    (s,) = parse_query_range(body, f"metrics/{stem}.json", stem, ["service"], query)
    assert s.name == "kept_total"
