"""Change correlation: which change events sit just before the incident onset.

A change is a candidate cause when it precedes the onset on a service in the
incident's dependency cone. Its strength decays with the gap (a deploy 2 minutes
before the errors is far more telling than one 50 minutes before); a change after
the onset (typically a hot-fix) is kept as context but cannot explain the onset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aisre_cli.model import Change

LOOKBACK_S = 3600.0
"""Changes earlier than this before the onset are not candidates."""
DECAY_S = 1200.0
"""Proximity weight halves roughly every 14 minutes (exp(-gap / 20 min))."""
GRACE_S = 120.0
"""A change this soon after the detected onset still counts as before: onsets are
measured at the metric step and a deploy rollout takes time."""


@dataclass(slots=True)
class ChangeFinding:
    change: Change
    gap_s: float
    """onset - change time; negative when the change came after the onset."""
    proximity: float
    before_onset: bool


def correlate(changes: list[Change], onset: float) -> list[ChangeFinding]:
    out: list[ChangeFinding] = []
    for c in changes:
        gap = onset - c.ts.timestamp()
        before = gap >= -GRACE_S
        if gap > LOOKBACK_S:
            continue
        prox = math.exp(-max(gap, 0.0) / DECAY_S) if before else 0.0
        out.append(ChangeFinding(change=c, gap_s=gap, proximity=prox, before_onset=before))
    return out
