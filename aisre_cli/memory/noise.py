"""Noise detection: an alert that keeps firing and resolving by itself, with no action.

The history is the alert's past firing episodes (one per distinct `startsAt`, seen by
`aisre alerts` or `aisre triage`) and what was done about them: runbook runs against
the alert, and incidents of the alert resolved with a confirmed cause. An alert is
`likely_noise` when, in the `WINDOW_DAYS` before it fired,

* it fired at least `MIN_EPISODES` times,
* at least `MIN_SELF_RESOLVED` of those episodes ended by themselves within
  `MAX_EPISODE_S` (the alert's own `endsAt`, before the current episode began), and
* nobody acted: no runbook run and no confirmed cause for it.

One real action is enough to clear the flag: an alert that once led to a fix is not
noise, however often it flaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WINDOW_DAYS = 30
MIN_EPISODES = 3
MIN_SELF_RESOLVED = 0.8
MAX_EPISODE_S = 3600.0


@dataclass(frozen=True)
class Episode:
    starts_at: datetime
    ends_at: datetime | None


@dataclass(frozen=True)
class NoiseVerdict:
    noisy: bool
    episodes: int
    self_resolved: int
    actions: int
    median_duration_s: float | None

    def summary(self, name: str) -> str:
        med = (
            f", median {self.median_duration_s / 60:.0f} min"
            if self.median_duration_s is not None
            else ""
        )
        acted = f"{self.actions} action(s)" if self.actions else "no runbook run or confirmed cause"
        return (
            f"{name} fired {self.episodes} times in the last {WINDOW_DAYS} days; "
            f"{self.self_resolved} resolved by themselves{med}; {acted}"
        )


def assess(episodes: list[Episode], actions: int, now: datetime) -> NoiseVerdict:
    """Judge the history of one alert; `now` is when the current episode began."""
    past = [e for e in episodes if e.starts_at < now]
    durations: list[float] = []
    for e in past:
        if e.ends_at is None or e.ends_at > now:
            continue
        d = (e.ends_at - e.starts_at).total_seconds()
        if 0 <= d <= MAX_EPISODE_S:
            durations.append(d)
    durations.sort()
    med = durations[len(durations) // 2] if durations else None
    n = len(past)
    noisy = n >= MIN_EPISODES and len(durations) >= MIN_SELF_RESOLVED * n and actions == 0
    return NoiseVerdict(noisy, n, len(durations), actions, med)
