"""Every path aisre touches, in one place.

`AISRE_HOME`, when set, replaces both XDG roots (config in `$AISRE_HOME/config`, data in
`$AISRE_HOME/data`): tests point it at a temporary directory so they never read or
write the user's real files.
"""

from __future__ import annotations

import os
from pathlib import Path


def _home_override() -> Path | None:
    v = os.environ.get("AISRE_HOME")
    return Path(v).expanduser() if v else None


def config_dir() -> Path:
    home = _home_override()
    if home:
        return home / "config"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "aisre"


def data_dir() -> Path:
    home = _home_override()
    if home:
        return home / "data"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "aisre"


def config_file() -> Path:
    return config_dir() / "config.yaml"


def audit_log_file() -> Path:
    return data_dir() / "audit.jsonl"


def memory_db_file() -> Path:
    return data_dir() / "memory.sqlite3"


def runs_dir() -> Path:
    return data_dir() / "runs"


def changes_file() -> Path:
    """The file change source written by `aisre change record`."""
    return data_dir() / "changes.jsonl"


def demo_bundle_dir() -> Path:
    """The demo incident shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "data" / "demo"


def shipped_runbooks_dir() -> Path:
    """The runbooks shipped with aisre.

    An installed wheel carries them as package data (`aisre_cli/data/runbooks/`, copied
    from the repository's `runbooks/` at build time: setup.py); a source checkout or an
    editable install reads `runbooks/` at the repository root."""
    pkg = Path(__file__).resolve().parent.parent
    packaged = pkg / "data" / "runbooks"
    if packaged.is_dir():
        return packaged
    return pkg.parent / "runbooks"


def private_parent(path: Path) -> None:
    """Create the folder of `path`, mode 0700 when it is inside the data folder (which
    is then made 0700 too if aisre creates it): incident reports with their log
    excerpts, the change feed, run checkpoints and the audit trail are nobody else's
    business on a shared bastion. A folder that already exists keeps its mode; a path
    outside the data folder (a shared change file, a bundle) gets the usual umask."""
    folder = path.parent
    data = data_dir()
    inside = folder == data or data in folder.parents
    if inside:
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700 if inside else 0o777)


def private_file_mode(path: Path) -> int:
    """The mode a new file at `path` is created with: 0600 inside the data folder (see
    `private_parent`), else 0644 (less the umask) as before."""
    data = data_dir()
    return 0o600 if data in path.parents else 0o644
