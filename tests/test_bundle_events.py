"""events/*.jsonl (bundle v1, optional): read, validated line by line, capped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aisre_cli.errors import BundleError
from aisre_cli.settings.config import InputLimits
from aisre_cli.sources.bundle import BundleSource, read_events

DEMO = Path(__file__).resolve().parents[1] / "aisre_cli" / "data" / "demo"


def _bundle(tmp_path: Path, lines: list[str]) -> BundleSource:
    root = tmp_path / "b"
    shutil.copytree(DEMO, root)
    (root / "events").mkdir(exist_ok=True)
    (root / "events" / "k8s.jsonl").write_text("\n".join(lines) + "\n")
    return BundleSource(root, ["service"])


def test_events_are_read_with_attributes_and_refs(tmp_path: Path) -> None:
    b = _bundle(
        tmp_path,
        [
            '{"ts": "2026-11-30T10:00:00Z", "service": "payments", "reason": "OOMKilled",'
            ' "type": "Warning", "message": "container app", "object": "pod/payments-1",'
            ' "count": 3, "exit_code": 137}',
            "",
            '{"ts": 1764496900, "service": "cart", "reason": "Scheduled", "type": "Normal"}',
        ],
    )
    ev = b.fetch_events(b.window.start, b.window.end)
    assert [e.reason for e in ev] == ["OOMKilled", "Scheduled"]
    assert ev[0].count == 3 and ev[0].attrs == {"exit_code": 137}
    assert ev[0].object == "pod/payments-1" and ev[0].ref == "events/k8s.jsonl:1"
    assert ev[1].type == "Normal" and ev[1].count == 1 and ev[1].ref == "events/k8s.jsonl:3"
    assert [e.service for e in b.fetch_events(b.window.start, b.window.end, {"cart"})] == ["cart"]


def test_a_bundle_without_events_has_none(tmp_path: Path) -> None:
    root = tmp_path / "b"
    shutil.copytree(DEMO, root)
    shutil.rmtree(root / "events", ignore_errors=True)
    b = BundleSource(root, ["service"])
    assert b.fetch_events(b.window.start, b.window.end) == []


@pytest.mark.parametrize(
    ("line", "msg"),
    [
        ("{not json", "events/k8s.jsonl:1: invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"ts": 1, "service": "a"}', "reason: required"),
        ('{"ts": "yesterday-ish", "service": "a", "reason": "BackOff"}', "ts:"),
        ('{"ts": 1, "service": "a", "reason": "BackOff", "count": "x"}', "count: not an integer"),
        ('{"ts": 1, "service": "a", "reason": "BackOff", "type": "Bad"}', "type: expected"),
    ],
)
def test_a_bad_event_line_is_a_one_line_error(tmp_path: Path, line: str, msg: str) -> None:
    b = _bundle(tmp_path, [line])
    with pytest.raises(BundleError) as exc:
        b.validate()
    assert msg in str(exc.value) and "\n" not in str(exc.value)


def test_events_are_capped(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    p.write_text('{"ts": 1, "service": "a", "reason": "BackOff"}\n' * 5)
    assert len(read_events(p, "e.jsonl", limits=InputLimits(max_events=5))) == 5
    with pytest.raises(BundleError, match="max_events"):
        read_events(p, "e.jsonl", limits=InputLimits(max_events=4))
