"""`aisre doctor`: is every configured source reachable, authenticated, and which
version does it run? One row per source with the latency and, when something is
wrong, the fix. Checks run concurrently inside the profile's gather budget (at most
10 s; the kubectl checks too); the exit code is 0 when all are fine, else the worst
error class (6 a damaged local spool, 4 auth: a credential missing or refused, or the
team store's role lacking grants, 3 source). A bundle profile's one row is its bundle:
can it be opened and its alerts read?

Secrets other users of the machine can read (a config.yaml holding a URL password,
or the `--insecure-storage` token file, with group or other read access) are listed
as warnings (`--json`: `warnings`); they do not change the exit code.

In team mode (`memory_url: postgresql://…`) the team store is one more row, bundle
profiles included: reachable, authenticated, the grants its role lacks (each table and
privilege the tool uses, `teamstore.TOOL_PRIVILEGES`: exit 4), its schema revision
against this aisre's, latency (`teamstore.health`; read-only). The local spool's line
says its depth, or DAMAGED and how to set the damaged lines aside, and names the
writes waiting for another team store than the profile's (its sync does not send them).

Into a pipe or a file each source is one line, its fix at the end, and no line is
padded (no rule as wide as the longest fix, no trailing blanks).

Then the Kubernetes pin: the profile's context and namespace, and for each RBAC
permission a write step of a runbook needs, `kubectl auth can-i` against that context
(yes / no / error), through the profile's kubeconfig (`sources.kubernetes.kubeconfig`,
`--kubeconfig`) when it names one. The answers are advice for remediation and do not
change the exit code: a team that only triages needs no write access. Without a
context nothing is asked: write steps are refused until the profile names one.

Every check runs in a daemon thread under a time limit (`_check_limit`: the source's
own timeout, or `CHECK_TIMEOUT_S`): a check that hangs (a plugin's, a read that never
ends) is a failed row, "no answer within Ns", the other checks still report, and the
thread left behind does not hold the process's exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import typer

from aisre_cli.errors import AisreError, ExitCode
from aisre_cli.ui.cli.app import JsonOpt, ProfileOpt, app, state
from aisre_cli.ui.cli.common import json_errors

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from aisre_cli.memory.teamstore import StoreHealth
    from aisre_cli.settings.config import Profile, ResolvedProfile
    from aisre_cli.sources.changefile import ChangeFile
    from aisre_cli.sources.http import Health


@app.command("doctor")
def doctor_cmd(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check every configured source: reachable, authenticated, version, latency, fixes.

    Exit 0 when every source is fine; else 3 (a source is down or answers garbage), 4 (a
    credential is missing or refused, or the team store's role lacks a grant the tool
    needs) or 6 (the local spool is damaged), the worst. Warnings (a secret file other
    users can read) do not change it.

    Example: aisre doctor --profile prod
    """
    from functools import partial

    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.settings.secrets import keyring_info, redact
    from aisre_cli.sources.changefile import ChangeFile
    from aisre_cli.sources.http import Health
    from aisre_cli.sources.live import Checkable, checkables, live_sources

    st = state(ctx, profile)
    if st.verbose >= 2:
        from aisre_cli.settings.secrets import enable_debug_logging

        enable_debug_logging()
    rp = resolve_profile(st.profile)
    if st.bundle is not None:  # `aisre --bundle DIR doctor`: check that bundle, as triage reads it
        src = rp.profile.sources.model_copy(update={"bundle": str(st.bundle)})
        rp = rp.model_copy(update={"profile": rp.profile.model_copy(update={"sources": src})})
    # every check (sources, team store, kubectl can-i) runs at once within this budget
    budget = min(rp.profile.gather_budget_s, 10.0)
    spool = _spool(rp)
    kr = keyring_info()
    warnings = _warnings(rp.from_file) + _plugin_warnings()
    if rp.profile.sources.bundle:
        from aisre_cli.ui.term import visible

        kube = _kube(rp.profile, budget)
        team = _team(rp.profile)
        rows = [_bundle_row(rp.profile)]
        if team is not None:
            rows.append(_team_row(team))
        shown = visible(rp.profile.sources.bundle, oneline=True)
        typer.echo(f"profile {rp.name!r} reads the bundle {shown}", err=True)
        show_kube = kube is not None and bool(rp.profile.kube_context or rp.profile.namespace)
        if json_out:
            import json

            team_part = {"team_store": team.to_dict()} if team is not None else {}
            typer.echo(
                json.dumps(
                    {
                        "schema": "aisre.doctor/v1",
                        "profile": rp.name,
                        "keyring": {"backend": kr.backend, "usable": kr.usable},
                        # the same keys as for live sources: null when nothing to say
                        "kubernetes": kube if show_kube else None,
                        "sources": [_row_json(h) for h in rows],
                        **team_part,
                        **spool,
                        "warnings": warnings,
                    },
                    indent=2,
                )
            )
        else:
            shown_spool = spool["spool"]["depth"] or spool["spool"].get("error")
            _print_text(
                rp.name,
                rows,
                kube if show_kube else None,
                spool_line(spool["spool"]) if shown_spool else None,
            )
            _print_warnings(warnings)
        _exit(rows, spool["spool"], team)
        return
    # --json: the document a script parses, with the error in it (exit 2 stays)
    with json_errors(
        json_out,
        "aisre.doctor/v1",
        profile=rp.name,
        keyring={"backend": kr.backend, "usable": kr.usable},
        kubernetes=None,
        sources=[],
        **spool,
        warnings=warnings,
    ):
        sources = live_sources(rp.profile, budget_s=budget)
    targets = checkables(sources)

    def run(t: Checkable) -> Health:
        try:
            h: Health = t.check()
        except (Exception, SystemExit) as exc:  # doctor must report, never crash
            h = Health(_name(t), "", False, None, detail=redact(_exc_text(exc)))
        if not isinstance(h, Health):  # a plugin's check answering garbage
            h = Health(_name(t), "", False, None, detail=f"its check answered {_kind(h)}")
        return h

    # Every check at once, each in a daemon thread with a time limit of its own; the
    # team store and kubectl are bounded by their own timeouts (connect, --timeout).
    team_job = _Job(partial(_team, rp.profile))
    kube_job = _Job(partial(_kube, rp.profile, budget))
    checks: list[tuple[object, _Job[Health]]] = [(t, _Job(partial(run, t))) for t in targets]
    checks += [(ts, _Job(partial(_topology_row, ts))) for ts in sources.topology]
    files = [cs for cs in sources.changes if isinstance(cs, ChangeFile)]
    checks += [(cs, _Job(partial(_change_file_row, cs))) for cs in files]
    rows = []
    for source, job in checks:
        limit = _check_limit(source)
        h = job.answer(limit)
        rows.append(h if h is not None else _no_answer(source, limit))
    team = team_job.answer(None)
    kube = kube_job.answer(None)
    if team is not None:
        rows.append(_team_row(team))
    if json_out:
        import json

        typer.echo(
            json.dumps(
                {
                    "schema": "aisre.doctor/v1",
                    "profile": rp.name,
                    "keyring": {"backend": kr.backend, "usable": kr.usable},
                    "kubernetes": kube,
                    "sources": [_row_json(h) for h in rows],
                    **({"team_store": team.to_dict()} if team is not None else {}),
                    **spool,
                    "warnings": warnings,
                },
                indent=2,
            )
        )
    else:
        from rich.markup import escape

        from aisre_cli.ui.term import console

        _print_text(rp.name, rows, kube, spool_line(spool["spool"]))
        _print_warnings(warnings)
        kr_text = (
            "usable"
            if kr.usable
            else "not usable: tokens only from AISRE_<NAME>_TOKEN or the --insecure-storage file"
        )
        console(stderr=True).print(f"[dim]keyring {escape(kr.backend)}: {escape(kr_text)}[/]")
    _exit(rows, spool["spool"], team)


