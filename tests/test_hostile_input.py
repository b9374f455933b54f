"""Hostile input (issue 11, findings 4, 5, 9, 10, 11): alias bombs, deep YAML, files that
are not files, symlinks out of a bundle, caps on what a bundle may hold, validators that
let a trailing newline through, and numeric edge cases that used to be tracebacks.

Every CLI case runs in a subprocess under RLIMIT_AS 1 GB and a 20 s timeout: before the
fixes these cases ran for minutes, took gigabytes or hung forever, so the limits turn a
regression into a failure without asserting on tight timings (bench numbers are in
bench/hostile_input.py).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aisre_cli.errors import AisreError, BundleError, ConfigError
from aisre_cli.settings.config import InputLimits
from aisre_cli.settings.safeyaml import YamlLimits, YamlProblem, parse_yaml
from aisre_cli.sources.bundle import BundleSource
from aisre_cli.sources.timeparse import TimestampError, to_datetime, to_unix
from tests.conftest import DEMO

T0 = 1_700_000_000
MEM_LIMIT = 1 << 30
TIMEOUT = 20.0


def bomb(levels: int = 9, fan: int = 9) -> str:
    """The billion-laughs document: `fan ** levels` leaves from about 1 KB."""
    out = [f"a0: &a0 [{', '.join(['lol'] * fan)}]"]
    for i in range(1, levels + 1):
        out.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]")
    return "\n".join(out) + "\n"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))


def run_cli(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(NO_COLOR="1", COLUMNS="200", OPENBLAS_NUM_THREADS="1", AISRE_RAISE_ERRORS="0")
    if home is not None:
        env["AISRE_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "aisre_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        preexec_fn=_limit_memory,
        check=False,
    )


def assert_input_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, no traceback, and the error line names what it must."""
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert "Traceback" not in err and "MemoryError" not in err
    first = next(line for line in err.splitlines() if line.strip())
    for needle in needles:
        assert needle in first, (needle, first)
    return first


def demo_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "bundle"
    shutil.copytree(DEMO, dst)
    return dst


def write_config(home: Path, profile: dict[str, object]) -> None:
    cfg = home / "config"
    cfg.mkdir(parents=True, exist_ok=True)
    body = {"version": 1, "default_profile": "p", "profiles": {"p": profile}}
    (cfg / "config.yaml").write_text(json.dumps(body))  # JSON is YAML


# ------------------------------------------------------------ finding 4: alias bombs


def test_bomb_runbook_validate(tmp_path: Path) -> None:
    f = tmp_path / "rb.yaml"
    f.write_text(bomb())
    proc = run_cli("runbook", "validate", str(f))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "rb.yaml:6: not valid YAML: expands to more than" in proc.stdout


def test_bomb_policy_file(tmp_path: Path, _aisre_home: Path) -> None:
    pol = tmp_path / "policy.yaml"
    pol.write_text(bomb())
    write_config(_aisre_home, {"environment": "prod", "policy_file": str(pol)})
    proc = run_cli("runbook", "policy", home=_aisre_home)
    assert_input_error(proc, "policy.yaml:", "not valid YAML")


def test_bomb_queries_yaml_in_triage(tmp_path: Path, _aisre_home: Path) -> None:
    b = demo_copy(tmp_path)
    (b / "metrics" / "queries.yaml").write_text(bomb())
    proc = run_cli("triage", "--bundle", str(b), home=_aisre_home)
    assert_input_error(proc, "queries.yaml:", "not valid YAML")


def test_bomb_topology(tmp_path: Path, _aisre_home: Path) -> None:
    b = demo_copy(tmp_path)
    (b / "topology.yaml").write_text(bomb())
    proc = run_cli("bundle", "validate", str(b), home=_aisre_home)
    assert_input_error(proc, "topology.yaml:", "not valid YAML")


def test_bomb_config(_aisre_home: Path) -> None:
    (_aisre_home / "config").mkdir()
    (_aisre_home / "config" / "config.yaml").write_text(bomb())
    proc = run_cli("config", "show", home=_aisre_home)
    assert_input_error(proc, "config.yaml:", "not valid YAML")


