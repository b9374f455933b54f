"""`aisre config init|show|list|use|edit|path`: write and inspect config.yaml.

`init` asks for the URLs of the systems the team runs (or takes them as flags for
scripted setups) and writes `config.yaml` with mode 0600. It never asks for a token:
tokens go to the keyring with `aisre auth set NAME`, so the config file can be shared
and committed (a URL with a password in it is refused). File paths are stored
absolute, so the profile works from any directory. `show` prints the resolved profile
with anything secret-looking redacted (URL passwords, token query parameters) and says
where each token would be found, never what it is.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import typer

from aisre_cli.errors import ConfigError, UsageError
from aisre_cli.ui.cli.app import JsonOpt, ProfileOpt, app, state
from aisre_cli.ui.term import visible

config_app = typer.Typer(
    name="config",
    help="Create and inspect the configuration (profiles and sources).",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


def _prompt(text: str, default: str = "") -> str:
    value: str = typer.prompt(text, default=default, show_default=bool(default))
    return value.strip()


def _parse_repos(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        repo, sep, service = v.partition("=")
        if not sep or repo.count("/") != 1 or not service:
            raise UsageError(
                f"--github-repo {v!r}: expected OWNER/REPO=SERVICE",
                hint="for example --github-repo acme/checkout=checkout",
            )
        out[repo.strip()] = service.strip()
    return out


def _absolute(path: Path) -> str:
    """A file path option as stored: absolute, against the directory `config init` ran
    in, so `aisre doctor` or a triage run from anywhere else reads the same file."""
    return os.path.abspath(path.expanduser())


def _refuse_password(flag: str, name: str, url: str | None) -> None:
    """config.yaml holds no secrets (its header says so; it is shared and committed):
    a URL with a password in it is refused, as `memory_url` is, and never echoed."""
    from urllib.parse import urlsplit, urlunsplit

    if not url:
        return
    try:
        parts = urlsplit(url.strip())
        password = parts.password
    except ValueError:
        return  # not a URL: the profile's own check says what is wrong with it
    if password is None:
        return
    host = parts.netloc.rpartition("@")[2]
    shown = urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    hint = f"remove it from the URL and store the token in the keyring: aisre auth set {name}"
    if name in ("alertmanager", "prometheus", "loki"):
        hint += (
            f" (and name it in sources.{name}.token_name; for a server that takes only Basic"
            f" auth, also set sources.{name}.username)"
        )
    elif name == "grafana":
        hint = "remove it from the URL: Explore links open in your browser, which signs in"
    raise UsageError(f"{flag} {shown!r} contains a password", hint=hint)


def _url_problem(flag: str, name: str, url: str) -> str | None:
    """What is wrong with a source URL typed at a prompt (None: nothing)."""
    from aisre_cli.errors import AisreError
    from aisre_cli.settings.config import check_url

    try:
        _refuse_password(flag, name, url)
        check_url(url)
    except AisreError as err:
        return f"{err.message} ({err.hint})" if err.hint else err.message
    except ValueError as exc:
        return str(exc)
    return None


def _prompt_url(text: str, default: str, flag: str, name: str) -> str:
    """Ask for a source URL until it is empty or one the profile accepts: an answer
    found wrong only after the last question would lose every answer."""
    while True:
        value = _prompt(text, default)
        problem = _url_problem(flag, name, value) if value else None
        if problem is None:
            return value
        typer.echo(f"  {problem}", err=True)
        default = ""


def _prompt_repos() -> list[str]:
    while True:
        raw = _prompt("GitHub repos as OWNER/REPO=SERVICE, comma separated (empty: none)")
        repos = [x.strip() for x in raw.split(",") if x.strip()]
        try:
            _parse_repos(repos)
        except UsageError as err:
            typer.echo(f"  {err.message.removeprefix('--github-repo ')}", err=True)
            continue
        return repos


def _prompt_file() -> Path | None:
    while True:
        raw = _prompt("topology.yaml path (empty: none)")
        if not raw:
            return None
        try:
            _check_file("--topology-file", Path(raw))
        except UsageError as err:
            typer.echo(f"  {err.message.removeprefix('--topology-file ')}", err=True)
            continue
        return Path(raw)


def _check_file(flag: str, path: Path, *, ca: bool = False) -> None:
    """A file the profile names must be there now: a typo would otherwise be written
    and found only by `aisre doctor` (a CA bundle that cannot be loaded stops every
    command that reads a source)."""
    p = Path(_absolute(path))  # the file the profile will name, `..` resolved as stored
    if not p.is_file():
        what = "is a directory" if p.is_dir() else "does not exist"
        raise UsageError(
            f"{flag} {str(path)!r}: {what}",
            hint="give the path of an existing file (relative paths are stored absolute)",
        )
    if ca:
        import ssl

        try:
            ssl.create_default_context(cafile=str(p))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"{flag} {str(path)!r}: not a readable PEM CA bundle ({exc})",
                hint="give the CA certificate(s) in PEM format (-----BEGIN CERTIFICATE-----)",
            ) from None


def _target(path: Path) -> Path:
    """The file to write for `path`: a config.yaml that is a symlink (into a dotfiles
    checkout) is written through, so the link and the file it names stay as they are."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _write_config(path: Path, data: dict[str, Any]) -> None:
    import yaml

    path = _target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# aisre configuration. Tokens are NOT stored here: see `aisre auth set`.\n")
        yaml.safe_dump(data, fh, sort_keys=False, default_flow_style=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@config_app.command("init")
def init_cmd(
    name: str = typer.Option("prod", "--name", help="Name of the profile to create."),
    environment: str | None = typer.Option(None, "--environment", help="Environment name."),
    alertmanager_url: str | None = typer.Option(
        None, "--alertmanager-url", help="Alertmanager base URL: firing alerts."
    ),
    prometheus_url: str | None = typer.Option(
        None, "--prometheus-url", help="Prometheus base URL: metrics."
    ),
    loki_url: str | None = typer.Option(None, "--loki-url", help="Loki base URL: logs."),
    pagerduty: bool = typer.Option(False, "--pagerduty", help="Read PagerDuty incidents."),
    pagerduty_url: str | None = typer.Option(None, "--pagerduty-url", help="API base URL."),
    pagerduty_from: str | None = typer.Option(
        None, "--pagerduty-from", help="User email sent as From on PagerDuty writes."
    ),
    github_repo: list[str] = typer.Option(
        [], "--github-repo", help="OWNER/REPO=SERVICE (repeatable): deployments as changes."
    ),
    github_url: str | None = typer.Option(None, "--github-url", help="API base URL (GHE)."),
    topology_file: Path | None = typer.Option(
        None, "--topology-file", dir_okay=False, help="Service topology YAML (must exist)."
    ),
    kube_context: str | None = typer.Option(
        None,
        "--kube-context",
        help="kubectl context every runbook step is pinned to (write steps need one).",
    ),
    namespace: str | None = typer.Option(
        None, "--namespace", "-n", help="Default Kubernetes namespace for runbook steps."
    ),
    grafana_url: str | None = typer.Option(
        None, "--grafana-url", help="Grafana base URL: evidence gets Explore links."
    ),
    grafana_prometheus_uid: str | None = typer.Option(
        None, "--grafana-prometheus-uid", help="Grafana datasource uid of Prometheus."
    ),
    grafana_loki_uid: str | None = typer.Option(
        None, "--grafana-loki-uid", help="Grafana datasource uid of Loki."
    ),
    budget: float | None = typer.Option(None, "--budget", help="Gather time budget, seconds."),
    ca_file: Path | None = typer.Option(
        None, "--ca-file", dir_okay=False, help="Custom CA bundle (PEM) for every source."
    ),
    make_default: bool | None = typer.Option(
        None,
        "--default/--no-default",
        help="Make it the default profile (default: only when there is no default yet).",
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Non-interactive: use the flags, ask nothing."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing profile."),
) -> None:
    """Create or update a profile in config.yaml (mode 0600). Tokens: `aisre auth set`.

    Examples:

      aisre config init

      aisre config init -y --name prod --alertmanager-url http://am:9093 --prometheus-url http://prom:9090

      aisre config init -y --prometheus-url http://prom:9090 --kube-context prod-eu -n shop

      aisre config init -y --prometheus-url http://prom:9090 --grafana-url https://grafana.example.com
    """
    from pydantic import ValidationError

    from aisre_cli.settings import paths
    from aisre_cli.settings.config import AppConfig, load_config, validation_message

    interactive = not yes and sys.stdin.isatty()
    if interactive:
        name = _prompt("Profile name", name)
        existing = load_config(paths.config_file())
        if existing is not None and name in existing.profiles and not force:
            # say so now, not after every other question has been answered
            force = typer.confirm(
                f"Profile {name!r} exists in {paths.config_file()}: replace it?", default=False
            )
            if not force:
                raise ConfigError(
                    f"profile {name!r} already exists in {paths.config_file()}: left unchanged",
                    hint="answer y to replace it, or give another profile name",
                )
        environment = _prompt("Environment (prod, staging, ...)", environment or name)
        alertmanager_url = _prompt_url(
            "Alertmanager URL (empty: none)",
            alertmanager_url or "",
            "--alertmanager-url",
            "alertmanager",
        )
        prometheus_url = _prompt_url(
            "Prometheus URL (empty: none)", prometheus_url or "", "--prometheus-url", "prometheus"
        )
        loki_url = _prompt_url("Loki URL (empty: none)", loki_url or "", "--loki-url", "loki")
        pagerduty = typer.confirm("Read incidents from PagerDuty?", default=pagerduty)
        if pagerduty:
            pagerduty_from = _prompt(
                "Your PagerDuty email (for notes/acknowledge; empty: read only)",
                pagerduty_from or "",
            )
        if not github_repo:
            github_repo = _prompt_repos()
        if topology_file is None:
            topology_file = _prompt_file()
        kube_context = (
            _prompt(
                "kubectl context runbooks act on (empty: none; write steps are then refused)",
                kube_context or "",
            )
            or None
        )
        if kube_context:
            namespace = _prompt("Default namespace (empty: none)", namespace or "") or None
        grafana_url = (
            _prompt_url(
                "Grafana URL for evidence links (empty: none)",
                grafana_url or "",
                "--grafana-url",
                "grafana",
            )
            or None
        )
    for flag, key, url in (
        ("--alertmanager-url", "alertmanager", alertmanager_url),
        ("--prometheus-url", "prometheus", prometheus_url),
        ("--loki-url", "loki", loki_url),
        ("--pagerduty-url", "pagerduty", pagerduty_url),
        ("--github-url", "github", github_url),
        ("--grafana-url", "grafana", grafana_url),
    ):
        _refuse_password(flag, key, url)
    if topology_file is not None:
        _check_file("--topology-file", topology_file)
    if ca_file is not None:
        _check_file("--ca-file", ca_file, ca=True)
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        raise UsageError(
            f"--budget {budget:g}: the gather budget must be a number of seconds above 0",
            hint="for example --budget 20",
        )
    cfg_path = paths.config_file()
    cfg = load_config(cfg_path) or AppConfig()
    if name in cfg.profiles and not force:
        raise ConfigError(
            f"profile {name!r} already exists in {cfg_path}",
            hint="pass --force to replace it, or --name to create another",
        )
    http: dict[str, Any] = {"ca_file": _absolute(ca_file)} if ca_file else {}
    sources: dict[str, Any] = {}
    if alertmanager_url:
        sources["alertmanager"] = {"url": alertmanager_url, **({"http": http} if http else {})}
    if prometheus_url:
        sources["prometheus"] = {"url": prometheus_url, **({"http": http} if http else {})}
    if loki_url:
        sources["loki"] = {"url": loki_url, **({"http": http} if http else {})}
    if pagerduty or pagerduty_url:
        pd: dict[str, Any] = {"token_name": "pagerduty"}
        if pagerduty_url:
            pd["url"] = pagerduty_url
        if pagerduty_from:
            pd["from_email"] = pagerduty_from
        sources["pagerduty"] = pd
    repos = _parse_repos(github_repo)
    if repos:
        gh: dict[str, Any] = {"token_name": "github", "repos": repos}
        if github_url:
            gh["url"] = github_url
        sources["github"] = gh
    if topology_file:
        sources["topology_file"] = _absolute(topology_file)
    if not sources:
        raise UsageError(
            "no source given: nothing to write",
            hint="pass at least one of --alertmanager-url, --prometheus-url, --loki-url,"
            " --pagerduty",
        )
    profile: dict[str, Any] = {"environment": environment or name, "sources": sources}
    if budget is not None:
        profile["gather_budget_s"] = budget
    if kube_context:
        profile["kube_context"] = kube_context
    if namespace:
        profile["namespace"] = namespace
    if grafana_prometheus_uid or grafana_loki_uid:
        if not grafana_url:
            raise UsageError(
                "--grafana-prometheus-uid/--grafana-loki-uid need --grafana-url",
                hint="for example --grafana-url https://grafana.example.com",
            )
    if grafana_url:
        graf: dict[str, Any] = {"url": grafana_url}
        if grafana_prometheus_uid:
            graf["prometheus_uid"] = grafana_prometheus_uid
        if grafana_loki_uid:
            graf["loki_uid"] = grafana_loki_uid
        profile["grafana"] = graf
    data = cfg.model_dump(mode="json", exclude_defaults=True)
    data["version"] = 1
    data.setdefault("profiles", {})[name] = profile
    current = data.get("default_profile")
    if make_default is None:
        make_default = current is None or current == name
    if make_default:
        data["default_profile"] = name
    try:
        AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            validation_message(exc),
            hint="source URLs are absolute, e.g. --prometheus-url http://prometheus:9090",
        ) from None
    _write_config(cfg_path, data)
    typer.echo(f"wrote profile {name!r} to {cfg_path} (mode 0600)", err=True)
    if make_default:
        typer.echo(f"{name!r} is the default profile", err=True)
    else:
        typer.echo(
            f"the default profile is still {current!r}: use this one with `aisre -p {name}`,"
            f" or make it the default with `aisre config use {name}`",
            err=True,
        )
    needs = [t for t in ("pagerduty", "github") if t in sources]
    for t in needs:
        typer.echo(f"next: store the {t} token with `aisre auth set {t}`", err=True)
    if not kube_context:
        typer.echo(
            "note: no --kube-context: runbook write steps will be refused until the profile"
            " names one",
            err=True,
        )
    typer.echo("then check every source with `aisre doctor`", err=True)


