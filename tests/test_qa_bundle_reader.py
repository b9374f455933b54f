"""QA pass on the bundle reader: inputs that real tools write and that the reader
refused or misread. One test per defect fixed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from aisre_cli.errors import BundleError
from aisre_cli.settings.paths import demo_bundle_dir
from aisre_cli.sources.bundle import BundleSource, validate_bundle
from tests.test_bundle import T0, make_bundle

BOM = b"\xef\xbb\xbf"


def _matrix(*result: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "matrix", "result": list(result)}, **extra}


def _write_metric(root: Path, name: str, body: dict[str, Any]) -> None:
    (root / "metrics" / f"{name}.json").write_text(json.dumps(body))


def _series(root: Path, name: str) -> list[Any]:
    return [s for s in BundleSource(root).all_series() if s.name == name]


def _logs(root: Path, data: bytes) -> list[tuple[float, str, str]]:
    for p in (root / "logs").iterdir():
        p.unlink()
    (root / "logs" / "app.jsonl").write_bytes(data)
    t = BundleSource(root).all_logs()
    return [(t.ts[i], t.level[i], t.msg[i]) for i in range(len(t))]


def _jsonl(*rows: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


# ------------------------------------------------------------------ byte order mark


def test_a_byte_order_mark_is_not_an_invalid_json_error(tmp_path: Path) -> None:
    """Windows PowerShell 5's `Out-File -Encoding utf8` starts every file with a BOM:
    alerts.json, a metrics file and changes.json were refused as invalid JSON, and a log,
    span or event file lost its first line as "invalid JSON" (the change-file reader
    already reads a BOM)."""
    root = make_bundle(tmp_path / "b")
    for name in ("alerts.json", "changes.json", "metrics/errors_rate.json", "logs/api.jsonl"):
        p = root / name
        p.write_bytes(BOM + p.read_bytes())
    for name in ("traces/t.jsonl",):
        p = root / name
        p.write_bytes(BOM + p.read_bytes())
    (root / "events").mkdir()
    event = {"ts": T0, "service": "api", "reason": "OOMKilled"}
    (root / "events" / "k8s.jsonl").write_bytes(BOM + _jsonl(event))
    b, problems = validate_bundle(root)
    assert problems == []
    assert b is not None
    assert len(b.list_alerts()) == 1 and len(b.all_logs()) == 5
    assert [c.id for c in b.fetch_changes(b.window.start, b.window.end)] == ["c1", "c2"]
    assert len(b.fetch_spans(b.window.start, b.window.end)) == 1
    assert len(b.fetch_events(b.window.start, b.window.end)) == 1


# ------------------------------------------------------------------ log levels


@pytest.mark.parametrize(
    "raw,level",
    [
        ("Information", "info"),  # .NET Microsoft.Extensions.Logging, Serilog
        ("informational", "info"),  # syslog's long name
        ("Verbose", "debug"),  # Serilog, winston
        ("silly", "debug"),  # winston
        ("INF", "info"),  # Serilog's {Level:u3}
        ("WRN", "warn"),
        ("FTL", "fatal"),
        ("DBG", "debug"),
        ("VRB", "debug"),
        ("TRC", "debug"),
        ("emergency", "fatal"),  # syslog's long name
        ("dpanic", "error"),  # zap (production: logs at error)
        ("LOG", "info"),  # PostgreSQL's routine messages (checkpoints, connections)
        ("Note", "info"),  # MySQL's [Note]
    ],
)
def test_other_loggers_level_words_are_not_read_as_errors(
    tmp_path: Path, raw: str, level: str
) -> None:
    """An unknown level is read as an error by the log analyzer, so a .NET service's
    `Information` lines (and Serilog's `INF`, winston's `verbose`) were all errors."""
    root = make_bundle(tmp_path / "b")
    rows = _logs(root, _jsonl({"ts": T0, "level": raw, "msg": "request served"}))
    assert rows == [(float(T0), level, "request served")]


# ------------------------------------------------------------------ log text keys


def test_logcli_jsonl_line_is_the_message(tmp_path: Path) -> None:
    """Loki's `logcli query -o jsonl` writes `{"labels", "line", "timestamp"}`: the text
    was dropped (every record empty) and its level never guessed."""
    root = make_bundle(tmp_path / "b")
    row = {
        "labels": {"app": "api"},
        "line": 'level=error msg="upstream timeout"',
        "timestamp": "2023-11-14T22:13:20.5Z",
    }
    ((ts, level, msg),) = _logs(root, _jsonl(row))
    assert msg == row["line"] and level == "error" and ts == pytest.approx(T0 + 0.5)


# ------------------------------------------------------------------ truncated last line


def test_a_truncated_last_log_line_is_dropped(tmp_path: Path) -> None:
    """A log copied while it was being written ends in half a record (no newline): the
    whole bundle was refused. The cut record is dropped; a broken line elsewhere, or a
    file whose only line is broken, is still an error naming the line."""
    root = make_bundle(tmp_path / "b")
    good = _jsonl({"ts": T0, "msg": "a"}, {"ts": T0 + 1, "msg": "b"})
    rows = _logs(root, good + b'{"ts": 1700000002, "msg": "c')
    assert [m for _, _, m in rows] == ["a", "b"]
    rows = _logs(root, good.replace(b"\n", b"\r\n") + b'{"ts": 17')
    assert [m for _, _, m in rows] == ["a", "b"]
    with pytest.raises(BundleError, match=r"logs/app.jsonl:2: invalid JSON"):
        _logs(root, good[: good.index(b"\n") + 1] + b'{"ts": 1, "msg": "b\n' + good)
    with pytest.raises(BundleError, match=r"logs/app.jsonl:1: invalid JSON"):
        _logs(root, b'{"ts": 1700000002, "msg": "c')
    with pytest.raises(BundleError, match=r"logs/app.jsonl:3: invalid JSON"):
        _logs(root, good + b'{"ts": 1700000002, "msg": "c"}}')


# ------------------------------------------------------------------ alerts


def _alert(fp: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "job": "api", "severity": "critical"},
        "annotations": {"summary": name},
        "startsAt": "2023-11-14T22:40:00Z",
        "endsAt": "2023-11-14T23:40:00Z",
        "updatedAt": "2023-11-14T22:40:00Z",
        "fingerprint": fp,
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        **extra,
    }


def test_alertmanager_groups_response_is_read(tmp_path: Path) -> None:
    """`GET /api/v2/alerts/groups` (what the Alertmanager UI and Karma show) was refused
    with `$[0].startsAt: field required`. Its alerts are read, once each (an alert routed
    to two receivers is in two groups), with the group's receiver."""
    groups = [
        {
            "labels": {"alertname": "HighErrors"},
            "receiver": {"name": "pager"},
            "alerts": [_alert("abcd1234abcd1234", "HighErrors")],
        },
        {
            "labels": {"job": "api"},
            "receiver": {"name": "slack"},
            "alerts": [
                _alert("abcd1234abcd1234", "HighErrors"),
                _alert("ffff0000ffff0000", "HighLatency", receivers=[{"name": "email"}]),
            ],
        },
        {"labels": {}, "receiver": {"name": "none"}, "alerts": None},
    ]
    root = make_bundle(tmp_path / "b", alerts=groups)
    b, problems = validate_bundle(root)
    assert problems == [] and b is not None
    alerts = b.list_alerts()
    assert [(a.id, a.name) for a in alerts] == [
        ("abcd1234abcd1234", "HighErrors"),
        ("ffff0000ffff0000", "HighLatency"),
    ]
    assert alerts[0].receivers == ["pager", "slack"] and alerts[1].receivers == ["email"]

    groups[1]["alerts"][1] = {"labels": {"alertname": "x"}}  # type: ignore[index]
    root = make_bundle(tmp_path / "bad", alerts=groups)
    with pytest.raises(BundleError, match=r"alerts.json: \$\[1\]\.alerts\[1\]\.startsAt"):
        BundleSource(root).list_alerts()