def test_bomb_bundle_in_eval_folder_is_one_error_row(tmp_path: Path, _aisre_home: Path) -> None:
    folder = tmp_path / "suite"
    folder.mkdir()
    b = demo_copy(tmp_path)
    (b / "metrics" / "queries.yaml").write_text(bomb())
    shutil.move(str(b), folder / "bad")
    proc = run_cli("eval", str(folder), "--json", "--allow-errors", home=_aisre_home)
    assert proc.returncode in (0, 7), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "queries.yaml" in proc.stdout and "not valid YAML" in proc.stdout


def test_one_bad_runbook_in_a_folder_is_reported_and_skipped(
    tmp_path: Path, _aisre_home: Path
) -> None:
    rdir = tmp_path / "runbooks"
    rdir.mkdir()
    (rdir / "bomb.yaml").write_text(bomb())
    write_config(
        _aisre_home,
        {"environment": "demo", "sources": {"bundle": str(DEMO)}, "runbook_dirs": [str(rdir)]},
    )
    proc = run_cli("triage", home=_aisre_home)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "runbook skipped" in proc.stderr and "bomb.yaml" in proc.stderr


@pytest.mark.parametrize(
    "text,needle",
    [
        (bomb(), "expands to more than"),
        ("[" * 50_000 + "]" * 50_000 + "\n", "nest"),
        ("a: " + "{b: " * 100 + "1" + "}" * 100 + "\n", "nest"),
        ("x: [" + ", ".join(f"*a{i}" for i in range(200)) + "]\n", "alias"),
        ("k: &a [1]\n" + "".join(f"k{i}: *a\n" for i in range(150)), "more than 100 aliases"),
    ],
    ids=["bomb", "deep-flow", "deep-map", "undefined-aliases", "many-aliases"],
)
def test_yaml_limits_refuse_before_building(text: str, needle: str) -> None:
    with pytest.raises(YamlProblem) as exc:
        parse_yaml(text, "f.yaml")
    assert needle in str(exc.value) and str(exc.value).startswith("f.yaml:")


def test_yaml_aliases_within_limits_still_work() -> None:
    text = "base: &b {replicas: 2}\nprod:\n  <<: *b\n  env: prod\n"
    data, lines = parse_yaml(text, "c.yaml", with_lines=True)
    assert data["prod"] == {"replicas": 2, "env": "prod"}
    assert lines[("prod", "env")] == 4


def test_yaml_errors_keep_the_line() -> None:
    with pytest.raises(YamlProblem) as exc:
        parse_yaml("a: 1\nb: 2\nc: [\n", "x.yaml")
    assert exc.value.line >= 3 and "x.yaml:" in str(exc.value)


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "'a'"),
        ("x: {a: 1, a: 2}\n", 1, "'a'"),
        ("l:\n  - k: 1\n    k: 2\n", 3, "'k'"),
        ("1: one\n0x1: also one\n", 2, "1"),  # the same key once constructed
    ],
    ids=["block", "flow", "nested", "same-value"],
)
def test_yaml_duplicate_keys_are_refused_with_the_line(text: str, line: int, key: str) -> None:
    with pytest.raises(YamlProblem) as exc:
        parse_yaml(text, "d.yaml")
    assert exc.value.line == line
    assert str(exc.value).startswith(f"d.yaml:{line}: not valid YAML: duplicate key {key}")


def test_yaml_merge_keys_may_be_overridden() -> None:
    text = "base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  a: 3\ny: *b\n"
    data, _ = parse_yaml(text, "m.yaml")
    assert data["x"] == {"a": 3, "b": 2} and data["y"] == {"a": 1, "b": 2}


def test_yaml_size_cap() -> None:
    with pytest.raises(YamlProblem, match="larger than"):
        parse_yaml("a: " + "x" * 200 + "\n", "s.yaml", YamlLimits(max_bytes=100))


