"""The words of an evidence summary say what the data says.

Found in a QA pass reading `aisre triage` output against the bundles it cites: memory in
mebibytes quoted as bytes (`15.8B → 82.3B`), summaries cut at 240 characters mid-word
with no sign of the cut (`…; its anomalous d`), and a one-sample spike that was over
quoted as a lasting rise to a value the series never had (`rose from 0.0372 to 0.132
(peak 0.228)`, the series 0.036, 0.038, 0.228, 0.0357, 0.0379).
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest

from aisre_cli.investigate.analyzers.changes import ChangeFinding
from aisre_cli.investigate.analyzers.metrics import MetricFinding, detect
from aisre_cli.investigate.evidence import (
    SUMMARY_MAX,
    _fmt,
    change_evidence,
    metric_evidence,
    shorten,
    shorten_parts,
)
from aisre_cli.investigate.families import FamilyMatcher
from aisre_cli.investigate.scene import _topology_evidence
from aisre_cli.model import Change, Series, Topology

# ------------------------------------------------------------------ units


@pytest.mark.parametrize(
    ("value", "name", "shown"),
    [
        (15.8, "container_memory_usage_mebibytes", "15.8MiB"),  # was 15.8B
        (82.3, "container_memory_usage_mebibytes", "82.3MiB"),
        (1500.0, "container_memory_usage_mebibytes", "1.46GiB"),  # was 1.5kB
        (1023.0, "x_mebibytes", "1023MiB"),
        (2048.0, "jvm_heap_kibibytes", "2MiB"),
        (0.5, "volume_size_gibibytes", "0.5GiB"),
        (1500.0, "disk_used_kilobytes", "1.5MB"),
        (512.0, "cache_kb", "512kB"),
        (2048.0, "heap_used_mb", "2.05GB"),
        (3.0, "disk_free_gigabytes", "3GB"),
        (3.0, "disk_free_gb", "3GB"),
        (5.2, "Memory_Used_MB", "5.2MB"),  # tokens, whatever their case
        (5e6, "link_rx_bits", "5Mbit"),
        (2500.0, "link_rate_bps", "2.5kbps"),
        (5.2, "link_speed_mbps", "5.2Mbps"),  # `_mbps` is megabits a second, not bytes
        (5.2, "net_throughput_mbits", "5.2Mbit"),
        # a name in bytes reads as before: decimal prefixes from the base unit
        (3.64e8, "container_memory_working_set_bytes", "364MB"),
        (1.53e5, "node_network_receive_bytes_rate", "153kB"),
        (1500.0, "x_bytes", "1.5kB"),
        (512.0, "x_bytes", "512B"),
        (999_600.0, "x_bytes", "1MB"),
        (12.0, "kafka_server_bytesin_total", "12B"),
        # a name with no unit reads as before
        (1500.0, "node_cpu_usage_percent", "1500"),
        (716575.0, "", "717k"),
        (5.2, "mbps_probe_misses", "5.2Mbps"),
    ],
)
def test_a_value_is_quoted_in_the_unit_its_name_says(value: float, name: str, shown: str) -> None:
    assert _fmt(value, name) == shown


@pytest.mark.parametrize("name", ["uplink_mbps", "net_mbits_total", "rx_mbps_rate", "gbps_out"])
def test_a_bit_rate_is_never_read_as_bytes(name: str) -> None:
    assert not _fmt(5.2, name).endswith("B")
    assert _fmt(5.2, name) != "5.2"  # and its unit is said


def test_a_unit_is_a_whole_token_of_the_name() -> None:
    # `mb`, `kb`, `gb` inside a word are no unit
    for name in ("mbean_count", "kbd_events", "gbc_pauses", "thumbnail_cache_entries"):
        assert _fmt(1500.0, name) == "1500", name


# ------------------------------------------------------------------ shortening


def test_a_text_that_fits_is_untouched() -> None:
    text = "x" * SUMMARY_MAX
    assert shorten(text) == text
    assert shorten("a few words", 11) == "a few words"
    assert shorten_parts(["a", "b"], 4) == "a; b"


def test_a_long_text_is_cut_at_a_word_with_an_ellipsis() -> None:
    text = "callers anomalous: alpha bravo charlie delta echo foxtrot golf hotel india"
    cut = shorten(text, 40)
    assert cut.endswith("…") and len(cut) <= 40
    head = cut[:-1]
    assert text.startswith(head) and text[len(head)] == " "  # a whole word before the cut
    assert cut == "callers anomalous: alpha bravo charlie…"


def test_a_long_text_is_cut_at_a_clause_when_one_is_near() -> None:
    text = "callers: web (+0s), api-gateway (+5 min), checkout (+10 min), cart (+15 min)"
    assert shorten(text, 70) == "callers: web (+0s), api-gateway (+5 min), checkout (+10 min)…"


def test_a_cut_does_not_leave_a_parenthesis_open() -> None:
    text = "read as the way in to PetAdoptionStatusUpdater (a load balancer or proxy in front)"
    cut = shorten(text, 60)
    assert cut == "read as the way in to PetAdoptionStatusUpdater…"


def test_a_shortened_text_is_never_longer_than_its_limit() -> None:
    rnd = random.Random(7)
    words = ["a", "bb", "(+5 min),", "x" * 40, "y;", "z, w", "(", "…", "svc_AWS::ECS::Fargate"]
    for _ in range(2000):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 60)))
        n = rnd.randint(1, 120)
        cut = shorten(text, n)
        assert len(cut) <= n
        assert cut == text or cut.endswith("…")
        parts = [text[: rnd.randint(0, len(text))] for _ in range(rnd.randint(1, 4))]
        assert len(shorten_parts(parts, n)) <= max(n, 0)


def test_parts_are_kept_whole_and_the_dropped_ones_counted() -> None:
    parts = ["first part is here", "second part", "third part", "fourth"]
    out = shorten_parts(parts, 45)
    assert out == "first part is here; second part; … (+2 more)"
    # even the first does not fit: it is shortened, and the rest counted
    out = shorten_parts(["a long first part " * 5, "second"], 50)
    assert out.endswith("… (+1 more)") and len(out) <= 50


def test_a_long_change_summary_is_cut_at_a_word() -> None:
    c = Change(
        id="deploy-1",
        ts=datetime.fromtimestamp(1_700_000_000, UTC),
        service="api",
        kind="deploy",
        summary="bump the connection pool and " + "retry budget " * 40 + "TAIL",
    )
    s = change_evidence(ChangeFinding(c, 60.0, 0.5, True), 1_700_000_060).ev.summary
    assert s.endswith("…") and len(s) <= SUMMARY_MAX
    assert re.search(r"(retry|budget)…$", s), s  # was cut mid-word at 240, with no ellipsis


def test_the_topology_summary_keeps_what_the_dependencies_did() -> None:
    """petshop: `callers of … anomalous after it: …, PetSearch_AWS::ECS::Fargate (+` cut
    at 240 characters, losing the dependencies part (which says cause or symptom)."""
    s = "lambda_step_priceGreaterThan55_AWS::Lambda"
    callers = [f"caller-{i}_AWS::ECS::Fargate_with_a_long_name" for i in range(4)]
    deps = ["Evidently_AWS::Evidently", "lambda_step_priceGreaterThan55_AWS::Lambda::Function"]
    topo = Topology(depends_on={**{c: [s] for c in callers}, s: deps})
    first = {
        s: 100.0,
        **{c: 100.0 + 60 * i for i, c in enumerate(callers)},
        **dict.fromkeys(deps, 90.0),
    }
    anomalous = {s, *callers, *deps}
    ev = _topology_evidence(s, topo, anomalous, first, {s: 1.0}, True)
    assert ev is not None
    text = ev.ev.summary
    assert len(text) <= SUMMARY_MAX
    assert text.endswith(f"its anomalous dependencies: {', '.join(deps)}"), text
    m = re.search(r"anomalous after it: (.*), … \(\+(\d+) more\); its anomalous", text)
    assert m, text
    shown = m.group(1).split(", ")
    assert all(
        re.fullmatch(r"caller-\d_AWS::ECS::Fargate_with_a_long_name \(\+\S+( min)?\)", x)
        for x in shown
    )
    assert len(shown) + int(m.group(2)) == len(callers)


# ------------------------------------------------------------------ a spike that is over

T = 1_682_823_000.0
"""2023-04-30 02:50:00Z, on petshop's 5-minute grid."""


