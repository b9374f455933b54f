"""Live connectors for a profile (Alertmanager, Prometheus, Loki, PagerDuty, GitHub).

Filled in by the live-sources work (issue 4). Until a connector is configured the
set is empty and commands say which source is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aisre_cli.errors import ConfigError
from aisre_cli.settings.config import Profile

if TYPE_CHECKING:
    from aisre_cli.sources.registry import SourceSet


def live_sources(profile: Profile) -> SourceSet:
    raise ConfigError(
        "this profile configures no bundle and live connectors are not available yet",
        hint="use --bundle DIR, or add `sources.bundle` to the profile",
    )
