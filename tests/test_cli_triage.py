"""`aisre alerts` / `aisre triage` end to end through the real entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from aisre_cli.ui.cli.app import main
from tests.conftest import DEMO, PETSHOP, REPO

SCHEMA = json.loads((REPO / "docs" / "triage.schema.json").read_text())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


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
