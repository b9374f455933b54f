"""Property-based fuzzing of every reader of outside input (issue 11).

Readers: the bundle reader (alerts, metrics, logs, topology, changes, traces, and the
YAML beside them), the runbook and policy loaders, the timestamp parser, and the key
readers (token names and the insecure token store in settings/secrets, the stepper's
keystroke classifier). Properties:

* no exit 1 and no traceback: a reader either accepts the input or raises `AisreError`
  with a one-line message and exit code 2 (in-process), and the CLI never exits 1;
* no numpy or other warning escapes (warnings are errors inside these tests);
* bounded time and memory per example (generous bounds: the inputs are small, so a
  breach means something expands, like an alias bomb);
* control characters never reach the terminal raw (CLI output with NO_COLOR has no ESC).

The example budget is fixed and derandomized by the `ci` hypothesis profile registered
in conftest.py; `HYPOTHESIS_PROFILE=explore` runs a wider random search.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")

import yaml  # noqa: E402
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aisre_cli.errors import AisreError, ExitCode  # noqa: E402
from tests.conftest import DEMO, REPO  # noqa: E402

SECONDS = 20.0
"""Per example. Real cost is milliseconds; only runaway expansion comes near this."""
PEAK_BYTES = 200 * 1024 * 1024
"""Per example, as seen by tracemalloc, for inputs of at most a few KB."""

# ----------------------------------------------------------------------- strategies

HOSTILE = [
    "",
    " ",
    "\x1b[2J\x1b[Hall clear",
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "\x1b]0;title\x1b\\",
    "\x1b]8;;http://evil/\x07click\x1b]8;;\x07",
    "\x9b31m8-bit CSI",
    "\x9d0;osc\x9c",
    "\x07\x08\x0b\x0c\r",
    "\x00nul",
    "\u202eevil\u202c",
    "[bold]markup[/]",
    "[/]",
    "a\nb",
    "payments\n",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "+Inf",
    "1e300",
    "-1e300",
    "1e-300",
    "0",
    "-1",
    "1700000000",
    "1700000000000",
    "9" * 40,
    "2023-11-14T22:00:00Z",
    "2023-11-14T22:00:00.123456789+02:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "2023-13-45T99:99:99Z",
    "*alias",
    "&anchor",
    "!!python/object:os.system",
    "{{ run_id }}",
    "$(reboot)",
    "; rm -rf /",
    "--all-namespaces",
    "x" * 300,
]

text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 1e300, -1e300, 1_700_000_000, 1_700_000_000_000, 2**53]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=25,
)
timestamps = st.one_of(
    st.sampled_from(HOSTILE[15:34]),
    numbers,
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    text,
)

T0 = 1_741_694_400  # the demo window's start (2025-03-11T12:00:00Z)


def _series_values() -> st.SearchStrategy[list[Any]]:
    point = st.tuples(
        st.one_of(st.integers(T0, T0 + 7200), st.just(T0), timestamps),
        st.one_of(text, numbers, st.sampled_from(["NaN", "+Inf", "-Inf", "1", "0"])),
    ).map(list)
    same_ts = st.integers(1, 30).map(lambda n: [[T0, str(i)] for i in range(n)])
    all_nan = st.integers(1, 30).map(lambda n: [[T0 + 60 * i, "NaN"] for i in range(n)])
    return st.one_of(st.lists(point, max_size=30), same_ts, all_nan)


alert_docs = st.lists(
    st.fixed_dictionaries(
        {
            "labels": st.dictionaries(
                st.sampled_from(["alertname", "service", "job", "severity", "x"]) | text,
                text,
                max_size=5,
            ),
            "annotations": st.dictionaries(text, text, max_size=3),
            "startsAt": timestamps,
            "fingerprint": text,
        },
        optional={"endsAt": timestamps, "status": json_values, "receivers": json_values},
    ),
    max_size=4,
)
metric_docs = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["success", "error"]) | text,
        "data": st.fixed_dictionaries(
            {
                "resultType": st.sampled_from(["matrix", "vector"]),
                "result": st.lists(
                    st.fixed_dictionaries(
                        {
                            "metric": st.dictionaries(
                                st.sampled_from(["__name__", "service", "job"]) | text,
                                text,
                                max_size=3,
                            ),
                            "values": _series_values(),
                        }
                    ),
                    max_size=4,
                ),
            }
        ),
    }
)
change_docs = st.lists(
    st.fixed_dictionaries(
        {"id": text, "ts": timestamps, "service": text, "kind": st.sampled_from(["deploy", "x"])},
        optional={"summary": text, "author": text, "url": text, "version": scalars},
    ),
    max_size=4,
)
log_records = st.fixed_dictionaries(
    {"ts": timestamps, "service": scalars, "level": scalars, "msg": scalars},
)
span_records = st.fixed_dictionaries(
    {
        "trace_id": scalars,
        "span_id": scalars,
        "start": timestamps,
        "duration_ms": scalars,
        "service": scalars,
    },
    optional={"parent_id": scalars, "status": scalars, "name": scalars},
)


def _bomb(levels: int, fan: int) -> str:
    out = [f"a0: &a0 [{', '.join(['x'] * fan)}]"]
    for i in range(1, levels + 1):
        out.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]")
    return "\n".join(out) + "\n"


yaml_attacks = st.one_of(
    st.builds(_bomb, st.integers(3, 12), st.integers(4, 12)),
    st.integers(60, 30_000).map(lambda n: "[" * n + "]" * n),
    st.integers(60, 5_000).map(lambda n: "a: " + "{b: " * n + "1" + "}" * n),
    st.integers(60, 5_000).map(lambda n: "- " * n + "x"),
)


def yaml_text(structured: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """YAML from a structure, plain junk, or an attack."""
    return st.one_of(
        structured.map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
        st.text(max_size=300),
        yaml_attacks,
    )


def jsonl(records: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    line = st.one_of(
        records.map(lambda r: json.dumps(r).encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=60),
    )
    return st.lists(line, max_size=12).map(lambda ls: b"\n".join(ls) + b"\n")


def json_bytes(structured: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        structured.map(lambda d: json.dumps(d).encode()),
        json_values.map(lambda d: json.dumps(d).encode()),
        st.binary(max_size=200),
    )


topology_docs = st.one_of(
    st.fixed_dictionaries(
        {
            "services": st.dictionaries(
                text,
                st.one_of(
                    st.none(),
                    st.fixed_dictionaries({"depends_on": st.lists(text, max_size=4)}),
                    json_values,
                ),
                max_size=6,
            )
        }
    ),
    json_values,
)

# ----------------------------------------------------------------------- helpers


@contextmanager
def bounded(memory: bool = True) -> Iterator[None]:
    """Warnings become errors; time (and traced memory) must stay within bounds."""
    if memory:
        tracemalloc.start()
    t0 = time.monotonic()
    peak = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield
    finally:
        if memory:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    elapsed = time.monotonic() - t0
    assert elapsed < SECONDS, f"{elapsed:.1f}s for a few KB of input"
    assert peak < PEAK_BYTES, f"{peak / 1e6:.0f} MB for a few KB of input"


def accept_or_input_error(fn: Callable[[], object], memory: bool = True) -> object | None:
    """Run `fn`: a result, or an AisreError with exit 2 and one line. Nothing else."""
    try:
        with bounded(memory):
            return fn()
    except AisreError as exc:
        assert exc.exit_code == ExitCode.USAGE, (exc.exit_code, exc.message)
        assert "\n" not in exc.message.strip(), exc.message
        assert "Traceback" not in exc.message
        return None


@contextmanager
def bundle_with(rel: str, content: bytes) -> Iterator[Path]:
    """The demo bundle with one file replaced (the rest stays valid)."""
    with tempfile.TemporaryDirectory(prefix="aisre-fuzz-") as tmp:
        b = Path(tmp) / "b"
        shutil.copytree(DEMO, b, ignore=shutil.ignore_patterns("logs", "traces", "metrics"))
        # small slices keep an example fast: the two most telling metrics, 200 log lines
        (b / "metrics").mkdir()
        for name in ("queries.yaml", "http_error_ratio.json", "http_latency_p99.json"):
            shutil.copy(DEMO / "metrics" / name, b / "metrics" / name)
        for sub in ("logs", "traces"):
            (b / sub).mkdir()
            for f in sorted((DEMO / sub).glob("*.jsonl"))[:2]:
                lines = f.read_bytes().splitlines(keepends=True)[:200]
                (b / sub / f.name).write_bytes(b"".join(lines))
        target = b / rel
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(content)
        yield b


def read_then_triage(b: Path) -> None:
    """Read every file (memory traced); when readable, run the whole triage in-process."""
    from aisre_cli.investigate.triage import run_triage
    from aisre_cli.settings.config import demo_profile
    from aisre_cli.sources.bundle import BundleSource
    from aisre_cli.sources.registry import bundle_set

    def read() -> bool:
        BundleSource(b).validate()
        return True

    if accept_or_input_error(read):
        accept_or_input_error(lambda: run_triage(bundle_set(b), None, demo_profile()), False)


# ----------------------------------------------------------------------- bundle reader

FILES: dict[str, st.SearchStrategy[bytes]] = {
    "alerts.json": json_bytes(alert_docs),
    "metrics/fuzz.json": json_bytes(metric_docs),
    "changes.json": json_bytes(change_docs),
    "logs/fuzz.jsonl": jsonl(log_records),
    "traces/fuzz.jsonl": jsonl(span_records),
    "topology.yaml": yaml_text(topology_docs).map(str.encode),
    "metrics/queries.yaml": yaml_text(st.dictionaries(text, text, max_size=4)).map(str.encode),
    "bundle.yaml": yaml_text(
        st.fixed_dictionaries(
            {"id": text, "window": st.fixed_dictionaries({"start": timestamps, "end": timestamps})}
        )
    ).map(str.encode),
    "truth.yaml": yaml_text(json_values).map(str.encode),
}


@pytest.mark.parametrize("rel", sorted(FILES))
def test_bundle_file_is_read_or_refused_in_one_line(rel: str) -> None:
    @given(content=FILES[rel])
    def prop(content: bytes) -> None:
        with bundle_with(rel, content) as b:
            read_then_triage(b)

    prop()


# ----------------------------------------------------------------------- runbooks, policy


def _shipped_runbook() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (REPO / "runbooks" / "restart-crashloop.yaml").read_text()
    )
    return data


def _mutate(base: Any) -> st.SearchStrategy[Any]:
    """Replace one random subtree of `base` with a fuzzed value."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(base, ())

    def apply(path: tuple[Any, ...], value: Any) -> Any:
        doc = json.loads(json.dumps(base))
        if not path:
            return value
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        return doc

    return st.builds(apply, st.sampled_from(paths), json_values)


