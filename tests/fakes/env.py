"""Helpers for tests that run `aisre` as a subprocess against the fake kubectl."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

FAKES = Path(__file__).resolve().parent
REPO = FAKES.parent.parent
AISRE = [sys.executable, "-m", "aisre_cli"]


def write_config(home: Path, profile: dict[str, Any], policy: dict[str, Any] | None = None) -> None:
    """Write config.yaml (one profile named `t`) and optionally a policy file."""
    cfg_dir = home / "config"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    prof = {"environment": "prod", "kube_context": "ctx-test", "namespace": "shop", **profile}
    if policy is not None:
        pol = home / "policy.yaml"
        pol.write_text(yaml.safe_dump(policy), encoding="utf-8")
        prof["policy_file"] = str(pol)
    (cfg_dir / "config.yaml").write_text(
        yaml.safe_dump({"version": 1, "default_profile": "t", "profiles": {"t": prof}}),
        encoding="utf-8",
    )


def default_sigint() -> None:
    """`preexec_fn` for a child that is sent SIGINT: its disposition back to the default.
    A job a shell starts in the background (`.ci/run &`, `nohup`) ignores SIGINT, its
    children inherit that, and Python started with SIGINT ignored never installs the
    handler that raises KeyboardInterrupt: Ctrl-C tests then time out or run to the end."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def make_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AISRE_HOME=str(home),
        PATH=f"{FAKES}{os.pathsep}{env.get('PATH', '')}",
        FAKE_KUBECTL_LOG=str(home / "kubectl.jsonl"),
        PYTHONPATH=str(REPO),
        AISRE_RAISE_ERRORS="0",
        TERM="dumb",
        COLUMNS="200",
        NO_COLOR="1",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    env.pop("AISRE_PROFILE", None)
    env.pop("AISRE_CRASHPOINT", None)
    env.update(extra)
    return env


def kubectl_calls(home: Path) -> list[list[str]]:
    p = home / "kubectl.jsonl"
    if not p.exists():
        return []
    return [json.loads(line)["argv"] for line in p.read_text().splitlines() if line.strip()]


def writes(home: Path, verb: str = "undo") -> list[list[str]]:
    """kubectl calls that performed `verb` for real (not a --dry-run=server preview)."""
    return [a for a in kubectl_calls(home) if verb in a and "--dry-run=server" not in a]


def unpinned_calls(log: Path) -> list[list[str]]:
    """Recorded kubectl argvs (a FAKE_KUBECTL_AUDIT or FAKE_KUBECTL_LOG file) that do
    not name a context with `--context NAME` or `--context=NAME`."""
    if not log.exists():
        return []
    out: list[list[str]] = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        argv = json.loads(line)["argv"]
        pinned = any(
            (a == "--context" and i + 1 < len(argv) and argv[i + 1])
            or (a.startswith("--context=") and len(a) > len("--context="))
            for i, a in enumerate(argv)
        )
        if not pinned:
            out.append(argv)
    return out
