"""Issue 10, "time to a ranked answer": what a triage may skip, and that skipping it
changes nothing. (The timings themselves are in bench/time_to_answer.py.)

- Runbook matching reads the cache of the last full validation (`load_for_matching`):
  a triage neither parses runbook YAML nor loads the capability registry when no
  runbook file changed, and gives the same runbooks as a full validation.
- The metric detector runs without numpy on small inputs (tests/test_metric_paths.py
  proves the two paths equal), so a bundle triage does not import it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO, REPO

DEPLOY_RUNBOOK = """\
id: {id}
title: Look at the deploy
applies_to:
  kinds: [deploy]
  services: ["payments"]
steps:
  - id: inspect
    title: Show the Deployment
    capability: kubectl.get
    inputs: {{kind: deployment, name: payments, namespace: shop}}
"""


def _flow(runbook_dir: Path | None = None) -> object:
    from aisre_cli.flows.triage import TriageFlow
    from aisre_cli.settings.config import demo_profile
    from aisre_cli.sources.registry import build_sources

    prof = demo_profile()
    if runbook_dir is not None:
        prof = prof.model_copy(update={"runbook_dirs": [str(runbook_dir)]})
    return TriageFlow(prof, build_sources(prof, DEMO), memory=False)


def _runbooks_of(result: object) -> list[list[str]]:
    return [h.runbooks for h in result.report.verdict.hypotheses]  # type: ignore[attr-defined]


def test_matching_uses_the_validation_cache_and_agrees_with_a_full_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aisre_cli.flows.triage import TriageOptions
    from aisre_cli.remediate import runbook as runbook_mod

    books = tmp_path / "books"
    books.mkdir()
    (books / "look.yaml").write_text(DEPLOY_RUNBOOK.format(id="look-at-deploy"))
    opts = TriageOptions(record=False)

    # Reference: the full runbooks, validated, handed to the flow.
    full = _flow(books)
    full_books = full.runbooks()  # type: ignore[attr-defined]
    ref = _runbooks_of(full.triage(None, opts))  # type: ignore[attr-defined]
    assert any("look-at-deploy" in r for r in ref), ref

    first = _flow(books).triage(None, opts)  # type: ignore[attr-defined]
    assert _runbooks_of(first) == ref  # a cache miss: validated, cache written

    def refuse(*_a: object, **_k: object) -> object:
        raise AssertionError("a triage with an unchanged runbook folder re-validated it")

    monkeypatch.setattr(runbook_mod, "validate_files", refuse)
    second = _flow(books).triage(None, opts)  # type: ignore[attr-defined]
    assert _runbooks_of(second) == ref
    monkeypatch.undo()

    # The front ends that run runbooks still get the full, validated ones (on demand).
    assert set(second.runbooks) == {rb.id for rb in full_books}
    assert second.runbooks["look-at-deploy"].steps[0].capability == "kubectl.get"


def test_a_changed_runbook_folder_is_validated_again(tmp_path: Path) -> None:
    from aisre_cli.flows.triage import TriageOptions

    books = tmp_path / "books"
    books.mkdir()
    opts = TriageOptions(record=False)
    before = _runbooks_of(_flow(books).triage(None, opts))  # type: ignore[attr-defined]
    assert not any("look-again" in r for r in before)

    (books / "again.yaml").write_text(DEPLOY_RUNBOOK.format(id="look-again"))
    after = _runbooks_of(_flow(books).triage(None, opts))  # type: ignore[attr-defined]
    assert any("look-again" in r for r in after), after

    # An edit that breaks the file: skipped (and said so) at once, not served from cache.
    (books / "again.yaml").write_text("id: look-again\nsteps: [\n")
    flow = _flow(books)
    broken = _runbooks_of(flow.triage(None, opts))  # type: ignore[attr-defined]
    assert not any("look-again" in r for r in broken)
    res = _flow(books).triage(None, opts)  # type: ignore[attr-defined]
    assert [n for n in res.notes if "again.yaml" in n and "runbook skipped" in n], res.notes


PROBE = """
import json, sys
from aisre_cli.ui.cli.app import main
sys.argv = ["aisre", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
sys.stderr.write("\\n" + json.dumps(sorted(sys.modules)))
"""


def _modules_of(args: list[str], home: Path) -> set[str]:
    import os

    env = {**os.environ, "AISRE_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def _loaded(mods: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in mods if any(m == n or m.startswith(n + ".") for n in names))


NEZHA = REPO.parent / "shared" / "datasets" / "nezha-ob"
BUNDLES = [DEMO, *sorted(p for p in NEZHA.glob("*") if (p / "bundle.yaml").exists())[:1]]


@pytest.mark.parametrize("bundle", BUNDLES, ids=[p.name for p in BUNDLES])
def test_a_bundle_triage_imports_only_what_it_needs(bundle: Path, _aisre_home: Path) -> None:
    """The second triage of the demo (the runbook cache is warm) does not import the
    runbook parser, the capability registry, numpy (its metrics are small enough for
    the pure-Python detector), or any network or TUI library."""
    args = ["triage", "--bundle", str(bundle), "--json"]
    _modules_of(args, _aisre_home)  # fills the runbook cache
    mods = _modules_of(args, _aisre_home)
    assert "aisre_cli.remediate.matching" in mods  # the probe did triage
    assert (
        _loaded(
            mods,
            (
                "aisre_cli.remediate.runbook",
                "aisre_cli.remediate.capabilities",
                "numpy",
                "httpx",
                "textual",
            ),
        )
        == []
    )


def test_log_timestamp_fast_path_equals_the_full_parse() -> None:
    """`_iso_seconds` (a cache per minute, seconds and fraction added) gives what
    `to_unix` gives for every shape it accepts, and leaves the rest to `to_unix`."""
    import random
    from datetime import UTC, datetime

    from aisre_cli.sources.bundle import _iso_seconds
    from aisre_cli.sources.timeparse import TimestampError, to_unix

    rng = random.Random(3)
    cache: dict[str, float] = {}
    for _ in range(3000):
        secs = rng.uniform(0, 32_503_680_000.0 - 1)
        dt = datetime.fromtimestamp(int(secs), UTC)
        frac = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))
        t = dt.strftime("%Y-%m-%dT%H:%M:%S") + "." + frac + "Z"
        assert repr(_iso_seconds(t, cache)) == repr(to_unix(t[:19] + "Z") + float("0." + frac))
    odd = [
        "2025-03-11T12:00:60.5Z",  # a leap second: datetime refuses it
        "2025-02-30T12:00:09.5Z",
        "2025-03-11T24:00:09.5Z",
        "2025-03-11T12:61:09.5Z",
        "2025-03-11T1230::09.5Z",
        "2025-03-11T12:00:9a.5Z",
        "3000-01-01T00:00:01.0Z",  # past the last accepted second
        "2999-12-31T23:59:59.5Z",
    ]
    for t in odd:
        try:
            want: object = to_unix(t[:19] + "Z") + float("0." + t[20:-1])
        except TimestampError as exc:
            want = ("error", str(exc))
        try:
            got: object = _iso_seconds(t, {})
        except TimestampError as exc:
            got = ("error", str(exc))
        assert got == want, t
