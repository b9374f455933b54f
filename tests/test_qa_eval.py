"""QA pass on `aisre eval` with hostile input: one test per defect fixed.

Small copies of scenarios/suite bundles only (the datasets are read-only and large)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aisre_cli.errors import ExitCode
from tests.conftest import SUITE
from tests.contract_servers.cli import run_cli
from tests.fakes.env import REPO, default_sigint, make_env

PICK = ("fleet-002", "fleet-003", "fleet-004")


def _suite(root: Path, names: tuple[str, ...] = PICK) -> Path:
    """Copies of a few suite bundles under `root` (named as in the suite)."""
    for name in names:
        src = SUITE / name
        if not (src / "truth.yaml").exists():
            pytest.skip(f"scenario bundle {src} not available")
        shutil.copytree(src, root / name)
    return root


def _no_evaluation(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make triage a recorded no-op: the list fills if any bundle would be evaluated."""
    import aisre_cli.investigate.evaluate as ev

    called: list[object] = []

    def evaluate(*a: object, **k: object) -> None:
        called.append(a)
        raise AssertionError("bundles were triaged before the check")

    monkeypatch.setattr(ev, "evaluate", evaluate)
    return called


def _one_error_line(err: str) -> list[str]:
    lines = [x for x in err.splitlines() if x.strip()]
    assert "Traceback" not in err and "internal error" not in err, err
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), lines
    return lines


# ------------------------------------------------------------------ outside text


def test_a_bracket_in_a_bundle_path_does_not_crash_the_progress_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bar's description is rich markup: a bundle at `grp[/]x` (folder `grp[`, bundle
    `]x`) stopped the whole run after triage with `internal error: MarkupError` (exit 1)."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # stderr counts as a terminal: the bar runs
    root = tmp_path / "suite"
    (root / "grp[").mkdir(parents=True)
    shutil.copytree(SUITE / PICK[0], root / "grp[" / "]x\x1b[2J")
    _suite(root, PICK[1:])
    r = run_cli(["eval", str(root), "-j", "1"])
    assert r.code == 0, r.err
    assert "MarkupError" not in r.err and "\x1b[2J" not in r.err + r.out


def test_truth_kinds_services_and_paths_reach_the_tables_escaped(tmp_path: Path) -> None:
    """Under `match: service` the truth kind is any label: `[/x]` in it crashed the per-kind
    table (MarkupError, exit 1). Controls in kinds, services and change ids are shown as
    escapes, on one line, never raw."""
    root = _suite(tmp_path / "suite")
    (root / PICK[0] / "truth.yaml").write_text(
        'root_cause:\n  kind: "[/x]odd\\e]0;title\\a"\n  service: "svc\\e[2J\\n[/]\\u202e"\n'
        "match: service\n"
    )
    (root / PICK[1] / "truth.yaml").write_text(
        'root_cause:\n  kind: crash_loop\n  service: "x\\e]52;c;aGk=\\a"\n  change_id: "c\\x9b2J"\n'
    )
    r = run_cli(["eval", str(root), "-j", "1"])
    assert r.code == 0, r.err
    raw = r.out + r.err
    for bad in ("\x1b", "\x9b", "\u202e", "\x07"):
        assert bad not in raw, repr(bad)
    assert "[/x]odd\\x1b]0;title\\x07" in r.out  # the per-kind row, literally
    assert "svc\\x1b[2J [/]\\u202e" in r.out  # the misses row, on one line
    assert "c\\x9b2J" in r.out


# ------------------------------------------------------------------ truth.yaml


