"""Profiles and their sources, as documented pydantic models.

`$XDG_CONFIG_HOME/aisre/config.yaml` holds named profiles (for example `prod`,
`staging`). A profile says which sources to talk to and how to map labels to
services. Secrets never live here: a source names its credential (`token_name`) and
`settings.secrets` looks it up in the OS keyring, then in `AISRE_<NAME>_TOKEN`.

Any field can be overridden for one run with `AISRE_<FIELD>` environment variables
for the handful of top-level knobs (`AISRE_PROFILE`), so CI needs no config file.
With no config file at all, commands use the built-in `demo` profile, which reads the
incident bundle shipped inside the package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from aisre_cli.errors import ConfigError
from aisre_cli.settings import paths
from aisre_cli.settings.safeyaml import load_yaml

DEMO_PROFILE = "demo"
DEFAULT_SERVICE_LABELS: tuple[str, ...] = ("service", "job", "app")
"""Labels that name a series' or alert's service, first match wins (the one default)."""


def _check_url(value: str) -> str:
    """A source URL must be absolute http(s) with a host: `localhost:9090` would be read
    as scheme `localhost` and fail only later, at the first page."""
    from urllib.parse import urlsplit

    v = value.strip()
    try:
        parts = urlsplit(v)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        guess = f" (did you mean http://{v}?)" if "://" not in v and v else ""
        raise ValueError(f"{value!r} is not an http:// or https:// URL{guess}")
    return value


check_url = _check_url
"""Public name of the source URL check (`aisre config init` asks again on a bad answer)."""

SourceUrl = Annotated[str, AfterValidator(_check_url)]
"""An absolute http(s) URL with a host."""


def _check_context(value: str) -> str:
    """A kubeconfig context name: printable, no leading `-` (it follows `--context` in
    an argv), at most 253 characters."""
    import re

    ok = re.fullmatch(r"[^\s\x00-\x1f\x7f-][^\x00-\x1f\x7f]{0,252}", value)
    if not ok or value != value.strip():
        raise ValueError(
            f"{value!r} is not a kubeconfig context name (printable, no leading '-' or spaces)"
        )
    return value


def _check_namespace(value: str) -> str:
    """A Kubernetes namespace: an RFC 1123 label."""
    import re

    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
        raise ValueError(
            f"{value!r} is not a Kubernetes namespace (lower-case letters, digits and '-',"
            " at most 63)"
        )
    return value


def _check_token_name(value: str) -> str:
    """A keyring entry name (`aisre auth set NAME`): checked when the file is read, so
    the error names the file and the field, not only the name."""
    from aisre_cli.settings.secrets import is_valid_name

    if not is_valid_name(value):
        raise ValueError(
            f"{value!r} is not a token name (letters, digits, '.', '_' or '-', at most 64,"
            " for example `pagerduty`)"
        )
    return value


TokenName = Annotated[str, AfterValidator(_check_token_name)]
"""The name of a token in the keyring (and of its AISRE_<NAME>_TOKEN fallback)."""

KubeContext = Annotated[str, AfterValidator(_check_context)]
Namespace = Annotated[str, AfterValidator(_check_namespace)]

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A duration or size that must be a finite number above 0: a negative or NaN budget or
timeout would end every gather at once (or never), and `inf` overflows where it is
turned into bytes or a deadline."""
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
"""A finite number, 0 or more."""


def _check_memory_url(value: str) -> str:
    """`postgresql://USER@HOST:PORT/DATABASE`, never with a password in it (the password
    belongs in the keyring: a config file is copied, pasted and committed)."""
    from urllib.parse import urlsplit

    v = value.strip()
    try:
        parts = urlsplit(v)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:  # "Port out of range 0-65535", a port that is not a number
        raise ValueError(
            f"memory_url is not a valid URL ({exc}): postgresql://USER@HOST:PORT/DATABASE"
        ) from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("memory_url must be a postgresql://USER@HOST:PORT/DATABASE URL")
    if parts.password is not None:
        raise ValueError(
            "memory_url must not contain a password: store it with `aisre auth set memory`"
        )
    if not parts.path.strip("/"):
        raise ValueError("memory_url names no database (postgresql://USER@HOST:PORT/DATABASE)")
    return v


