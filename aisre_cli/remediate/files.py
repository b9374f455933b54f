"""Where runbooks live: the shipped folder and a profile's `runbook_dirs`.

Kept apart from the loader so that listing (and hashing) the files needs neither YAML
nor the runbook models.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from aisre_cli.settings import paths

if TYPE_CHECKING:
    from aisre_cli.settings.config import Profile


def runbook_dirs(profile: Profile | None) -> list[Path]:
    dirs = [paths.shipped_runbooks_dir()]
    if profile is not None:
        dirs += [Path(d).expanduser() for d in profile.runbook_dirs]
    return dirs


def runbook_files(targets: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for t in targets:
        if t.is_dir():
            out += sorted([*t.glob("*.yaml"), *t.glob("*.yml")])
        elif t.exists():
            out.append(t)
        else:
            out.append(t)  # reported as unreadable
    return out