def test_a_truth_yaml_that_is_a_directory_is_an_error_not_skipped(tmp_path: Path) -> None:
    """Discovery looked for truth.yaml among files only: a directory named truth.yaml (or
    a link to one) made the bundle "without truth.yaml", silently left out of the score."""
    root = _suite(tmp_path / "suite")
    (root / PICK[0] / "truth.yaml").unlink()
    (root / PICK[0] / "truth.yaml").mkdir()
    (root / PICK[1] / "truth.yaml").unlink()
    (root / PICK[1] / "sub").mkdir()
    (root / PICK[1] / "truth.yaml").symlink_to("sub", target_is_directory=True)
    r = run_cli(["eval", str(root), "--json", "-j", "1"])
    assert r.code == ExitCode.USAGE, r.err
    body = json.loads(r.out)
    assert body["skipped"] == [] and body["summary"]["n"] == 3
    errors = {e["path"]: e["error"] for e in body["errors"]}
    assert set(errors) == {PICK[0], PICK[1]}
    assert "not a regular file" in errors[PICK[0]]
    assert f"{PICK[0]}: " in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("service", ['""', "'   '"])
def test_an_empty_truth_service_is_an_error_not_a_silent_miss(tmp_path: Path, service: str) -> None:
    """`service: ""` was accepted: no hypothesis can match it, so the bundle was scored a
    plain miss with nothing saying the truth is broken."""
    root = _suite(tmp_path / "suite", PICK[:2])
    (root / PICK[0] / "truth.yaml").write_text(
        f"root_cause: {{kind: crash_loop, service: {service}}}\n"
    )
    r = run_cli(["eval", str(root), "--json", "-j", "1"])
    assert r.code == ExitCode.USAGE, r.err
    (bad,) = json.loads(r.out)["errors"]
    assert bad["path"] == PICK[0] and bad["error"].endswith("truth.yaml: root_cause.service: empty")


# ------------------------------------------------------------------ folders


@pytest.mark.parametrize("how", ["same", "symlink", "nested"])
def test_a_folder_given_twice_is_refused_before_any_triage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """`aisre eval D D` scored every bundle twice (n doubled, a per-folder row `D-2`), and
    with --fit the "held-out" folder was also in the training data."""
    root = _suite(tmp_path / "suite", PICK[:1])
    second = root
    if how == "symlink":
        second = tmp_path / "link"
        second.symlink_to(root, target_is_directory=True)
    elif how == "nested":
        second = root / PICK[0]
    called = _no_evaluation(monkeypatch)
    r = run_cli(["eval", str(root), str(second)])
    assert r.code == ExitCode.USAGE, r.err
    lines = _one_error_line(r.err)
    assert ("given twice" if how != "nested" else "would count twice") in lines[0]
    assert called == []


# ------------------------------------------------------------------ weights files


def test_weights_out_where_nothing_can_be_created_is_refused_before_the_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.access says yes to root for /proc and /sys: the fit ran to the end, then failed
    with `cannot use /proc/w.json.tmp1234`. A probe file is created first now."""
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc")
    root = _suite(tmp_path / "suite", PICK[:1])
    called = _no_evaluation(monkeypatch)
    r = run_cli(["eval", str(root), "--fit", "--weights-out", "/proc/aisre-qa-w.json"])
    assert r.code == ExitCode.USAGE, r.err
    lines = _one_error_line(r.err)
    assert "--fit cannot write /proc/aisre-qa-w.json: cannot create a file in /proc" in lines[0]
    assert called == []


def test_weights_out_that_is_a_fifo_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The weights are renamed into place: `--weights-out` naming a FIFO (or, as root,
    /dev/null) replaced it with a regular file."""
    root = _suite(tmp_path / "suite")
    fifo = tmp_path / "w.fifo"
    os.mkfifo(fifo)
    called = _no_evaluation(monkeypatch)
    r = run_cli(["eval", str(root), "--fit", "-j", "1", "--weights-out", str(fifo)])
    assert r.code == ExitCode.USAGE, r.err
    assert "not a regular file" in _one_error_line(r.err)[0]
    assert fifo.is_fifo() and called == []
    assert [p.name for p in tmp_path.iterdir() if "probe" in p.name] == []


