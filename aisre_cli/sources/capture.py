"""Write an incident bundle v1 from a gathered Context (`aisre bundle capture`).

The bundle is the public contract of DESIGN.md, written in the formats the real
systems speak, so the reader (`sources/bundle.py`) reads it back without a special
case and anyone can open the files with the tools they know:

* `alerts.json`: the Alertmanager v2 `GET /api/v2/alerts` body. Alertmanager alerts
  are written as received; alerts from other sources (PagerDuty) in the same shape,
  with their aliases and origin kept as extra fields (readers ignore them);
* `metrics/<name>.json`: one Prometheus `query_range` body per query, with
  `metrics/queries.yaml` holding the PromQL (file stem → query). Every series keeps
  its `__name__` (the query name when Prometheus dropped it) so names survive the
  round trip; values are written with `repr` so floats read back bit-identical;
  files are numbered (`03_up.json`) to keep the gathered order;
* `logs/<service>.jsonl`: `{ts, service, level, msg}` per record, plus `ref` (the
  original LogQL stream and line) so evidence from a replay still points at Loki;
* `traces/spans.jsonl`: one span per line in the bundle-v1 span shape (`trace_id`,
  `span_id`, `parent_id`, `service`, `name`, `start` (RFC 3339, microseconds),
  `duration_ms`, `status` `ok`/`error`), plus `ref` (the Tempo or Jaeger trace it
  came from) as an attribute; written only when spans were gathered;
* `changes.json`, `topology.yaml`, `bundle.yaml` (window = the gather window, and
  `focus_alert` = the alert's fingerprint);
* `events/events.jsonl` when the profile has event sources (Kubernetes): one event a
  line, `{ts, service, reason, type, message, object, count}` plus `query` (the
  `kubectl` command that reproduces it) and its other attributes as top-level keys,
  in time order. An empty file says "the cluster was asked and said nothing", which
  a missing folder (no event source) does not.

Secrets: a bundle is shared (attached to tickets, replayed by others), and sources
return whatever they hold: a misconfigured server can echo a token back inside an
alert annotation, a log line or a change summary. Every string written (keys and
values, every file) goes through `scrub`: the values of the secrets this process
loaded are replaced by `***`, and so is anything shaped like an Authorization or
token header, a bearer token, a credential parameter (`client_secret=`), a quoted
`"password": …` pair, URL userinfo or a well-known token (GitHub, GitLab, Slack, AWS,
JWT, PEM key); so is the value of a field named after a credential (`db_password`).

Atomic: the files go into a hidden directory beside the output, renamed into place
when complete, with `bundle.yaml` written last, so whatever a killed capture leaves
behind is not a bundle to any reader.

Round trip: triage on the captured bundle sees the same window, alerts, series,
log records, changes and topology as the live triage, so it ranks the same
hypotheses in the same order (tested).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import shutil
import stat
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from aisre_cli.errors import UsageError
from aisre_cli.model import Alert, Context, Event, Series, Span
from aisre_cli.settings.secrets import redact_data
from aisre_cli.sources import WireAlerts
from aisre_cli.sources.timeparse import iso

FORMAT_VERSION = 1


def _stem(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return s[:80] or "series"


def _num(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def alert_to_wire(a: Alert) -> dict[str, Any]:
    """An Alert in the Alertmanager v2 shape (the bundle's alerts.json)."""
    out: dict[str, Any] = {
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "startsAt": iso(a.starts_at),
        "endsAt": iso(a.ends_at) if a.ends_at else None,
        "updatedAt": iso(a.updated_at) if a.updated_at else None,
        "fingerprint": a.id,
        "status": {
            "state": a.state,
            "silencedBy": list(a.silenced_by),
            "inhibitedBy": list(a.inhibited_by),
        },
        "generatorURL": a.generator_url,
        "receivers": [{"name": r} for r in a.receivers],
    }
    out["labels"].setdefault("alertname", a.name)
    if a.aliases:
        out["aliases"] = list(a.aliases)
    if a.sources:
        out["x_aisre_sources"] = list(a.sources)
    return {k: v for k, v in out.items() if v is not None}


def series_bodies(series: list[Series]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Group series by the query that produced them → (stem → query_range body, stem → PromQL)."""
    groups: dict[str, list[Series]] = defaultdict(list)
    for s in series:
        groups[s.query or f"name:{s.name}"].append(s)
    bodies: dict[str, dict[str, Any]] = {}
    queries: dict[str, str] = {}
    width = len(str(len(groups)))
    for i, (query, members) in enumerate(groups.items()):
        # Numbered so the reader (which sorts file names) sees the series in the order
        # they were gathered: ties in the ranking then break the same way on replay.
        stem = f"{i:0{width}d}_{_stem(members[0].name)}"
        result = []
        for s in members:
            metric = dict(s.labels)
            metric["__name__"] = s.name
            result.append(
                {
                    "metric": metric,
                    "values": [[t, _num(v)] for t, v in zip(s.timestamps, s.values, strict=True)],
                }
            )
        bodies[stem] = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        if not query.startswith("name:"):
            queries[stem] = query
    return bodies, queries


def scrub(obj: Any, *, fields: bool = True) -> Any:
    """`obj` (JSON-shaped) as it may be written into a bundle: `redact_data`, and with
    `fields` the value of a key that names a credential replaced whole (not for a
    mapping whose keys are names of ours, like file stems)."""
    return redact_data(obj, fields=fields)


def _scrub_body(body: dict[str, Any]) -> dict[str, Any]:
    """A query_range body with its series labels scrubbed (values are numbers)."""
    for r in body["data"]["result"]:
        r["metric"] = scrub(r["metric"])
    return body


def raw_alerts(alert_sources: Iterable[object]) -> list[dict[str, Any]]:
    """The last listing of every source that keeps one in wire shape (`WireAlerts`)."""
    return [w for s in alert_sources if isinstance(s, WireAlerts) for w in s.last_wire]


_EVENT_CORE = ("ts", "service", "reason", "type", "message", "object", "count")


def event_record(e: Event) -> dict[str, Any]:
    """One `events/*.jsonl` line: the core keys, `query`, then the attributes flattened
    (an attribute never overrides a core key)."""
    rec: dict[str, Any] = {
        "ts": iso(datetime.fromtimestamp(e.ts, UTC)),
        "service": e.service,
        "reason": e.reason,
        "type": e.type,
        "message": e.message,
        "object": e.object,
        "count": e.count,
    }
    if e.query:
        rec["query"] = e.query
    for k, v in e.attrs.items():
        if k not in rec and k != "query":
            rec[str(k)] = v
    return rec


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def check_output(out: Path, *, force: bool = False) -> Path:
    """Refuse an output directory the capture could not, or must not, write; returns
    its real path. `aisre bundle capture` calls this before it gathers anything, so a
    wrong `-o` fails at once instead of after the whole gather budget.

    Refused: a file; a directory that is not empty (without `--force`), or with
    `--force` one that is not an earlier bundle; the current directory (or one that
    holds it); a path through a file; a parent that cannot be written (the capture is
    written beside the output directory, then renamed into place)."""
    target = Path(os.path.realpath(out))  # through a symlink: the link keeps working
    if target.exists():
        if not target.is_dir():
            raise UsageError(
                f"{out} exists and is not a directory", hint="choose a directory to write"
            )
        if any(target.iterdir()) and not force:
            raise UsageError(
                f"{out} exists and is not empty",
                hint="choose a new directory or pass --force to replace its contents",
            )
        if any(target.iterdir()) and not (target / "bundle.yaml").is_file():
            # --force deletes what is there: only ever an earlier bundle, never a folder
            # that happens to be named (`-o ~/notes --force` must not empty ~/notes)
            raise UsageError(
                f"{out} is not an incident bundle (no bundle.yaml): --force replaces only a bundle",
                hint="choose a new or empty directory",
            )
        if Path.cwd() == target or target in Path.cwd().parents:
            raise UsageError(
                f"{out} is the current directory (or holds it): it cannot be replaced",
                hint="run the capture from another directory, or choose a new one",
            )
    # the nearest folder that exists: the capture creates the missing ones below it
    parent = target.parent
    while not parent.exists() and not parent.is_symlink() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(
            f"cannot write {out}: {parent} is not a directory",
            hint="choose an output path whose folders are directories",
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot write {out}: no permission to write in {parent}",
            hint="the capture is written beside the output directory, then renamed:"
            " choose an output directory whose parent you can write",
        )
    return target


def capture_bundle(
    ctx: Context,
    out: Path,
    *,
    title: str = "",
    raw_alerts: list[dict[str, Any]] | None = None,
    force: bool = False,
    events: bool = False,
) -> Path:
    """Write `ctx` as a bundle v1 directory at `out`; returns the path.

    The bundle is written into a fresh directory beside `out` and renamed into place
    (`_swap_in`), so `out` holds exactly the new capture: `--force` over an earlier
    bundle leaves none of its files behind (two incidents in one bundle would mislead
    triage), and an interrupted capture leaves `out` as it was.

    `events`: the profile has event sources, so `events/` is written even when they
    reported nothing (it is written whenever `ctx.events` holds any)."""
    target = check_output(out, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _fresh_dir(target, "capture")
    try:
        _write_bundle(ctx, staging, title=title, raw_alerts=raw_alerts, events=events)
        try:
            _swap_in(staging, target)
        except OSError as exc:
            raise UsageError(
                f"cannot put the capture in place at {out}: {exc.strerror or exc}",
                hint="choose a directory whose parent you can write (not a mount point)",
            ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _fresh_dir(target: Path, what: str) -> Path:
    """A new, empty, hidden directory beside `target` (same file system: renames are
    atomic), created with the default mode like any directory the user makes."""
    for _ in range(100):
        # a short prefix of the name: a 255-byte directory name is valid, the same
        # name with a suffix is not (ENAMETOOLONG)
        short = target.name.encode()[:100].decode(errors="ignore")
        p = target.with_name(f".{short}.{what}-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            p.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise UsageError(
                f"cannot create a directory beside {target}: {exc.strerror or exc}",
                hint="the capture is written beside the output directory, then renamed:"
                " choose an output directory whose parent you can write",
            ) from None
        return p
    raise UsageError(f"cannot create a directory beside {target}")


def _swap_in(staging: Path, target: Path) -> None:
    """Put `staging` at `target`: the earlier directory, if any, is renamed aside first,
    then removed once the new one is in place (restored if that rename fails)."""
    if not target.exists():
        os.rename(staging, target)
        return
    with contextlib.suppress(OSError):  # keep the mode the user gave the directory
        os.chmod(staging, stat.S_IMODE(target.stat().st_mode))
    old = _fresh_dir(target, "old")
    try:
        os.rename(target, old)  # onto the empty `old`: POSIX renames a directory over one
    except BaseException:
        # `target` cannot move (a mount point, a busy directory): nothing to leave beside it
        with contextlib.suppress(OSError):
            old.rmdir()
        raise
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_bundle(
    ctx: Context,
    out: Path,
    *,
    title: str,
    raw_alerts: list[dict[str, Any]] | None,
    events: bool,
) -> None:
    """Write the files of the bundle into the (empty) directory `out`.

    `bundle.yaml` is written last: a directory without it is not a bundle to any
    reader, so a capture cut short where its cleanup could not run (a second Ctrl-C,
    a kill -9, a full disk) never leaves a partial bundle that reads as valid."""
    by_fp = {str(a.get("fingerprint")): a for a in (raw_alerts or []) if isinstance(a, dict)}
    wire = []
    for a in ctx.alerts:
        raw = by_fp.get(a.id)
        if raw is not None and a.source.startswith("alertmanager"):
            w = dict(raw)
            if a.aliases:
                w["aliases"] = list(a.aliases)
            if a.sources:
                w["x_aisre_sources"] = list(a.sources)
            wire.append(w)
        else:
            wire.append(alert_to_wire(a))
    _write(out / "alerts.json", orjson.dumps(scrub(wire), option=orjson.OPT_INDENT_2))

    bodies, queries = series_bodies(ctx.series)
    mdir = out / "metrics"
    mdir.mkdir(exist_ok=True)
    for stem, body in bodies.items():
        _write(mdir / f"{stem}.json", orjson.dumps(_scrub_body(body)))
    if queries:
        _write(
            mdir / "queries.yaml",
            yaml.safe_dump(
                scrub(queries, fields=False), sort_keys=True, width=10_000, allow_unicode=True
            ).encode(),
        )

    ldir = out / "logs"
    ldir.mkdir(exist_ok=True)
    # One file per service, named after it: services whose names make the same file
    # name ("ns/app" and "ns_app", or "App" and "app" on a case-insensitive disk) share
    # the file (the reader takes the service from each record), never overwrite it.
    lines: dict[str, list[bytes]] = defaultdict(list)
    names: dict[str, str] = {}
    logs = ctx.logs
    for i in range(len(logs)):
        svc = logs.service[i]
        key = _stem(svc).casefold()
        names.setdefault(key, _stem(svc))
        rec = {
            "ts": logs.ts[i],
            "service": svc,
            "level": logs.level[i],
            "msg": logs.msg[i],
            "ref": logs.ref(i),
        }
        lines[key].append(orjson.dumps(scrub(rec)))
    for key, recs in lines.items():
        _write(ldir / f"{names[key]}.jsonl", b"\n".join(recs) + b"\n")

    changes = [
        {
            k: v
            for k, v in {
                "id": c.id,
                "ts": iso(c.ts),
                "service": c.service,
                "kind": c.kind,
                "summary": c.summary,
                "version": c.version,
                "previous_version": c.previous_version,
                "author": c.author,
                "url": c.url,
                "source": c.source,
                "ref": c.ref,
            }.items()
            if v is not None
        }
        for c in ctx.changes
    ]
    _write(out / "changes.json", orjson.dumps(scrub(changes), option=orjson.OPT_INDENT_2))

    topo = {"services": {s: {"depends_on": d} for s, d in ctx.topology.depends_on.items()}}
    _write(out / "topology.yaml", yaml.safe_dump(scrub(topo), sort_keys=True).encode())

    if events or ctx.events:
        recs = [
            orjson.dumps(scrub(event_record(e)), default=str)
            for e in sorted(ctx.events, key=lambda e: (e.ts, e.service, e.reason, e.object))
        ]
        _write(out / "events" / "events.jsonl", b"".join(r + b"\n" for r in recs))
    if ctx.spans:
        recs = [orjson.dumps(scrub(span_record(sp))) for sp in ctx.spans]
        _write(out / "traces" / "spans.jsonl", b"\n".join(recs) + b"\n")

    bundle_id = f"{ctx.alert.name}-{ctx.alert.starts_at.strftime('%Y%m%dT%H%M%SZ')}"
    meta = {
        "id": bundle_id,
        "title": title or f"{ctx.alert.name} on {ctx.alert.service or 'unknown service'}",
        "window": {"start": iso(ctx.window.start), "end": iso(ctx.window.end)},
        "focus_alert": ctx.alert.id,
        "captured_by": "aisre bundle capture",
        "format_version": FORMAT_VERSION,
        "notes": [n.render() for n in ctx.notes if n.status != "ok"],
    }
    _write(out / "bundle.yaml", yaml.safe_dump(scrub(meta), sort_keys=False).encode())


def span_record(sp: Span) -> dict[str, Any]:
    """One span in the bundle-v1 `traces/*.jsonl` shape that `read_spans` reads."""
    from datetime import UTC, datetime

    start = datetime.fromtimestamp(sp.start, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    rec: dict[str, Any] = {
        "trace_id": sp.trace_id,
        "span_id": sp.span_id,
        "parent_id": sp.parent_id,
        "service": sp.service,
        "name": sp.name,
        "start": start,
        "duration_ms": sp.duration_ms,
        "status": "error" if sp.error else "ok",
    }
    if sp.peer:
        rec["span.kind"] = "client"
        rec["peer.service"] = sp.peer
    if sp.ref:
        rec["ref"] = sp.ref
    return rec
