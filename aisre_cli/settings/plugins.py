"""One registration path for built-ins and plugins (sources, capabilities).

A *hook* is a function that receives a `register` callable and calls it once per
thing it provides, the way simonw/llm's `register_models(register)` hookspec and
harlequin's adapter entry points work:

    def register_sources(register):
        register(SourceType(key="tempo", roles=("traces",), config=TempoSource, build=...))

Built-ins are listed as `"module:function"` references and loaded by exactly the same
code as a third-party package's entry point in the group (`aisre.sources`,
`aisre.capabilities`):

    [project.entry-points."aisre.sources"]
    tempo = "aisre_tempo:register_sources"

Hooks are imported only when their group is first needed (never for `--help`). A
built-in that fails to load is a bug and raises; a plugin that fails is recorded as a
`PluginError` (shown by the caller) so one broken package cannot stop a triage.
`AISRE_NO_PLUGINS=1` loads the built-ins only.

A plugin is third-party code on an on-call laptop, so its hook is held at arm's length:

- it runs in its own thread, for at most `PLUGIN_LOAD_TIMEOUT_S` (a plugin that hangs
  at import costs that long once, then is skipped), and whatever it raises, including
  `SystemExit` and `KeyboardInterrupt`, is recorded, never propagated (a real Ctrl-C
  reaches the main thread, which is only waiting, and still interrupts);
- what it prints while loading goes to stderr (never into `--json` on stdout);
- what it registers is collected first and added only if all of it is well formed
  (the group's contract, `_CONTRACTS`) and no name in it is already taken: a plugin
  cannot replace a built-in (a capability must be what governance thinks it is), and
  a name two plugins claim is loaded from neither. A plugin is loaded whole or not at
  all;
- a plugin source type's `build`/`default` that raises becomes a one-line
  `ConfigError` naming the plugin (or, for `default`, a recorded `PluginError`);
- what such a factory builds is remembered (`plugin_of`): the gather checks every
  answer of a plugin's source against the domain models before it enters the engine
  (investigate/gather.py), and gathers in daemon threads, so a source that answers
  garbage fails alone, in one line, and one that never answers is left behind at the
  budget without holding the process's exit; `aisre doctor` bounds each check;
- so is every capability a plugin's hook registers (`plugin_of` names its plugin): the
  mark is made here, by the loader, never taken from the capability, so governance can
  tell third-party code from a built-in (govern/routing.py: a plugin's `scope: read`
  or `handoff` is not taken at its word unless the policy trusts it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

SOURCES_GROUP = "aisre.sources"
CAPABILITIES_GROUP = "aisre.capabilities"

PLUGIN_LOAD_TIMEOUT_S = 5.0
"""Longest one plugin's import and hook may take before it is skipped."""

_SCOPES = ("read", "write", "destructive")
"""`remediate.capabilities.SCOPES` (settings sits below remediate; a test keeps them equal)."""
_ROLES = ("alerts", "metrics", "logs", "changes", "topology", "traces", "events")
"""`sources.catalog.ROLES` (settings sits below sources; a test keeps them equal)."""


@dataclass(frozen=True, slots=True)
class PluginError:
    group: str
    name: str
    error: str
    dist: str | None = None
    """The installed distribution that provides the entry point, when known."""

    def render(self) -> str:
        """One line: which plugin, what went wrong, what to do about it."""
        origin = f", package {self.dist}" if self.dist else ""
        return (
            f"plugin {self.name} ({self.group}{origin}) failed to load: {self.error}"
            f" (skipped; {self.remedy()})"
        )

    def remedy(self) -> str:
        remove = f"`pip uninstall {self.dist}`" if self.dist else "uninstall its package"
        return f"{remove} to remove it, or AISRE_NO_PLUGINS=1 to load no plugin"


def resolve(ref: str) -> Any:
    """`package.module:attr.sub` → the object (an entry point's ` [extras]` ignored)."""
    module, _, attr = ref.split("[", 1)[0].partition(":")
    obj: Any = importlib.import_module(module.strip())
    for part in filter(None, attr.strip().split(".")):
        obj = getattr(obj, part)
    return obj


def plugins_disabled() -> bool:
    return os.environ.get("AISRE_NO_PLUGINS", "").lower() in ("1", "true", "yes")


def _entry_points(group: str) -> list[tuple[str, ...]]:
    """(name, "module:hook", distribution name) of every installed entry point."""
    if plugins_disabled():
        return []
    from importlib.metadata import entry_points

    try:
        found = list(entry_points(group=group))
    except Exception:  # noqa: BLE001 - broken metadata of an unrelated package
        return []
    out: list[tuple[str, ...]] = []
    for ep in found:
        try:
            dist = getattr(ep, "dist", None)
            dist_name = str(dist.name) if dist is not None and dist.name else ""
        except Exception:  # noqa: BLE001 - unreadable METADATA: the name is only a hint
            dist_name = ""
        out.append((ep.name, ep.value, dist_name))
    return out


