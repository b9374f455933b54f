"""Live connectors for a profile: Alertmanager, Prometheus, Loki, PagerDuty, GitHub,
Tempo, Jaeger, the change file and the topology file.

`live_sources(profile)` is what `build_sources` returns when no bundle is given. It
only builds objects (no I/O): tokens are looked up here (keyring, then environment)
but a missing token is not an error until the source is used, so `aisre alerts`
still works with the sources that are configured correctly and says which one is
not. Each connector gets the profile's gather budget as its per-operation deadline,
so a hung server can never keep a thread (and the process) alive past it.

The connectors come from the source table (sources/catalog.py), in its order: that
matters in one place: Alertmanager comes before PagerDuty in `alerts`, so when the
same incident is seen through both, the merged row keeps the Alertmanager fingerprint
as its id (`gather.dedupe_alerts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aisre_cli.errors import ConfigError
from aisre_cli.settings.config import Profile
from aisre_cli.settings.secrets import get_token

if TYPE_CHECKING:
    import httpx

    from aisre_cli.sources.http import Health
    from aisre_cli.sources.registry import SourceSet


@runtime_checkable
class Checkable(Protocol):
    name: str

    def check(self) -> Health: ...


def live_sources(
    profile: Profile,
    *,
    client: httpx.Client | None = None,
    budget_s: float | None = None,
    include_change_file: bool = True,
) -> SourceSet:
    """Build the connectors the profile configures (no network I/O happens here): one
    loop over the source table (sources/catalog.py)."""
    from aisre_cli.sources.catalog import SourceEnv, catalog, check_keys, configured
    from aisre_cli.sources.registry import SourceSet

    src = profile.sources
    check_keys(src)
    env = SourceEnv(
        service_labels=tuple(profile.service_labels),
        budget_s=budget_s if budget_s is not None else profile.gather_budget_s,
        client=client,
        token=lambda name: get_token(name) if name else None,
        include_defaults=include_change_file,
        kube_context=profile.kube_context,
        namespace=profile.namespace,
    )
    out = SourceSet()
    for t in catalog().types.values():
        cfg = configured(src, t)
        if cfg is not None:
            obj: object | None = t.build(cfg, env)
        elif t.default is not None and env.include_defaults:
            obj = t.default(env)
        else:
            obj = None
        if obj is not None:
            for role in t.roles:
                out.add(role, obj)
    if not out.alerts and not out.metrics and not out.logs:
        raise ConfigError(
            "this profile configures no source (no alertmanager, pagerduty, prometheus or loki)",
            hint="run `aisre config init`, or use --bundle DIR",
        )
    return out


def checkables(sources: SourceSet) -> list[Checkable]:
    """Every connector in the set that can be health-checked (for `aisre doctor`)."""
    seen: list[Checkable] = []
    groups = (sources.alerts, sources.metrics, sources.logs, sources.changes, sources.traces)
    for group in groups:
        for s in group:
            if isinstance(s, Checkable) and all(s is not x for x in seen):
                seen.append(s)
    return seen
