"""The evidence pane: the selected hypothesis' statement and the evidence it cites.

Cited (supporting) evidence comes first and is highlighted, contradicting evidence
is marked, and the rest of the report's evidence follows, dimmed, so the engineer
sees what the hypothesis does *not* rest on. Every item shows its reproducing query
and, with Grafana configured, its Explore link (as text: OSC 8 hyperlinks are not
written, the terminal-safety rules forbid OSC sequences).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from aisre_cli.model import Evidence, Hypothesis, TriageReport
from aisre_cli.ui.term import visible


def _strength(p: float) -> str:
    return "▮" * round(p * 5) + "▯" * (5 - round(p * 5))


def evidence_text(ev: Evidence, role: str) -> Text:
    t = Text()
    mark = {"cites": "▶ ", "contradicts": "✖ ", "other": "  "}[role]
    style = {"cites": "bold", "contradicts": "bold red", "other": "dim"}[role]
    t.append(mark, style="reverse" if role == "cites" else style)
    t.append(f"{ev.id} ", style=f"{style} underline" if role == "cites" else style)
    t.append(f"[{ev.kind}] ", style="cyan" if role != "other" else "dim")
    t.append(_strength(ev.strength) + " ", style="green" if role == "cites" else "dim")
    t.append(visible(ev.summary, oneline=True), style="" if role != "other" else "dim")
    if role != "other" and ev.query:
        t.append("\n    ")
        t.append(visible(ev.query, oneline=True), style="dim italic")
    if role != "other":
        for link in ev.links:
            t.append("\n    ↗ ")
            t.append(visible(f"{link.label}: {link.url}", oneline=True), style="dim")
    return t


class EvidencePane(VerticalScroll, can_focus=True):
    """Follows the hypothesis the incident screen is showing."""

    class Changed(Message):
        """The pane now shows this hypothesis; `cited` are its supporting evidence ids."""

        def __init__(self, rank: int, cited: list[str]) -> None:
            super().__init__()
            self.rank = rank
            self.cited = cited

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.body = Static("", markup=False, id="evidence-body")
        self.cited: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.body

    def show(self, report: TriageReport, h: Hypothesis) -> None:
        by_id = report.evidence_by_id()
        t = Text()
        t.append(visible(h.statement, oneline=True) + "\n", style="bold")
        parts: list[Text] = []
        for eid in h.evidence:
            if eid in by_id:
                parts.append(evidence_text(by_id[eid], "cites"))
        for eid in h.contradicting:
            if eid in by_id:
                parts.append(evidence_text(by_id[eid], "contradicts"))
        shown = set(h.evidence) | set(h.contradicting)
        others = [e for e in report.evidence if e.id not in shown]
        if others:
            parts.append(Text(f"not cited ({len(others)}):", style="dim"))
            parts.extend(evidence_text(e, "other") for e in others)
        t.append(Text("\n").join(parts))
        self.body.update(t)
        self.scroll_home(animate=False)
        self.cited = list(h.evidence)
        self.post_message(self.Changed(h.rank, list(h.evidence)))