CHECK_TIMEOUT_S = 10.0
"""Longest one check may take: a source's own timeout, when it has a shorter one, is
used instead (`_check_limit`)."""

CHECK_GRACE_S = 1.0
"""Waited beyond a source's own timeout, so that its own message (which says more than
"no answer") arrives first."""

T = TypeVar("T")


class _Job(Generic[T]):
    """`fn()` in a daemon thread, started at once. Not a ThreadPoolExecutor: its
    workers are joined when the interpreter exits, so a check that hangs would hold
    doctor's exit after it had printed its table."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="doctor-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self._error = exc

    def answer(self, limit_s: float | None) -> T | None:
        """What `fn` returned, or None when it gave no answer within `limit_s` of its
        start (None: no limit); what it raised is raised here."""
        self._thread.join(
            None if limit_s is None else max(0.0, self._t0 + limit_s - time.monotonic())
        )
        if self._thread.is_alive():
            return None
        if self._error is not None:
            raise self._error
        return self._value


def _own_timeout(src: object) -> float | None:
    """A source's own timeout: its `timeout_s` (a plugin may set one), or the budget of
    its HTTP client (a built-in's check ends by then on its own)."""
    try:
        values = (
            getattr(src, "timeout_s", None),
            getattr(getattr(src, "http", None), "budget_s", None),
        )
    except Exception:  # noqa: BLE001 - a hostile property: no timeout of its own
        return None
    for value in values:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return min(float(value), CHECK_TIMEOUT_S)  # never longer than the default
    return None


def _check_limit(src: object) -> float:
    """How long doctor waits for one source's check (a built-in gets the same limit
    its own deadline has, plus a grace, so its own message wins the race)."""
    own = _own_timeout(src)
    return CHECK_TIMEOUT_S if own is None else own + CHECK_GRACE_S


def _name(src: object) -> str:
    name = getattr(src, "name", None)
    return name if isinstance(name, str) else "?"


def _exc_text(exc: BaseException) -> str:
    """What a check raised, as one line (a plugin's text can hold anything)."""
    from aisre_cli.settings.plugins import describe, one_line

    try:
        text = "" if isinstance(exc, SystemExit) else str(exc)
    except Exception:  # noqa: BLE001 - a hostile __str__
        text = ""
    return one_line(text, 500) if text.strip() else describe(exc)


def _kind(obj: object) -> str:
    name = type(obj).__name__
    return f"a {name}" if name.isidentifier() and name.isascii() else "an object"


def _no_answer(src: object, limit_s: float) -> Health:
    """The row of a check that gave no answer within `limit_s`."""
    from aisre_cli.settings.plugins import plugin_of
    from aisre_cli.settings.secrets import redact
    from aisre_cli.sources.http import Health

    http = getattr(src, "http", None)
    url = getattr(http, "base_url", None) or getattr(src, "path", None) or ""
    plugin = plugin_of(src)
    hint = (
        f"its check comes from {plugin}: fix it, or remove the source from the profile"
        " (`aisre config edit`)"
        if plugin
        else "is the source up and reachable from here?"
    )
    return Health(
        _name(src),
        redact(str(url)),
        False,
        None,
        detail=f"no answer within {limit_s:g}s",
        hint=hint,
    )


def _topology_row(ts: Any) -> Health:
    """A topology source's row: can it be read, and how many services does it name?"""
    from aisre_cli.settings.secrets import redact
    from aisre_cli.sources.http import Health

    where = str(getattr(ts, "path", ""))
    try:
        topo = ts.fetch_topology()
        return Health(_name(ts), where, True, None, version=f"{len(topo.services())} services")
    except (Exception, SystemExit) as exc:  # a plugin's topology too: a row, never a crash
        return Health(_name(ts), where, False, None, detail=redact(_exc_text(exc)))


def _change_file_row(cs: ChangeFile) -> Health:
    """The change file's row: how many events, and the first malformed line."""
    from aisre_cli.settings.secrets import redact
    from aisre_cli.sources.http import Health

    try:
        n = len(cs.read_all())
        bad = cs.drain_notes()
        return Health(
            cs.name,
            str(cs.path),
            True,
            None,
            version=f"{n} events" if cs.path.exists() else "empty (no file yet)",
            detail=bad[0].detail if bad else "",
            hint="fix or delete the malformed lines" if bad else "",
        )
    except Exception as exc:
        return Health(cs.name, str(cs.path), False, None, detail=redact(str(exc)))


def _bundle_row(profile: Profile) -> Health:
    """A bundle profile's one source: can triage open the bundle and read its alerts?"""
    import time

    from aisre_cli.sources.http import Health
    from aisre_cli.sources.registry import build_sources

    path = str(profile.sources.bundle)
    t0 = time.monotonic()
    try:
        bundle = build_sources(profile).bundle
        assert bundle is not None  # a bundle profile builds a bundle set
        n = len(bundle.list_alerts())
    except AisreError as err:
        return Health("bundle", path, False, None, detail=err.message, hint=err.hint or "")
    ms = (time.monotonic() - t0) * 1000
    return Health("bundle", path, True, None, f"{n} alerts", ms)


def _warnings(config_file: Path | None) -> list[str]:
    """Secrets other users of the machine can read: a config.yaml holding a password in
    a URL, or the --insecure-storage token file, with group or other read access. Advice:
    the exit code is not changed (the check is about the files, not the sources)."""
    import os
    import stat

    from aisre_cli.settings.secrets import insecure_file

    out: list[str] = []

    def loose(p: Path) -> int | None:
        try:
            mode = stat.S_IMODE(os.stat(p).st_mode)
        except OSError:
            return None
        return mode if mode & 0o077 else None

    if config_file is not None:
        mode = loose(config_file)
        where = _password_field(config_file) if mode is not None else None
        if mode is not None and where is not None:
            out.append(
                f"{config_file} (mode {mode:04o}) holds a password in {where} and is readable"
                f" by other users: chmod 600 {config_file}, and better, move the password to"
                " the keyring (`aisre auth set NAME`, then token_name and username)"
            )
    store = insecure_file()
    mode = loose(store)
    if mode is not None:
        out.append(
            f"{store} (mode {mode:04o}) holds tokens in plaintext and is readable by other"
            f" users: chmod 600 {store}"
        )
    return out


def _password_field(config_file: Path) -> str | None:
    """The first `profiles.NAME.…` field of the file whose URL carries a password."""
    from urllib.parse import urlsplit

    from aisre_cli.settings.config import load_config

    try:
        cfg = load_config(config_file)
    except AisreError:
        return None
    if cfg is None:
        return None
    todo: list[tuple[str, Any]] = [
        (f"profiles.{name}", prof.model_dump(mode="json")) for name, prof in cfg.profiles.items()
    ]
    while todo:
        where, value = todo.pop(0)
        if isinstance(value, dict):
            todo.extend((f"{where}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            todo.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
        elif isinstance(value, str) and "@" in value and "://" in value:
            try:
                if urlsplit(value.strip()).password:
                    return where
            except ValueError:
                continue
    return None


def _plugin_warnings() -> list[str]:
    """Installed plugins that failed to load (sources and capabilities): each skipped,
    so a triage runs without it. Advice: the exit code is not changed."""
    from aisre_cli.remediate.capabilities import plugin_errors
    from aisre_cli.sources.catalog import catalog

    return [e.render() for e in [*catalog().errors, *plugin_errors()]]


def _print_warnings(warnings: list[str]) -> None:
    from aisre_cli.ui.term import console, markup

    for w in warnings:
        console(stderr=True).print(f"[yellow]warning:[/] {markup(w, oneline=True)}")


def _exit(rows: list[Health], spool: dict[str, Any], team: StoreHealth | None) -> None:
    """The worst error class: a damaged spool (6, integrity), auth (4: a credential
    refused, or the team store's role lacking grants), source (3)."""
    if spool.get("error"):
        raise typer.Exit(int(ExitCode.VERIFY))
    if any(h.authenticated is False for h in rows):
        raise typer.Exit(int(ExitCode.AUTH))
    if team is not None and team.missing_grants:
        raise typer.Exit(int(ExitCode.AUTH))
    if any(not h.ok for h in rows):
        raise typer.Exit(int(ExitCode.SOURCE))


def _team(profile: Profile) -> StoreHealth | None:
    """The team store's `StoreHealth`, or None when the profile has no team store."""
    from aisre_cli.govern.team import team_url

    url = team_url(profile)
    if url is None:
        return None
    from aisre_cli.memory.backend import location_for
    from aisre_cli.memory.teamstore import StoreHealth, health

    try:
        loc = location_for(url, profile.memory_password_name)
    except AisreError as err:  # a malformed memory_url is a failed row, not a crash
        return StoreHealth(url, False, None, detail=err.message, hint=err.hint or "")
    return health(loc)


def _team_row(team: StoreHealth) -> Health:
    from aisre_cli.sources.http import Health

    version = None
    if team.reachable and team.authenticated:
        rev = team.schema_version or "none"
        same = team.schema_version == team.schema_head
        version = rev + (" (current)" if same else f" (aisre {team.schema_head})")
    return Health(
        "team-memory",
        team.url,
        team.reachable,
        team.authenticated,
        version,
        team.latency_ms,
        detail=team.detail.removeprefix(f"{team.url}: "),  # the row shows the URL
        hint=team.hint,
    )


def _row_json(h: Health) -> dict[str, Any]:
    from aisre_cli.settings.secrets import redact

    return {
        "source": h.source,
        "url": redact(h.url),
        "ok": h.ok,
        "reachable": h.reachable,
        "authenticated": h.authenticated,
        "version": h.version,
        "latency_ms": h.latency_ms,
        "detail": redact(h.detail),
        "hint": redact(h.hint),
    }


def _print_text(
    profile_name: str, rows: list[Health], kube: dict[str, Any] | None, spool: str | None
) -> None:
    """Doctor's report on stdout: the table, the fixes, the Kubernetes pin, the spool.
    Into a pipe or a file no line is padded or ends in a blank (`_unpadded`)."""
    from rich.markup import escape

    from aisre_cli.ui.term import console

    con = console()
    with nullcontext() if con.is_terminal else _unpadded(con):
        _print_table(con, profile_name, rows)
        if kube is not None:
            _print_kube(con, kube)
        if spool is not None:
            con.print(escape(spool))


def _print_table(con: Console, profile_name: str, rows: list[Health]) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from aisre_cli.settings.secrets import redact

    def yn(v: bool | None) -> str:
        return "[dim]n/a[/]" if v is None else ("[green]yes[/]" if v else "[red]no[/]")

    # Below 140 columns a fix column would be a ribbon a few characters wide: the
    # fixes are listed under the table instead, one line per source.
    inline = con.width >= 140
    # Into a pipe or a file (no width: `stdout_width`) one source is one line, its fix
    # (detail; hint) at the end of it, and no line is padded: no rule as wide as the
    # longest fix, no blanks after the text (`_unpadded`, in `_print_text`).
    piped = not con.is_terminal
    table = Table(
        title=f"aisre doctor: profile {escape(profile_name)}",
        title_justify="left",
        box=None if piped else box.SIMPLE_HEAD,
    )
    for col in ("source", "url", "reachable", "auth", "version", "latency"):
        # short columns never wrap; the URL and the version text take what is left
        table.add_column(
            col,
            overflow="fold",
            no_wrap=col not in ("url", "version"),
            max_width=14 if col == "version" else None,
        )
    if inline:
        table.add_column("fix", overflow="fold")
    fixes: list[tuple[str, str]] = []
    for h in rows:
        fix = escape(redact(h.hint))
        if h.detail:
            fix = escape(_short(h.source, redact(h.detail)))
            if h.hint:
                fix += ("; " if piped and inline else "\n") + f"[dim]{escape(redact(h.hint))}[/]"
        cells = [
            escape(h.source),
            escape(redact(h.url)),
            yn(h.reachable),
            yn(h.authenticated),
            escape(h.version or ""),
            f"{h.latency_ms:.0f} ms" if h.latency_ms is not None else "",
        ]
        table.add_row(*cells, *([fix] if inline else []))
        if fix and not inline:
            fixes.append((h.source, fix.replace("\n", "\n    ")))
    con.print(table)
    for source, fix in fixes:
        con.print(f"[bold]{escape(source)}[/]: {fix}")


@contextmanager
def _unpadded(con: Console) -> Iterator[None]:
    """What is printed on `con` inside, without the blanks that pad a line to the
    table's width or end a wrapped one (a file or a pipe has no terminal to hide them).
    Only off a terminal: no colour codes to get in the way."""
    with con.capture() as cap:
        yield
    text = "\n".join(line.rstrip() for line in cap.get().splitlines())
    con.print(text, markup=False, highlight=False, soft_wrap=True)


def _spool(rp: ResolvedProfile) -> dict[str, Any]:
    """The local spool's depth (writes waiting for the team store), as `--json` shows it;
    `error` (and `hint`) when it is damaged; which store is the profile's."""
    from aisre_cli.ui.cli.memory import _spool_dict, _spools, stores_of

    try:
        return {"spool": _spool_dict(_spools(), *stores_of(rp))}
    except AisreError as err:  # unreadable beyond what status() reports: still a row
        return {"spool": {"depth": None, "oldest": None, "error": err.message, "hint": err.hint}}


def spool_line(sp: dict[str, Any]) -> str:
    from aisre_cli.ui.cli.memory import spool_line as line

    return line(sp)


def _short(source: str, detail: str) -> str:
    """`prometheus: GET http://x/api/v1/... failed: connection refused` → `failed:
    connection refused` (the table already shows the source and its URL)."""
    import re

    text = detail.removeprefix(f"{source}: ")
    return re.sub(r"^(GET|HEAD|POST|PUT|DELETE) \S+:? ", "", text)


def _kube(profile: Any, timeout_s: float = 15.0) -> dict[str, Any] | None:
    """The Kubernetes pin and `auth can-i` for each permission a runbook write step
    needs (JSON-ready), or None when no runbook has a kubectl write step. Each kubectl
    call gets at most `timeout_s` (doctor's budget), and they run concurrently."""
    from concurrent.futures import ThreadPoolExecutor

    from aisre_cli.remediate.capabilities import ExecContext, default_registry
    from aisre_cli.remediate.capabilities.kubectl import PIN_HINT
    from aisre_cli.remediate.matching import load_runbooks
    from aisre_cli.remediate.rbac import can_i, required_permissions

    needed = required_permissions(load_runbooks(profile), default_registry())
    if not needed:
        return None
    out: dict[str, Any] = {
        "context": profile.kube_context,
        "namespace": profile.namespace,
        "pinned": bool(profile.kube_context),
        "hint": None if profile.kube_context else PIN_HINT,
        "can_i": [],
    }
    if not profile.kube_context:
        out["can_i"] = [
            {
                "verb": n.permission.verb,
                "resource": n.permission.resource,
                "subresource": n.permission.subresource,
                "answer": "not checked",
                "detail": "no kube_context: write steps are refused",
                "command": None,
                "steps": n.steps,
            }
            for n in needed
        ]
        return out
    ctx = ExecContext(profile=profile, timeout_s=timeout_s)
    with ThreadPoolExecutor(max_workers=min(8, len(needed))) as pool:
        answers = list(pool.map(lambda n: can_i(ctx, n), needed))
    out["can_i"] = [a.to_dict() for a in answers]
    return out


def _print_kube(con: Console, kube: dict[str, Any]) -> None:
    from rich.markup import escape

    if kube["pinned"]:
        ns = f", namespace [bold]{escape(kube['namespace'])}[/]" if kube["namespace"] else ""
        con.print(f"kubernetes: context [bold]{escape(kube['context'])}[/]{ns}")
    else:
        con.print(
            "[yellow]kubernetes: no context pinned[/]: runbook write steps are refused"
            " (reads use kubectl's current context)"
        )
        con.print(f"  hint: {escape(kube['hint'] or '')}")
        return
    style = {"yes": "green", "no": "red", "error": "yellow"}
    width = max((len(_perm(r)) for r in kube["can_i"]), default=0)
    for r in kube["can_i"]:
        answer = f"[{style.get(r['answer'], 'white')}]{escape(r['answer']):<5}[/]"
        used = ", ".join(r["steps"][:3]) + (" …" if len(r["steps"]) > 3 else "")
        line = f"  can-i {escape(_perm(r)):<{width}}  {answer} [dim]{escape(used)}[/]"
        if r["answer"] != "yes" and r["detail"] and r["detail"] != r["answer"]:
            line += f"\n      [dim]{escape(r['detail'])}[/]"
        con.print(line)


def _perm(r: dict[str, Any]) -> str:
    return f"{r['verb']} {r['resource']}" + (f"/{r['subresource']}" if r["subresource"] else "")