def _redact_urls(obj: Any) -> Any:
    from aisre_cli.settings.secrets import redact

    if isinstance(obj, dict):
        return {k: _redact_urls(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact_urls(v) for v in obj]
    if isinstance(obj, str):
        import re

        # the user a URL connects as (memory_url's role) is shown; a password never is
        m = re.fullmatch(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/@\s]+)@(.*)", obj, re.S)
        if m is None:
            return redact(obj)
        user, colon, _password = m.group(2).partition(":")
        rest = redact(m.group(1) + m.group(3))
        return f"{m.group(1)}{redact(user)}{':***' if colon else ''}@{rest[len(m.group(1)) :]}"
    return obj


def token_rows(profile: Any) -> list[dict[str, str]]:
    """Where each token the profile names would be found (never the value)."""
    from aisre_cli.settings.secrets import env_var, fingerprint, lookup

    names: list[tuple[str, str]] = []
    src = profile.sources
    for key in ("alertmanager", "prometheus", "loki", "pagerduty", "github"):
        cfg = getattr(src, key)
        if cfg is not None and getattr(cfg, "token_name", None):
            names.append((key, cfg.token_name))
    # the types without a typed field (tempo, jaeger, plugins) keep their raw mapping
    for key, value in (getattr(src, "model_extra", None) or {}).items():
        if isinstance(value, dict) and isinstance(value.get("token_name"), str):
            names.append((key, value["token_name"]))
    rows = []
    for source, token_name in names:
        try:
            hit = lookup(token_name)
        except ConfigError:
            hit = None
        rows.append(
            {
                "source": source,
                "token": token_name,
                "stored": hit[1] if hit else "missing",
                "detail": fingerprint(hit[0])
                if hit
                else f"aisre auth set {token_name} (or {env_var(token_name)})",
            }
        )
    return rows


