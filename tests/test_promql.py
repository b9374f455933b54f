"""`scope_query`: the PromQL that evidence cites must parse and select one series.

The unit tests pin the text; `test_scoped_default_queries_parse_with_promtool` runs
every default query, scoped, through Prometheus's own parser (promtool), and the live
end-to-end test (tests/test_live_e2e.py) runs the cited queries against Prometheus.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from aisre_cli.sources.prometheus import DEFAULT_QUERIES
from aisre_cli.sources.promql import PromQLSyntaxError, matchers, scope_query, tokens

L = {"job": "checkout", "instance": "127.0.0.1:9000"}
M = 'instance="127.0.0.1:9000",job="checkout"'


def test_the_reported_query_gets_its_matchers_inside_the_selector() -> None:
    q = "sum by (service, job, app, instance) (process_resident_memory_bytes)"
    assert scope_query(q, L) == (
        f"sum by (service, job, app, instance) (process_resident_memory_bytes{{{M}}})"
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("up", f"up{{{M}}}"),
        ("up{}", f"up{{{M}}}"),
        ('up{job="checkout"}', 'up{job="checkout",instance="127.0.0.1:9000"}'),
        ('up{job="other"}', f'up{{job="other",{M}}}'),
        ('up{job=~"checkout"}', f'up{{job=~"checkout",{M}}}'),
        ('up{code="5"}', f'up{{code="5",{M}}}'),
        ('up{code="5",}', f'up{{code="5",{M}}}'),
        (f"up{{{M}}}", f"up{{{M}}}"),
        ('{__name__="up"}', f'{{__name__="up",{M}}}'),
        ("rate(x_total[5m])", f"rate(x_total{{{M}}}[5m])"),
        ("rate(x_total[5m] offset 1h)", f"rate(x_total{{{M}}}[5m] offset 1h)"),
        ("x offset 5m", f"x{{{M}}} offset 5m"),
        ("x @ start()", f"x{{{M}}} @ start()"),
        ("max_over_time(rate(x[1m])[5m:30s])", f"max_over_time(rate(x{{{M}}}[1m])[5m:30s])"),
        ("sum(rate(x[5m])) by (job, instance)", f"sum(rate(x{{{M}}}[5m])) by (job, instance)"),
        ("sum without (pod) (x)", f"sum without (pod) (x{{{M}}})"),
        ("a / on (job, instance) b", f"a{{{M}}} / on (job, instance) b{{{M}}}"),
        ("a / ignoring (code) b", f"a{{{M}}} / ignoring (code) b{{{M}}}"),
        ("a > bool 0.5", f"a{{{M}}} > bool 0.5"),
        ("a and b or c unless d", f"a{{{M}}} and b{{{M}}} or c{{{M}}} unless d{{{M}}}"),
        ("topk(3, x)", f"topk(3, x{{{M}}})"),
        (
            "histogram_quantile(0.99, sum by (le, job) (rate(h_bucket[5m])))",
            f"histogram_quantile(0.99, sum by (le, job) (rate(h_bucket{{{M}}}[5m])))",
        ),
        ("x > Inf or x < -NaN", f"x{{{M}}} > Inf or x{{{M}}} < -NaN"),
        ("1e3 * x", f"1e3 * x{{{M}}}"),
        ("0x1f + x", f"0x1f + x{{{M}}}"),
        ("absent(x)", f"absent(x{{{M}}})"),
        ("namespace:rate5m:sum", f"namespace:rate5m:sum{{{M}}}"),
        ('x{path="a}b{c"}', f'x{{path="a}}b{{c",{M}}}'),
        ('x{msg="say \\"hi\\""}', f'x{{msg="say \\"hi\\"",{M}}}'),
        ("x # the comment mentions y{z}\n", f"x{{{M}}} # the comment mentions y{{z}}\n"),
        ("sum by (job) (x) # up", f"sum by (job) (x{{{M}}}) # up"),
    ],
)
def test_matchers_go_into_every_vector_selector(query: str, expected: str) -> None:
    assert scope_query(query, L) == expected


def test_label_values_are_escaped() -> None:
    out = scope_query("up", {"path": 'a"b\\c\nd'})
    assert out == 'up{path="a\\"b\\\\c\\nd"}'


def test_name_label_and_unnameable_labels_are_left_out() -> None:
    assert matchers({"__name__": "up", "job": "x", "bad.label": "y"}) == 'job="x"'
    assert scope_query("up", {"__name__": "up"}) == "up"


def test_no_labels_leaves_the_query_alone() -> None:
    assert scope_query("sum(rate(x[5m]))", {}) == "sum(rate(x[5m]))"


@pytest.mark.parametrize(
    "query",
    [
        'label_replace(up, "svc", "$1", "job", "(.*)")',
        'count_values("version", build_info)',
        "a * on (instance) group_left (node) b",
        "vector(1)",
        "time()",
    ],
)
def test_queries_that_make_labels_are_wrapped(query: str) -> None:
    out = scope_query(query, L)
    assert out == (f"({query}) and on (instance, job) group by (instance, job) ({{{M}}})")


def test_wrap_with_only_empty_values_does_not_write_an_empty_selector() -> None:
    assert scope_query("vector(1)", {"job": ""}) == "vector(1)"


def test_text_that_is_not_promql_keeps_the_series_as_a_comment() -> None:
    out = scope_query("file metrics/x.json", {"job": "a"})
    assert out == 'file metrics/x.json  # series {job="a"}'
    assert scope_query("sum(x", {"job": "a"}).endswith('# series {job="a"}')


def test_lexer_rejects_what_promql_has_not() -> None:
    for bad in ("a.b", 'x{a="b}', "(a]", "a}", "x ; y", "'a\nb'"):
        with pytest.raises(PromQLSyntaxError):
            tokens(bad)
    assert [t.text for t in tokens('rate(x{a=~"b"}[5m:1m])')] == [
        "rate", "(", "x", "{", "a", "=~", '"b"', "}", "[", "5m", ":", "1m", "]", ")",
    ]  # fmt: skip


def _scoped_queries() -> dict[str, str]:
    by = "service, job, app"
    labels = {"job": "checkout", "instance": "h:1", "le": "0.5", "pod": 'p"1', "code": "500"}
    out: dict[str, str] = {}
    for name, q in DEFAULT_QUERIES.items():
        q = q.replace("$by", by).replace("$rate", "5m")
        out[name] = scope_query(q, labels)
        out[name + "_wrapped"] = scope_query(
            f'label_replace({q}, "x", "$1", "job", "(.*)")', labels
        )
    return out


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_scoped_default_queries_parse_with_promtool(tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "scoped",
                "rules": [{"record": f"r_{k}", "expr": q} for k, q in _scoped_queries().items()],
            }
        ]
    }
    f = tmp_path / "rules.yaml"
    f.write_text(yaml.safe_dump(rules))
    r = subprocess.run(
        ["promtool", "check", "rules", str(f)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr
    # and the unscoped text the old code built really is rejected by the same parser
    bad = tmp_path / "bad.yaml"
    old = 'sum by (service, job, app, instance) (process_resident_memory_bytes){instance="x"}'
    bad.write_text(
        yaml.safe_dump({"groups": [{"name": "b", "rules": [{"record": "r", "expr": old}]}]})
    )
    r = subprocess.run(
        ["promtool", "check", "rules", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode != 0 and "unexpected" in (r.stdout + r.stderr)