# ------------------------------------------------------------------ metrics


def test_a_failed_query_file_is_skipped_with_a_note(tmp_path: Path) -> None:
    """A capture that saved Prometheus' answer to a query that failed (`status: error`,
    `errorType`, `error`) made the whole bundle unreadable. The file holds no series:
    the others are read, and the report says which query failed and why."""
    root = make_bundle(tmp_path / "b")
    failed = {
        "status": "error",
        "errorType": "timeout",
        "error": "query timed out in expression evaluation",
        "warnings": ["w"],
    }
    _write_metric(root, "slow", failed)
    b, problems = validate_bundle(root)
    assert problems == [] and b is not None
    series, notes = b.fetch_series(b.window.start, b.window.end, None)
    assert [s.name for s in series] == ["http_errors", "errors_rate"]
    (note,) = notes
    assert "metrics/slow.json" in note.detail and "timeout" in note.detail
    assert "query timed out" in note.detail and note.status == "partial"


def test_a_native_histogram_series_is_dropped_with_a_note(tmp_path: Path) -> None:
    """Prometheus answers a range query over native histograms with `histograms`
    instead of `values`: the bundle was refused (`values: expected a list of pairs`).
    Such a series has no float sample to read: it is dropped with a note, and one with
    both keeps its float samples."""
    root = make_bundle(tmp_path / "b")
    hist = {"count": "3", "sum": "1.5", "buckets": [[0, "0.1", "0.2", "3"]]}
    body = _matrix(
        {"metric": {"__name__": "rpc_duration", "job": "api"}, "histograms": [[T0, hist]]},
        {
            "metric": {"__name__": "rpc_mixed", "job": "api"},
            "values": [[T0, "1"]],
            "histograms": [[T0 + 60, hist]],
        },
    )
    _write_metric(root, "hist", body)
    b, problems = validate_bundle(root)
    assert problems == [] and b is not None
    series, notes = b.fetch_series(b.window.start, b.window.end, None)
    assert [s.name for s in series if s.name.startswith("rpc")] == ["rpc_mixed"]
    assert any("rpc_duration" in n.detail and "histogram" in n.detail for n in notes)