def test_deep_yaml_config_is_exit_2(_aisre_home: Path) -> None:
    (_aisre_home / "config").mkdir()
    (_aisre_home / "config" / "config.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000)
    assert_input_error(run_cli("config", "show", home=_aisre_home), "config.yaml:")


# ------------------------------------------------------------ finding 5: blind reads


@pytest.mark.parametrize(
    "rel,target",
    [
        ("alerts.json", "/dev/zero"),
        ("logs/extra.jsonl", "/dev/urandom"),
        ("metrics/zero.json", "/dev/zero"),
        ("traces/zero.jsonl", "/dev/zero"),
        ("changes.json", "/etc/passwd"),
        ("topology.yaml", "/etc/hostname"),
    ],
)
def test_symlinks_to_devices_or_out_of_the_bundle(
    tmp_path: Path, _aisre_home: Path, rel: str, target: str
) -> None:
    if not Path(target).exists():
        pytest.skip(f"{target} missing")
    b = demo_copy(tmp_path)
    (b / rel).parent.mkdir(exist_ok=True)
    (b / rel).unlink(missing_ok=True)
    (b / rel).symlink_to(target)
    proc = run_cli("bundle", "validate", str(b), home=_aisre_home)
    line = assert_input_error(proc, Path(rel).name, "refused")
    assert "outside the bundle" in line or "not a regular file" in line


def test_symlinked_folder_out_of_the_bundle(tmp_path: Path) -> None:
    b = demo_copy(tmp_path)
    outside = tmp_path / "elsewhere"
    shutil.move(str(b / "logs"), outside)
    (b / "logs").symlink_to(outside)
    with pytest.raises(BundleError, match="outside the bundle"):
        BundleSource(b).validate()


def test_symlink_inside_the_bundle_is_fine(tmp_path: Path) -> None:
    b = demo_copy(tmp_path)
    (b / "alerts-copy.json").write_bytes((b / "alerts.json").read_bytes())
    (b / "alerts.json").unlink()
    (b / "alerts.json").symlink_to("alerts-copy.json")
    assert BundleSource(b).list_alerts()


def test_fifo_does_not_hang(tmp_path: Path, _aisre_home: Path) -> None:
    b = demo_copy(tmp_path)
    (b / "changes.json").unlink()
    os.mkfifo(b / "changes.json")
    proc = run_cli("bundle", "validate", str(b), home=_aisre_home)
    assert_input_error(proc, "changes.json", "a FIFO")


def test_fifo_bundle_yaml_does_not_hang(tmp_path: Path) -> None:
    b = demo_copy(tmp_path)
    (b / "bundle.yaml").unlink()
    os.mkfifo(b / "bundle.yaml")
    with pytest.raises(BundleError, match="a FIFO"):
        BundleSource(b)


# ------------------------------------------------------------ finding 11: caps


def test_file_size_cap(tmp_path: Path) -> None:
    b = demo_copy(tmp_path)
    limits = InputLimits(max_file_mb=0.001)
    with pytest.raises(BundleError, match=r"limits\.max_file_mb"):
        BundleSource(b, limits=limits).validate()


def test_log_line_cap(tmp_path: Path, _aisre_home: Path) -> None:
    b = demo_copy(tmp_path)
    write_config(_aisre_home, {"environment": "demo", "limits": {"max_log_lines": 10}})
    proc = run_cli("triage", "--bundle", str(b), "--profile", "p", home=_aisre_home)
    assert_input_error(proc, "more than 10 log lines", "limits.max_log_lines")


def test_trace_span_cap(tmp_path: Path) -> None:
    b = demo_copy(tmp_path)
    src = BundleSource(b, limits=InputLimits(max_trace_spans=3))
    with pytest.raises(BundleError, match=r"limits\.max_trace_spans"):
        src.fetch_spans(src.window.start, src.window.end)


def test_series_cap_is_a_note(tmp_path: Path) -> None:
    b = demo_copy(tmp_path)
    src = BundleSource(b, limits=InputLimits(max_series=2))
    series, notes = src.fetch_series(src.window.start, src.window.end, None)
    assert len(series) == 2
    assert any("limits.max_series" in n.detail for n in notes)


def test_huge_topology_is_refused_quickly(tmp_path: Path, _aisre_home: Path) -> None:
    b = demo_copy(tmp_path)
    lines = ["services:"]
    lines += [f"  s{i}: {{depends_on: [s{i + 1}]}}" for i in range(100_000)]
    (b / "topology.yaml").write_text("\n".join(lines) + "\n")
    proc = run_cli("triage", "--bundle", str(b), home=_aisre_home)
    assert_input_error(proc, "topology.yaml", "limits.max_topology_services")


# ------------------------------------------------------------ finding 9: full matches


@pytest.mark.parametrize("type_name", ["name", "label_name", "label_value", "version", "quantity"])
@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\n--all"])
def test_param_validators_refuse_trailing_newline(type_name: str, suffix: str) -> None:
    from aisre_cli.remediate.types import SAMPLE_VALUES, validate_param

    good = SAMPLE_VALUES[type_name]
    validate_param(type_name, good)
    with pytest.raises(ValueError):
        validate_param(type_name, good + suffix)


def test_other_validators_refuse_trailing_newline() -> None:
    from aisre_cli.remediate.capabilities.kubectl import _selector
    from aisre_cli.remediate.checkpoint import RUN_ID
    from aisre_cli.remediate.runbook import Runbook
    from aisre_cli.settings.secrets import _NAME

    assert _NAME.fullmatch("prom") and not _NAME.fullmatch("prom\n")
    assert RUN_ID.fullmatch("r-20240101T000000Z-abcdef")
    assert not RUN_ID.fullmatch("r-20240101T000000Z-abcdef\n")
    assert _selector("app=web") == "app=web"
    with pytest.raises(ValueError):
        _selector("app=web\n")
    step = {"id": "s", "title": "t", "capability": "kubectl.get"}
    Runbook.model_validate({"id": "ok", "title": "t", "steps": [step]})
    with pytest.raises(ValueError):
        Runbook.model_validate({"id": "ok\n", "title": "t", "steps": [step]})


def test_param_with_newline_never_reaches_kubectl(tmp_path: Path, _aisre_home: Path) -> None:
    proc = run_cli(
        "runbook",
        "run",
        "restart-crashloop",
        "--param",
        "service=payments\n",
        "--param",
        "namespace=shop",
        "--dry-run",
        home=_aisre_home,
    )
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    assert "parameter service=" in proc.stderr and "rejected" in proc.stderr


# ------------------------------------------------------------ finding 10: numeric edges


def _metric_file(b: Path, values: list[list[object]]) -> None:
    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {"__name__": "edge", "service": "checkout"}, "values": values}],
        },
    }
    (b / "metrics" / "edge.json").write_text(json.dumps(body))