def _hm(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def _summary(name: str, vals: list[float], step: float = 300.0, alert_at: int = 2) -> str:
    ts = [T + i * step for i in range(len(vals))]
    s = Series(name, "ssm", {"service": "ssm"}, ts, vals, query=name, ref=f"metrics/{name}.json")
    (f,) = detect([s], FamilyMatcher(), ts[alert_at] - 73)
    return metric_evidence(f).ev.summary


def test_a_spike_that_is_over_is_told_as_a_spike() -> None:
    """petshop-temporal_traffic1-train-issue1 E1: `rose from 0.0372 to 0.132 (peak
    0.228, 50σ) from 03:00:00`; 0.132 was never observed, and the spike was over."""
    text = _summary("petshop_latency_p99", [0.036, 0.038, 0.228, 0.0357, 0.0379])
    assert "0.132" not in text and "rose from" not in text
    assert f"spiked from 0.037 to 0.228 at {_hm(T + 600)} (50σ)" in text, text
    assert text.endswith(f"then back to normal: 0.0357 at {_hm(T + 900)}"), text


def test_a_dip_that_is_over_is_told_as_a_dip() -> None:
    """Two points down (the deeper one quoted), then back: `fell … to 93.1` was the mean."""
    text = _summary(
        "availability_percent", [100, 99.9, 100, 99.8, 91.5, 94.7, 100, 99.9], alert_at=4
    )
    assert "93.1" not in text and "fell from" not in text
    assert f"dipped from 100 to 91.5 at {_hm(T + 1200)} (34σ)" in text, text
    assert text.endswith(f"then back to normal: 100 at {_hm(T + 1800)}"), text


def test_a_burst_that_is_over_quotes_the_level_it_held_and_its_end() -> None:
    rnd = random.Random(3)
    vals = [0.2 * (1 + rnd.uniform(-0.02, 0.02)) for _ in range(60)]
    for i in range(45, 50):
        vals[i] = 1.25 + 0.01 * (i - 45)  # five points at 1.25 .. 1.29, then back
    text = _summary("latency_p99_seconds", vals, step=60.0, alert_at=47)
    assert "rose from 0.2 to 1.27 (peak 1.29," in text, text
    assert f"from {_hm(T + 45 * 60)} until {_hm(T + 50 * 60)}, then back to normal (0.2" in text


def test_a_rise_still_on_reads_as_before() -> None:
    text = _summary("petshop_latency_p99", [0.036, 0.038, 0.228, 0.230, 0.229])
    assert text.startswith("petshop_latency_p99 on ssm rose from 0.037 to 0.229 (peak 0.23,")
    assert "back to normal" not in text and "spiked" not in text


def test_statements_quote_the_level_the_evidence_quotes() -> None:
    """A hypothesis statement (`saturation`, `traffic_surge`) quoted `level`, the median
    from the onset on; for a spike that is over that is a value the series never had.
    `level_said` gives the spike's peak (or the level a burst held) and says it is over."""
    from aisre_cli.investigate.evidence import level_said

    def finding(vals: list[float], alert_at: int = 2) -> MetricFinding:
        ts = [T + i * 300.0 for i in range(len(vals))]
        s = Series("cpu_usage_ratio", "ssm", {"service": "ssm"}, ts, vals, query="q")
        (f,) = detect([s], FamilyMatcher(), ts[alert_at] - 73)
        return f

    spike = finding([0.036, 0.038, 0.228, 0.0357, 0.0379])
    assert level_said(spike) == (0.228, True)
    assert spike.level != 0.228  # what the statement quoted before
    on = finding([0.036, 0.038, 0.228, 0.230, 0.229])
    assert level_said(on) == (on.level, False)
