"""Documentation a new user is sent to exists (issue 12, item 12)."""

from __future__ import annotations

import re

import yaml

from aisre_cli.settings.config import AppConfig, Sources
from tests.conftest import REPO
from tests.contract_servers.cli import run_cli


def test_no_user_facing_text_points_at_design_md() -> None:
    files = [REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "aisre_cli").rglob("*.py")]
    user_facing = re.compile(r"(hint=|README|\]\().*DESIGN\.md|see `DESIGN\.md`")
    offenders = [
        f"{p.relative_to(REPO)}:{i}"
        for p in files
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "DESIGN.md" in line and (p.suffix == ".md" or user_facing.search(line))
    ]
    assert not offenders, offenders


def test_bundle_format_page_covers_every_file() -> None:
    page = (REPO / "docs" / "bundle-format.md").read_text(encoding="utf-8")
    for name in (
        "bundle.yaml",
        "alerts.json",
        "metrics/*.json",
        "metrics/queries.yaml",
        "logs/*.jsonl",
        "changes.json",
        "topology.yaml",
        "traces/*.jsonl",
        "events/*.jsonl",
        "truth.yaml",
    ):
        assert f"`{name}`" in page, name
    assert "docs/bundle-format.md" in (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_documents_aisre_home_and_profile_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for needle in ("AISRE_HOME", "AISRE_PROFILE", "aisre config use", "aisre config edit"):
        assert needle in readme, needle


def test_config_show_defaults_lists_every_source_and_validates() -> None:
    r = run_cli(["config", "show", "--defaults"])
    assert r.code == 0, r.err
    data = yaml.safe_load(r.out)
    sources = data["profiles"]["example"]["sources"]
    from aisre_cli.sources.catalog import catalog, check_keys, configured

    # every typed field, and every registered source type (tempo, jaeger, kubernetes
    # have no field); each section validates with its type's model
    assert set(sources) == (set(Sources.model_fields) - {"bundle"}) | set(catalog().types)
    cfg = AppConfig.model_validate({"version": 1, "profiles": data["profiles"]})
    check_keys(cfg.profiles["example"].sources)
    for t in catalog().types.values():
        configured(cfg.profiles["example"].sources, t)


def test_missing_bundle_yaml_hint_names_the_format_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli(["triage", "--bundle", str(tmp_path)])
    assert r.code == 2
    assert "docs/bundle-format.md" in r.err and "DESIGN.md" not in r.err
