"""QA pass on `bundle capture`, `bundle validate` and `eval`: one test per defect fixed."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from aisre_cli.errors import ExitCode
from aisre_cli.sources import capture as capture_mod
from aisre_cli.sources.bundle import BundleSource, validate_bundle
from tests.contract_servers.cli import run_cli
from tests.test_bundle import make_bundle
from tests.test_sources_capture import _ctx

# ------------------------------------------------------------------ bundle reader


def test_alertmanager_zero_time_and_null_fields_read_as_absent(tmp_path: Path) -> None:
    """A webhook notification (which the reader accepts) carries Go's zero time as the
    `endsAt` of every firing alert, and Go writes empty slices and maps as null."""
    hook = {
        "version": "4",
        "status": "firing",
        "receiver": "pager",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighErrors", "job": "api"},
                "annotations": None,
                "startsAt": "2023-11-14T22:40:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "abcd1234abcd1234",
            }
        ],
    }
    root = make_bundle(tmp_path / "hook", alerts=hook)
    _, problems = validate_bundle(root)
    assert problems == []
    (a,) = BundleSource(root).list_alerts()
    assert a.ends_at is None and a.annotations == {} and a.state == "active"

    v2 = [
        {
            "labels": {"alertname": "HighErrors", "job": "api"},
            "startsAt": "2023-11-14T22:40:00Z",
            "endsAt": "2023-11-14T23:40:00Z",
            "updatedAt": "0001-01-01T00:00:00Z",
            "fingerprint": "abcd1234abcd1234",
            "status": {"state": "active", "silencedBy": None, "inhibitedBy": None},
            "receivers": None,
        }
    ]
    (a,) = BundleSource(make_bundle(tmp_path / "v2", alerts=v2)).list_alerts()
    assert a.updated_at is None and a.silenced_by == [] and a.receivers == []


def test_numeric_ids_and_versions_are_read_as_text(tmp_path: Path) -> None:
    """`id: 42` in a hand-written bundle.yaml, a change feed's numeric deployment id and
    version, and a truth naming that change by number."""
    root = make_bundle(tmp_path / "b")
    meta = (root / "bundle.yaml").read_text().replace('id: "t1"', "id: 42")
    (root / "bundle.yaml").write_text(meta)
    changes = [
        {"id": 12345, "ts": 1_700_000_100, "service": "api", "kind": "deploy", "version": 2},
        {"id": "c2", "ts": "2023-11-14T22:35:00Z", "service": "db", "kind": "flag"},
    ]
    (root / "changes.json").write_text(json.dumps(changes))
    (root / "truth.yaml").write_text("root_cause: {kind: deploy, service: api, change_id: 12345}\n")
    b, problems = validate_bundle(root)
    assert problems == [] and b is not None
    assert b.meta.id == "42"
    c = b.fetch_changes(b.window.start, b.window.end)[0]
    assert (c.id, c.version, c.ts.timestamp()) == ("12345", "2", 1_700_000_100)
    truth = b.truth()
    assert truth is not None and truth.root_cause.change_id == "12345"


@pytest.mark.parametrize("name", ["alerts.json", "changes.json", "topology.yaml", "truth.yaml"])
def test_a_dangling_symlink_is_a_problem_not_an_absent_file(tmp_path: Path, name: str) -> None:
    """A documented file that is a broken link was taken for absent: `validate` called
    the bundle valid (or blamed focus_alert) and triage silently had no changes."""
    root = make_bundle(tmp_path / "b")
    (root / name).unlink()
    (root / name).symlink_to("gone-" + name)
    _, problems = validate_bundle(root)
    assert [p.file for p in problems] == [name], problems
    assert "cannot read" in problems[0].message


def test_a_dangling_bundle_yaml_says_it_cannot_be_read(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    (root / "bundle.yaml").unlink()
    (root / "bundle.yaml").symlink_to("elsewhere.yaml")
    _, problems = validate_bundle(root)
    assert len(problems) == 1 and "cannot read" in problems[0].message


@pytest.mark.parametrize("folder", ["metrics", "logs", "events", "traces"])
def test_a_documented_folder_that_is_a_file_is_reported(tmp_path: Path, folder: str) -> None:
    """`logs` saved as one file (not a folder of *.jsonl) was ignored: validate said the
    bundle was valid and triage ran without a single log line."""
    root = make_bundle(tmp_path / "b")
    d = root / folder
    if d.is_dir():
        for p in d.iterdir():
            p.unlink()
        d.rmdir()
    d.write_text('{"ts": 1, "msg": "x"}\n')
    r = run_cli(["bundle", "validate", str(root), "--json"])
    assert r.code == int(ExitCode.USAGE), r.err
    body = json.loads(r.out)
    assert [p["file"] for p in body["problems"]] == [folder]
    assert "not a directory" in body["problems"][0]["message"]
    r = run_cli(["bundle", "validate", str(root)])
    lines = r.err.splitlines()
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: ")


# ------------------------------------------------------------------ capture


def test_capture_onto_an_immovable_directory_leaves_nothing_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty mount point as the output cannot be renamed: the capture fails with one
    line, and no empty `.NAME.old-*` directory is left beside it."""
    out = tmp_path / "work" / "mnt"
    out.mkdir(parents=True)
    real_rename = os.rename

    def rename(src: object, dst: object) -> None:
        if Path(str(src)) == out:
            raise OSError(errno.EBUSY, "Device or resource busy")
        real_rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(capture_mod.os, "rename", rename)
    from aisre_cli.errors import UsageError

    with pytest.raises(UsageError, match="cannot put the capture in place"):
        capture_mod.capture_bundle(_ctx(), out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["mnt"]
    assert list(out.iterdir()) == []


# ------------------------------------------------------------------ eval


def _two_bundles(tmp_path: Path) -> Path:
    root = tmp_path / "suite"
    make_bundle(root / "good")
    make_bundle(root / "misnamed")
    (root / "misnamed" / "bundle.yaml").rename(root / "misnamed" / "bundle.yml")
    return root


def test_eval_reports_a_bundle_whose_bundle_yaml_is_missing(tmp_path: Path) -> None:
    """A folder with a truth.yaml but no bundle.yaml (misnamed `bundle.yml`) was left
    out without a word: the suite silently shrank. It is an error row now."""
    root = _two_bundles(tmp_path)
    r = run_cli(["eval", str(root), "--json", "--jobs", "1"])
    assert r.code == int(ExitCode.USAGE), r.err
    body = json.loads(r.out)
    assert body["summary"]["n"] == 2 and body["summary"]["errors"] == 1
    (bad,) = body["errors"]
    assert bad["path"] == "misnamed" and "bundle.yaml: missing" in bad["error"]
    assert "misnamed" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize(
    "flags",
    [["--weights-out", "w.json"], ["--temperature"], ["--signs"], ["--calibrate", "."]],
)
def test_eval_fit_only_flags_without_fit_are_refused(tmp_path: Path, flags: list[str]) -> None:
    """`--weights-out w.json` without --fit ran the whole evaluation and wrote nothing."""
    root = tmp_path / "suite"
    make_bundle(root / "one")
    out = tmp_path / "w.json"
    args = [a if a != "w.json" else str(out) for a in flags]
    r = run_cli(["eval", str(root), "--jobs", "1", *args])
    assert r.code == int(ExitCode.USAGE)
    assert "only used with --fit" in r.err and "hint: " in r.err
    assert not out.exists()


def test_eval_calibrate_needs_the_temperature_it_helps_choose(tmp_path: Path) -> None:
    root = tmp_path / "suite"
    make_bundle(root / "one")
    out = tmp_path / "w.json"
    r = run_cli(
        ["eval", str(root), "--fit", "--jobs", "1", "--weights-out", str(out)]
        + ["--calibrate", str(root)]
    )
    assert r.code == int(ExitCode.USAGE)
    assert "only used with --temperature" in r.err and "hint: " in r.err
    assert not out.exists()


def test_eval_calibrate_refuses_a_folder_that_is_being_fitted(tmp_path: Path) -> None:
    """A calibration folder holding the fitted bundles (the same folder, or one inside
    or around it) would choose the temperature those bundles are then scored with."""
    root = tmp_path / "suite"
    make_bundle(root / "one")
    out = tmp_path / "w.json"
    base = ["eval", str(root), "--fit", "--temperature", "--jobs", "1", "--weights-out", str(out)]
    for cal in (root, root / "one", tmp_path):
        r = run_cli([*base, "--calibrate", str(cal)])
        assert r.code == int(ExitCode.USAGE), r.err
        assert "overlaps" in r.err and "hint: " in r.err
    assert not out.exists()


def test_eval_fit_checks_where_it_writes_before_the_run(tmp_path: Path) -> None:
    """An unwritable --weights-out was found only after every bundle was triaged and
    the weights fitted: the fit was lost. Now refused before any work."""
    root = tmp_path / "suite"
    make_bundle(root / "one")
    out = tmp_path / "no" / "such" / "w.json"
    r = run_cli(["eval", str(root), "--fit", "--jobs", "1", "--weights-out", str(out)])
    assert r.code == int(ExitCode.USAGE)
    assert "--fit cannot write" in r.err and "not a writable directory" in r.err
    assert "eval" not in r.out  # nothing was evaluated


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("truth.yaml", "root_cause: {kind: deploy}\n", "root_cause.service: field required"),
        ("truth.yaml", "root_cause: {kind: deploy, service: [a]}\n", "root_cause.service:"),
        ("bundle.yaml", 'id: x\nwindow: "2024"\n', "window:"),
        ("bundle.yaml", "- a\n", "expected a mapping with id"),
    ],
)
def test_a_malformed_truth_or_meta_comes_with_a_hint(
    tmp_path: Path, name: str, text: str, needle: str
) -> None:
    """Schema errors in truth.yaml and bundle.yaml were an error line with no hint."""
    root = make_bundle(tmp_path / "b")
    (root / name).write_text(text)
    r = run_cli(["bundle", "validate", str(root)])
    assert r.code == int(ExitCode.USAGE)
    lines = r.err.splitlines()
    assert len(lines) == 2 and needle in lines[0], lines
    assert lines[1].startswith("hint: ") and name in lines[1]


def test_a_window_that_is_not_a_mapping_names_no_private_class(tmp_path: Path) -> None:
    import shutil

    from aisre_cli.errors import BundleError
    from aisre_cli.sources.bundle import BundleSource

    b = tmp_path / "b"
    shutil.copytree(Path(__file__).resolve().parent.parent / "aisre_cli" / "data" / "demo", b)
    meta = (b / "bundle.yaml").read_text()
    (b / "bundle.yaml").write_text(
        "\n".join(ln for ln in meta.splitlines() if not ln.startswith(("window", "  ")))
        + "\nwindow: yesterday\n"
    )
    with pytest.raises(BundleError) as exc:
        BundleSource(b)
    assert "window: input should be a valid dictionary" in exc.value.message
    assert "instance of" not in exc.value.message
