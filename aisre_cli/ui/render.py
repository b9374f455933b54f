"""Rich rendering of core results for the CLI (tables and reports go to stdout).

The core hands us models (`Alert`, `TriageReport`, `SourceNote`); this module only
decides how they look. Progress and notes go to stderr.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aisre_cli.model import Alert, SourceNote, TriageReport, short_alert_id, short_ids
from aisre_cli.ui.term import console, safe, visible
from aisre_cli.ui.term import markup as escape

SEVERITY_STYLE = {
    "critical": "bold red",
    "page": "bold red",
    "error": "red",
    "high": "red",
    "warning": "yellow",
    "warn": "yellow",
    "info": "cyan",
}


def out() -> Console:
    return console(soft_wrap=False)


def err() -> Console:
    return console(stderr=True)


def age(ts: datetime, now: datetime | None = None) -> str:
    d = ((now or datetime.now(UTC)) - ts).total_seconds()
    if d < 0:
        return "future"
    if d < 120:
        return f"{d:.0f}s"
    if d < 7200:
        return f"{d / 60:.0f}m"
    if d < 172800:
        return f"{d / 3600:.0f}h"
    return f"{d / 86400:.0f}d"


def hm(ts: datetime | None) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else "?"


def source_notes(notes: Sequence[SourceNote]) -> None:
    bad = [n for n in notes if n.status != "ok"]
    if not bad:
        return
    c = err()
    for n in bad:
        style = "red" if n.status == "failed" else "yellow"
        c.print(f"[{style}]source {escape(n.render())}[/]")


@contextmanager
def source_progress(enabled: bool = True) -> Iterator[Callable[[SourceNote], None] | None]:
    """A live per-source status on stderr while gathering (silent for bundles)."""
    if not enabled:
        yield None
        return
    c = err()

    def progress(note: SourceNote) -> None:
        style = {"ok": "green", "partial": "yellow"}.get(note.status, "red")
        c.print(f"[{style}]{note.status:>7}[/] {escape(note.render())}", highlight=False)

    with c.status("gathering from sources…", spinner="dots"):
        yield progress


SUMMARY_MAX = 200
"""Columns of summary the alerts table shows (the rest is cut with an ellipsis): a pipe
has no width (`term.PIPE_WIDTH`), so one 10 KB summary padded every row of a file to
10,000 columns. `aisre alerts --json` and the triage report have the whole text."""


def alert_state(a: Alert) -> str:
    """Why an alert listed by `aisre alerts --all` is not paging: `silenced`,
    `inhibited`, or Alertmanager's state when it is not `active`; empty when it pages."""
    if a.silenced_by:
        return "silenced"
    if a.inhibited_by:
        return "inhibited"
    return "" if a.state == "active" else a.state


