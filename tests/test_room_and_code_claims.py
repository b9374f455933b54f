"""Four readings of what a change or a count says, as an SRE reads them.

- A config change that *raised* a limit of its service's (RabbitMQ's memory watermark
  0.4 -> 0.5), followed by nothing but more use of that resource, gave room that was
  used: no harm (`analyzers.changes.limits_raised`, `proposers.changes`).
- A connection count that rose with no limit reported beside it and nothing else at its
  service moving is clients holding connections, not a server out of them
  (`proposers.saturation.held_only`).
- A deploy that states no setting, of a service whose callee began to run short of CPU
  or disk minutes later, may have loaded it with heavier calls: it claims part
  of that shortage (`scene.CODE_CLAIM`), and the callee's saturation loses as much.
- A config change that moved where its service calls a callee (a URL, a host, a port),
  which that service alone then could not reach, set a wrong address: the callee is
  not down (`scene.repointed`).
"""

from __future__ import annotations

import pytest

from aisre_cli.investigate import scene as scene_mod
from aisre_cli.investigate.analyzers import changes as change_an
from aisre_cli.investigate.analyzers.dependency import DependencyFinding
from aisre_cli.investigate.proposers import saturation
from aisre_cli.model import Topology
from tests.test_limit_cuts import _change
from tests.test_proposers import FAULT, STEP, T0, N, cands, context, run, series


@pytest.mark.parametrize(
    ("summary", "kind", "raised"),
    [
        ("rabbitmq.conf vm_memory_high_watermark.relative 0.4 -> 0.5", "config", {"memory"}),
        ("JAVA_OPTS -Xmx 2048m -> 4096m", "config", {"memory"}),
        ("max_connections 200 -> 400", "config", {"connections"}),
        ("max_connections 200 -> 200", "config", set()),  # set again, not raised
        ("cpu limit 1 -> 2", "config", {"cpu"}),
        # lowered: a cut, not room
        ("vm_memory_high_watermark.relative 0.5 -> 0.4", "config", set()),
        # a release's numbers are versions
        ("memory-service 2.3 -> 2.4", "deploy", set()),
        # not a capacity
        ("LOG_LEVEL 1 -> 3", "config", set()),
    ],
)
def test_limits_raised_reads_room_given(summary: str, kind: str, raised: set[str]) -> None:
    assert change_an.limits_raised(_change(summary, 0.0, kind)) == raised


def _raised_then(summary: str, extra: list) -> tuple[float, str]:
    ctx = context(extra=extra, changes=[_change(summary, FAULT - 5 * STEP)])
    (cfg,) = cands(run(ctx), "config_change", "api")
    return cfg.features["kind_signal"], cfg.statement


def test_a_raised_limit_then_used_is_no_harm() -> None:
    used = [series("process_resident_memory_bytes", "api", 4e8, 6e8)]
    room, stmt = _raised_then("heap -Xmx 2048m -> 4096m", used)
    cut, _ = _raised_then("heap -Xmx 4096m -> 2048m", used)
    assert room < 0.5 * cut
    assert "raised api's memory limit" in stmt
    # the same raise followed by errors at the service: harm it did not give room for
    hurt, stmt = _raised_then(
        "heap -Xmx 2048m -> 4096m", [*used, series("http_errors_ratio", "api", 0.01, 0.3)]
    )
    assert hurt > 2 * room
    assert "room it gave" not in stmt


def _conn(extra: list) -> float:
    a = run(context(extra=[series("mysql_threads_connected", "db", 60, 110), *extra]))
    (sat,) = cands(a, "resource_saturation", "db")
    return sat.features["kind_signal"]


def test_a_connection_count_alone_with_no_limit_is_held_not_run_out() -> None:
    alone = _conn([])
    # its limit reported, and reached: run out
    at_limit = _conn([series("mysql_variables_max_connections", "db", 112, 112)])
    # no limit, but the server's own latency rose with it: its trouble too
    slow = _conn([series("mysql_query_latency_seconds", "db", 0.01, 0.2)])
    assert alone < 0.7 * at_limit
    assert alone < 0.7 * slow


def test_held_only_needs_no_limit_and_nothing_else() -> None:
    a = run(context(extra=[series("mysql_threads_connected", "db", 60, 110)]))
    sc = scene_mod.build(a.ctx, a.findings, a.onset, a.topology)
    view = sc.views["db"]
    assert saturation.held_only(sc, view)
    # a caller says its calls to it fail: it refuses them
    sc.fnd.dead["db"] = DependencyFinding("db", 0.9, FAULT)
    assert not saturation.held_only(sc, view)
    del sc.fnd.dead["db"]
    view.families.add("latency")
    assert not saturation.held_only(sc, view)


