"""Runbooks: the shipped ones validate; validation finds every class of mistake with
file:line; matching ranks the right runbook first; parameters resolve from a verdict."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aisre_cli.errors import UsageError
from aisre_cli.model import Alert, Evidence, Hypothesis, TriageReport, Verdict
from aisre_cli.remediate.capabilities import ExecContext, default_registry
from aisre_cli.remediate.matching import load_runbooks, match_runbooks, specificity
from aisre_cli.remediate.plan import build_plan
from aisre_cli.remediate.runbook import find_runbook, runbook_files, validate_files
from aisre_cli.settings import paths
from aisre_cli.settings.config import Profile
from tests.fakes.env import AISRE, make_env

SHIPPED = sorted(paths.shipped_runbooks_dir().glob("*.yaml"))
REQUIRED = {
    "rollback-bad-deploy",
    "restart-crashloop",
    "scale-out-saturation",
    "silence-noisy-alert",
    "renew-expired-cert",
    "recover-full-disk",
}


def test_at_least_six_shipped_runbooks() -> None:
    ids = {r.id for r in load_runbooks(None)}
    assert REQUIRED <= ids and len(SHIPPED) >= 6


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_runbook_is_valid(path: Path) -> None:
    rbs, problems = validate_files([path])
    assert problems == [] and len(rbs) == 1
    rb = rbs[0]
    assert rb.id == path.stem and rb.title and rb.description
    for s in rb.steps:
        cap = default_registry().get(s.capability)
        if cap.scope != "read":
            assert s.verify is not None or s.undo is not None or not cap.undo_hint, s.id


GOOD = """\
id: ok
title: OK
params:
  service: {type: name}
steps:
  - id: a
    title: a
    capability: kubectl.rollout_restart
    inputs: {name: "{{ service }}"}
"""

# (name, yaml, expected line, expected message fragment)
BAD = [
    (
        "unknown-capability",
        GOOD.replace("kubectl.rollout_restart", "kubectl.delete_all"),
        8,
        "unknown capability 'kubectl.delete_all'",
    ),
    (
        "undefined-template",
        GOOD.replace("{{ service }}", "{{ servce }}"),
        9,
        "undefined name 'servce'",
    ),
    (
        "schema-unknown-input",
        GOOD.replace("inputs: {name:", "inputs: {force: true, name:"),
        9,
        "force",
    ),
    (
        "schema-bad-literal",
        GOOD.replace(
            'inputs: {name: "{{ service }}"}', 'inputs: {name: "{{ service }}", kind: pod}'
        ),
        9,
        "kind",
    ),
    ("schema-bad-name", GOOD.replace('"{{ service }}"', '"Bad Name"'), 9, "Kubernetes name"),
    (
        "missing-required-input",
        GOOD.replace('inputs: {name: "{{ service }}"}', "inputs: {}"),
        9,
        "name",
    ),
    ("unknown-field", GOOD.replace("title: a", "title: a\n    retries: 3"), 8, "retries"),
    (
        "bad-param-type",
        GOOD.replace("{type: name}", "{type: shell}"),
        4,
        "unknown parameter type 'shell'",
    ),
    (
        "bad-param-default",
        GOOD.replace("{type: name}", '{type: name, default: "x; rm"}'),
        4,
        "params.service.default",
    ),
    ("bad-yaml", GOOD.replace("steps:", "steps: [\n"), 7, "not valid YAML"),
    ("malformed-template", GOOD.replace("{{ service }}", "{{ service }"), 9, "malformed"),
    ("undo-missing-step", GOOD + "    undo: put-back\n", 10, "no undo step 'put-back'"),
    ("undo-auto-not-undoable", GOOD + "    undo: auto\n", 10, "cannot be undone"),
    (
        "unreachable-undo-step",
        GOOD
        + """\
undo_steps:
  - id: orphan
    title: never used
    capability: kubectl.rollout_undo
    inputs: {name: "{{ service }}"}
""",
        11,
        "unreachable",
    ),
    (
        "duplicate-step-id",
        GOOD
        + """\
  - id: a
    title: again
    capability: kubectl.get
    inputs: {kind: pod}
