"""The memory export (`aisre incident export --all`) as `incident import` reads it back.

An export is a file from elsewhere (a teammate, another team, an older or newer aisre,
an editor): it is checked here, field by field, before anything is written, so a wrong
type is one clear error naming the field ("incidents.3.alert.labels: ..."), never a
database error that reads like a damaged memory, and never a row that breaks every
later triage or `incident show` (a signature or report that is not an object).
Unknown keys are ignored (a newer aisre may add some).
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aisre_cli.errors import UsageError
from aisre_cli.model import HYPOTHESIS_KINDS

__all__ = ["load_export"]

_UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _kind(v: str) -> str:
    if v not in HYPOTHESIS_KINDS:
        raise ValueError(f"unknown kind {v!r} (one of: {', '.join(HYPOTHESIS_KINDS)})")
    return v


class ExportCause(_M):
    kind: str
    service: str
    change_id: str | None = None
    rank: int | None = None

    _k = field_validator("kind")(_kind)


class ExportAlert(_M):
    id: str
    name: str
    service: str | None = None
    severity: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    starts_at: str | None = None


class ExportHypothesis(_M):
    rank: int
    kind: str
    service: str
    subject: str | None = None
    statement: str = ""
    confidence: float = 0.0
    signature: dict[str, list[str]] = Field(default_factory=dict)

    _k = field_validator("kind")(_kind)

    @field_validator("confidence")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v) or not 0.0 <= v <= 1.0:
            raise ValueError("must be a number from 0 to 1")
        return v


class ExportIncident(_M):
    uid: str
    created_at: str | None = None
    alert: ExportAlert
    onset: str | None = None
    bundle: str | None = None
    classification: str = "actionable"
    escalate: bool = False
    reason: str = ""
    cause: ExportCause | None = None
    note: str | None = None
    resolved_at: str | None = None
    signature: dict[str, list[str]] = Field(default_factory=dict)
    report: dict[str, Any] = Field(default_factory=dict)
    hypotheses: list[ExportHypothesis] = Field(default_factory=list)

    @field_validator("report")
    @classmethod
    def _report(cls, v: dict[str, Any]) -> dict[str, Any]:
        # what `incident show`, postmortems and the memory's signatures read of it
        ev = v.get("evidence")
        if ev is not None and not (isinstance(ev, list) and all(isinstance(e, dict) for e in ev)):
            raise ValueError("report.evidence must be a list of objects")
        if v.get("alert") is not None and not isinstance(v["alert"], dict):
            raise ValueError("report.alert must be an object")
        return v

    @field_validator("uid")
    @classmethod
    def _uid(cls, v: str) -> str:
        if not _UID.fullmatch(v):
            raise ValueError(f"{v[:40]!r} is not an incident uid (letters, digits, . _ : @ -)")
        if v.isdigit():  # `incident show 12` means incident number 12
            raise ValueError("a uid cannot be all digits (that is an incident number)")
        return v


class ExportRun(_M):
    run_id: str
    runbook: str
    kind: str = "unknown"
    alert_id: str | None = None
    incident: str | None = None
    outcome: str
    environment: str | None = None
    audit_head: str | None = None
    steps: dict[str, str] = Field(default_factory=dict)
    finished_at: str | None = None


class ExportEvent(_M):
    alert_id: str
    starts_at: str
    alert_name: str
    service: str | None = None
    ends_at: str | None = None


class MemoryExport(_M):
    incidents: list[ExportIncident] = Field(default_factory=list)
    runbook_runs: list[ExportRun] = Field(default_factory=list)
    alert_events: list[ExportEvent] = Field(default_factory=list)


def load_export(data: Any) -> dict[str, Any]:
    """`data` checked and normalized (every field present, defaults filled in), or a
    UsageError naming the first bad field. The `schema` is checked by the caller."""
    try:
        return MemoryExport.model_validate(data).model_dump()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "the file"
        msg = re.sub(r" or instance of \w+", "", str(err["msg"])).removeprefix("Value error, ")
        raise UsageError(
            f"malformed memory export: {where}: {msg}",
            hint="nothing was imported; export it again with `aisre incident export --all -o FILE`",
        ) from None