def alerts_table(groups: Sequence[Sequence[Alert]], ids: Mapping[str, str] | None = None) -> None:
    """The inbox: one row per alert, an incident's head first (the caller's order);
    `ids` maps each alert to the id shown (default: `short_ids` of the listing)."""
    c = out()
    if not groups:
        c.print("no active alerts")
        return
    flat = [a for g in groups for a in g]
    shown = ids if ids is not None else short_ids(flat)
    states = {a.id: alert_state(a) for a in flat}
    marked = any(states.values())  # `--all`: a column says what is silenced or inhibited
    wide = c.width >= 120
    # Below 120 columns the summary column would be a few characters wide: it goes under
    # the alert name instead, in a column that takes the width left over.
    narrow = not wide
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=narrow)
    t.add_column("#", justify="right", style="dim", no_wrap=True)
    t.add_column("severity", no_wrap=True)
    if marked:
        t.add_column("state", style="yellow", no_wrap=True)
    # names and ids are what people copy: never truncate them; the summary gives way
    # (as shown, controls made visible). An absurd or hostile name (past a third of the
    # width, and longer than any real alertname) is cut with an ellipsis, and a service
    # folds within a sixth (cut after four lines), rather than squeezing the summary to
    # one character. Into a pipe (no width) the thirds are of 600 columns, as for the
    # summary (SUMMARY_MAX).
    span = min(c.width, 3 * SUMMARY_MAX)
    cap = max(32, span // 3)
    longest = max(len(visible(a.name, oneline=True)) for a in flat)
    if narrow:
        t.add_column("alertname / summary", overflow="fold", min_width=min(longest, cap), ratio=1)
    else:
        t.add_column(
            "alertname", style="bold", no_wrap=True, min_width=min(longest, cap), max_width=cap
        )
    svc_w = max(16, span // 6)
    t.add_column("service", overflow="fold", max_width=svc_w)
    t.add_column("age", justify="right", no_wrap=True)
    t.add_column("id", style="cyan", no_wrap=True, min_width=8)
    if wide:
        t.add_column("sources", style="dim")
    if not narrow:
        t.add_column("summary", overflow="fold", ratio=1)
    now = datetime.now(UTC)
    for gi, g in enumerate(groups, 1):
        for i, a in enumerate(g):
            sev = safe(a.severity, SEVERITY_STYLE.get(a.severity, ""), oneline=True)
            summary = safe(a.summary, oneline=True)
            summary.truncate(SUMMARY_MAX, overflow="ellipsis")
            name: str | Text = safe(a.name, oneline=True)
            if narrow:
                name = Text(visible(a.name, oneline=True), style="bold")
                if a.summary:
                    name.append("\n" + summary.plain, style="dim")
            # a service folds over at most four lines; a hostile or absurd one is cut
            # with an ellipsis there rather than filling screens of the table
            service = safe(a.service or "-", oneline=True)
            service.truncate(4 * svc_w, overflow="ellipsis")
            cells: list[str | Text] = [str(gi) if i == 0 else "└", sev]
            if marked:
                cells.append(safe(states[a.id], oneline=True))
            cells += [
                name,
                service,
                age(a.starts_at, now),
                safe(shown.get(a.id, a.short_id), oneline=True),
            ]
            if wide:
                srcs = ",".join(s.split(":")[0] for s in a.sources) or a.source
                cells.append(safe(srcs, oneline=True))
            if not narrow:
                cells.append(summary)
            t.add_row(*cells)
    c.print(t)
    n = sum(len(g) for g in groups)
    c.print(f"[dim]{n} alert(s) in {len(groups)} incident(s)[/]")


def _bar(p: float, width: int = 10) -> str:
    full = round(p * width)
    return "█" * full + "░" * (width - full)


def _hanging(c: Console, prefix: Text, body: Text) -> None:
    """Print `prefix` then `body`, every wrapped line of `body` starting under its
    first: a narrow terminal keeps the hypotheses and the evidence list scannable (a
    plain print wrapped them back to column 0). Lines are not padded to the width."""
    indent = prefix.cell_len
    lines = body.wrap(c, max(20, c.width - indent), overflow="fold")
    out = prefix.copy()
    for i, line in enumerate(lines):
        if i:
            out.append("\n" + " " * indent)
        line.rstrip()
        out.append_text(line)
    c.print(out, soft_wrap=True)


def _fields(parts: Sequence[Text], width: int) -> Text:
    """`parts` two spaces apart, each kept whole: a line break goes between two of them
    (a timestamp is never cut between its date and its time)."""
    line = Text()
    used = 0
    for part in parts:
        if used and used + 2 + part.cell_len > width:
            line.append("\n")
            used = 0
        elif used:
            line.append("  ")
            used += 2
        line.append_text(part)
        used += part.cell_len
    return line


def render_report(report: TriageReport, verbose: int = 0) -> None:
    c = out()
    a = report.alert
    v = report.verdict
    title = Text()
    title.append(visible(a.name, oneline=True), style="bold")
    title.append(" on ")
    title.append(visible(a.service or "?", oneline=True), style="bold")
    title.append(" ")
    title.append(visible(a.severity, oneline=True), style=SEVERITY_STYLE.get(a.severity, "none"))
    ident = Text("id ")
    ident.append(visible(a.short_id, oneline=True), style="cyan")
    parts = [title, ident, Text(f"fired {hm(a.starts_at)}"), Text(f"onset {hm(report.onset)}")]
    c.print(_fields(parts, c.width))
    if a.summary:
        _hanging(c, Text(), safe(a.summary, "dim"))
    c.print()
    if v.escalate:
        verdict = Text(" ESCALATE ", style="bold white on red")
        verdict.append(" " + visible(v.reason))
    else:
        verdict = Text("verdict", style="bold green")
        verdict.append(f" {v.classification}: {visible(v.reason)}")
    _hanging(c, Text(), verdict)
    if v.related_alerts:
        related = ", ".join(short_alert_id(x) for x in v.related_alerts)
        c.print(f"[dim]related alerts: {escape(related)}[/]")

    if v.hypotheses:
        c.print("\n[bold underline]Hypotheses[/]")
    else:
        c.print("\n[yellow]no hypothesis has supporting evidence[/]")
    kind_w = max((len(h.kind) for h in v.hypotheses), default=0)
    shown_services: set[str] = set()
    for h in v.hypotheses:
        dim = "dim" if v.escalate else ""
        num = Text(f"{h.rank:>2}. ", style="bold")
        head = Text()
        head.append(f"{h.kind:<{kind_w}} ", style="bold cyan")
        head.append(f"{_bar(h.confidence)} {h.confidence:.2f}  ")
        head.append(visible(h.service), style="bold")
        if h.subject and h.subject != h.service:
            head.append(f"  ({visible(h.subject)})", style="cyan")
        if h.service not in shown_services and h.service_confidence >= h.confidence + 0.05:
            # several kinds split the service's share: say how sure the service itself is
            head.append(f"  service {h.service_confidence:.2f}", style="dim")
        shown_services.add(h.service)
        head.append("  " + " ".join(h.evidence), style="magenta")
        if dim:
            head.stylize(dim)
            num.stylize(dim)
        _hanging(c, num, head)
        _hanging(c, Text("    "), safe(h.statement, dim or ""))
        if h.runbooks:
            c.print(f"    [green]runbooks:[/] {escape(', '.join(h.runbooks))}")
        if verbose:
            why = ", ".join(f"{k} {val:+.2f}" for k, val in h.features.items())
            c.print(f"    [dim]why (score {h.score:.2f}): {escape(why)}[/]")

    if report.evidence:
        c.print("\n[bold underline]Evidence[/]")
    ev_w = max((len(e.kind) for e in report.evidence), default=0)
    for e in report.evidence:
        when = e.start.astimezone(UTC).strftime("%H:%M:%S") if e.start else "--:--:--"
        line = Text()
        line.append(f"{e.kind:<{ev_w}} ", style="cyan")
        line.append(f"{when}  ")
        line.append(visible(e.summary))
        _hanging(c, Text(f"{e.id:>4} ", style="bold magenta"), line)
        where = e.query or ""
        if e.ref and e.ref not in where:
            where = f"{where}  ({e.ref})" if where else e.ref
        if where:
            # never hard-wrapped: a query cut by inserted newlines cannot be pasted
            c.print(safe("     ↳ " + where, "dim", oneline=True), soft_wrap=True)
        for link in e.links:
            # never hard-wrapped: a URL cut by inserted newlines cannot be opened
            c.print(safe(f"     ↗ {link.label}: {link.url}", "dim", oneline=True), soft_wrap=True)
        if verbose and e.excerpt:
            for ex in e.excerpt[:3]:
                c.print(safe("       │ " + ex, "dim", oneline=True))
    for n in report.notes:
        err().print(f"[yellow]note:[/] {escape(n)}")
    # never hard-wrapped: the command it quotes is meant to be copied whole
    c.print(f"\n[bold]next:[/] {escape(v.next_step)}", soft_wrap=True)


def report_markdown(report: TriageReport) -> str:
    """The report as Markdown; every outside field on one line, controls made visible."""

    def f(text: str | None) -> str:
        return visible(text or "", oneline=True)

    def cell(text: str | None) -> str:
        return f(text).replace("|", "\\|")

    a = report.alert
    v = report.verdict
    lines = [
        f"# {f(a.name)} on {f(a.service or '?')} ({f(a.severity)})",
        "",
        f"- alert id: `{f(a.id)}`",
        f"- fired: {hm(a.starts_at)}; onset: {hm(report.onset)}",
        f"- verdict: **{'ESCALATE' if v.escalate else v.classification}**: {f(v.reason)}",
        "",
        "## Hypotheses",
        "",
        "| # | kind | service | subject | confidence | statement | evidence |",
        "|---|---|---|---|---|---|---|",
    ]
    for h in v.hypotheses:
        cells = [
            str(h.rank),
            h.kind,
            cell(h.service),
            cell(h.subject),
            f"{h.confidence:.2f}",
            cell(h.statement),
            " ".join(h.evidence),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Evidence", ""]
    for e in report.evidence:
        lines.append(f"- **{e.id}** ({e.kind}, {f(e.service or '-')}): {f(e.summary)}")
        if e.query:
            lines.append(f"  - reproduce: `{f(e.query)}`" + (f" ({f(e.ref)})" if e.ref else ""))
        for link in e.links:
            lines.append(f"  - open: [{f(link.label)}](<{f(link.url)}>)")
    if report.notes:
        lines += ["", "## Degradation notes", ""] + [f"- {f(n)}" for n in report.notes]
    lines += ["", f"**Next step:** {f(v.next_step)}", ""]
    return "\n".join(lines)
