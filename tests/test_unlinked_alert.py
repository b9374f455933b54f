"""An alert on a service the gathered data does not know (QA 2026-12-03): it got
another service's cause at 0.99 because the incident in the data was real, though
nothing linked the alert to it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import DEMO


def _bundle(tmp_path: Path, service: str | None) -> Path:
    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    alerts = json.loads((b / "alerts.json").read_text())
    extra = dict(alerts[0])
    labels = {"alertname": "LedgerQueueBacklog", "severity": "critical"}
    if service is not None:
        labels["service"] = service
    extra.update(
        labels=labels,
        annotations={"summary": "queue backlog"},
        fingerprint="aaaabbbbccccdddd",
        generatorURL="",
    )
    (b / "alerts.json").write_text(json.dumps([*alerts, extra]))
    return b


def _triage(b: Path) -> dict:
    from aisre_cli.flows.triage import TriageFlow, TriageOptions
    from aisre_cli.settings.config import demo_profile
    from aisre_cli.sources.registry import build_sources

    prof = demo_profile()
    flow = TriageFlow(prof, build_sources(prof, b), memory=False)
    return flow.triage("aaaabbbb", TriageOptions(record=False)).report.model_dump(mode="json")


def test_an_alert_nothing_links_to_the_data_escalates_with_low_confidence(
    tmp_path: Path,
) -> None:
    rep = _triage(_bundle(tmp_path, "ledger"))
    v = rep["verdict"]
    assert v["escalate"] and "nothing links the alert to the evidence" in v["reason"]
    assert "ledger" in v["reason"]
    top = rep["verdict"]["hypotheses"][0]
    assert top["service"] == "payments" and top["confidence"] <= 0.3  # was 0.99


@pytest.mark.parametrize("service", ["payments", "PAYMENTS", None])
def test_an_alert_on_a_known_service_or_with_none_is_not_doubted(
    tmp_path: Path, service: str | None
) -> None:
    rep = _triage(_bundle(tmp_path, service))
    assert "nothing links" not in rep["verdict"]["reason"]
    assert rep["verdict"]["hypotheses"][0]["confidence"] > 0.9
