"""Errors a new user meets say what to do (issue 12, items 13, 14 and 18)."""

from __future__ import annotations

import json
from pathlib import Path

from aisre_cli.govern.audit import AuditLog
from aisre_cli.settings import paths
from tests.contract_servers.cli import run_cli


def _error(argv: list[str]) -> str:
    r = run_cli(argv)
    assert r.code == 2, (argv, r.code, r.out, r.err)
    assert "Traceback" not in r.err
    assert "hint:" in r.err, r.err
    return r.err


def test_change_record_bad_kind_and_bad_time_have_hints() -> None:
    err = _error(["change", "record", "-s", "checkout", "--kind", "bogus"])
    assert "deploy, config, flag, infra, scale" in err
    err = _error(["change", "record", "-s", "checkout", "--at", "yesterday"])
    assert "RFC 3339" in err and "2026-" in err


def test_incident_import_of_a_non_export_has_a_hint(tmp_path: Path) -> None:
    md = tmp_path / "tri.md"
    md.write_text("# Triage\n\nsome markdown\n")
    err = _error(["incident", "import", str(md)])
    assert "incident export --all" in err
    _error(["incident", "import", str(tmp_path / "missing.json")])


def test_incident_export_all_defaults_to_json(tmp_path: Path) -> None:
    r = run_cli(["incident", "export", "--all"])
    assert r.code == 0, r.err
    data = json.loads(r.out)
    out = tmp_path / "team.json"
    assert run_cli(["incident", "export", "--all", "-o", str(out)]).code == 0
    assert json.loads(out.read_text())["schema"] == data["schema"]
    r = run_cli(["incident", "import", str(out)])
    assert r.code == 0, r.err
    err = _error(["incident", "export", "--all", "--format", "markdown"])
    assert "json only" in err


def test_backfilled_change_takes_the_version_before_it() -> None:
    def rec(version: str, at: str) -> dict[str, str]:
        r = run_cli(["change", "record", "-s", "api", "--version", version, "--at", at, "--json"])
        assert r.code == 0, r.err
        out: dict[str, str] = json.loads(r.out)
        return out

    rec("v1", "2026-01-01T10:00:00Z")
    rec("v3", "2026-01-01T12:00:00Z")
    back = rec("v2", "2026-01-01T11:00:00Z")  # recorded last, happened in between
    assert back["previous_version"] == "v1"
    first = rec("v0", "2026-01-01T09:00:00Z")  # before everything: nothing earlier
    assert first.get("previous_version") is None


def test_change_list_columns_line_up() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC).replace(microsecond=0)
    for i, (svc, ver, kind) in enumerate(
        [("a", "v1", "deploy"), ("a-much-longer-service-name", "2026.01.01-rc1", "config")]
    ):
        at = (now - timedelta(minutes=10 - i)).isoformat().replace("+00:00", "Z")
        argv = ["change", "record", "-s", svc, "--version", ver, "--kind", kind, "--at", at]
        assert run_cli([*argv, "-m", f"summary {i}"]).code == 0
    r = run_cli(["change", "list"])
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == 3  # header + 2
    starts = [
        line.index("summary") if "summary " in line else line.index("SUMMARY") for line in lines
    ]
    assert len(set(starts)) == 1, r.out
    for col in ("KIND", "SERVICE", "VERSION"):
        pos = lines[0].index(col)
        assert all(line[pos - 1] == " " and line[pos] != " " for line in lines), (col, r.out)


def test_audit_show_unknown_run_is_not_an_empty_log() -> None:
    log = AuditLog(paths.audit_log_file())
    for i in range(6):
        log.append("intent", {"step": f"s{i}"}, f"r-20260101T00000{i // 3}Z-abcdef")
    err = _error(["audit", "show", "--run", "nonexist"])
    assert "6 records" in err and "no audit records" not in err
    assert "r-20260101T000001Z-abcdef" in err  # the latest runs are suggested
    r = run_cli(["audit", "show", "--run", "r-20260101T000001Z", "--json"])  # unique prefix
    assert r.code == 0, r.err
    assert [x["seq"] for x in json.loads(r.out)["records"]] == [4, 5, 6]


def test_a_config_file_with_no_profile_to_use_is_an_error_not_the_demo() -> None:
    """An empty or truncated config.yaml must not show the demo's made-up alerts as if
    they were firing; `-p demo` still asks for the demo."""
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    for text in ("", "version: 1\n"):
        cfg.write_text(text)
        err = _error(["alerts"])
        assert "defines no profile" in err and "-p demo" in err
    assert run_cli(["-p", "demo", "alerts", "--json"]).code == 0
    two = "version: 1\nprofiles:\n  a: {environment: demo}\n  b: {environment: demo}\n"
    cfg.write_text(two)
    err = _error(["alerts"])
    assert "no default_profile" in err and "config use" in err
    err = _error(["-p", "nosuch", "alerts"])
    assert "aisre config list" in err


def test_triage_without_an_alert_id_on_a_live_profile_says_it_is_required() -> None:
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        "version: 1\nprofiles:\n  live:\n    sources:\n"
        "      alertmanager: {url: 'http://127.0.0.1:9'}\n"
    )
    err = _error(["triage", "--budget", "1"])
    assert "required without --bundle" in err and "focus_alert" not in err


def test_export_creates_its_folder_and_an_unwritable_output_is_not_a_bug(tmp_path: Path) -> None:
    assert run_cli(["triage", "CheckoutHighErrorRate"]).code == 0
    out = tmp_path / "new" / "dir" / "pm.md"
    r = run_cli(["incident", "export", "1", "-o", str(out)])
    assert r.code == 0, r.err
    assert out.read_text().startswith("#")
    blocked = tmp_path / "file"
    blocked.write_text("x")
    err = _error(["incident", "export", "1", "-o", str(blocked / "pm.md")])
    assert "internal error" not in err and "cannot use" in err


def test_eval_of_a_folder_without_bundles_fails(tmp_path: Path) -> None:
    err = _error(["eval", str(tmp_path)])
    assert "nothing to evaluate" in err


def test_change_record_refuses_a_time_in_the_future() -> None:
    err = _error(["change", "record", "-s", "x", "--version", "v2", "--at", "3000-01-01T00:00:00Z"])
    assert "in the future" in err


def test_window_on_a_bundle_says_it_has_no_effect() -> None:
    r = run_cli(["triage", "CheckoutHighErrorRate", "--window", "5m", "--no-record"])
    assert r.code == 0, r.err
    assert "--window skipped" in r.err and "no effect on a bundle" in r.err