MemoryUrl = Annotated[str, AfterValidator(_check_memory_url)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HttpSettings(_Strict):
    """Per-source HTTP behaviour."""

    connect_timeout: Positive = 3.0
    """Seconds to wait for a TCP/TLS connection."""
    read_timeout: Positive = 10.0
    """Seconds to wait for a response (per read)."""
    retries: int = 2
    """Retries for idempotent reads on 429/502/503/504 and connection errors."""
    verify_tls: bool = True
    """Verify TLS certificates. Turning this off is logged as a warning on every call."""
    ca_file: str | None = None
    """A custom CA bundle (PEM) for sources behind an internal CA."""
    max_body_bytes: int = 20_000_000
    """Responses larger than this are refused (protects memory during a page)."""


class AlertmanagerSource(_Strict):
    """An Alertmanager (API v2)."""

    url: SourceUrl
    """Base URL, e.g. http://alertmanager:9093."""
    token_name: TokenName | None = None
    """Keyring name of the bearer token (or, with `username`, the Basic-auth password)."""
    username: str | None = None
    """HTTP Basic user (Grafana Cloud: the stack's instance id; a proxy with htpasswd)."""
    filters: list[str] = Field(default_factory=list)
    """Alertmanager matchers applied to every alert listing, e.g. `env="prod"`."""
    receiver: str | None = None
    """Only alerts routed to receivers matching this regex."""
    http: HttpSettings = Field(default_factory=HttpSettings)


class PrometheusSource(_Strict):
    """A Prometheus-compatible HTTP API."""

    url: SourceUrl
    """Base URL, e.g. http://prometheus:9090."""
    token_name: TokenName | None = None
    """Keyring name of the bearer token (or, with `username`, the Basic-auth password)."""
    username: str | None = None
    """HTTP Basic user (Grafana Cloud: the stack's instance id; a proxy with htpasswd)."""
    max_points: int = 600
    """The query step is chosen so no series has more points than this."""
    max_series: int = 500
    """Series per query above this are dropped and noted."""
    queries: dict[str, str] = Field(default_factory=dict)
    """Extra PromQL to gather per incident: name → query; `$service` is substituted."""
    default_queries: bool = True
    """Also gather the built-in per-service set (errors, requests, latency, up, cpu, memory)."""
    rate_window: str | None = None
    """Range used inside rate() (e.g. `2m`); default: 4 query steps, at least 1m."""
    http: HttpSettings = Field(default_factory=HttpSettings)


class LokiSource(_Strict):
    """A Loki HTTP API."""

    url: SourceUrl
    """Base URL, e.g. http://loki:3100."""
    token_name: TokenName | None = None
    """Keyring name of the bearer token (or, with `username`, the Basic-auth password)."""
    username: str | None = None
    """HTTP Basic user (Grafana Cloud: the stack's instance id; a proxy with htpasswd)."""
    selector: str = '{service="$service"}'
    """LogQL stream selector per service; `$service` is substituted."""
    max_lines: int = 20_000
    """Line budget per incident."""
    http: HttpSettings = Field(default_factory=HttpSettings)


class PagerDutySource(_Strict):
    """PagerDuty REST API v2."""

    url: SourceUrl = "https://api.pagerduty.com"
    """API base URL."""
    token_name: TokenName = "pagerduty"
    """Name of the API token in the keyring."""
    service_ids: list[str] = Field(default_factory=list)
    """Only incidents of these PagerDuty services (empty: all)."""
    from_email: str | None = None
    """The `From` header required for writes (notes, acknowledge)."""
    max_incidents: int = 100
    """Open incidents whose alerts are fetched (the most recent first)."""
    http: HttpSettings = Field(default_factory=HttpSettings)


class GitHubSource(_Strict):
    """GitHub deployments and releases as a change source."""

    url: SourceUrl = "https://api.github.com"
    """API base URL (GitHub Enterprise: https://HOST/api/v3)."""
    token_name: TokenName = "github"
    """Name of the token in the keyring."""
    repos: dict[str, str] = Field(default_factory=dict)
    """owner/repo → service name."""
    environments: list[str] = Field(default_factory=list)
    """Only deployments to these environments (empty: all)."""
    releases: bool = True
    """Also report published releases as change events."""
    http: HttpSettings = Field(default_factory=HttpSettings)


class GrafanaSettings(_Strict):
    """Grafana, for Explore links next to metric and log evidence."""

    url: SourceUrl
    """Base URL, e.g. https://grafana.example.com (a sub-path such as /grafana is kept)."""
    prometheus_uid: str = "prometheus"
    """uid of the Grafana datasource that queries the profile's Prometheus."""
    loki_uid: str = "loki"
    """uid of the Grafana datasource that queries the profile's Loki."""
    org_id: int | None = None
    """Grafana organisation (`orgId`); default: the user's current one."""


class Sources(BaseModel):
    """The sources of one profile. Each is optional.

    The built-in types have typed fields; any other key belongs to a source type
    registered by a plugin (sources/catalog.py validates it with that type's model and
    refuses keys no type reads)."""

    model_config = ConfigDict(extra="allow")

    bundle: str | None = None
    """An incident bundle directory used as an offline source for everything."""
    alertmanager: AlertmanagerSource | None = None
    prometheus: PrometheusSource | None = None
    loki: LokiSource | None = None
    pagerduty: PagerDutySource | None = None
    github: GitHubSource | None = None
    changes_file: str | None = None
    """A JSON-lines change feed (default: the one `aisre change record` writes)."""
    topology_file: str | None = None
    """A topology.yaml (bundle format) describing who calls whom."""


class InputLimits(_Strict):
    """Bounds on what is read from an incident bundle, so a hostile or runaway bundle
    ends in a one-line error or a note, never in minutes of work or an out-of-memory kill."""

    max_file_mb: Positive = 1024.0
    """Largest single data file (alerts, metrics, changes JSON; logs and traces JSONL)."""
    max_yaml_mb: Positive = 16.0
    """Largest YAML file in a bundle (bundle.yaml, topology.yaml, metrics/queries.yaml)."""
    max_log_lines: int = Field(default=5_000_000, gt=0)
    """Log lines read from a bundle in total; more is refused with a one-line error."""
    max_trace_spans: int = Field(default=2_000_000, gt=0)
    """Trace spans read from a bundle in total; more is refused with a one-line error."""
    max_events: int = Field(default=1_000_000, gt=0)
    """Cluster events read from a bundle in total; more is refused with a one-line error."""
    max_series: int = Field(default=50_000, gt=0)
    """Metric series kept from a bundle; the rest are dropped with a note."""
    max_topology_services: int = Field(default=20_000, gt=0)
    """Services in a topology; a larger one is refused with a one-line error."""


class Profile(_Strict):
    """One named environment (prod, staging, ...)."""

    environment: str = "prod"
    """Environment name used by governance (autonomy, risk)."""
    sources: Sources = Field(default_factory=Sources)
    service_labels: list[str] = Field(default_factory=lambda: list(DEFAULT_SERVICE_LABELS))
    """Labels that name a series' or alert's service, first match wins."""
    gather_budget_s: Positive = 20.0
    """Overall time budget for gathering from all sources, seconds (finite, above 0)."""
    lookback_minutes: Positive = 60.0
    """How far before the alert's start to look for causes."""
    lookahead_minutes: NonNegative = 15.0
    """How far after the alert's start to look."""
    kube_context: KubeContext | None = None
    """kubectl context every runbook kubectl call is pinned to (`--context`). Without
    one, write steps are refused and reads use kubectl's current context."""
    namespace: Namespace | None = None
    """Default Kubernetes namespace (`--namespace`) of runbook kubectl calls."""
    grafana: GrafanaSettings | None = None
    """Grafana for Explore links on metric and log evidence (none: no links)."""
    runbook_dirs: list[str] = Field(default_factory=list)
    """Extra folders of runbooks (the shipped ones are always loaded)."""
    policy_file: str | None = None
    """Governance policy YAML (default: built-in `approved` everywhere)."""
    signal_families: dict[str, list[str]] = Field(default_factory=dict)
    """Overrides of the name patterns (regex) that put a metric in a signal family. A
    pattern is tried on the lower-cased name as written and with its separators (`.`,
    `-`, `/`, camelCase) read as `_`."""
    limits: InputLimits = Field(default_factory=InputLimits)
    """Caps on bundle input (file sizes, lines, series, topology size)."""
    memory_url: MemoryUrl | None = None
    """The team's shared incident memory, change feed and track record on PostgreSQL:
    postgresql://USER@HOST:PORT/DATABASE (no password in it). Unset: the local SQLite
    memory in the data directory."""
    memory_password_name: TokenName = "memory"
    """Name of the team memory's password in the keyring (`aisre auth set memory`;
    CI: AISRE_MEMORY_TOKEN); without one, libpq's ~/.pgpass or PGPASSWORD apply."""


class AppConfig(_Strict):
    """The whole config file."""

    version: Literal[1] = 1
    default_profile: str | None = None
    """Profile used when --profile and AISRE_PROFILE are not given."""
    profiles: dict[str, Profile] = Field(default_factory=dict)


class ResolvedProfile(BaseModel):
    """A profile picked for this run, with where it came from."""

    name: str
    profile: Profile
    from_file: Path | None = None
    implicit_demo: bool = False
    """True when no config exists and the demo profile was picked silently."""


def validation_message(exc: ValidationError) -> str:
    """`profiles.prod.sources.prometheus.url: 'x' is not an http:// or https:// URL`.

    pydantic names the model a mapping would have been (`a valid dictionary or instance
    of Profile`): a class name of the code is no help to whoever wrote the file."""
    import re

    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    msg = re.sub(r" or instance of \w+", "", str(err["msg"]).removeprefix("Value error, "))
    return f"{loc}: {msg}" if loc else msg


def demo_profile() -> Profile:
    return Profile(
        environment="demo",
        sources=Sources(bundle=str(paths.demo_bundle_dir())),
    )


def load_config(path: Path | None = None) -> AppConfig | None:
    """Load and validate the config file; None when it does not exist."""
    p = path or paths.config_file()
    if not p.exists():
        if p.is_symlink():
            # A config.yaml linked into a dotfiles checkout that moved is not "no config":
            # falling back to the demo would show made-up alerts during a page.
            raise ConfigError(
                f"{p}: a symlink to {os.readlink(p)}, which does not exist",
                hint="restore the file it points to, or remove the link and run"
                " `aisre config init`",
            )
        return None
    raw: Any = load_yaml(
        p, error=ConfigError, hint="fix the file or recreate it with `aisre config init`"
    )
    if raw is None:
        return AppConfig()
    if not isinstance(raw, dict):
        kind = "a list" if isinstance(raw, list) else f"a single value ({type(raw).__name__})"
        raise ConfigError(
            f"{p}: expected a mapping (version, default_profile, profiles) at the top,"
            f" found {kind}",
            hint="see `aisre config show --defaults` for the documented fields",
        )
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            f"{p}: {validation_message(exc)}",
            hint="see `aisre config show --defaults` for the documented fields",
        ) from None