def _defaults_sample() -> dict[str, Any]:
    """A profile with every source configured: each field at its default, URLs and
    paths filled with examples (a source has no default URL where it has no vendor)."""
    from aisre_cli.settings.config import (
        AlertmanagerSource,
        GitHubSource,
        GrafanaSettings,
        LokiSource,
        PagerDutySource,
        Profile,
        PrometheusSource,
        Sources,
    )

    sources = Sources(
        alertmanager=AlertmanagerSource(url="http://alertmanager:9093"),
        prometheus=PrometheusSource(url="http://prometheus:9090"),
        loki=LokiSource(url="http://loki:3100"),
        pagerduty=PagerDutySource(),
        github=GitHubSource(repos={"acme/checkout": "checkout"}),
        changes_file="~/.local/share/aisre/changes.jsonl",
        topology_file="./topology.yaml",
    )
    sample: dict[str, Any] = Profile(
        sources=sources,
        kube_context="prod-eu",
        namespace="shop",
        grafana=GrafanaSettings(url="https://grafana.example.com"),
    ).model_dump(mode="json")
    sample["sources"].pop("bundle", None)  # a bundle replaces every source: not a default
    from aisre_cli.sources.jaeger import JaegerSource
    from aisre_cli.sources.kubernetes import KubernetesSource
    from aisre_cli.sources.tempo import TempoSource

    sample["sources"]["tempo"] = TempoSource(url="http://tempo:3200").model_dump(mode="json")
    sample["sources"]["jaeger"] = JaegerSource(url="http://jaeger-query:16686").model_dump(
        mode="json"
    )
    sample["sources"]["kubernetes"] = KubernetesSource().model_dump(mode="json")
    return sample