""",
        10,
        "duplicate step id 'a'",
    ),
    (
        "verify-write-capability",
        GOOD
        + """\
    verify:
      capability: kubectl.rollout_undo
      inputs: {name: "{{ service }}"}
""",
        11,
        "verification must use a read capability",
    ),
    (
        "verify-free-text-in-query",
        GOOD.replace("{type: name}", "{type: name}\n  note: {type: text}")
        + """\
    verify:
      query: 'up{job="{{ note }}"}'
      expect: "> 0"
""",
        12,
        "may not be put in a query",
    ),
    (
        "verify-bad-bound",
        GOOD
        + """\
    verify:
      query: 'up'
      expect: "about 3"
""",
        12,
        "expect must be like",
    ),
    (
        "unknown-kind",
        GOOD.replace("params:", "applies_to: {kinds: [gremlins]}\nparams:"),
        3,
        "unknown hypothesis kind",
    ),
    ("bad-id", GOOD.replace("id: ok", "id: Not OK"), 1, "id"),
]


@pytest.mark.parametrize(("name", "text", "line", "msg"), BAD, ids=[b[0] for b in BAD])
def test_validation_reports_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, msg: str
) -> None:
    f = tmp_path / f"{name}.yaml"
    f.write_text(text)
    rbs, problems = validate_files([f])
    assert rbs == []
    assert problems, "expected a problem"
    rendered = [p.render() for p in problems]
    hit = [p for p in problems if msg in p.message]
    assert hit, rendered
    assert hit[0].file == str(f) and hit[0].line == line, rendered


def test_good_runbook_is_valid(tmp_path: Path) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text(GOOD)
    assert validate_files([f])[1] == []


def test_cli_validate_an_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    """QA 2026-12-03: `runbook validate EMPTYDIR` said `0 file(s)` and passed."""
    empty = tmp_path / "books"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a runbook")
    cp = subprocess.run(
        [*AISRE, "runbook", "validate", str(empty)],
        env=make_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cp.returncode == 2, (cp.stdout, cp.stderr)
    assert f"no runbook files (*.yaml, *.yml) in {empty}" in cp.stderr


def test_cli_validate(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD[0][1])
    good = tmp_path / "good.yaml"
    good.write_text(GOOD.replace("id: ok", "id: good"))
    env = make_env(tmp_path / "home")
    cp = subprocess.run(
        [*AISRE, "runbook", "validate", str(bad), str(good)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cp.returncode == 2
    assert f"{bad}:8: unknown capability 'kubectl.delete_all'" in cp.stdout
    cp = subprocess.run(
        [*AISRE, "runbook", "validate", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cp.returncode == 0, cp.stdout
    assert REQUIRED <= set(json.loads(cp.stdout)["valid"])


def test_cli_validate_refuses_a_duplicate_key_with_its_line(tmp_path: Path) -> None:
    """A step naming `capability:` twice: a reviewer reads the first, YAML would run the
    second. Refused with the line of the second, never resolved silently."""
    f = tmp_path / "dup.yaml"
    f.write_text(GOOD + "    capability: kubectl.rollout_undo\n")
    cp = subprocess.run(
        [*AISRE, "runbook", "validate", str(f)],
        env=make_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cp.returncode == 2, (cp.stdout, cp.stderr)
    assert f"{f}:10: not valid YAML: duplicate key 'capability' (first on line 8)" in cp.stdout
    assert "0 valid, 1 problem(s)" in cp.stderr


def test_cli_list_show_capabilities(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    cp = subprocess.run(
        [*AISRE, "runbook", "list", "--json"], env=env, capture_output=True, text=True, timeout=30
    )
    assert REQUIRED <= {r["id"] for r in json.loads(cp.stdout)["runbooks"]}
    cp = subprocess.run(
        [*AISRE, "runbook", "show", "rollback-bad-deploy", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    rb = json.loads(cp.stdout)["runbook"]
    assert [s["scope"] for s in rb["steps"]] == ["read", "write", "read"]
    cp = subprocess.run(
        [*AISRE, "runbook", "show", "rollback-bad-deploy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "kubectl.rollout_undo" in cp.stdout and "verify" in cp.stdout
    cp = subprocess.run(
        [*AISRE, "runbook", "show", "nope"], env=env, capture_output=True, text=True, timeout=30
    )
    assert cp.returncode == 2 and "no runbook 'nope'" in cp.stderr
    cp = subprocess.run(
        [*AISRE, "runbook", "capabilities", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert len(json.loads(cp.stdout)["capabilities"]) >= 15


def test_user_runbook_dir_and_duplicate_ids(tmp_path: Path) -> None:
    d = tmp_path / "mine"
    d.mkdir()
    (d / "ok.yaml").write_text(GOOD)
    (d / "dup.yaml").write_text(GOOD.replace("title: OK", "title: Again"))
    prof = Profile(runbook_dirs=[str(d)])
    rbs = load_runbooks(prof)
    assert "ok" in {r.id for r in rbs}
    _, problems = validate_files(runbook_files([d]))
    assert any("duplicate runbook id 'ok'" in p.message for p in problems)


# ------------------------------------------------------------------ matching


def _alert(name: str = "HighErrorRate", **labels: str) -> Alert:
    return Alert(
        id="fp-1234567890",
        name=name,
        service="checkout",
        labels={"alertname": name, **labels},
        starts_at=datetime.now(UTC),
    )


def _hyp(kind: str, conf: float = 0.8, subject: str | None = None) -> Hypothesis:
    return Hypothesis(
        kind=kind,
        service="checkout",
        statement="s",
        confidence=conf,  # type: ignore[arg-type]
        subject=subject,
    )


MATCHES = [
    ("deploy", _alert(), "rollback-bad-deploy"),
    ("crash_loop", _alert("KubePodCrashLooping"), "restart-crashloop"),
    ("resource_saturation", _alert("HighCPU"), "scale-out-saturation"),
    ("resource_saturation", _alert("KubePersistentVolumeFillingUp"), "recover-full-disk"),
    ("traffic_surge", _alert(), "scale-out-saturation"),
    ("certificate_expiry", _alert("CertExpiring"), "renew-expired-cert"),
    ("unknown", _alert(), "silence-noisy-alert"),
]


@pytest.mark.parametrize(
    ("kind", "alert", "best"), MATCHES, ids=[f"{m[0]}-{m[2]}" for m in MATCHES]
)
def test_matching_ranks_the_specific_runbook_first(kind: str, alert: Alert, best: str) -> None:
    ids = match_runbooks(_hyp(kind), alert, load_runbooks(None))
    assert ids[0] == best, ids
    assert "silence-noisy-alert" in ids  # generic: matches everything, ranks last


def test_disk_runbook_needs_its_label_matcher() -> None:
    rb = find_runbook("recover-full-disk")
    assert specificity(rb, _hyp("resource_saturation"), _alert("HighCPU")) is None
    assert specificity(rb, _hyp("resource_saturation"), None) is None
    assert specificity(rb, _hyp("resource_saturation"), _alert("DiskFull")) == 0.8


# ------------------------------------------------------------------ parameters


def _report(kind: str = "deploy", service: str = "checkout") -> TriageReport:
    return TriageReport(
        alert=_alert(namespace="shop-eu"),
        verdict=Verdict(
            hypotheses=[
                Hypothesis(
                    rank=1,
                    kind=kind,
                    service=service,
                    statement="bad deploy",  # type: ignore[arg-type]
                    confidence=0.85,
                    subject="deploy-42",
                    evidence=["E1"],
                ),
            ]
        ),
        evidence=[
            Evidence(
                id="E1",
                kind="change",
                service=service,
                summary="deploy v2",
                strength=0.9,
                subject="deploy-42",
                data={"version": "v2", "previous_version": "v1"},
            )
        ],
    )


def test_params_default_from_the_verdict() -> None:
    ctx = ExecContext(profile=Profile(namespace="default-ns"))
    plan = build_plan(
        find_runbook("rollback-bad-deploy"),
        {},
        report=_report(),
        registry=default_registry(),
        ctx=ctx,
        run_id="r",
    )
    assert plan.values == {"service": "checkout", "namespace": "shop-eu", "change_id": "deploy-42"}
    assert plan.sources["service"] == "verdict (service)"
    assert plan.specificity == 0.5 and plan.hypothesis is not None
    undo = plan.step("rollback").action.argv
    assert list(undo) == [
        "kubectl",
        "--namespace",
        "shop-eu",
        "rollout",
        "undo",
        "deployment/checkout",
    ]
    assert plan.facts["version"] == "v2" and plan.facts["previous_version"] == "v1"


def test_explicit_param_wins_and_unknown_param_is_an_error() -> None:
    ctx = ExecContext(profile=Profile(namespace="ns"))
    plan = build_plan(
        find_runbook("rollback-bad-deploy"),
        {"service": "api"},
        report=_report(),
        registry=default_registry(),
        ctx=ctx,
        run_id="r",
    )
    assert plan.values["service"] == "api" and plan.sources["service"] == "--param"
    with pytest.raises(UsageError, match="no parameter 'servce'"):
        build_plan(
            find_runbook("rollback-bad-deploy"),
            {"servce": "api"},
            report=None,
            registry=default_registry(),
            ctx=ctx,
            run_id="r",
        )
    with pytest.raises(UsageError, match="no value for parameter"):
        build_plan(
            find_runbook("scale-out-saturation"),
            {"service": "api"},
            report=None,
            registry=default_registry(),
            ctx=ctx,
            run_id="r",
        )


def test_shipped_runbooks_plan_with_sample_params() -> None:
    ctx = ExecContext(profile=Profile(namespace="ns"))
    given = {
        "rollback-bad-deploy": {"service": "api"},
        "restart-crashloop": {"service": "api"},
        "scale-out-saturation": {"service": "api", "replicas": "8"},
        "silence-noisy-alert": {"alertname": "Noisy", "service": "api"},
        "renew-expired-cert": {"certificate": "api-tls"},
        "recover-full-disk": {"pvc": "data-db-0", "size": "100Gi"},
    }
    for rid, params in given.items():
        prof = ctx
        if rid == "silence-noisy-alert":
            from aisre_cli.settings.config import AlertmanagerSource, Sources

            prof = ExecContext(
                profile=Profile(
                    namespace="ns",
                    sources=Sources(alertmanager=AlertmanagerSource(url="http://am:9093")),
                )
            )
        plan = build_plan(
            find_runbook(rid),
            params,
            report=None,
            registry=default_registry(),
            ctx=prof,
            run_id="r-1",
        )
        assert plan.steps and all(ps.action.text() for ps in plan.steps)


@pytest.mark.parametrize(
    ("labels", "name"),
    [({"service": "checkout"}, "service"), ({"job": "checkout"}, "job"), ({}, "service")],
)
def test_a_silence_matches_the_label_that_names_the_alerts_service(
    labels: dict[str, str], name: str
) -> None:
    """QA 2026-12-03: the silence's matcher was always `service=…`; an alert whose service
    comes from `job` (kube-prometheus rules) carries no `service` label, so the silence
    matched nothing. It now uses the label the alert has (`service` when none says)."""
    from aisre_cli.settings.config import AlertmanagerSource, Sources

    rep = _report(kind="deploy", service="payments")
    rep = rep.model_copy(update={"alert": _alert("Noisy", **labels)})
    ctx = ExecContext(
        profile=Profile(sources=Sources(alertmanager=AlertmanagerSource(url="http://am:9093")))
    )
    plan = build_plan(
        find_runbook("silence-noisy-alert"),
        {},
        report=rep,
        registry=default_registry(),
        ctx=ctx,
        run_id="r-1",
    )
    matchers = plan.steps[0].inputs.model_dump()["matchers"]
    pairs = [(m["name"], m["value"]) for m in matchers]
    assert pairs == [("alertname", "Noisy"), (name, "checkout")]  # the alert's, not payments'
