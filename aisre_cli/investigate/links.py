"""Grafana Explore links for metric and log evidence.

With `grafana:` in the profile, every evidence item whose query a datasource can run
(`Evidence.language`: PromQL from Prometheus, LogQL from Loki) gets a link that opens
that query in Grafana Explore over the evidence's time range. Evidence read from a
bundle without recorded PromQL (a file reference) or a grep line gets none.

The URL is Explore's documented, current form (Grafana 10 and later):

    {url}/explore?schemaVersion=1&panes={"aisre":{"datasource":UID,"queries":[{
        "refId":"A","datasource":{"type":"prometheus","uid":UID},"expr":EXPR}],
        "range":{"from":"<unix ms>","to":"<unix ms>"}}}[&orgId=N]

`panes` is URL-encoded JSON; the pane id (`aisre`) is any key. The older
`left=[from,to,datasource,{expr}]` form is not written: Grafana 10 and later redirect
it, and `panes` is the one their Explore itself writes.

The range starts `LEAD` before the evidence starts (so the baseline before the onset
is in view) and ends `TRAIL` after it ends; evidence without a start or end takes the
triage window's.

Pure: no I/O, no UI. `flows.triage` calls `add_links` after ranking, so the links are
in the `--json` report and every front end shows the same ones.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from aisre_cli.model import Evidence, Link, TriageReport
from aisre_cli.settings.config import GrafanaSettings

LEAD = timedelta(minutes=15)
"""Shown before the evidence starts: the baseline it departed from."""
TRAIL = timedelta(minutes=5)
"""Shown after the evidence ends."""
PANE = "aisre"

_DATASOURCE = {"promql": ("prometheus", "Prometheus"), "logql": ("loki", "Loki")}


def _ms(d: datetime) -> str:
    return str(int(d.timestamp() * 1000))


def explore_url(
    grafana: GrafanaSettings,
    language: str,
    expr: str,
    start: datetime,
    end: datetime,
) -> str:
    """The Explore URL that runs `expr` (`language`: promql or logql) from `start` to
    `end` on the profile's datasource for that language."""
    ds_type, _ = _DATASOURCE[language]
    uid = grafana.prometheus_uid if language == "promql" else grafana.loki_uid
    query: dict[str, object] = {
        "refId": "A",
        "datasource": {"type": ds_type, "uid": uid},
        "expr": expr,
    }
    if language == "logql":
        query["queryType"] = "range"
    else:
        query["range"] = True
        query["instant"] = False
    pane = {
        "datasource": uid,
        "queries": [query],
        "range": {"from": _ms(start), "to": _ms(end)},
    }
    params = [
        ("schemaVersion", "1"),
        ("panes", json.dumps({PANE: pane}, separators=(",", ":"), ensure_ascii=False)),
    ]
    if grafana.org_id is not None:
        params.append(("orgId", str(grafana.org_id)))
    return grafana.url.rstrip("/") + "/explore?" + urlencode(params, quote_via=quote, safe="")


def evidence_links(
    ev: Evidence, grafana: GrafanaSettings, window: tuple[datetime, datetime]
) -> list[Link]:
    """The Explore link of one evidence item ([] when its query is not PromQL/LogQL)."""
    if ev.language not in _DATASOURCE or not ev.query.strip():
        return []
    start = ev.start or window[0]
    end = ev.end or max(start, window[1])
    if end < start:
        start, end = end, start
    url = explore_url(grafana, ev.language, ev.query, start - LEAD, end + TRAIL)
    return [Link(label=f"Grafana Explore ({_DATASOURCE[ev.language][1]})", url=url)]


def add_links(
    report: TriageReport, grafana: GrafanaSettings | None, window: tuple[datetime, datetime]
) -> None:
    """Give every metric and log evidence item of `report` its Explore link (in place).
    Nothing happens without `grafana`."""
    if grafana is None:
        return
    for ev in report.evidence:
        links = evidence_links(ev, grafana, window)
        if links:
            ev.links = [*[x for x in ev.links if x.url != links[0].url], *links]
