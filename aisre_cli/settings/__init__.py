"""Configuration: profiles (pydantic models), XDG paths and secrets."""

from aisre_cli.settings.config import (
    DEMO_PROFILE,
    AppConfig,
    Profile,
    ResolvedProfile,
    load_config,
    resolve_profile,
)

__all__ = [
    "DEMO_PROFILE",
    "AppConfig",
    "Profile",
    "ResolvedProfile",
    "load_config",
    "resolve_profile",
]
