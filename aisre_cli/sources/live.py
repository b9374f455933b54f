"""Live connectors for a profile: Alertmanager, Prometheus, Loki, PagerDuty, GitHub,
the change file and the topology file.

`live_sources(profile)` is what `build_sources` returns when no bundle is given. It
only builds objects (no I/O): tokens are looked up here (keyring, then environment)
but a missing token is not an error until the source is used, so `aisre alerts`
still works with the sources that are configured correctly and says which one is
not. Each connector gets the profile's gather budget as its per-operation deadline,
so a hung server can never keep a thread (and the process) alive past it.

Order matters in one place: Alertmanager comes before PagerDuty in `alerts`, so when
the same incident is seen through both, the merged row keeps the Alertmanager
fingerprint as its id (`gather.dedupe_alerts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aisre_cli.errors import ConfigError
from aisre_cli.settings import paths
from aisre_cli.settings.config import Profile
from aisre_cli.settings.secrets import get_token

if TYPE_CHECKING:
    import httpx
    from pydantic import SecretStr

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
    """Build the connectors the profile configures (no network I/O happens here)."""
    from aisre_cli.sources.registry import SourceSet

    src = profile.sources
    labels = list(profile.service_labels)
    budget = budget_s if budget_s is not None else profile.gather_budget_s
    out = SourceSet()

    def token(name: str | None) -> SecretStr | None:
        return get_token(name) if name else None

    if src.alertmanager is not None:
        from aisre_cli.sources.alertmanager import Alertmanager

        am = src.alertmanager
        out.alerts.append(
            Alertmanager(
                am,
                token=token(am.token_name),
                service_labels=labels,
                client=client,
                budget_s=budget,
            )
        )
    if src.pagerduty is not None:
        from aisre_cli.sources.pagerduty import PagerDuty

        pd = src.pagerduty
        out.alerts.append(
            PagerDuty(
                pd,
                token=token(pd.token_name),
                service_labels=labels,
                client=client,
                budget_s=budget,
            )
        )
    if src.prometheus is not None:
        from aisre_cli.sources.prometheus import Prometheus

        pm = src.prometheus
        out.metrics.append(
            Prometheus(
                pm,
                token=token(pm.token_name),
                service_labels=labels,
                client=client,
                budget_s=budget,
            )
        )
    if src.loki is not None:
        from aisre_cli.sources.loki import Loki

        lk = src.loki
        out.logs.append(
            Loki(
                lk,
                token=token(lk.token_name),
                service_labels=labels,
                client=client,
                budget_s=budget,
            )
        )
    if src.github is not None:
        from aisre_cli.sources.github import GitHub

        gh = src.github
        out.changes.append(GitHub(gh, token=token(gh.token_name), client=client, budget_s=budget))
    from aisre_cli.sources.changefile import ChangeFile, TopologyFile

    if src.changes_file:
        out.changes.append(ChangeFile(Path(src.changes_file).expanduser()))
    elif include_change_file:
        out.changes.append(ChangeFile(paths.changes_file()))
    if src.topology_file:
        out.topology.append(TopologyFile(Path(src.topology_file).expanduser()))
    if not out.alerts and not out.metrics and not out.logs:
        raise ConfigError(
            "this profile configures no source (no alertmanager, pagerduty, prometheus or loki)",
            hint="run `aisre config init`, or use --bundle DIR",
        )
    return out


def checkables(sources: SourceSet) -> list[Checkable]:
    """Every connector in the set that can be health-checked (for `aisre doctor`)."""
    seen: list[Checkable] = []
    for group in (sources.alerts, sources.metrics, sources.logs, sources.changes):
        for s in group:
            if isinstance(s, Checkable) and all(s is not x for x in seen):
                seen.append(s)
    return seen
