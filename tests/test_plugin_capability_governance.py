"""A plugin capability cannot talk its way past governance.

A capability declares its own `scope` and `handoff`. For a built-in that is the truth;
for third-party code it is a claim. The plugin here (tests/plugins/claims_capability.py)
is installed as a distribution whose `entry_points.txt` names it (a `*.dist-info` in a
temp dir on the path, as tests/test_qa_plugins.py and tests/test_plugin_hardening.py
do; nothing is pip-installed). `acme.read-thing` declares `read`, `acme.page-human`
declares a hand-off. Untrusted, the first is governed as a write and the second as an
ordinary write step; listed in the policy's `trusted_plugin_capabilities`, both behave
as declared. A built-in read (`notify`, the very code the plugin reuses) is unaffected.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisre_cli.errors import ConfigError, GovernanceRefused
from aisre_cli.flows.triage import TriageFlow
from aisre_cli.govern.audit import AuditLog
from aisre_cli.govern.policy import Policy, load_policy
from aisre_cli.govern.routing import EmptyTrackRecord, StepFacts, decide, governed
from aisre_cli.govern.session import RunSession
from aisre_cli.remediate.capabilities import Registry
from aisre_cli.remediate.runbook import Runbook, validate_files
from aisre_cli.settings.config import Profile
from aisre_cli.sources.registry import SourceSet
from tests.conftest import REPO
from tests.fakes.env import AISRE, make_env, write_config
from tests.plugins.claims_capability import CALLS

DIST = "acme-claims-test"
ENTRY = "claims = tests.plugins.claims_capability:register_capabilities"
READ = "acme.read-thing"
PAGE = "acme.page-human"
NOTE_READ = (
    "plugin capability acme.read-thing declares read; governed as write"
    " (trust it with policy trusted_plugin_capabilities)"
)
NOTE_PAGE = (
    "plugin capability acme.page-human declares a hand-off; governed as write"
    " (trust it with policy trusted_plugin_capabilities)"
)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday, inside FREEZE
FREEZE: dict[str, Any] = {
    "freeze_windows": [
        {"name": "bf", "start": "2026-11-26T00:00:00Z", "end": "2026-11-27T00:00:00Z"}
    ]
}
TRUST: dict[str, Any] = {"trusted_plugin_capabilities": [READ, PAGE]}
PROFILE = Profile(environment="prod", kube_context="ctx-test", namespace="shop")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A directory that, on the path, installs the claims plugin."""
    root = tmp_path / "site"
    info = root / "acme_claims_test-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[aisre.capabilities]\n{ENTRY}\n")
    return root


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    """The default registry with the claims plugin installed (loaded by the real loader)."""
    import aisre_cli.remediate.capabilities as caps

    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("AISRE_NO_PLUGINS", raising=False)
    caps._DEFAULT = None
    caps._ERRORS = []
    CALLS.clear()
    try:
        reg = caps.default_registry()
        assert caps.plugin_errors() == []
        yield reg
    finally:
        caps._DEFAULT = None
        caps._ERRORS = []
        CALLS.clear()


def facts(**kw: Any) -> StepFacts:
    base: dict[str, Any] = {
        "capability": READ,
        "scope": "read",
        "environment": "prod",
        "runbook_id": "rb",
        "kind": "crash_loop",
        "now": NOW,
        "plugin": True,
    }
    base.update(kw)
    return StepFacts(**base)


def _runbook(*steps: tuple[str, str], verify: str | None = None) -> Runbook:
    out: list[dict[str, Any]] = [
        {"id": sid, "title": sid, "capability": cap, "inputs": {"message": f"{sid}!"}}
        for sid, cap in steps
    ]
    if verify is not None:
        out[0]["verify"] = {"capability": verify, "inputs": {"message": "check"}}
    return Runbook.model_validate({"id": "claims", "title": "claims", "steps": out})


def _start(rb: Runbook, policy: Policy) -> RunSession:
    return RunSession.start(
        rb, "t", PROFILE, policy=policy, record=EmptyTrackRecord(), clock=lambda: NOW
    )


# ------------------------------------------------------------ the mark


def test_the_loader_marks_plugin_capabilities_not_the_capability(installed: Registry) -> None:
    origin = installed.plugin(READ)
    assert origin is not None and f"package {DIST}" in origin and ENTRY in origin
    assert installed.plugin(PAGE) == origin
    # it says it is a built-in; the registry knows better
    assert installed.get(READ).builtin is True  # type: ignore[attr-defined]
    for builtin in ("notify", "kubectl.get", "pagerduty.note", "exec"):
        assert installed.plugin(builtin) is None
    # copying the registry (as tests and callers do) keeps the mark on the object
    assert Registry(list(installed)).plugin(READ) == origin


