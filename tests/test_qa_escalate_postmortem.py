"""QA pass on `aisre escalate` and `aisre incident export` (2026-12-03, escalate/postmortem).

What an on-call engineer hit: `--json` that was not JSON, a hand-off posted twice when
`aisre escalate` was run again after a Ctrl-C, a LogQL query whose backticks broke its
code span (and outside Markdown that rendered as links in PagerDuty), and postmortems
whose timeline carried the whole hand-off in one cell and mixed time zones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pexpect
import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from aisre_cli.govern.audit import AuditLog
from aisre_cli.govern.escalation import escalation_runbook, handoff_markdown
from aisre_cli.memory.storage import RunOutcome
from aisre_cli.memory.store import MemoryStore
from aisre_cli.model import Evidence
from aisre_cli.settings import paths
from tests.contract_servers.pagerduty import PagerDutyServer
from tests.fakes.cli import run
from tests.fakes.env import AISRE, make_env, write_config
from tests.test_escalate import ALERT, BUNDLE, PROMPT, _report, escalate
from tests.test_memory_store import SIG, report


def _pd_env(home: Path, url: str) -> dict[str, str]:
    write_config(home, {"sources": {"pagerduty": {"url": url, "from_email": "oncall@example.com"}}})
    return make_env(home, AISRE_PAGERDUTY_TOKEN="pd-test-token")


def _tokens(md: str) -> list[Token]:
    out: list[Token] = []
    for t in MarkdownIt("commonmark").enable("table").parse(md):
        out.append(t)
        out.extend(t.children or [])
    return out


# ------------------------------------------------------------------ escalate --json


def test_escalate_json_prints_only_json_on_stdout(tmp_path: Path) -> None:
    """`aisre escalate ID --incident Q --json` printed the Markdown hand-off and then
    the JSON on stdout: `| jq` failed on every posting run. Without an incident id,
    `--json` printed the hand-off and no JSON at all."""
    pd = PagerDutyServer()
    with pd:
        inc = pd.add_incident("PetSite latency")
        env = _pd_env(tmp_path, pd.url)
        cp = escalate(env, "--incident", inc["id"], "--json")
        assert cp.returncode == 5, cp.stderr  # no terminal: nothing is posted
        data = json.loads(cp.stdout)
        assert data["schema"] == "aisre.escalation/v1" and data["posted"] is True
        assert data["markdown"].startswith("# Escalation: PetSiteHighLatency")
        assert data["run"]["status"] == "stopped"
        assert pd.notes[inc["id"]] == []
        cp = escalate(env, "--json")
        assert cp.returncode == 2 and "--incident" in cp.stderr
        assert cp.stdout == "", cp.stdout[:200]


# ------------------------------------------------------------------ posted once


def _spawn(env: dict[str, str], incident: str) -> pexpect.spawn:
    return pexpect.spawn(
        AISRE[0],
        [*AISRE[1:], "escalate", ALERT, "--bundle", str(BUNDLE), "--incident", incident],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )


def test_escalate_again_after_ctrl_c_does_not_post_the_handoff_twice(tmp_path: Path) -> None:
    """Ctrl-C at the escalation prompt (the note was posted), then `aisre escalate`
    again, as the hint-less engineer does: the second hand-off differed from the first
    only by the first run's own records and the audit head, so the note capability's
    "already on the incident" check missed it and PagerDuty got the hand-off twice."""
    pd = PagerDutyServer()
    with pd:
        inc = pd.add_incident("PetSite latency")
        env = _pd_env(tmp_path, pd.url)
        child = _spawn(env, inc["id"])
        child.expect("pagerduty.note")
        child.expect(PROMPT)
        child.send("y")
        child.expect("pagerduty.escalate")
        child.expect(PROMPT)
        child.send("\x03")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 130
        assert len(pd.notes[inc["id"]]) == 1 and "escalation_level" not in inc
        child = _spawn(env, inc["id"])
        child.expect(PROMPT)
        child.send("y")
        child.expect("pagerduty.escalate")
        child.expect(PROMPT)
        child.send("y")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert len(pd.notes[inc["id"]]) == 1, [n["content"][-400:] for n in pd.notes[inc["id"]]]
        assert inc["escalation_level"] == 2
    recs = list(AuditLog(tmp_path / "data" / "audit.jsonl").records())
    notes = [r for r in recs if r.event == "result" and r.data.get("step") == "note"]
    assert [bool(r.data["output"].get("already_posted")) for r in notes] == [False, True]


def test_a_refused_token_ends_the_escalation_as_an_auth_failure(tmp_path: Path) -> None:
    """PagerDuty answers the note with 401: the run stops on an auth failure (exit 4, as
    the README says of a refused credential), not as a remediation that did not verify
    (6)."""
    pd = PagerDutyServer()
    with pd:
        inc = pd.add_incident("PetSite latency")
        env = _pd_env(tmp_path, pd.url) | {"AISRE_PAGERDUTY_TOKEN": "revoked"}
        child = _spawn(env, inc["id"])
        child.expect("pagerduty.note")
        child.expect(PROMPT)
        child.send("y")
        child.expect(pexpect.EOF)
        out = child.before
        child.close()
        assert child.exitstatus == 4, out[-800:]
        assert pd.notes[inc["id"]] == []


def test_handoff_leaves_out_its_own_escalation_runs(tmp_path: Path) -> None:
    rep = _report()
    log = AuditLog(tmp_path / "audit.jsonl")
    fix = "r-20260101T000000Z-aaaaaa"
    log.append("run_start", {"alert": rep.alert.id, "runbook": "rollback"}, fix)
    log.append("result", {"step": "rollback", "attempt": 1, "ok": True}, fix)
    before = handoff_markdown(rep, log)
    esc = "r-20260101T000000Z-eeeeee"
    source = escalation_runbook().source
    log.append(
        "run_start", {"alert": rep.alert.id, "runbook": "escalate", "runbook_source": source}, esc
    )
    log.append("intent", {"step": "note", "attempt": 1, "action": "POST …/notes"}, esc)
    log.append("stopped", {"reason": "interrupted: Ctrl-C", "step": None}, esc)
    assert handoff_markdown(rep, log) == before
    # a runbook run after it is news: it is listed, under the newest head
    log.append("result", {"step": "rollback", "attempt": 2, "ok": True}, fix)
    after = handoff_markdown(rep, log)
    seq, head = log.head()
    assert f"Audit head: #{seq} `{head}`" in after and "audit #6" in after


# ------------------------------------------------------------------ hand-off Markdown


def test_handoff_keeps_backticks_in_queries_and_outside_markdown_inert() -> None:
    """A LogQL query (`|~ \\`error\\``) closed its code span early: the note showed a
    query nobody could paste back. A summary carrying a Markdown link or an HTML tag
    rendered as a live link in the PagerDuty note, under aisre's name."""
    from aisre_cli.remediate.capabilities.web import PdNoteInput

    rep = _report()
    query = '{app="checkout"} |~ `error.*timeout` | logfmt'
    rep.evidence[0].query = query
    rep.evidence[
        0
    ].summary = (
        "see [the runbook](http://evil.example/x) <img src=x onerror=alert(1)> **URGENT** \\[y](z)"
    )
    rep.verdict.hypotheses[0].subject = "d](http://evil.example) [x"
    rep.alert.annotations["summary"] = "`unclosed code"
    md = handoff_markdown(rep, AuditLog())
    toks = _tokens(md)
    assert not [t for t in toks if t.type in ("link_open", "image", "html_inline", "html_block")]
    strong = [toks[i + 1].content for i, t in enumerate(toks[:-1]) if t.type == "strong_open"]
    assert "URGENT" not in strong and "escalate" in strong
    codes = [t.content for t in toks if t.type == "code_inline"]
    assert query in codes, codes
    assert "checkout" in codes and rep.alert.id in codes
    text = "".join(t.content for t in toks if t.type == "text")
    assert "[the runbook](http://evil.example/x)" in text and "<img src=x" in text
    assert "**URGENT**" in text and "`unclosed code" in text
    assert PdNoteInput(incident_id="Q1", content=md).content == md