@given(text=yaml_text(st.one_of(_mutate(_shipped_runbook()), json_values)))
def test_runbook_loader_reports_problems_never_raises(text: str) -> None:
    from aisre_cli.remediate.capabilities import default_registry
    from aisre_cli.remediate.runbook import load_file, validate_runbook

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "rb.yaml"
        f.write_text(text)
        with bounded():
            loaded = load_file(f)
            for p in loaded.problems:
                assert p.line >= 1 and "\n" not in p.message
            if loaded.runbook is not None:
                for p in validate_runbook(loaded.runbook, loaded.lines, default_registry()):
                    assert p.line >= 1


POLICY = {
    "autonomy": "approved",
    "classes": {"read": "autonomous", "write": "approved"},
    "environments": {"prod": {"autonomy": "advised"}},
    "thresholds": {"min_trust": 0.5, "max_risk": 0.6},
    "freeze_windows": [
        {"name": "fri", "weekly": {"days": ["fri"], "start": "22:00", "end": "06:00"}},
        {"name": "once", "start": "2025-01-01T00:00:00Z", "end": "2025-01-02T00:00:00Z"},
    ],
    "http_allowlist": ["hooks.example.com"],
}


@given(text=yaml_text(st.one_of(_mutate(POLICY), json_values)))
def test_policy_loader_loads_or_refuses_in_one_line(text: str) -> None:
    from aisre_cli.govern.policy import Policy, load_policy

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "policy.yaml"
        f.write_text(text)
        out = accept_or_input_error(lambda: load_policy(f))
        assert out is None or isinstance(out, Policy)