# ------------------------------------------------------------ routing (decide)

# (name, policy, facts overrides, kind, first reason, governed_as)
TABLE: list[tuple[str, dict[str, Any], dict[str, Any], str, str, str | None]] = [
    ("untrusted read needs a human", {}, {}, "confirm", NOTE_READ, "write"),
    ("untrusted read in a freeze", FREEZE, {}, "refuse", NOTE_READ, "write"),
    ("untrusted read, read_only", {"autonomy": "read_only"}, {}, "refuse", NOTE_READ, "write"),
    ("untrusted read, advised", {"autonomy": "advised"}, {}, "refuse", NOTE_READ, "write"),
    (
        "untrusted read, write class read_only",
        {"classes": {"write": "read_only"}},
        {},
        "refuse",
        NOTE_READ,
        "write",
    ),
    ("trusted read runs", TRUST, {}, "execute", "read-only step", None),
    ("trusted read in a freeze", {**TRUST, **FREEZE}, {}, "execute", "read-only step", None),
    (
        "trusted read, read_only",
        {**TRUST, "autonomy": "read_only"},
        {},
        "execute",
        "read-only step",
        None,
    ),
    (
        "built-in read in a freeze",
        {**FREEZE, "autonomy": "read_only"},
        {"capability": "notify", "plugin": False},
        "execute",
        "read-only step",
        None,
    ),
    (
        "untrusted hand-off in a freeze",
        FREEZE,
        {"capability": PAGE, "scope": "write", "handoff": True},
        "refuse",
        NOTE_PAGE,
        None,
    ),
    (
        "untrusted hand-off with low trust",
        {},
        {
            "capability": PAGE,
            "scope": "write",
            "handoff": True,
            "confidence": 0.0,
            "specificity": 0.0,
        },
        "escalate",
        NOTE_PAGE,
        None,
    ),
    (
        "trusted hand-off in a freeze",
        {**TRUST, **FREEZE},
        {"capability": PAGE, "scope": "write", "handoff": True},
        "confirm",
        "hand-off to a human: never refused for low trust or a freeze",
        None,
    ),
    (
        "built-in hand-off in a freeze",
        FREEZE,
        {"capability": "pagerduty.note", "scope": "write", "handoff": True, "plugin": False},
        "confirm",
        "hand-off to a human: never refused for low trust or a freeze",
        None,
    ),
]


