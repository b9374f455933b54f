"""`aisre alerts` / `aisre triage` end to end through the real entry point."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from aisre_cli.errors import UsageError
from aisre_cli.investigate.gather import resolve_alert
from aisre_cli.model import Alert, short_alert_id, short_ids
from aisre_cli.ui.cli.app import main
from tests.conftest import DEMO, PETSHOP, REPO
from tests.fakes.cli import run

SCHEMA = json.loads((REPO / "docs" / "triage.schema.json").read_text())


def triage_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = run(capsys, "triage", *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    ids = {e["id"] for e in data["evidence"]}
    for h in data["hypotheses"]:
        assert h["evidence"], h
        assert set(h["evidence"]) <= ids, (h["evidence"], ids)
    # the service's share covers every hypothesis listed on it, and is one per service
    for svc in {h["service"] for h in data["hypotheses"]}:
        on = [h for h in data["hypotheses"] if h["service"] == svc]
        assert len({h["service_confidence"] for h in on}) == 1, on
        assert on[0]["service_confidence"] >= sum(h["confidence"] for h in on) - 2e-4, on
    return data


def test_demo_triage_ranks_the_bad_deploy_first(capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    truth = yaml.safe_load((DEMO / "truth.yaml").read_text())["root_cause"]
    data = triage_json(capsys, "CheckoutHighErrorRate")
    top = data["hypotheses"][0]
    assert (top["kind"], top["service"]) == (truth["kind"], truth["service"])
    assert top["subject"] == truth["change_id"]
    assert not data["verdict"]["escalate"]
    cited = [e for e in data["evidence"] if e["id"] in top["evidence"]]
    kinds = {e["kind"] for e in cited}
    assert len(cited) >= 3 and len(kinds) >= 3, kinds
    assert {"change", "log_template"} <= kinds
    assert kinds & {"metric_anomaly", "saturation"}
    for e in cited:
        assert e["query"], e
    # the incident it was recorded as, for a bot to resolve (QA 2026-12-03)
    inc = data["incident"]
    assert inc["id"] >= 1 and inc["uid"] and not inc["spooled"]
    again = triage_json(capsys, "CheckoutHighErrorRate")["incident"]
    assert again["id"] == inc["id"] and again["reused"]
    assert "incident" not in triage_json(capsys, "CheckoutHighErrorRate", "--no-record")


def test_demo_without_config_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "alerts")
    assert code == 0
    assert "demo profile" in err
    assert "CheckoutHighErrorRate" in out


def test_alerts_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "alerts", "--json")
    assert code == 0
    data = json.loads(out)
    jsonschema.validate(data, json.loads((REPO / "docs" / "alerts.schema.json").read_text()))
    assert data["schema"] == "aisre.alerts/v1"
    names = [a["name"] for g in data["incidents"] for a in g]
    assert "CheckoutHighErrorRate" in names
    ids = [a["id"] for g in data["incidents"] for a in g]
    assert len(ids) == len(set(ids))


def test_triage_by_prefix_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    data = triage_json(capsys, "CheckoutHighErrorRate")
    prefix = data["alert"]["id"][:6]
    code, out, _ = run(capsys, "triage", prefix, "--markdown")
    assert code == 0
    assert out.startswith("# CheckoutHighErrorRate") and "## Evidence" in out


def test_triage_verbose_explains_the_ranking(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "triage", "CheckoutHighErrorRate", "-v")
    assert code == 0
    assert "why (score" in out and "Evidence" in out


def test_unknown_alert_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "triage", "NoSuchAlert")
    assert code == 2 and out == ""
    assert "no alert matches 'NoSuchAlert'" in err and "Traceback" not in err


def test_unknown_alert_in_a_bundle_hints_at_the_bundles_listing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """QA 2026-12-03: with --bundle the hint said `aisre alerts`, which lists the
    profile's alerts, not the bundle's."""
    code, _, err = run(capsys, "triage", "--bundle", str(DEMO), "NoSuchAlert")
    assert code == 2
    assert f"hint: run `aisre alerts --bundle {DEMO}` to list alert ids" in err


@pytest.mark.parametrize("what", ["missing", "file"])
def test_a_bundle_path_that_is_not_a_directory_is_one_line_with_a_hint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, what: str
) -> None:
    """QA 2026-12-03: a missing path had no hint; a file got click's 'Usage: … Error:'."""
    path = tmp_path / "nope"
    if what == "file":
        path.write_text("not a bundle")
    code, out, err = run(capsys, "triage", "x", "--bundle", str(path))
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2 and out == "" and len(lines) == 2, err
    assert lines[0].startswith(f"error: {path}") and lines[1].startswith("hint: ")
    assert "bundle.yaml" in lines[1]


