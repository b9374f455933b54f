"""The governance policy: one YAML file per profile (`profile.policy_file`).

With no file the built-in policy applies: `approved` everywhere (a human says yes
to every write step), no freeze windows, empty allowlists. Example:

```yaml
autonomy: approved                 # read_only | advised | approved | autonomous
classes: {destructive: approved}   # per capability class (read, write, destructive)
capabilities: {exec: read_only}    # per capability name (most specific wins)
environments:
  staging:
    autonomy: autonomous
    capabilities: {kubectl.rollout_restart: autonomous}
thresholds: {min_trust: 0.7, max_risk: 0.5, min_successes: 3}
freeze_windows:
  - {name: black-friday, start: 2026-11-27T00:00:00Z, end: 2026-11-30T00:00:00Z}
  - name: friday-evening
    weekly: {days: [fri], start: "16:00", end: "23:59", timezone: Europe/Berlin}
    environments: [prod]
  - name: weekend-nights           # wraps midnight: Fri 22:00 to Sat 06:00, and so on
    weekly: {days: [fri, sat], start: "22:00", end: "06:00", timezone: Europe/Berlin}
http_allowlist: [hooks.example.com]
exec_allowlist: [[/usr/local/bin/flush-cache, --dry]]
trusted_plugin_capabilities: [acme.read-thing]   # plugin capabilities taken at their word
```

A capability from an installed plugin (an `aisre.capabilities` entry point) declares
its own `scope` and `handoff`; governance does not take third-party code at its word.
A plugin capability that declares `read` is governed as a `write` (confirmation,
autonomy rules, refused in a freeze) and one that declares `handoff` as an ordinary
step, unless it is listed in `trusted_plugin_capabilities`. A declared `write` or
`destructive` is never lowered. Only a trusted plugin capability may verify a step
(a verification runs without confirmation).

Autonomy for one step is resolved most specific first: environment + capability,
capability, environment + class, class, environment, global.

Weekly windows are wall-clock times (`HH:MM`) in a named zone (`timezone`, an IANA
name such as `Europe/Berlin`; default UTC), so they follow daylight saving time: a
window 01:00-04:00 on the night clocks spring forward lasts two real hours, on the
night they fall back four. `days` are the days a window *starts* on; a window whose
`end` is before its `start` wraps midnight and covers the next morning too. Offsets
in the time itself (`00:00+02:00`) are refused: a fixed offset would be wrong for half
the year; name the zone instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aisre_cli.errors import ConfigError
from aisre_cli.settings.safeyaml import load_yaml_lines

Autonomy = Literal["read_only", "advised", "approved", "autonomous"]
AUTONOMY_LEVELS: tuple[Autonomy, ...] = ("read_only", "advised", "approved", "autonomous")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Thresholds(_M):
    min_trust: float = Field(default=0.7, ge=0, le=1)
    """Below this trust, a human confirms (autonomy does not apply)."""
    max_risk: float = Field(default=0.5, ge=0, le=1)
    """Above this risk, a human confirms."""
    escalate_trust: float = Field(default=0.15, ge=0, le=1)
    """With a triage report: below this trust a write step is escalated, not run."""
    escalate_risk: float = Field(default=0.95, ge=0, le=1)
    """Above this risk a write step is escalated to someone with more authority."""
    min_successes: int = Field(default=3, ge=0)
    """Successful past runs of the runbook needed before autonomy applies."""
    max_failure_rate: float = Field(default=0.2, ge=0, le=1)
    """Past failure rate above which autonomy does not apply."""
    max_blast_radius: int = Field(default=10, ge=1)
    """Targets touched (replicas, alerts) above which a human confirms."""
    recent_change_minutes: float = Field(default=30.0, ge=0)
    """A change this recent adds risk (the system is still moving)."""


class WeeklyWindow(_M):
    days: list[str]
    """Days the window starts on (mon..sun)."""
    start: str = "00:00"
    """Wall-clock `HH:MM` in `timezone`."""
    end: str = "23:59"
    """Wall-clock `HH:MM`, inclusive of its whole minute; before `start`: the next day."""
    timezone: str = "UTC"
    """IANA zone name (`Europe/Berlin`); the times follow its daylight saving changes."""

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        out = [d.lower()[:3] for d in v]
        for d in out:
            if d not in DAYS:
                raise ValueError(f"unknown day {d!r} (mon..sun)")
        return out

    @field_validator("start", "end", mode="before")
    @classmethod
    def _sexagesimal(cls, v: object) -> object:
        # YAML 1.1 reads an unquoted 16:00 as the base-60 number 960
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 24 * 60:
            raise ValueError(
                f'write the time in quotes ("{v // 60:02d}:{v % 60:02d}"): unquoted,'
                f" YAML reads {v // 60}:{v % 60:02d} as the number {v}"
            )
        return v

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not isinstance(v, str) or not _HHMM.fullmatch(v):
            raise ValueError(
                f"{v!r} is not a wall-clock time HH:MM (00:00..23:59); no seconds or offsets:"
                " name the zone with `timezone:` instead"
            )
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin or UTC)"
            ) from None
        return v

    def covers(self, now: datetime) -> bool:
        """Is the aware instant `now` inside the window (in the window's zone)?"""
        local = now.astimezone(ZoneInfo(self.timezone))
        t = local.time().replace(second=0, microsecond=0, tzinfo=None)  # whole minute
        start = time.fromisoformat(self.start)
        end = time.fromisoformat(self.end)
        today = DAYS[local.weekday()]
        if start <= end:
            return today in self.days and start <= t <= end
        # wraps midnight: the evening part belongs to today's window, the morning part
        # to the window that started yesterday
        yesterday = DAYS[(local.date() - timedelta(days=1)).weekday()]
        return (today in self.days and t >= start) or (yesterday in self.days and t <= end)


class FreezeWindow(_M):
    name: str
    reason: str = ""
    start: datetime | None = None
    end: datetime | None = None
    weekly: WeeklyWindow | None = None
    """Recurring window on the listed days in its `timezone`; `start` after `end` wraps
    past midnight into the next day."""
    environments: list[str] = Field(default_factory=list)
    """Environments it applies to; empty: all."""

    @model_validator(mode="after")
    def _shape(self) -> FreezeWindow:
        if self.weekly is None and (self.start is None or self.end is None):
            raise ValueError("a freeze window needs start and end, or weekly")
        for d in (self.start, self.end):
            if d is not None and d.tzinfo is None:
                raise ValueError("start/end need a time zone (e.g. 2026-11-27T00:00:00Z)")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def active(self, now: datetime, environment: str) -> bool:
        if self.environments and environment not in self.environments:
            return False
        if self.weekly is None:
            assert self.start is not None and self.end is not None
            if now.tzinfo is None:  # a naive instant is UTC (never compare naive to aware)
                now = now.replace(tzinfo=UTC)
            return self.start <= now < self.end
        return self.weekly.covers(now if now.tzinfo is not None else now.replace(tzinfo=UTC))


class Rules(_M):
    autonomy: Autonomy | None = None
    classes: dict[Literal["read", "write", "destructive"], Autonomy] = Field(default_factory=dict)
    capabilities: dict[str, Autonomy] = Field(default_factory=dict)


class Policy(Rules):
    """The whole policy file."""

    version: Literal[1] = 1
    autonomy: Autonomy | None = "approved"
    environments: dict[str, Rules] = Field(default_factory=dict)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    freeze_windows: list[FreezeWindow] = Field(default_factory=list)
    http_allowlist: list[str] = Field(default_factory=list)
    exec_allowlist: list[list[str]] = Field(default_factory=list)
    trusted_plugin_capabilities: list[str] = Field(default_factory=list)
    """Plugin capabilities whose declared `read` scope and `handoff` are honoured."""
    source: str = Field(default="built-in default", exclude=True)

    def trusts(self, capability: str) -> bool:
        """Does the operator take this plugin capability at its word?"""
        return capability in self.trusted_plugin_capabilities

    def autonomy_for(self, environment: str, capability: str, scope: str) -> tuple[Autonomy, str]:
        """The autonomy level for one step, and which rule set it."""
        env = self.environments.get(environment)
        if env and capability in env.capabilities:
            return env.capabilities[
                capability
            ], f"environments.{environment}.capabilities.{capability}"
        if capability in self.capabilities:
            return self.capabilities[capability], f"capabilities.{capability}"
        if env and scope in env.classes:
            return env.classes[scope], f"environments.{environment}.classes.{scope}"
        if scope in self.classes:
            return self.classes[scope], f"classes.{scope}"
        if env and env.autonomy:
            return env.autonomy, f"environments.{environment}.autonomy"
        return self.autonomy or "approved", "autonomy"

    def active_freezes(self, now: datetime, environment: str) -> list[FreezeWindow]:
        return [w for w in self.freeze_windows if w.active(now, environment)]


def load_policy(path: str | Path | None) -> Policy:
    """The policy of a profile; the built-in default when `path` is None."""
    if path is None:
        return Policy()
    p = Path(path).expanduser()
    raw, lines = load_yaml_lines(
        p, error=ConfigError, hint="fix `policy_file` in the profile, or the file itself"
    )
    hint = "`aisre runbook policy --help` documents the format"
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(
            f"{p}:1: a policy is a YAML mapping (keys such as autonomy, environments)", hint=hint
        )
    try:
        pol = Policy.model_validate(raw or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        dotted = ".".join(str(x) for x in loc)
        raise ConfigError(
            f"{p}:{_line(lines, loc)}: {dotted}: {str(err['msg']).removeprefix('Value error, ')}",
            hint=hint,
        ) from None
    _known_capabilities(pol, lines, p)
    pol.source = str(p)
    return pol


def _line(lines: Mapping[tuple[str | int, ...], int], loc: tuple[str | int, ...]) -> int:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return 1


def _known_capabilities(pol: Policy, lines: Mapping[tuple[str | int, ...], int], p: Path) -> None:
    """A rule for a capability name that does not exist (a typo such as
    `kubectl.rollout-restart: read_only`) would never apply: the step it was meant to
    restrict keeps its class's autonomy. Refused, like an unknown autonomy level."""
    from difflib import get_close_matches

    from aisre_cli.remediate.capabilities import default_registry, plugin_errors
    from aisre_cli.settings.plugins import plugins_disabled

    reg = default_registry()
    ruled: list[tuple[tuple[str, ...], Rules]] = [((), pol)]
    ruled += [(("environments", env), rules) for env, rules in pol.environments.items()]
    named: list[tuple[tuple[str | int, ...], str]] = [
        ((*base, "capabilities", name), name)
        for base, rules in ruled
        for name in rules.capabilities
    ]
    if not plugins_disabled():  # AISRE_NO_PLUGINS=1: nothing to trust, and no error for it
        named += [
            (("trusted_plugin_capabilities", i), name)
            for i, name in enumerate(pol.trusted_plugin_capabilities)
        ]
    for loc, name in named:
        if name not in reg:
            close = get_close_matches(name, reg.names(), n=1)
            failed = len(plugin_errors())
            raise ConfigError(
                f"{p}:{_line(lines, loc)}: {'.'.join(map(str, loc))}: unknown capability {name!r}"
                + (f" (did you mean {close[0]}?)" if close else ""),
                hint="`aisre runbook capabilities` lists them"
                + (
                    f"; {failed} capability plugin(s) failed to load (`aisre doctor`)"
                    if failed
                    else ""
                ),
            )