@pytest.mark.parametrize(
    "values,needle",
    [
        ([[T0, "1"], [T0, "2"], [T0, "3"]], "are both at timestamp"),
        ([["Infinity", "1"], [T0, "2"]], "out of range"),
        ([[1e300, "1"], [T0, "2"]], "out of range"),
        ([["-1e300", "1"], [T0, "2"]], "out of range"),
        ([["NaN", "1"]], "out of range"),
    ],
    ids=["same-ts", "infinity", "1e300", "-1e300", "nan"],
)
def test_metric_timestamp_edges_are_exit_2(
    tmp_path: Path, _aisre_home: Path, values: list[list[object]], needle: str
) -> None:
    b = demo_copy(tmp_path)
    _metric_file(b, values)
    proc = run_cli("triage", "--bundle", str(b), home=_aisre_home)
    assert_input_error(proc, "edge.json", needle)


def test_all_nan_series_is_dropped_with_a_note(tmp_path: Path, _aisre_home: Path) -> None:
    b = demo_copy(tmp_path)
    _metric_file(b, [[T0 + 60 * i, "NaN"] for i in range(60)])
    src = BundleSource(b)
    series, notes = src.fetch_series(src.window.start, src.window.end, None)
    assert not [s for s in series if s.name == "edge"]
    assert any("no numeric value" in n.detail for n in notes)
    proc = run_cli("triage", "--bundle", str(b), home=_aisre_home)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Warning" not in proc.stderr and "RuntimeWarning" not in proc.stderr


@pytest.mark.parametrize(
    "value",
    [
        1e300,
        "1e300",
        float("inf"),
        "Infinity",
        10**400,
        -1,
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "9" * 400,
    ],
)
def test_timestamp_edges_raise_timestamp_error(value: object) -> None:
    with pytest.raises(TimestampError):
        to_datetime(value)
    with pytest.raises(TimestampError):
        to_unix(value)