def test_ambiguous_alert_lists_candidates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    alerts = json.loads((b / "alerts.json").read_text())
    twin = json.loads(json.dumps(alerts[0]))
    twin["fingerprint"] = alerts[0]["fingerprint"][:4] + "ffffffffffff"
    (b / "alerts.json").write_text(json.dumps([alerts[0], twin]))
    code, _, err = run(capsys, "triage", "--bundle", str(b), alerts[0]["fingerprint"][:4])
    assert code == 2
    assert "ambiguous: 2 alerts match" in err
    code, _, err = run(capsys, "triage", "--bundle", str(b), alerts[0]["labels"]["alertname"])
    assert code == 2 and "ambiguous" in err


def test_a_name_two_alerts_carry_triages_the_one_that_paged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """One rule firing on two services (the same alertname): the name triages the
    critical one, says so and lists the other; its id still reaches the other."""
    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    alerts = json.loads((b / "alerts.json").read_text())
    page = alerts[0]
    twin = json.loads(json.dumps(page))
    twin["fingerprint"] = "feed" + "0" * 12
    page["labels"]["severity"] = "critical"
    twin["labels"]["severity"] = "warning"
    twin["startsAt"] = "2025-03-11T13:20:00Z"  # older, but only a warning
    (b / "alerts.json").write_text(json.dumps([twin, page]))
    name = page["labels"]["alertname"]
    code, out, err = run(capsys, "triage", "--bundle", str(b), name, "--json", "--no-record")
    assert code == 0, err
    assert json.loads(out)["alert"]["id"] == page["fingerprint"]
    assert f"2 alerts are named {name}: triaging the one that paged" in err
    assert "feed0000 on" in err
    code, out, err = run(capsys, "triage", "--bundle", str(b), "feed", "--json", "--no-record")
    assert code == 0 and json.loads(out)["alert"]["id"] == twin["fingerprint"], err
    assert "alerts are named" not in err


def test_malformed_bundle_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    (b / "alerts.json").write_text("{not json")
    code, out, err = run(capsys, "triage", "--bundle", str(b))
    assert code == 2 and out == ""
    lines = [x for x in err.splitlines() if x.strip()]
    assert lines[0].startswith("error:") and "alerts.json: invalid JSON" in lines[0]
    assert "Traceback" not in err


def test_json_and_markdown_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "triage", "CheckoutHighErrorRate", "--json", "--markdown")
    assert code == 2 and "exclusive" in err


def test_raise_errors_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    from aisre_cli.errors import UsageError

    monkeypatch.setenv("AISRE_RAISE_ERRORS", "1")
    with pytest.raises(UsageError):
        main(["triage", "NoSuchAlert"])


@pytest.mark.skipif(not PETSHOP.exists(), reason="shared PetShop dataset not present")
def test_every_petshop_bundle_triages(capsys: pytest.CaptureFixture[str]) -> None:
    """Real third-party data (metrics + topology only): every bundle runs cleanly."""
    bundles = sorted(p for p in PETSHOP.iterdir() if (p / "bundle.yaml").exists())
    assert len(bundles) == 68
    for b in bundles:
        data = triage_json(capsys, "--bundle", str(b))
        assert data["alert"]["name"].startswith("PetSite")


# ------------------------------------------------------------ short ids and the inbox


def _alert(id_: str, name: str = "A", **kw: object) -> Alert:
    return Alert(id=id_, name=name, starts_at=dt.datetime(2025, 3, 11, tzinfo=dt.UTC), **kw)


def test_short_ids_are_unique_in_the_listing_and_resolve_to_their_alert() -> None:
    """Every PagerDuty alert showed `pd-A0000` (id[:8]): ambiguous, and recommended."""
    alerts = [
        _alert("pd-A000002", aliases=["046fa0851234abcd"]),
        _alert("pd-A000005", aliases=["9a8b7c6d5e4f3a2b"]),
        _alert("179e723e8f1abc96", "B"),
        _alert("179e723e00000000", "C"),
        _alert("35a012796cc0460f", "D"),
        _alert("046fa085ffff0000", "E"),  # its prefix is another alert's alias's too
    ]
    shown = short_ids(alerts)
    assert shown == {
        "pd-A000002": "pd-A000002",
        "pd-A000005": "pd-A000005",
        "179e723e8f1abc96": "179e723e8",
        "179e723e00000000": "179e723e0",
        "35a012796cc0460f": "35a01279",
        "046fa085ffff0000": "046fa085f",
    }
    for a in alerts:
        assert resolve_alert(alerts, shown[a.id]) is a
        assert a.short_id == shown[a.id]  # what hints built from the alert show
    assert short_alert_id("pd-A000002") == "pd-A000002"
    assert short_alert_id("35a012796cc0460f") == "35a01279"