def resolve_profile(name: str | None = None, config_path: Path | None = None) -> ResolvedProfile:
    """Pick the profile for this run: --profile, then AISRE_PROFILE, then the default."""
    cfg = load_config(config_path)
    env = os.environ.get("AISRE_PROFILE") or None
    wanted = name or env
    # where the name came from, for the error: the engineer may not have typed it
    origin = " (from AISRE_PROFILE)" if wanted is not None and wanted == env else ""
    if cfg is None:
        if wanted not in (None, DEMO_PROFILE):
            raise ConfigError(
                f"profile {wanted!r}{origin} not found: no config file at {paths.config_file()}",
                hint="create one with `aisre config init`, or use --bundle DIR",
            )
        return ResolvedProfile(name=DEMO_PROFILE, profile=demo_profile(), implicit_demo=True)
    if wanted is None and cfg.default_profile is not None:
        wanted = cfg.default_profile
        if wanted not in cfg.profiles and wanted != DEMO_PROFILE:
            src = config_path or paths.config_file()
            known = ", ".join(sorted(cfg.profiles)) or "none"
            raise ConfigError(
                f"{src}: default_profile {wanted!r} names no profile (known: {known})",
                hint="set the default with `aisre config use NAME`, or pick one with -p NAME",
            )
    if wanted is None:
        if len(cfg.profiles) == 1:
            wanted = next(iter(cfg.profiles))
        else:
            # A config file that names no profile to use must not turn into the demo's
            # made-up alerts during a page: an empty or truncated file, or several
            # profiles and no default, is an error (`-p demo` still picks the demo).
            src = config_path or paths.config_file()
            if not cfg.profiles:
                raise ConfigError(
                    f"{src} defines no profile",
                    hint="add one with `aisre config init`, or pass `-p demo` for the demo",
                )
            raise ConfigError(
                f"{src} defines {len(cfg.profiles)} profiles "
                f"({', '.join(sorted(cfg.profiles))}) and no default_profile",
                hint="pick one with `-p NAME`, or set the default with `aisre config use NAME`",
            )
    if wanted in cfg.profiles:
        src = config_path or paths.config_file()
        return ResolvedProfile(name=wanted, profile=cfg.profiles[wanted], from_file=src)
    if wanted == DEMO_PROFILE:
        return ResolvedProfile(name=DEMO_PROFILE, profile=demo_profile())
    known = ", ".join(sorted(cfg.profiles)) or "none"
    raise ConfigError(
        f"profile {wanted!r}{origin} not found (known: {known})",
        hint="unset AISRE_PROFILE or set it to a known profile"
        if origin
        else "list profiles with `aisre config list`",
    )