def _deploy_then_db_cpu(summary: str, deploy_at: float) -> tuple[float, float, str]:
    ctx = context(
        extra=[
            series("process_cpu_seconds_total_rate", "db", 0.2, 0.95, at=FAULT),
            series("http_request_duration_seconds_p99", "api", 0.1, 0.5, at=FAULT + 2 * STEP),
        ],
        changes=[_change(summary, deploy_at, kind="deploy")],
    )
    a = run(ctx)
    (dep,) = cands(a, "deploy", "api")
    (sat,) = cands(a, "resource_saturation", "db")
    return dep.features["change_harm"], sat.features["kind_signal"], dep.statement


def test_a_deploy_just_before_its_callee_ran_short_claims_part_of_it() -> None:
    harm, sat, stmt = _deploy_then_db_cpu("api release 4.2.0 (a1b2c3)", FAULT - 2 * STEP)
    far_harm, far_sat, far_stmt = _deploy_then_db_cpu(
        "api release 4.2.0 (a1b2c3)", FAULT - scene_mod.CODE_CLAIM_WINDOW_S - 4 * STEP
    )
    assert "db, which it calls, began to run short of its cpu" in stmt
    assert "which it calls" not in far_stmt
    # the callee's saturation loses what the deploy claims; part of it stays
    assert sat < far_sat
    assert sat > 0.4 * far_sat
    assert harm > 0.0


def test_a_code_claim_is_half_of_a_stated_one() -> None:
    cf = [
        change_an.ChangeFinding(
            change=_change("api release 4.2.0", FAULT - 2 * STEP, kind="deploy"),
            before_onset=True,
            gap_s=2 * STEP,
            proximity=0.9,
        )
    ]
    a = run(context(extra=[series("process_cpu_seconds_total_rate", "db", 0.2, 0.95)]))
    sc = scene_mod.build(a.ctx, a.findings, a.onset, a.topology)
    per_svc = {"db": [f for f in sc.views["db"].metrics if f.family == "cpu"]}
    claims = scene_mod._claims(cf, per_svc, sc.topo)
    (cl,) = claims.values()
    assert cl.code and cl.callee == "db"
    assert cl.strength == pytest.approx(scene_mod.CODE_CLAIM * per_svc["db"][0].strength)


def _repointed(summary: str, svc: str = "api", other_caller_fails: bool = False) -> tuple:
    logs = [
        (FAULT + 2.0 * i, "api", "ERROR", "dial tcp orders-db:6543: connect: connection refused")
        for i in range(30)
    ]
    logs += [
        (T0 + 60.0 * i, x, "INFO", "ok") for i in range(N) for x in ("api", "web", "orders-db")
    ]
    if other_caller_fails:
        logs += [
            (
                FAULT + 2.0 * i,
                "web",
                "ERROR",
                "dial tcp orders-db:5432: connect: connection refused",
            )
            for i in range(30)
        ]
    ctx = context(
        extra=[series("http_errors_ratio", "api", 0.01, 0.4)],
        changes=[_change(summary, FAULT - 60, kind="config", svc=svc)],
        logs=logs,
    )
    ctx.topology = Topology(
        depends_on={
            "web": ["api"] + (["orders-db"] if other_caller_fails else []),
            "api": ["orders-db"],
            "orders-db": [],
        }
    )
    a = run(ctx)
    sc = scene_mod.build(a.ctx, a.findings, a.onset, a.topology)
    return a, sc


def test_a_change_that_moved_where_its_service_calls_a_callee_it_then_cannot_reach() -> None:
    """`DB_URL postgres://orders-db:5432/app -> …:6543/app`, then api alone cannot reach
    orders-db: the address it set is wrong, orders-db is not down (`scene.repointed`)."""
    a, sc = _repointed("DB_URL postgres://orders-db:5432/app -> postgres://orders-db:6543/app")
    assert "orders-db" in a.findings.dead
    assert sc.repointed == {"c": "orders-db"}
    (cfg,) = cands(a, "config_change", "api")
    assert "it moved where api calls orders-db" in cfg.statement
    dep = cands(a, "dependency_failure", "orders-db")
    assert all(cfg.score > d.score for d in dep)
    # another caller cannot reach it either: it is down; a change that names no address
    # or not the callee moved nothing
    for summary, both in (
        ("DB_URL postgres://orders-db:5432/app -> postgres://orders-db:6543/app", True),
        ("LOG_LEVEL info -> debug", False),
        ("CACHE_URL redis://cache:6379 -> redis://cache:6380", False),
    ):
        _, sc = _repointed(summary, other_caller_fails=both)
        assert sc.repointed == {}, summary