def test_a_fingerprint_prefix_finds_the_alert_that_has_it_as_an_alias() -> None:
    """Alertmanager down: the PagerDuty alert knows the fingerprint only as an alias."""
    paged = _alert("pd-A000002", aliases=["046fa0851234abcd"])
    other = _alert("pd-A000005", "B", aliases=["9a8b7c6d5e4f3a2b"])
    assert resolve_alert([paged, other], "046fa085") is paged
    assert resolve_alert([paged, other], "046fa0851234abcd") is paged
    with pytest.raises(UsageError, match="no alert matches") as err:
        resolve_alert([paged, other], "046")
    assert err.value.hint == "an id prefix needs at least 4 characters"


def _twin_bundle(tmp_path: Path) -> tuple[Path, list[dict]]:
    """The demo with the payments alert's fingerprint sharing checkout's first 8 chars."""
    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    alerts = json.loads((b / "alerts.json").read_text())
    pay = next(a for a in alerts if a["labels"]["alertname"] == "PaymentsHighErrorRate")
    pay["fingerprint"] = "179e723e00000000"
    (b / "alerts.json").write_text(json.dumps(alerts))
    return b, alerts


def test_alerts_table_ids_are_unique_and_the_next_step_resolves(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    b, _ = _twin_bundle(tmp_path)
    code, out, _ = run(capsys, "alerts", "--bundle", str(b))
    assert code == 0
    assert "179e723e8 " in out and "179e723e0 " in out
    data = triage_json(capsys, "CheckoutHighErrorRate", "--bundle", str(b), "--no-record")
    m = re.search(
        r"aisre (?:escalate|runbook run \S+ --alert) (\S+?)[ `]", data["verdict"]["next_step"]
    )
    assert m, data["verdict"]["next_step"]
    assert m.group(1) == "179e723e8"
    again = triage_json(capsys, m.group(1), "--bundle", str(b), "--no-record")
    assert again["alert"]["id"] == data["alert"]["id"]


def test_incident_row_shows_its_most_severe_alert(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's incident: a warning (older) and a critical; the critical is the head."""
    code, out, _ = run(capsys, "alerts")
    assert code == 0
    first = next(ln for ln in out.splitlines() if ln.strip().startswith("1 "))
    assert "critical" in first and "CheckoutHighErrorRate" in first, out
    below = next(ln for ln in out.splitlines() if ln.strip().startswith("└"))
    assert "PaymentsHighErrorRate" in below
    code, out, _ = run(capsys, "alerts", "--json")  # documented: oldest first
    assert [a["name"] for a in json.loads(out)["incidents"][0]] == [
        "PaymentsHighErrorRate",
        "CheckoutHighErrorRate",
    ]


def test_alerts_all_marks_silenced_alerts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    alerts = json.loads((b / "alerts.json").read_text())
    pay = next(a for a in alerts if a["labels"]["alertname"] == "PaymentsHighErrorRate")
    pay["status"] = {"state": "suppressed", "silencedBy": ["s-1"], "inhibitedBy": []}
    (b / "alerts.json").write_text(json.dumps(alerts))
    code, out, _ = run(capsys, "alerts", "--bundle", str(b))
    assert code == 0 and "PaymentsHighErrorRate" not in out and "silenced" not in out
    code, out, _ = run(capsys, "alerts", "--bundle", str(b), "--all")
    assert code == 0
    lines = out.splitlines()
    pay_row = next(ln for ln in lines if "PaymentsHighErrorRate" in ln)
    chk_row = next(ln for ln in lines if "CheckoutHighErrorRate" in ln)
    assert "silenced" in pay_row and "silenced" not in chk_row
    assert "state" in next(ln for ln in lines if "alertname" in ln)


def test_a_focus_alert_that_names_no_alert_blames_the_bundle(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """QA 2026-12-03: it said `no alert matches … / hint: run aisre alerts`."""
    import shutil

    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    meta = b / "bundle.yaml"
    lines = [
        'focus_alert: "doesnotexist"' if ln.startswith("focus_alert:") else ln
        for ln in meta.read_text().splitlines()
    ]
    meta.write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, "triage", "--bundle", str(b))
    assert code == 2
    assert f"{b}/bundle.yaml: focus_alert 'doesnotexist' matches no alert" in err
    assert f"aisre alerts --bundle {b}" in err