@config_app.command("show")
def show_cmd(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
    defaults: bool = typer.Option(
        False, "--defaults", help="Show every documented field with its default."
    ),
) -> None:
    """Show the resolved profile (secrets redacted) and where its tokens are stored.

    Examples:

      aisre config show -p staging

      aisre config show --defaults
    """
    import yaml

    from aisre_cli.settings.config import resolve_profile

    if defaults:
        sample = _defaults_sample()
        if json_out:
            import json

            typer.echo(json.dumps({"profiles": {"example": sample}}, indent=2))
            return
        typer.echo(yaml.safe_dump({"profiles": {"example": sample}}, sort_keys=False))
        return
    st = state(ctx, profile)
    rp = resolve_profile(st.profile)
    body = _redact_urls(rp.profile.model_dump(mode="json", exclude_none=True))
    tokens = token_rows(rp.profile)
    if json_out:
        import json

        typer.echo(
            json.dumps(
                {
                    "schema": "aisre.config/v1",
                    "profile": rp.name,
                    "file": str(rp.from_file) if rp.from_file else None,
                    "config": body,
                    "tokens": tokens,
                },
                indent=2,
            )
        )
        return
    from aisre_cli.ui.term import echo

    where = str(rp.from_file) if rp.from_file else "built-in"
    echo(f"# profile {visible(rp.name, oneline=True)} ({where})")
    echo(yaml.safe_dump(body, sort_keys=False).rstrip())
    if tokens:
        echo("# tokens (values never shown)")
        for r in tokens:
            line = f"{r['source']}: {r['token']}: {r['stored']} ({r['detail']})"
            echo(f"#   {visible(line, oneline=True)}")