def one_line(text: str, keep: int = 300) -> str:
    """Plugin-supplied text made safe for one terminal line (no escapes, bounded)."""
    flat = " ".join(text.split())
    flat = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return flat if len(flat) <= keep else flat[:keep] + "…"


def describe(exc: BaseException) -> str:
    """`Kind: message` of an exception raised by plugin code, as one safe line (a
    hostile `__str__` cannot raise through it)."""
    try:
        detail = str(exc)
    except Exception:  # noqa: BLE001 - a hostile __str__
        detail = ""
    kind = type(exc).__name__
    if isinstance(exc, SystemExit):
        detail = f"it called sys.exit({exc.code!r})"
    return one_line(f"{kind}: {detail}" if detail else kind)


def _capability_problem(obj: Any) -> str | None:
    """Why `obj` is not a `remediate.capabilities.Capability` (None: it is one)."""
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name.strip():
        return f"registered a {type(obj).__name__} with no capability name"
    what = f"capability {name!r}"
    for attr, kind in (("description", str), ("undo_hint", str), ("supports_dry_run", bool)):
        if not isinstance(getattr(obj, attr, None), kind):
            return f"{what}: `{attr}` is not a {kind.__name__}"
    if getattr(obj, "scope", None) not in _SCOPES:
        return f"{what}: `scope` is not one of {', '.join(_SCOPES)}"
    for attr in ("input_model", "output_model"):
        model = getattr(obj, attr, None)
        if not (isinstance(model, type) and callable(getattr(model, "model_validate", None))):
            return f"{what}: `{attr}` is not a pydantic model"
    for method in ("render", "dry_run", "execute", "undo", "blast_radius"):
        if not callable(getattr(obj, method, None)):
            return f"{what}: no `{method}` method"
    return None


def _source_type_problem(obj: Any) -> str | None:
    """Why `obj` is not a `sources.catalog.SourceType` (None: it is one)."""
    fields = ("key", "roles", "build", "config", "default")
    shaped = dataclasses.is_dataclass(obj) and not isinstance(obj, type)
    if not shaped or not all(hasattr(obj, f) for f in fields):
        return f"registered a {type(obj).__name__}, not a SourceType"
    key = obj.key
    if not isinstance(key, str) or not key.strip():
        return "registered a source type with no key"
    what = f"source type {key!r}"
    roles = obj.roles
    if not isinstance(roles, tuple | list) or not roles or any(r not in _ROLES for r in roles):
        return f"{what}: roles {roles!r} (known: {', '.join(_ROLES)})"
    if not callable(obj.build):
        return f"{what}: `build` is not callable"
    if obj.default is not None and not callable(obj.default):
        return f"{what}: `default` is not callable"
    config = obj.config
    if config is not None and not (
        isinstance(config, type) and callable(getattr(config, "model_validate", None))
    ):
        return f"{what}: `config` is not a pydantic model"
    return None


_CONTRACTS: dict[str, Callable[[Any], str | None]] = {
    CAPABILITIES_GROUP: _capability_problem,
    SOURCES_GROUP: _source_type_problem,
}
"""What a hook of each group must register (checked for plugins before anything is added)."""


def _name_of(group: str, obj: Any) -> str:
    """The name a registered object claims (a source type's key, a capability's name)."""
    value = getattr(obj, "key" if group == SOURCES_GROUP else "name", None)
    return value if isinstance(value, str) else repr(value)


def _reserved(group: str) -> set[str]:
    """Names no plugin may take besides the built-ins' own: for sources, every typed
    field of the profile's `sources:` (`bundle` is read by no source type)."""
    if group != SOURCES_GROUP:
        return set()
    from aisre_cli.settings.config import Sources

    return set(Sources.model_fields)