@pytest.mark.parametrize(
    "where,record",
    [
        ("logs/edge.jsonl", {"ts": 1e300, "service": "x", "msg": "m"}),
        ("logs/edge.jsonl", {"ts": "9999-12-31T23:59:59-01:00", "service": "x", "msg": "m"}),
        ("traces/edge.jsonl", {"start": 1e300, "trace_id": "t", "span_id": "s"}),
    ],
)
def test_jsonl_timestamp_edges_are_bundle_errors(
    tmp_path: Path, where: str, record: dict[str, object]
) -> None:
    b = demo_copy(tmp_path)
    (b / where).parent.mkdir(exist_ok=True)
    (b / where).write_text(json.dumps(record) + "\n")
    with pytest.raises(BundleError, match="out of range") as exc:
        BundleSource(b).validate()
    assert isinstance(exc.value, AisreError) and "\n" not in exc.value.message


def test_alert_timestamp_out_of_range(tmp_path: Path) -> None:
    b = demo_copy(tmp_path)
    alerts = json.loads((b / "alerts.json").read_text())
    alerts[0]["startsAt"] = "9999-12-31T23:59:59-01:00"
    (b / "alerts.json").write_text(json.dumps(alerts))
    with pytest.raises(BundleError, match=r"\$\[0\]\.startsAt"):
        BundleSource(b).list_alerts()


def test_bundle_window_out_of_range(tmp_path: Path) -> None:
    b = demo_copy(tmp_path)
    (b / "bundle.yaml").write_text(
        "id: x\nwindow: {start: 2023-01-01T00:00:00Z, end: 9999-12-31T23:59:59Z}\n"
    )
    with pytest.raises(BundleError, match="window.end"):
        BundleSource(b)


def test_config_error_is_config_error(_aisre_home: Path) -> None:
    from aisre_cli.settings.config import load_config

    (_aisre_home / "config").mkdir()
    f = _aisre_home / "config" / "config.yaml"
    f.write_text(bomb())
    with pytest.raises(ConfigError, match=r"config\.yaml:\d+: not valid YAML"):
        load_config(f)


# ------------------------------------------------------------ found by tests/test_fuzz.py


@pytest.mark.parametrize("severity", ["major", "none", "[/]x"])
def test_unknown_severity_renders(tmp_path: Path, _aisre_home: Path, severity: str) -> None:
    """Any severity outside the styled set used to build `[]major[/]`: MarkupError, exit 1."""
    b = demo_copy(tmp_path)
    alerts = json.loads((b / "alerts.json").read_text())
    for a in alerts:
        a["labels"]["severity"] = severity
    (b / "alerts.json").write_text(json.dumps(alerts))
    for args in (("triage", "--bundle", str(b)), ("alerts", "--bundle", str(b))):
        proc = run_cli(*args, home=_aisre_home)
        assert proc.returncode == 0, proc.stderr[-2000:]


def test_duplicate_timestamp_error_names_both_points_exactly(tmp_path: Path) -> None:
    b = demo_copy(tmp_path)
    _metric_file(b, [[T0, "1"], [T0 + 60, "2"], [T0, "3"]])
    src = BundleSource(b)
    with pytest.raises(BundleError) as exc:
        src.fetch_series(src.window.start, src.window.end, None)
    assert f"values[0] and [2] are both at timestamp {int(T0)} " in str(exc.value)


# ------------------------------------------------------------ bytes that are not UTF-8


def test_a_log_line_with_a_stray_byte_keeps_its_record(tmp_path: Path) -> None:
    """Latin-1 text in one log line is common in real logs: the line is read, its bad
    byte as U+FFFD, instead of failing the whole triage."""
    b = demo_copy(tmp_path)
    log = b / "logs" / "checkout.jsonl"
    with open(log, "ab") as fh:
        fh.write(b'{"ts":"2025-03-11T13:40:00Z","level":"error","msg":"caf\xe9 down"}\n')
    src = BundleSource(b)
    table = src.all_logs()
    assert any(m == "caf\ufffd down" for m in table.msg)


@pytest.mark.parametrize("name", ["alerts.json", "changes.json"])
def test_a_json_file_that_is_not_utf8_says_where(
    tmp_path: Path, _aisre_home: Path, name: str
) -> None:
    b = demo_copy(tmp_path)
    body = (b / name).read_bytes()
    at = body.index(b'"', 10) + 1
    (b / name).write_bytes(body[:at] + b"\xff" + body[at:])
    proc = run_cli("triage", "--bundle", str(b), home=_aisre_home)
    err = assert_input_error(proc, name, f"not UTF-8 text at byte {at}")
    assert "surrogates" not in err
