"""A plugin source type: log records from a local JSON-lines file.

Everything a third-party package provides: a config model, a connector implementing
`LogSource`, and the `register_sources` hook its entry point names."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from aisre_cli.model import LogTable
from aisre_cli.sources.catalog import SourceEnv, SourceType


class JsonLogsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    service_label: str = "service"


class JsonLogs:
    name = "jsonlogs"

    def __init__(self, cfg: JsonLogsConfig, labels: tuple[str, ...]) -> None:
        self.cfg = cfg
        self.labels = labels

    def fetch_logs(self, start: datetime, end: datetime, services: set[str] | None) -> LogTable:
        table = LogTable()
        table.files.append(self.cfg.path)
        for i, line in enumerate(Path(self.cfg.path).read_text().splitlines(), 1):
            rec = json.loads(line)
            table.ts.append(float(rec["ts"]))
            table.service.append(rec[self.cfg.service_label])
            table.level.append(rec["level"])
            table.msg.append(rec["msg"])
            table.file_idx.append(0)
            table.line.append(i)
        return table


def register_sources(register: Callable[[SourceType], None]) -> None:
    def build(cfg: JsonLogsConfig, env: SourceEnv) -> JsonLogs:
        return JsonLogs(cfg, env.service_labels)

    register(SourceType("jsonlogs", ("logs",), build, JsonLogsConfig, summary="JSON lines"))


def broken_hook(register: Callable[[SourceType], None]) -> None:
    raise RuntimeError("this plugin is broken")