@given(text=yaml_text(json_values))
def test_config_loader_loads_or_refuses_in_one_line(text: str) -> None:
    from aisre_cli.settings.config import AppConfig, load_config

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "config.yaml"
        f.write_text(text)
        out = accept_or_input_error(lambda: load_config(f))
        assert out is None or isinstance(out, AppConfig)


# ----------------------------------------------------------------------- timestamps


@given(
    value=st.one_of(
        timestamps,
        st.datetimes(timezones=st.none() | st.just(UTC)),
        st.datetimes(timezones=st.timezones()),
        json_values,
    )
)
def test_timestamp_parser_gives_a_sane_time_or_timestamp_error(value: object) -> None:
    from aisre_cli.sources.timeparse import UNIX_MAX, UNIX_MIN, TimestampError, to_datetime, to_unix

    with bounded():
        try:
            secs = to_unix(value)
        except TimestampError as exc:
            assert "\n" not in str(exc)
            return
        assert math.isfinite(secs) and UNIX_MIN <= secs <= UNIX_MAX
        dt = to_datetime(value)
        assert dt.tzinfo is not None
        # windows and baselines around it must not overflow
        assert dt - timedelta(days=7) < dt + timedelta(days=7)
        assert abs(dt.timestamp() - secs) < 1.0


# ----------------------------------------------------------------------- key readers


