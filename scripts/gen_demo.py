"""Generate the shipped demo bundle (`aisre_cli/data/demo/`).

    .venv/bin/python scripts/gen_demo.py [--out DIR]

The story, told only through data: a checkout error/latency incident in a small web
shop. `payments` was deployed (v2.41.3 -> v2.42.0) four minutes before the errors
began; the new build throws a NullPointerException that never appeared before the
deploy. The page is `CheckoutHighErrorRate` on `checkout`, the caller, with a
warning on `payments` itself. Around it sit the usual distractions: an innocent
`search` deploy ten minutes before onset (off the fault path), an old `payments`
deploy three days earlier, steady background ERROR/WARN noise on several services,
and CPU/memory series that stay normal. Everything is seeded; a rerun is
byte-identical (`tests/test_generators.py` checks it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenario_lib as sl  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "aisre_cli" / "data" / "demo"

TOPOLOGY = sl.Topology(
    "demo",
    "shop",
    [
        sl.Svc(
            "web-frontend",
            "node",
            ("checkout", "search"),
            entry=True,
            routes=("/", "/cart", "/checkout", "/search?q={id}"),
            team="web",
        ),
        sl.Svc(
            "checkout",
            "go",
            ("payments", "inventory", "notification"),
            routes=("/api/checkout", "/api/checkout/{id}/confirm"),
            team="checkout",
        ),
        sl.Svc(
            "payments",
            "jvm",
            ("postgres",),
            routes=("/v1/payments/authorize", "/v1/payments/{id}/capture"),
            team="payments",
        ),
        sl.Svc(
            "inventory", "go", ("redis",), routes=("/v1/stock/{id}", "/v1/reserve"), team="checkout"
        ),
        sl.Svc("search", "python", (), routes=("/search", "/suggest"), team="discovery"),
        sl.Svc("notification", "python", (), routes=("/notify/order/{id}",), team="crm"),
        sl.Svc("postgres", "postgres", team="dba"),
        sl.Svc("redis", "redis", team="platform"),
    ],
)

START = 1741694400  # 2025-03-11T12:00:00Z
ONSET_OFFSET = 90 * 60 + 10  # 13:30:10Z

SPEC = sl.Spec(
    bundle_id="demo-checkout-errors",
    seed=20250311,
    topo=TOPOLOGY,
    kind="deploy",
    root="payments",
    paged="checkout",
    paged_signal="err",
    paged_alertname="CheckoutHighErrorRate",
    paged_for=180,
    root_alertname="PaymentsHighErrorRate",
    start=START,
    step=30,
    window_min=120,
    onset_offset=ONSET_OFFSET,
    mag="strong",
    noise=0.05,
    label_mode="service",
    ts_mode="rfc3339_ms",
    alert_style="svc",
    families=["rate", "err", "lat", "lat50", "up", "cpu", "mem", "heap"],
    style={
        "stems": {
            "rate": "http_requests_rate",
            "err": "http_error_ratio",
            "lat": "http_latency_p99",
            "lat50": "http_latency_p50",
            "cpu": "cpu_usage_ratio",
            "pod_level": "yes",
            "mem_limits": "no",
        },
        "err_form": "ratio",
        "lat_q": "0.99",
        "rate_window": "5m",
        "_ver_style": "semver",
        "_id_style": "deploy",
    },
    distractors=["innocent_deploy", "background_log_noise"],
    innocent={"search": 600.0},
    deploy_lead=240.0,
    versions=("v2.41.3", "v2.42.0"),
    change_id="deploy-48213",
    root_template="NullPointerException in PaymentAuthorizer.capture order_id={id}",
    replicas={
        "web-frontend": 3,
        "checkout": 3,
        "payments": 3,
        "inventory": 2,
        "search": 2,
        "notification": 1,
        "postgres": 1,
        "redis": 1,
    },
    noise_services={
        "payments": [("warn", "slow query took {msq}ms: select * from payments where order_id=?")],
        "inventory": [("warn", "slow query took {msq}ms table=stock_levels")],
        "web-frontend": [("error", "upstream timeout contacting recommendations (ETIMEDOUT)")],
        "search": [
            ("error", "upstream timeout contacting recommendations: ReadTimeout({ms}ms)"),
            ("warn", "query parser fallback for q='{word}'"),
        ],
        "notification": [("warn", "SMTP relay responded 421, retrying in 30s")],
    },
    extra_changes=[
        {
            "offset": -3 * 86400 - 2710,
            "id": "deploy-47790",
            "service": "payments",
            "kind": "deploy",
            "summary": "Deploy payments {version}",
            "author": "m.garcia",
            "version": "",
            "previous_version": "",
            "url": "",
        },
        {
            "offset": -2 * 86400 + 5400,
            "id": "cfg-3317",
            "service": "notification",
            "kind": "config",
            "summary": "notification: SMTP_POOL_SIZE 4 -> 8",
            "author": "l.chen",
        },
        {
            "offset": -20 * 3600,
            "id": "flag-912",
            "service": "web-frontend",
            "kind": "flag",
            "summary": "Feature flag new-search-box on web-frontend: rollout 10% -> 50%",
            "author": "a.nowak",
        },
    ],
    access_pm=3.5,
    traces=60,
    log_scale=2.5,
    max_bytes=5_000_000,
    title="Checkout errors and latency (demo)",
)


def build() -> sl.Built:
    return sl.build(SPEC)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    built = build()
    size = built.write(args.out)
    focus = built.bundle["focus_alert"]
    lines = sum(len(v) for v in built.logs.values())
    print(
        f"wrote {args.out} ({size / 1e3:.0f} KB, {lines} log lines), focus alert {focus}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
