"""What each query cost and returned, for `-vv` (issue 12, item 17).

Every connector reports each query it runs through `record()`: source, name, the
query text, latency, series (or lines) returned, or the error. The record goes to
the `aisre.query` logger at DEBUG level, which `-vv` turns on, so an engineer sees
which queries ran, how slow each was, and which returned nothing:

    aisre.query: prometheus http_error_ratio: 3 series in 0.041s: sum by (job) (…)
    aisre.query: prometheus container_restarts: EMPTY (0 series) in 0.012s: sum by (…)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("aisre.query")


@dataclass(frozen=True, slots=True)
class QueryStat:
    source: str
    name: str
    query: str
    seconds: float
    count: int
    unit: str = "series"
    error: str | None = None

    def render(self) -> str:
        if self.error is not None:
            what = f"FAILED ({self.error})"
        elif self.count == 0:
            what = f"EMPTY (0 {self.unit})"
        else:
            what = f"{self.count} {self.unit}"
        return f"{self.source} {self.name}: {what} in {self.seconds:.3f}s: {self.query}"


def record(stat: QueryStat) -> QueryStat:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s", stat.render())
    return stat