@given(name=st.one_of(text, st.text(alphabet="ab-._\n\r\x00 ", max_size=8)))
def test_token_names_are_checked_by_full_match(name: str) -> None:
    from aisre_cli.errors import ConfigError
    from aisre_cli.settings.secrets import check_name, env_var

    try:
        check_name(name)
    except ConfigError as exc:
        assert "\n" not in exc.message.replace(repr(name), "")
        return
    assert name.isascii() and name == name.strip() and "\n" not in name
    assert env_var(name).isidentifier()


@given(
    content=st.one_of(
        yaml_text(json_values), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
    )
)
def test_insecure_token_store_reads_or_refuses(content: str) -> None:
    from aisre_cli.settings import secrets

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AISRE_HOME"] = tmp  # the autouse fixture restores it after the test
        f = secrets.insecure_file()
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(content)
        out = accept_or_input_error(secrets._read_file_store)
        if out is not None:
            assert isinstance(out, dict)
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in out.items())


@given(burst=st.binary(max_size=16))
def test_only_an_exact_y_runs_a_step(burst: bytes) -> None:
    from aisre_cli.ui.cli.runbook import classify

    answer = classify(burst)
    assert answer in ("y", "n", "d", "a", "?", "eof", "interrupt", "")
    assert (answer == "y") == (burst == b"y")


# ----------------------------------------------------------------------- the CLI


def _cli(b: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(NO_COLOR="1", COLUMNS="120", AISRE_HOME=str(home), OPENBLAS_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "aisre_cli", *args, "--bundle", str(b)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _metrics(values: list[list[Any]]) -> dict[str, Any]:
    result = [{"metric": {"__name__": "fuzz", "service": "checkout"}, "values": values}]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


@settings(max_examples=3)
@given(doc=metric_docs)
@example(doc=_metrics([[T0, "1"], [T0, "2"], [T0, "3"]]))
@example(doc=_metrics([[T0 + 60 * i, "NaN"] for i in range(30)]))
@example(doc=_metrics([["Infinity", "1"], [T0, "2"]]))
@example(doc=_metrics([[1e300, "1"]]))
def test_cli_triage_never_exits_1_on_hostile_numbers(doc: dict[str, Any]) -> None:
    with bundle_with("metrics/fuzz.json", json.dumps(doc).encode()) as b:
        home = b.parent / "home"
        home.mkdir()
        proc = _cli(b, home, "triage")
    assert proc.returncode in (0, 2), proc.stderr[-1500:]
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    if proc.returncode == 2:
        assert len([ln for ln in proc.stderr.splitlines() if ln.startswith("error")]) == 1


hostile_alert_docs = st.lists(st.sampled_from(HOSTILE), min_size=4, max_size=4).map(
    lambda h: [
        {
            "labels": {"alertname": "Fuzz" + h[0], "service": "checkout", "severity": h[3]},
            "annotations": {"summary": h[1], "description": h[2]},
            "startsAt": "2025-03-11T13:00:00Z",
            "fingerprint": "f" * 16,
            "status": {"state": "active"},
        }
    ]
)
ESCAPES = [h for h in HOSTILE if any(c in h for c in "\x1b\x9b\x9d\x00\x07")]


@settings(max_examples=3)
@given(docs=hostile_alert_docs, msg=st.sampled_from(HOSTILE))
@example(
    docs=[
        {
            "labels": {"alertname": ESCAPES[0], "service": "checkout", "severity": "[/]x"},
            "annotations": {"summary": ESCAPES[1], "description": ESCAPES[2]},
            "startsAt": "2025-03-11T13:00:00Z",
            "fingerprint": "f" * 16,
        }
    ],
    msg=ESCAPES[3],
)
def test_cli_hostile_text_never_exits_1_nor_writes_raw_escapes(
    docs: list[dict[str, Any]], msg: str
) -> None:
    with bundle_with("alerts.json", json.dumps(docs).encode()) as b:
        with (b / "logs" / "fuzz.jsonl").open("w") as fh:
            rec = {"ts": "2025-03-11T12:59:00Z", "service": "checkout", "level": "error"}
            fh.write(json.dumps({**rec, "msg": msg}) + "\n")
        home = b.parent / "home"
        home.mkdir()
        procs = [_cli(b, home, "alerts"), _cli(b, home, "triage", "ffffffff")]
    for proc in procs:
        assert proc.returncode != 1, proc.stderr[-1500:]
        assert "Traceback" not in proc.stderr
        for stream in (proc.stdout, proc.stderr):
            assert "\x1b" not in stream and "\x9b" not in stream and "\x9d" not in stream


def test_profile_is_deterministic_in_ci() -> None:
    current = settings()
    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        assert current.derandomize and current.max_examples == 25
    assert current.deadline is None