def test_weights_that_is_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    """`--weights FIFO` blocked forever on the read (and /dev/zero was read until memory
    ran out). A writer thread feeds the FIFO if anyone opens it, so a regression fails
    (exit 0) instead of hanging."""
    import aisre_cli.investigate.rank as rank

    root = _suite(tmp_path / "suite", PICK[:1])
    fifo = tmp_path / "w.fifo"
    os.mkfifo(fifo)
    body = rank.WEIGHTS_FILE.read_bytes()
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader (yet)
                stop.wait(0.01)
                continue
            os.set_blocking(fd, True)
            os.write(fd, body)
            os.close(fd)
            return

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        r = run_cli(["eval", str(root), "-j", "1", "--weights", str(fifo)])
    finally:
        stop.set()
        writer.join()
    assert r.code == ExitCode.USAGE, r.err
    assert f"--weights {fifo}: not a regular file" in _one_error_line(r.err)[0]


# ------------------------------------------------------------------ fit


def test_a_fit_without_enough_bundles_lists_the_ones_that_failed(tmp_path: Path) -> None:
    """`fitting needs at least 2 triaged bundles with a truth, got 0` came alone: the
    bundles that failed (why there were 0) were never listed."""
    root = _suite(tmp_path / "suite", PICK[:2])
    for name in PICK[:2]:
        (root / name / "alerts.json").write_text("{bad")
    out = tmp_path / "w.json"
    r = run_cli(["eval", str(root), "--fit", "-j", "1", "--weights-out", str(out), "--json"])
    assert r.code == ExitCode.USAGE, r.err
    assert "fitting needs at least 2" in r.err and "got 0" in r.err
    for name in PICK[:2]:
        assert f"  {name}: alerts.json: invalid JSON" in r.err
    assert "Traceback" not in r.err and not out.exists()


_CTRL_C = """\
import os, signal, sys
import aisre_cli.investigate.fit as fit

def interrupted(*a, **k):  # a real SIGINT, delivered while the fit runs
    os.kill(os.getpid(), signal.SIGINT)
    signal.pause()

fit.cross_validate_fit = interrupted
from aisre_cli.__main__ import run
sys.argv[0] = "aisre"
run()
"""


def test_ctrl_c_during_the_fit_is_130_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """Exit 130, no traceback, no weights file (nor a temp one), and the line says what
    was stopped and that the weights were not written (it said only `interrupted`)."""
    root = _suite(tmp_path / "suite", PICK[:2])
    out = tmp_path / "w" / "weights.json"
    out.parent.mkdir()
    argv = ["eval", str(root), "--fit", "-j", "1", "--weights-out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-c", _CTRL_C, *argv],
        env=make_env(tmp_path / "home"),
        preexec_fn=default_sigint,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == ExitCode.INTERRUPTED, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert lines == [f"interrupted: eval stopped while fitting the weights; {out} not written"]
    assert list(out.parent.iterdir()) == [] and proc.stdout == ""


def test_json_stdout_is_only_json_and_stderr_has_no_blank_line(tmp_path: Path) -> None:
    """The transient progress bar, drawn on a stderr that is not a terminal, left a blank
    line there: the first line of stderr in CI logs was empty, before the one-line error."""
    root = _suite(tmp_path / "suite", PICK[:2])
    (root / PICK[1] / "alerts.json").write_text("[")
    env = make_env(tmp_path / "home")
    proc = subprocess.run(
        [sys.executable, "-m", "aisre_cli", "eval", str(root), "--json", "-j", "1"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == ExitCode.USAGE, proc.stderr
    json.loads(proc.stdout)  # all of stdout is one JSON document
    assert proc.stderr.startswith("warning: 1 of 2 bundle(s)"), repr(proc.stderr[:80])
    (tmp_path / "empty").mkdir()
    empty = subprocess.run(
        [sys.executable, "-m", "aisre_cli", "eval", str(tmp_path / "empty")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert empty.returncode == ExitCode.USAGE
    assert empty.stderr.startswith("error: no bundle with a truth.yaml"), repr(empty.stderr)


def test_weights_saved_through_a_symlink_update_its_target(tmp_path: Path) -> None:
    from aisre_cli.investigate.rank import Weights

    target = tmp_path / "real" / "weights.json"
    target.parent.mkdir()
    target.write_text("{}")
    link = tmp_path / "weights.json"
    link.symlink_to(target)
    Weights.load().save(link)
    assert link.is_symlink()
    assert Weights.load(target).w == Weights.load().w