def _profile_names() -> tuple[Any, list[str]]:
    from aisre_cli.settings.config import DEMO_PROFILE, load_config

    cfg = load_config()
    names = list(cfg.profiles) if cfg else []
    if DEMO_PROFILE not in names:
        names.append(DEMO_PROFILE)
    return cfg, names


@config_app.command("list")
def list_cmd(json_out: JsonOpt = False) -> None:
    """List the profiles; `*` marks the one used when no -p is given.

    Example: aisre config list --json
    """
    from aisre_cli.settings.config import demo_profile, resolve_profile

    cfg, names = _profile_names()
    try:
        active = resolve_profile(None).name
    except ConfigError:
        active = None  # AISRE_PROFILE names a missing profile: `config list` still works
    rows: list[dict[str, Any]] = []
    for n in names:
        prof = cfg.profiles[n] if cfg and n in cfg.profiles else demo_profile()
        src = prof.sources
        kinds = [
            k
            for k in ("alertmanager", "pagerduty", "prometheus", "loki", "github")
            if getattr(src, k)
        ]
        kinds += list(src.model_extra or {})  # plugin source types
        kinds += [k for k in ("bundle", "changes_file", "topology_file") if getattr(src, k)]
        rows.append(
            {
                "name": n,
                "default": cfg is not None and cfg.default_profile == n,
                "active": n == active,
                "environment": prof.environment,
                "sources": kinds,
            }
        )
    if json_out:
        import json

        typer.echo(json.dumps({"schema": "aisre.profiles/v1", "profiles": rows}, indent=2))
        return
    from aisre_cli.ui.term import echo

    # names and environments come from the file: controls in them are shown escaped
    shown = [
        (visible(r["name"], oneline=True), visible(r["environment"], oneline=True), r) for r in rows
    ]
    width = max(len(name) for name, _, _ in shown)
    for name, env, r in shown:
        mark = "*" if r["active"] else " "
        extra = " (default)" if r["default"] else ""
        sources = visible(", ".join(r["sources"]) or "-", oneline=True)
        echo(f"{mark} {name:<{width}}  {env:<8}  {sources}{extra}")
    env_profile = os.environ.get("AISRE_PROFILE")
    if env_profile:
        what = "picks the active profile" if active is not None else "names no profile"
        echo(f"AISRE_PROFILE={visible(env_profile, oneline=True)} {what}", err=True)


