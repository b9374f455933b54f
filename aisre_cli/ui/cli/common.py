"""Helpers shared by command modules: profile + sources for this run, output."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from aisre_cli.runtime import settle_heap
from aisre_cli.ui.cli.app import state

if TYPE_CHECKING:
    from aisre_cli.settings.config import ResolvedProfile
    from aisre_cli.sources.registry import SourceSet


def load(
    ctx: typer.Context, profile: str | None = None, bundle: Path | None = None
) -> tuple[ResolvedProfile, SourceSet]:
    """Resolve the profile and build its sources; say so when the demo is used."""
    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.sources.registry import build_sources

    st = state(ctx, profile, bundle)
    rp = resolve_profile(st.profile)
    if rp.implicit_demo and st.bundle is None:
        note("no config file: using the built-in demo profile (aisre config init to set up)")
    sources = build_sources(rp.profile, st.bundle)
    settle_heap()
    return rp, sources


def note(text: str) -> None:
    """One dim line on stderr (talk, not data); `text` is plain (it may quote outside
    text: controls are made visible, markup is not interpreted). Plain text when stderr
    is not a terminal (no styling to show, and no rich import on the scripted path)."""
    from aisre_cli.ui.term import echo

    if not sys.stderr.isatty():
        echo(text, err=True)
        return
    from aisre_cli.ui.term import console, markup

    console(stderr=True).print(f"[dim]{markup(text)}[/]")


def print_json(data: Any) -> None:
    """`--json` output: the exact data, with no raw control character (see ui.term)."""
    from aisre_cli.ui.term import json_text

    sys.stdout.write(json_text(data) + "\n")


FOLLOW_UPS = ("escalate", "runbook run", "triage")
"""Commands a hint may name that read the same sources as the command that gave it."""


def follow_up(text: str, ctx: typer.Context) -> str:
    """`text` with every `aisre escalate|runbook run|triage …` command it quotes in
    backticks pointed at the sources this command read: `--bundle DIR` after
    `triage --bundle DIR`, `-p NAME` after `-p NAME`. Without them a pasted hint would
    look the alert up in the default profile instead ("no alert matches")."""
    import re
    import shlex

    st = state(ctx)
    extra: list[str] = []
    if st.profile:
        extra += ["-p", st.profile]
    if st.bundle is not None:
        extra += ["--bundle", str(st.bundle)]
    if not extra:
        return text
    tail = " ".join(shlex.quote(a) for a in extra)
    subs = "|".join(re.escape(s) for s in FOLLOW_UPS)

    def add(m: re.Match[str]) -> str:
        return f"`{m.group(1)} {tail}`"

    return re.sub(rf"`(aisre (?:{subs})\b[^`]*)`", add, text)


@contextmanager
def json_errors(json_out: bool, schema: str, **fields: Any) -> Iterator[None]:
    """With `--json`, an `AisreError` inside also prints the command's document with the
    error in it (`{"schema", **fields, "error": {"message", "hint"}}`) before it is
    raised as usual (the one-line error on stderr, the exit code): a script piping to
    `jq` gets JSON either way."""
    from aisre_cli.errors import AisreError

    try:
        yield
    except AisreError as exc:
        if json_out:
            print_json(
                {"schema": schema, **fields, "error": {"message": exc.message, "hint": exc.hint}}
            )
        raise