def test_a_repeated_identical_point_is_one_point(tmp_path: Path) -> None:
    """Two range answers concatenated (a capture that paged the window and repeated the
    boundary step) repeat a point with the same value: refused as "both at timestamp".
    An identical repeat is one point; two different values at one time stay an error."""
    root = make_bundle(tmp_path / "b")
    values = [[T0, "1"], [T0 + 60, "NaN"], [T0 + 60, "NaN"], [T0, "1"], [T0 + 120, "3"]]
    _write_metric(
        root, "dup", _matrix({"metric": {"__name__": "dup", "job": "api"}, "values": values})
    )
    (s,) = _series(root, "dup")
    assert s.timestamps == [T0, T0 + 60, T0 + 120]
    assert s.values[0] == 1.0 and s.values[1] != s.values[1] and s.values[2] == 3.0
    values[3] = [T0, "2"]
    _write_metric(
        root, "dup", _matrix({"metric": {"__name__": "dup", "job": "api"}, "values": values})
    )
    with pytest.raises(BundleError, match=r"values\[0\] and \[3\] are both at timestamp"):
        _series(root, "dup")


def test_a_series_split_across_files_is_one_series(tmp_path: Path) -> None:
    """Prometheus caps a range answer at 11,000 points a series, so a long capture is
    saved in pieces: each piece was a series of its own, the baseline in one file and
    the incident in the other. Same name and labels (and query, when queries.yaml
    names them): one series, its points merged (the shared boundary point once), cited
    by its first file."""
    root = make_bundle(tmp_path / "b")
    first = [[T0 + i * 60, str(i)] for i in range(6)]
    second = [[T0 + i * 60, str(i)] for i in range(5, 10)]
    metric = {"__name__": "req_rate", "job": "api"}
    _write_metric(root, "req_1", _matrix({"metric": metric, "values": first}))
    _write_metric(root, "req_2", _matrix({"metric": metric, "values": second}))
    (s,) = _series(root, "req_rate")
    assert s.timestamps == [T0 + i * 60 for i in range(10)]
    assert s.values == [float(i) for i in range(10)]
    assert s.ref == "metrics/req_1.json"

    # pieces that disagree, or answers of two different queries, are not one series
    _write_metric(root, "req_2", _matrix({"metric": metric, "values": [[T0 + 300, "7"]]}))
    assert [len(s.timestamps) for s in _series(root, "req_rate")] == [6, 1]
    _write_metric(root, "req_2", _matrix({"metric": metric, "values": second}))
    queries = root / "metrics" / "queries.yaml"
    queries.write_text("req_1: 'req_rate'\nreq_2: 'req_rate offset 1m'\n")
    assert [len(s.timestamps) for s in _series(root, "req_rate")] == [6, 5]
    queries.write_text("req_1: 'req_rate'\nreq_2: 'req_rate'\n")
    assert [len(s.timestamps) for s in _series(root, "req_rate")] == [10]