class _Load:
    """One plugin's hook, run in its own thread; what it registered, or why it failed."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.items: list[Any] = []
        self.error: str | None = None

    def run(self) -> None:
        try:
            hook = resolve(self.ref)
            if not callable(hook):
                raise TypeError(
                    f"{self.ref} is a {type(hook).__name__}, not a hook function taking `register`"
                )
            hook(self.items.append)
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
            self.error = describe(exc)


def _load(ref: str, timeout_s: float) -> tuple[list[Any], str | None]:
    """Import and call one plugin hook within `timeout_s`: (what it registered, error)."""
    job = _Load(ref)
    # a daemon thread: a plugin stuck in its import never holds the process's exit
    worker = threading.Thread(target=job.run, name=f"aisre-plugin {ref}", daemon=True)
    worker.start()
    worker.join(timeout_s)  # a real Ctrl-C interrupts this wait, in the main thread
    if worker.is_alive():
        return [], f"still loading after {timeout_s:g}s (hung at import?)"
    if job.error is not None:
        return [], job.error
    return list(job.items), None


_BUILT: dict[int, tuple[object, str]] = {}
"""id → (object, label) of every object a plugin's source factory built (the object is
kept, so its id is not reused while it is listed)."""


def _remember(obj: object, label: str) -> object:
    if obj is not None:
        _BUILT[id(obj)] = (obj, label)
    return obj


def plugin_of(obj: object) -> str | None:
    """`plugin NAME = module:hook (package DIST)` when a plugin's factory built `obj`
    (its answers are then checked before they are used) or a plugin's hook registered
    it (a capability), else None (a built-in's)."""
    hit = _BUILT.get(id(obj))
    return hit[1] if hit is not None and hit[0] is obj else None


def _guarded(group: str, obj: Any, err: PluginError, errors: list[PluginError]) -> Any:
    """A plugin's source type whose factories fail with one line naming the plugin;
    a plugin's capability, remembered as the plugin's (`plugin_of`)."""
    label = f"plugin {err.name}" + (f" (package {err.dist})" if err.dist else "")
    if group == CAPABILITIES_GROUP:
        return _remember(obj, label)
    if group != SOURCES_GROUP:
        return obj
    from aisre_cli.errors import AisreError, ConfigError

    key, build, default = obj.key, obj.build, obj.default

    def safe_build(cfg: Any, env: Any) -> Any:
        try:
            return _remember(build(cfg, env), label)
        except AisreError:
            raise
        except (Exception, SystemExit) as exc:
            raise ConfigError(
                f"sources.{key}: {label} could not build it: {describe(exc)}",
                hint=f"remove sources.{key} from the profile (`aisre config edit`) until the"
                f" plugin is fixed"
                + (f" (it comes from the package {err.dist})" if err.dist else ""),
            ) from None

    def safe_default(env: Any) -> Any:
        try:
            return _remember(default(env), label)
        except (Exception, SystemExit) as exc:
            # not configured by the user: skip it, and say so where plugin errors go
            errors.append(dataclasses.replace(err, error=f"its default {key}: {describe(exc)}"))
            return None

    return dataclasses.replace(
        obj, build=safe_build, default=safe_default if default is not None else None
    )


def _clash(
    who: PluginError,
    names: list[str],
    taken: set[str],
    reserved: set[str],
    claims: dict[str, list[PluginError]],
) -> str | None:
    """Why a plugin may not have the names it registers (None: it may)."""
    for n in names:
        others = [o for o in claims.get(n, []) if o is not who]
        if names.count(n) > 1:
            return f"registers {n!r} twice"
        if n in taken:
            return f"registers {n!r}, which is built in (a plugin cannot replace it)"
        if n in reserved:
            return f"registers {n!r}, a name aisre reserves"
        if others:
            other = others[0].dist or others[0].name
            return f"registers {n!r}, as does plugin {other}: neither is loaded"
    return None


def run_hooks(
    group: str, builtins: Sequence[str], register: Callable[[Any], None]
) -> list[PluginError]:
    """Call every built-in hook, then every entry point of `group`, with `register`."""
    taken: set[str] = set()

    def register_builtin(obj: Any) -> None:
        register(obj)
        taken.add(_name_of(group, obj))

    for ref in builtins:
        resolve(ref)(register_builtin)
    installed = _entry_points(group)
    if not installed:
        return []

    errors: list[PluginError] = []
    contract = _CONTRACTS.get(group)
    loaded: list[tuple[PluginError, list[Any]]] = []  # (who, what) of the healthy ones
    # a plugin that prints while loading must not corrupt `--json` on stdout
    with contextlib.redirect_stdout(sys.stderr):
        for name, ref, *rest in installed:
            dist = one_line(rest[0]) if rest and rest[0] else None
            who = PluginError(group, one_line(f"{name} = {ref}"), "", dist)
            items, error = _load(ref, PLUGIN_LOAD_TIMEOUT_S)
            if error is None and contract is not None:
                try:
                    error = next(filter(None, map(contract, items)), None)
                except Exception as exc:  # noqa: BLE001 - a hostile attribute
                    error = describe(exc)
            if error is not None:
                errors.append(dataclasses.replace(who, error=one_line(error)))
            else:
                loaded.append((who, items))

    reserved = _reserved(group) - taken
    claims: dict[str, list[PluginError]] = {}
    for who, items in loaded:
        for n in dict.fromkeys(_name_of(group, i) for i in items):
            claims.setdefault(n, []).append(who)
    for who, items in loaded:
        names = [_name_of(group, i) for i in items]
        problem = _clash(who, names, taken, reserved, claims)
        if problem is not None:
            errors.append(dataclasses.replace(who, error=problem))
            continue
        for item in items:
            try:
                register(_guarded(group, item, who, errors))
            except Exception as exc:  # noqa: BLE001 - the registry refused it after all
                errors.append(dataclasses.replace(who, error=describe(exc)))
    return errors