@pytest.mark.parametrize(
    ("policy", "over", "kind", "reason", "governed_as"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_decide_governs_a_plugin_on_its_effective_scope(
    policy: dict[str, Any], over: dict[str, Any], kind: str, reason: str, governed_as: str | None
) -> None:
    d = decide(facts(**over), Policy.model_validate(policy), EmptyTrackRecord())
    assert d.kind == kind, d.reasons
    assert d.reasons[0] == reason, d.reasons
    assert d.governed_as == governed_as
    if governed_as is not None:
        assert d.to_dict()["governed_as"] == governed_as
        assert d.risk > 0  # risk is that of a write, not the 0 of a read
    else:
        assert "governed_as" not in d.to_dict()
    if over.get("plugin", True) and policy.get("trusted_plugin_capabilities"):
        assert not any("plugin capability" in r for r in d.reasons)


def test_a_declared_write_or_destructive_is_never_lowered() -> None:
    for trusted in (Policy(), Policy.model_validate(TRUST)):
        for scope in ("write", "destructive"):
            g = governed(READ, scope, handoff=False, plugin=True, policy=trusted)
            assert (g.scope, g.handoff, g.note) == (scope, False, None)
    both = governed(READ, "read", handoff=True, plugin=True, policy=Policy())
    assert (both.scope, both.handoff) == ("write", False)
    assert both.note == (
        "plugin capability acme.read-thing declares read and a hand-off; governed as write"
        " (trust it with policy trusted_plugin_capabilities)"
    )
    # a built-in is taken as declared, whatever the policy lists
    assert governed("notify", "read", handoff=False, plugin=False, policy=Policy()).scope == "read"


# ------------------------------------------------------------ the session


def test_a_session_confirms_the_untrusted_read_and_audits_both_scopes(
    installed: Registry,
) -> None:
    s = _start(_runbook(("hello", "notify"), ("look", READ)), Policy())
    hello, look = s.plan.step("hello"), s.plan.step("look")
    assert s.decide(hello).kind == "execute"  # the built-in: the same code, taken at its word
    d = s.decide(look)
    assert (d.kind, d.reasons[0], d.governed_as) == ("confirm", NOTE_READ, "write")
    s.run(hello)
    with pytest.raises(GovernanceRefused, match="needs a human confirmation"):
        s.run(look)
    assert CALLS == []
    assert s.run(look, s.confirm(look, look.action.digest())).ok
    assert CALLS == [READ]
    s.finish()
    recs = [r for r in AuditLog().records() if r.run == s.run_id]
    plan = next(r for r in recs if r.event == "run_start").data["plan"]
    assert {p["step"]: (p["scope"], p.get("governed_as")) for p in plan} == {
        "hello": ("read", None),
        "look": ("read", "write"),
    }
    intents = {r.data["step"]: r.data for r in recs if r.event == "intent"}
    assert intents["look"]["scope"] == "read" and intents["look"]["governed_as"] == "write"
    assert intents["look"]["confirmed_via"] == "human"
    assert intents["look"]["decision"]["reasons"][0] == NOTE_READ
    assert "governed_as" not in intents["hello"]


def test_a_session_refuses_the_untrusted_plugin_in_a_freeze_and_under_read_only(
    installed: Registry,
) -> None:
    for extra in (FREEZE, {"autonomy": "read_only"}):
        s = _start(_runbook(("look", READ), ("page", PAGE)), Policy.model_validate(extra))
        look, page = s.plan.step("look"), s.plan.step("page")
        d = s.decide(look)
        assert d.kind == "refuse" and d.reasons[0] == NOTE_READ, d.reasons
        with pytest.raises(GovernanceRefused):
            s.run(look, s.confirm(look, look.action.digest()))
        s.skip(look)
        dp = s.decide(page)
        assert dp.kind == "refuse" and dp.reasons[0] == NOTE_PAGE, dp.reasons
        with pytest.raises(GovernanceRefused):
            s.run(page, s.confirm(page, page.action.digest()))
        s.abort("test")
    assert CALLS == []


def test_trusted_by_the_policy_they_behave_as_declared(installed: Registry) -> None:
    s = _start(_runbook(("look", READ), ("page", PAGE)), Policy.model_validate({**TRUST, **FREEZE}))
    look, page = s.plan.step("look"), s.plan.step("page")
    assert s.decide(look).kind == "execute"
    assert s.run(look).ok  # no confirmation: a trusted read, even in a freeze
    d = s.decide(page)
    assert d.kind == "confirm" and d.reasons == (
        "hand-off to a human: never refused for low trust or a freeze",
    )
    assert s.run(page, s.confirm(page, page.action.digest())).ok
    assert CALLS == [READ, PAGE]
    intents = [r.data for r in AuditLog().records() if r.run == s.run_id and r.event == "intent"]
    assert [i["confirmed_via"] for i in intents] == ["autonomy", "human"]
    assert all("governed_as" not in i for i in intents)


# ------------------------------------------------------------ policy and verification


def test_the_policy_names_only_known_capabilities_to_trust(
    installed: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "policy.yaml"
    f.write_text(yaml.safe_dump({"trusted_plugin_capabilities": [READ]}))
    pol = load_policy(f)
    assert pol.trusts(READ) and not pol.trusts(PAGE)
    f.write_text("trusted_plugin_capabilities:\n  - acme.read-thnig\n")
    with pytest.raises(ConfigError) as exc:
        load_policy(f)
    assert exc.value.message == (
        f"{f}:2: trusted_plugin_capabilities.0: unknown capability 'acme.read-thnig'"
        " (did you mean acme.read-thing?)"
    )
    # AISRE_NO_PLUGINS=1 (the way out of a broken plugin) must not break the policy
    import aisre_cli.remediate.capabilities as caps

    monkeypatch.setenv("AISRE_NO_PLUGINS", "1")
    caps._DEFAULT = None
    assert load_policy(f).trusted_plugin_capabilities == ["acme.read-thnig"]


def test_a_plugin_verification_must_be_trusted(installed: Registry, tmp_path: Path) -> None:
    rb = tmp_path / "verify.yaml"
    rb.write_text(
        "id: plugin-verify\ntitle: t\nsteps:\n"
        "  - id: hello\n    title: hello\n    capability: notify\n"
        "    inputs: {message: hi}\n"
        f"    verify:\n      capability: {READ}\n      inputs: {{message: check}}\n"
    )
    (problem,) = validate_files([rb])[1]
    assert problem.render() == (
        f"{rb}:9: verification runs unconfirmed, so plugin capability acme.read-thing"
        " must be trusted: list it in the policy's trusted_plugin_capabilities"
    )
    assert validate_files([rb], trusted=[READ])[1] == []
    # a built-in verification is unaffected
    builtin = tmp_path / "builtin.yaml"
    builtin.write_text(rb.read_text().replace(READ, "notify").replace("plugin-verify", "b"))
    assert validate_files([builtin])[1] == []

    # the session refuses it too (a runbook handed over without validation), audited
    book = _runbook(("hello", "notify"), verify=READ)
    with pytest.raises(GovernanceRefused) as exc:
        _start(book, Policy())
    assert "trusted_plugin_capabilities" in exc.value.message
    assert "\n" not in exc.value.message
    refused = [r for r in AuditLog().records() if r.event == "refused"]
    assert refused and "acme.read-thing" in refused[-1].data["reason"]
    s = _start(book, Policy.model_validate({"trusted_plugin_capabilities": [READ]}))
    s.run(s.plan.step("hello"))
    assert CALLS == [READ]  # the verification ran
    assert s.finish().status == "completed"


# ------------------------------------------------------------ the CLI


def _aisre(site: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = make_env(home, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]))
    env.pop("AISRE_NO_PLUGINS", None)
    return subprocess.run(
        [*AISRE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )


def _books(home: Path) -> Path:
    books = home / "books"
    books.mkdir(parents=True, exist_ok=True)
    (books / "plugin-read.yaml").write_text(
        "id: plugin-read\ntitle: Plugin read\nsteps:\n"
        "  - {id: hello, title: hello, capability: notify, inputs: {message: hi}}\n"
        f"  - {{id: look, title: look, capability: {READ}, inputs: {{message: look}}}}\n"
    )
    return books


def test_cli_capabilities_and_policy_mark_plugins_and_their_effective_scope(
    site: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    write_config(home, {}, {})
    cp = _aisre(site, home, "runbook", "capabilities", "--json")
    assert cp.returncode == 0, cp.stderr
    caps = {c["name"]: c for c in json.loads(cp.stdout)["capabilities"]}
    assert caps[READ]["scope"] == "read" and caps[READ]["effective_scope"] == "write"
    assert DIST in caps[READ]["plugin"] and caps[READ]["trusted"] is False
    assert caps[PAGE]["effective_scope"] == "write"
    assert caps["notify"]["plugin"] is None and caps["notify"]["effective_scope"] == "read"
    cp = _aisre(site, home, "runbook", "capabilities")
    (line,) = [x for x in cp.stdout.splitlines() if x.startswith(READ)]
    assert "read→write" in line and line.endswith("(plugin)"), line
    said = " ".join(cp.stdout.split())  # the note under it, however the terminal wraps it
    assert f"(package {DIST}): {NOTE_READ}" in said, cp.stdout
    (line,) = [x for x in cp.stdout.splitlines() if x.startswith("notify ")]
    assert "read" in line and "plugin" not in line and "→" not in line, line
    cp = _aisre(site, home, "runbook", "policy")
    assert "trusted plugin capabilities: none" in cp.stdout, cp.stdout

    write_config(home, {}, TRUST)
    cp = _aisre(site, home, "runbook", "capabilities", "--json")
    caps = {c["name"]: c for c in json.loads(cp.stdout)["capabilities"]}
    assert caps[READ]["effective_scope"] == "read" and caps[READ]["trusted"] is True
    cp = _aisre(site, home, "runbook", "capabilities")
    (line,) = [x for x in cp.stdout.splitlines() if x.startswith(READ)]
    assert "→" not in line and line.endswith("(plugin)"), line
    assert f"(package {DIST}): trusted by the policy" in " ".join(cp.stdout.split())
    cp = _aisre(site, home, "runbook", "policy")
    assert f"trusted plugin capabilities: {READ}, {PAGE}" in cp.stdout, cp.stdout
    cp = _aisre(site, home, "runbook", "policy", "--json")
    assert json.loads(cp.stdout)["policy"]["trusted_plugin_capabilities"] == [READ, PAGE]


def test_cli_run_without_a_terminal_stops_at_the_untrusted_plugin_read(
    site: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    write_config(home, {"runbook_dirs": [str(_books(home))]}, {})
    cp = _aisre(site, home, "runbook", "show", "plugin-read")
    assert cp.returncode == 0, cp.stderr
    assert f"read→write {READ}" in cp.stdout and NOTE_READ in cp.stdout, cp.stdout
    cp = _aisre(site, home, "runbook", "run", "plugin-read", "--json")
    assert cp.returncode == 5, (cp.stdout, cp.stderr)
    out = json.loads(cp.stdout)
    assert out["steps"] == {"hello": "done", "look": "pending"}
    assert out["stopped"]["step"] == "look"
    assert out["stopped"]["decision"]["governed_as"] == "write"
    assert out["stopped"]["decision"]["reasons"][0] == NOTE_READ
    assert "read→write" in cp.stderr  # the plan shows the declared and the effective scope

    write_config(home, {"runbook_dirs": [str(_books(home))]}, TRUST)
    cp = _aisre(site, home, "runbook", "run", "plugin-read", "--json")
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    out = json.loads(cp.stdout)
    assert out["status"] == "completed" and out["steps"] == {"hello": "done", "look": "done"}


def test_cli_validate_names_the_setting_for_an_untrusted_plugin_verification(
    site: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    write_config(home, {}, {})
    rb = tmp_path / "verify.yaml"
    rb.write_text(
        "id: plugin-verify\ntitle: t\nsteps:\n"
        "  - id: hello\n    title: hello\n    capability: notify\n"
        "    inputs: {message: hi}\n"
        f"    verify: {{capability: {READ}, inputs: {{message: check}}}}\n"
    )
    cp = _aisre(site, home, "runbook", "validate", str(rb))
    assert cp.returncode == 2, (cp.stdout, cp.stderr)
    assert cp.stdout.strip() == (
        f"{rb}:8: verification runs unconfirmed, so plugin capability acme.read-thing"
        " must be trusted: list it in the policy's trusted_plugin_capabilities"
    )
    write_config(home, {}, {"trusted_plugin_capabilities": [READ]})
    cp = _aisre(site, home, "runbook", "validate", str(rb))
    assert cp.returncode == 0, (cp.stdout, cp.stderr)


def test_triage_matches_a_runbook_verifying_with_a_plugin_the_policy_trusts(
    installed: Registry, tmp_path: Path
) -> None:
    """Triage's runbook matching validates with the profile's policy: a runbook that
    verifies with a plugin capability is offered once the policy trusts it (and the
    cache of the last validation follows an edit of the policy file)."""
    from aisre_cli.remediate.matching import load_for_matching

    books = tmp_path / "books"
    books.mkdir()
    (books / "verify.yaml").write_text(
        "id: plugin-verify\ntitle: t\nsteps:\n"
        "  - id: hello\n    title: hello\n    capability: notify\n"
        "    inputs: {message: hi}\n"
        f"    verify:\n      capability: {READ}\n      inputs: {{message: check}}\n"
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text("autonomy: advised\n")
    prof = PROFILE.model_copy(update={"runbook_dirs": [str(books)], "policy_file": str(policy)})

    def ids() -> tuple[set[str], list[str]]:
        flow = TriageFlow(prof, SourceSet(), memory=False)
        got = {r.id for r in flow.runbook_refs()}
        return got, [n for n in flow.notes if n.startswith("runbook skipped")]

    got, skipped = ids()
    assert "plugin-verify" not in got
    assert any("trusted_plugin_capabilities" in m for m in skipped), skipped
    policy.write_text(f"autonomy: advised\ntrusted_plugin_capabilities: [{READ}]\n")
    got, skipped = ids()
    assert "plugin-verify" in got and not skipped
    # the same answer from the cache of that validation
    assert "plugin-verify" in {r.id for r in load_for_matching(prof)}


def test_a_step_after_an_untrusted_plugin_read_on_its_target_depends_on_it(
    installed: Registry,
) -> None:
    """Which steps write decides the dependencies between steps (a step on a target
    an earlier write step acts on is skipped when that one did not run): an untrusted
    plugin's `read` counts as the write it is governed as; trusted, as declared."""
    target = {"kind": "deployment", "name": "payments", "namespace": "shop"}
    rb = Runbook.model_validate(
        {
            "id": "look",
            "title": "look",
            "steps": [
                {"id": "first", "title": "first", "capability": "acme.look-at", "inputs": target},
                {"id": "again", "title": "again", "capability": "acme.look-at", "inputs": target},
            ],
        }
    )
    untrusted = _start(rb, Policy())
    assert untrusted.plan.step("first").writes
    assert untrusted.plan.step("again").depends_on == ("first",)
    trusted = _start(rb, Policy.model_validate({"trusted_plugin_capabilities": ["acme.look-at"]}))
    assert not trusted.plan.step("first").writes
    assert trusted.plan.step("again").depends_on == ()