@config_app.command("use")
def use_cmd(name: str = typer.Argument(..., help="Profile to make the default.")) -> None:
    """Make NAME the default profile (used when neither -p nor AISRE_PROFILE is given).

    Example: aisre config use staging
    """
    from aisre_cli.settings import paths
    from aisre_cli.settings.config import AppConfig

    cfg, names = _profile_names()
    if name not in names:
        raise ConfigError(
            f"profile {name!r} not found (known: {', '.join(names)})",
            hint="create it with `aisre config init --name " + name + "`",
        )
    data = (cfg or AppConfig()).model_dump(mode="json", exclude_defaults=True)
    data["version"] = 1
    data["default_profile"] = name
    _write_config(paths.config_file(), data)
    typer.echo(f"{name!r} is now the default profile", err=True)
    env_profile = os.environ.get("AISRE_PROFILE")
    if env_profile not in (None, "", name):
        typer.echo(
            f"note: AISRE_PROFILE={env_profile!r} still overrides it in this shell", err=True
        )


@config_app.command("edit")
def edit_cmd() -> None:
    """Open config.yaml in $VISUAL/$EDITOR; the edit is saved only if it validates.

    The editor is $VISUAL, else $EDITOR, else vi.

    Example: aisre config edit
    """
    import shlex
    import subprocess

    from aisre_cli.settings import paths
    from aisre_cli.settings.config import load_config

    path = paths.config_file()
    text = (
        path.read_text(encoding="utf-8")
        if path.exists()
        else "# aisre configuration; `aisre config show --defaults` lists every field.\n"
        "version: 1\nprofiles: {}\n"
    )
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(path.name + ".edit.yaml")
    if draft.exists():  # a previous edit that did not validate: continue from it
        typer.echo(f"continuing the unsaved draft {draft}", err=True)
        text = draft.read_text(encoding="utf-8")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    try:
        rc = subprocess.call([*shlex.split(editor), str(draft)])
    except OSError as exc:
        raise ConfigError(
            f"cannot start the editor {editor!r} ({exc.strerror})",
            hint="set $EDITOR, e.g. EDITOR=nano aisre config edit",
        ) from None
    if rc != 0:
        raise ConfigError(
            f"the editor exited with status {rc}; {path} is unchanged",
            hint=f"your draft is in {draft}",
        )
    try:
        load_config(draft)
    except ConfigError as exc:
        raise ConfigError(
            f"not saved: {exc.message}",
            hint=f"{path} is unchanged; run `aisre config edit` again to fix the draft"
            f" ({draft}), or delete the draft to start over",
        ) from None
    os.chmod(draft, 0o600)
    target = _target(path)
    if target != path:  # keep the link: the draft becomes the file it points to
        import shutil

        tmp = target.with_name(target.name + ".tmp")  # same folder: an atomic replace
        shutil.copyfile(draft, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        draft.unlink()
    else:
        os.replace(draft, path)
    typer.echo(f"saved {path}", err=True)


@config_app.command("path")
def path_cmd() -> None:
    """Print the path of config.yaml.

    Example: aisre config path
    """
    from aisre_cli.settings import paths

    typer.echo(str(paths.config_file()))
