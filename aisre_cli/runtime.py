"""What kind of process this is, and the cycle collector's share of a short one.

The `aisre` console script runs one command and exits (`one_shot_process`). Such a
process takes what it has loaded (modules, classes, the profile) out of the cycle
collector's sight (`settle_heap`): those objects live as long as the command, yet
every full collection while the analysis allocates would walk them all. A host
process running many commands (tests, an embedding host, the console, which lives for
hours) must not pay for objects frozen forever, so there nothing is frozen.

Core modules call `heavy_import` for a library loaded on demand in the middle of a
command (psycopg for a team store): the collections its import triggers walk the
whole heap, and what it loads would otherwise stay in the collector's way for the
rest of the command.
"""

from __future__ import annotations

import gc
import importlib
import sys
from types import ModuleType

_ONE_SHOT = False
"""Set by the `aisre` console script (`__main__.run`): this process runs one command
and exits. Not when the app runs inside another process (tests, an embedding host)."""


def one_shot_process() -> None:
    global _ONE_SHOT
    _ONE_SHOT = True


def settle_heap() -> None:
    """Freeze what is loaded so far out of the cycle collector's sight, in a one-shot
    `aisre` process only (12-20 ms of CPU of the demo triage's half second,
    bench/time_to_answer.py). Frozen objects are never collected."""
    if _ONE_SHOT:
        gc.freeze()


def heavy_import(name: str) -> ModuleType:
    """`import name`, the first time with the cycle collector paused, then
    `settle_heap`. psycopg allocates some 40,000 objects on import; the collections
    they trigger and the later ones that walk them cost about 10 ms of a triage
    (bench/team_store.py). Later calls are a dictionary look-up."""
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    enabled = gc.isenabled()
    gc.disable()
    try:
        mod = importlib.import_module(name)
    finally:
        if enabled:
            gc.enable()
    settle_heap()
    return mod
