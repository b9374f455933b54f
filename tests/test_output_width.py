"""Output is readable at 80 columns and never hard-wrapped into a pipe or a file
(issue 12, items 10 and 11)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import DEMO
from tests.fakes.env import AISRE, make_env


def _aisre(argv: list[str], home: Path, columns: int | None) -> str:
    env = make_env(home)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    cp = subprocess.run(
        [*AISRE, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert cp.returncode == 0, cp.stderr
    return cp.stdout


def test_piped_triage_keeps_queries_and_dates_on_one_line(tmp_path: Path) -> None:
    text = _aisre(["triage", "--bundle", str(DEMO)], tmp_path / "h", None)
    report = json.loads(_aisre(["triage", "--bundle", str(DEMO), "--json"], tmp_path / "h", None))
    lines = text.splitlines()
    for e in report["evidence"]:
        if e["query"]:
            assert any(e["query"] in line for line in lines), e["query"]
    # prose is not wrapped either: each hypothesis statement stays on one line
    # (the old main cut them at 80 columns, e.g. "… 5 min before the onset, is" / "followed by")
    for h in report["hypotheses"]:
        assert any(h["statement"] in line for line in lines), h["statement"]
    first = lines[0]
    assert "fired 2025-03-11 13:35:05Z" in first and "onset 2025-03-11" in first
    assert max(len(x) for x in lines) > 80  # nothing was cut to the 80-column default


def test_hypothesis_kind_and_bar_are_separated(tmp_path: Path) -> None:
    text = _aisre(["triage", "--bundle", str(DEMO)], tmp_path / "h", 80)
    heads = [
        x for x in text.splitlines() if x[:4].strip().rstrip(".").isdigit() and "█" in x or "░" in x
    ]
    assert heads
    for line in heads:
        kind_end = line.index(" ", 4 + len(line[4:]) - len(line[4:].lstrip()))
        assert line[kind_end] == " " and line[kind_end - 1] not in "█░", line


def test_resource_saturation_has_a_space_before_its_bar() -> None:
    import datetime as dt

    from rich.console import Console

    from aisre_cli.model import Alert, Hypothesis, TriageReport, Verdict
    from aisre_cli.ui import render

    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    h = Hypothesis(
        rank=1,
        kind="resource_saturation",
        service="db",
        statement="db is saturated",
        confidence=0.5,
    )
    rep = TriageReport(
        alert=Alert(id="a", name="A", starts_at=at),
        onset=at,
        verdict=Verdict(classification="actionable", hypotheses=[h], reason="r", next_step="n"),
    )
    con = Console(width=80, record=True, highlight=False)
    orig = render.out
    render.out = lambda soft_wrap=False: con  # type: ignore[assignment]
    try:
        render.render_report(rep)
    finally:
        render.out = orig
    assert "resource_saturation █" in con.export_text()


def test_alerts_at_80_columns_keep_the_summary_readable(tmp_path: Path) -> None:
    text = _aisre(["alerts", "--bundle", str(DEMO)], tmp_path / "h", 80)
    assert all(len(x) <= 80 for x in text.splitlines())
    assert "payments: error rate above 10.00%" in text  # whole, on one line
    assert "PaymentsHighErrorRate" in text


def test_piped_alerts_are_not_padded_to_the_longest_summary(tmp_path: Path) -> None:
    """A 10 KB summary padded every row of `aisre alerts > file` to 10,000 columns."""
    import shutil

    b = tmp_path / "b"
    shutil.copytree(DEMO, b)
    alerts = json.loads((b / "alerts.json").read_text())
    alerts[0]["annotations"]["summary"] = "disk full " + "x" * 10_000
    alerts[1]["labels"]["alertname"] = "Huge" + "N" * 10_000  # a hostile name too
    (b / "alerts.json").write_text(json.dumps(alerts))
    text = _aisre(["alerts", "--bundle", str(b)], tmp_path / "h", None)
    lines = text.splitlines()
    assert max(len(x) for x in lines) <= 600, max(len(x) for x in lines)
    row = next(x for x in lines if "disk full" in x)
    assert "x…" in row  # cut, on the alert's own row
    assert "35a01279" in row and "payments" in row  # the rest of the row is whole


def test_incident_list_never_breaks_an_alert_name(tmp_path: Path) -> None:
    home = tmp_path / "h"
    _aisre(["triage", "--bundle", str(DEMO)], home, 80)
    text = _aisre(["incident", "list"], home, 80)
    assert "CheckoutHighErrorRate" in text, text
    assert all(len(x) <= 80 for x in text.splitlines())


def test_eval_misses_show_what_tells_cases_apart(tmp_path: Path) -> None:
    # two copies of the demo with a wrong truth: both are misses under one long prefix
    import shutil

    import yaml

    root = tmp_path / "a-rather-long-folder-name-for-the-evaluation-suite" / "cases"
    names = ("petshop-high_traffic-test-issue10", "petshop-high_traffic-test-issue11")
    for name in names:
        shutil.copytree(DEMO, root / name)
        (root / name / "truth.yaml").write_text(
            yaml.safe_dump({"root_cause": {"kind": "certificate_expiry", "service": "search"}})
        )
    env_home = tmp_path / "h"
    env = make_env(env_home)
    env["COLUMNS"] = "80"
    cp = subprocess.run(
        [*AISRE, "eval", str(root)], env=env, capture_output=True, text=True, timeout=300
    )
    out = cp.stdout
    assert cp.returncode == 0, cp.stderr
    for name in names:  # each whole, on one line
        assert any(name in line for line in out.splitlines()), out


def test_a_narrow_terminal_keeps_the_layout(tmp_path: Path) -> None:
    """At 60 columns wrapped lines keep their indent (they restarted at column 0, so the
    hypotheses and the E-list no longer scanned), the header breaks between its fields
    (it cut "fired 2025-03-11 / 13:35:05Z"), and queries stay whole on one line to be
    copied (the terminal wraps them, no newline is inserted)."""
    text = _aisre(["triage", "--bundle", str(DEMO)], tmp_path / "h", 60)
    report = json.loads(_aisre(["triage", "--bundle", str(DEMO), "--json"], tmp_path / "h", None))
    lines = text.splitlines()
    assert any("fired 2025-03-11 13:35:05Z" in x for x in lines[:3])
    for e in report["evidence"]:
        if e["query"]:
            assert any(e["query"] in line for line in lines), e["query"]
    body = lines[lines.index("Hypotheses") : lines.index("Evidence")]
    evidence = lines[lines.index("Evidence") + 1 :]
    for line in body[1:]:
        if line.strip():  # a numbered head (" 1. ") or an indented continuation
            assert line.startswith(("    ", " ")) and (
                line[:4].strip().rstrip(".").isdigit() or line.startswith("    ")
            ), line
    for line in evidence:
        if line.strip() and not line.startswith("next:"):
            assert line.startswith(("  E", " E", "E", "     ")), line
    prose = [x for x in lines if "↳" not in x and "↗" not in x and not x.startswith("next:")]
    assert max(len(x) for x in prose) <= 60
    assert not any(x.endswith(" ") for x in prose)  # not padded to the width