# ------------------------------------------------------------------ postmortem


def test_postmortem_timeline_does_not_carry_the_whole_handoff(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An escalated incident's postmortem put the run's parameters, the whole 5,000
    character hand-off with its newlines, in one timeline cell."""
    with MemoryStore(paths.memory_db_file()) as st:
        inc = st.record_report(report(), SIG)
        rid = "r-20260301T120500Z-abcdef"
        st.record_run(
            RunOutcome(
                run_id=rid,
                runbook_id="escalate",
                outcome="completed",
                alert_id=inc.alert_id,
                steps={"note": "done", "escalate": "done"},
            )
        )
    handoff = "# Escalation: X\n\n| a | b |\n" + "evidence line\n" * 400
    log = AuditLog(paths.audit_log_file())
    log.append(
        "run_start",
        {"alert": inc.alert_id, "runbook": "escalate", "params": {"handoff": handoff}}
        | {"param_sources": {}},
        rid,
    )
    log.append("run_end", {"status": "completed"}, rid)
    code, out, err = run(capsys, "incident", "export", str(inc.id))
    assert code == 0, err
    (row,) = [x for x in out.splitlines() if "runbook escalate started" in x]
    assert len(row) < 600, row[:300]
    assert "handoff" in row and "evidence line" not in row.split("handoff", 1)[1][200:]
    _table_rows_have(out, "## Timeline", 3)


def _table_rows_have(md: str, heading: str, cells: int) -> None:
    section = md.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [x for x in section.splitlines() if x.startswith("|")]
    assert rows
    toks = MarkdownIt("commonmark").enable("table").parse(section)
    n_tr = sum(1 for t in toks if t.type == "tr_open")
    assert n_tr == len(rows) - 1  # every row but the delimiter row is a table row
    per_row: list[int] = []
    for t in toks:
        if t.type == "tr_open":
            per_row.append(0)
        elif t.type in ("td_open", "th_open"):
            per_row[-1] += 1
    assert set(per_row) == {cells}, per_row


def test_postmortem_timeline_is_in_utc_and_in_time_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A teammate's export with local offsets (`+02:00`, `-07:00`) went into the
    "time (UTC)" column as written, and the timeline was sorted as text: the alert at
    14:00+02:00 (12:00 UTC) came after a change at 13:30Z."""
    with MemoryStore(tmp_path / "teammate.sqlite3") as st:
        rep = report()
        rep.evidence = [
            Evidence(
                id="E1",
                kind="change",
                service="checkout",
                summary="deploy v2",
                strength=0.9,
                start=datetime(2026, 3, 1, 11, 30, tzinfo=UTC),
                query="changes.json#c-1",
            )
        ]
        inc = st.record_report(rep, SIG)
        data: dict[str, Any] = json.loads(json.dumps(st.export_all()))
    d = data["incidents"][0]
    plus2 = timezone(timedelta(hours=2))
    minus7 = timezone(timedelta(hours=-7))
    d["uid"] = "inc-0123456789ab"
    d["alert"]["starts_at"] = datetime(2026, 3, 1, 14, 0, tzinfo=plus2).isoformat()
    d["onset"] = datetime(2026, 3, 1, 4, 50, tzinfo=minus7).isoformat()  # 11:50 UTC
    d["created_at"] = datetime(2026, 3, 1, 14, 5, tzinfo=plus2).isoformat()
    d["report"]["evidence"][0]["start"] = "2026-03-01T13:30:00+02:00"  # 11:30 UTC
    f = tmp_path / "team.json"
    f.write_text(json.dumps(data))
    code, _, err = run(capsys, "incident", "import", str(f))
    assert code == 0, err
    del inc
    code, out, err = run(capsys, "incident", "export", "inc-0123456789ab")
    assert code == 0, err
    section = out.split("## Timeline", 1)[1].split("\n## ", 1)[0]
    rows = [x for x in section.splitlines() if x.startswith("| 2")]
    times = [r.split(" | ", 1)[0].removeprefix("| ") for r in rows]
    assert times == [
        "2026-03-01T11:30:00Z",
        "2026-03-01T11:50:00Z",
        "2026-03-01T12:00:00Z",
        "2026-03-01T12:05:00Z",
    ], rows
    assert "change: deploy v2" in rows[0] and "fired" in rows[2]
    code, out, err = run(capsys, "incident", "export", "inc-0123456789ab", "-f", "json")
    pm = json.loads(out)
    assert [t["ts"] for t in pm["timeline"]] == times


@pytest.mark.parametrize("email", [None, "oncall.example.com"])
def test_escalate_without_a_from_email_says_so_before_anything_runs(
    email: str | None, tmp_path: Path
) -> None:
    """PagerDuty refuses writes without a `From` user (`Requester User Not Found`): the
    engineer confirmed the note, got a raw HTTP 400 body, exit 6 ("verification
    failed"), and a failed run in the audit log. The PagerDuty source already refuses
    writes without `from_email`; the escalation now does too, before planning."""
    pd = PagerDutyServer()
    with pd:
        inc = pd.add_incident("PetSite latency")
        cfg: dict[str, Any] = {"url": pd.url}
        if email is not None:
            cfg["from_email"] = email
        write_config(tmp_path, {"sources": {"pagerduty": cfg}})
        env = make_env(tmp_path, AISRE_PAGERDUTY_TOKEN="pd-test-token")
        cp = escalate(env, "--incident", inc["id"])
        assert cp.returncode == 2, cp.stderr
        assert "from_email" in cp.stderr and "Traceback" not in cp.stderr
        assert cp.stdout.startswith("# Escalation: ")  # the hand-off is still printed
        assert pd.notes[inc["id"]] == []
        assert not [r for r in pd.requests if r.method != "GET"]
    assert not (tmp_path / "data" / "audit.jsonl").exists()