@pytest.mark.parametrize("rtype", ["vector", "scalar", "string"])
def test_an_instant_query_file_is_refused_with_a_hint(tmp_path: Path, rtype: str) -> None:
    """An instant query saved by mistake is refused (one point cannot show a change),
    but the message gave no hint of what to save instead."""
    root = make_bundle(tmp_path / "b")
    result: Any = [] if rtype == "vector" else [T0, "1"]
    _write_metric(
        root, "inst", {"status": "success", "data": {"resultType": rtype, "result": result}}
    )
    with pytest.raises(BundleError) as exc:
        BundleSource(root).all_series()
    assert "metrics/inst.json: $.data.resultType: expected 'matrix'" in exc.value.message
    assert exc.value.hint is not None and "query_range" in exc.value.hint


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "truth.yaml",
            "root_cause: 5\n",
            "truth.yaml: root_cause: input should be a valid dictionary",
        ),
        (
            "bundle.yaml",
            "id: x\ntitle: y\nwindow: 5\n",
            "bundle.yaml: window: input should be a valid dictionary",
        ),
    ],
)
def test_a_wrong_shape_is_named_without_the_readers_class_names(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    root = make_bundle(tmp_path / "b")
    (root / name).write_text(text)
    with pytest.raises(BundleError) as ei:
        src = BundleSource(root)
        src.truth()
    assert ei.value.message.endswith(expected), ei.value.message
    assert "instance of" not in ei.value.message


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        ('["loki failed (2.0s): HTTP 500", "github partial (1.0s): page 2"]', 2),
        ('"hand-written: logs lost when the disk filled"', 1),
        ("{a: 1}", 0),  # another shape: ignored, never a refused bundle
        ("null", 0),
    ],
)
def test_what_the_capture_missed_is_said_again_on_replay(
    tmp_path: Path, notes: str, expected: int
) -> None:
    from aisre_cli.investigate.triage import run_triage
    from aisre_cli.settings.config import demo_profile
    from aisre_cli.sources.registry import bundle_set

    root = tmp_path / "b"
    shutil.copytree(demo_bundle_dir(), root)
    with (root / "bundle.yaml").open("a") as f:
        f.write(f"notes: {notes}\n")
    rep = run_triage(bundle_set(root), None, demo_profile())
    said = [n for n in rep.notes if n.startswith("bundle partial") and "when captured" in n]
    assert len(said) == expected, rep.notes
    assert rep.verdict.hypotheses[0].service == "payments"  # the ranking does not change


def test_validate_names_every_broken_file_of_metrics_and_logs(tmp_path: Path) -> None:
    root = tmp_path / "b"
    shutil.copytree(demo_bundle_dir(), root)
    (root / "metrics" / "cpu_usage_ratio.json").write_text("{broken")
    (root / "metrics" / "up.json").write_text("[1, 2]")
    (root / "logs" / "payments.jsonl").write_text('{"ts": 1, "msg": "ok"}\n[1]\n')
    (root / "logs" / "search.jsonl").write_text('{"ts": 1, "msg": "ok"}\n"text"\n')
    _, problems = validate_bundle(root)
    files = [p.file for p in problems]
    assert files == [
        "metrics/cpu_usage_ratio.json",
        "metrics/up.json",
        "logs/payments.jsonl",
        "logs/search.jsonl",
    ], [p.text for p in problems]
