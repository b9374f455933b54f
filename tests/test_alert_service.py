"""An alert without a service label is read as an engineer reads it: its expression, its
summary, its name; only services the incident's data knows count."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from aisre_cli.investigate.alert_service import from_name, from_text, infer
from aisre_cli.model import Alert
from aisre_cli.settings.config import DEFAULT_SERVICE_LABELS

KNOWN = {"checkout", "cart", "cart-api", "PetSite", "PetSearch_AWS::ECS::Fargate", "db"}


def _alert(
    name: str = "HighLatency",
    summary: str = "",
    expr: str | None = None,
    service: str | None = None,
    labels: dict[str, str] | None = None,
) -> Alert:
    url = f"http://prom:9090/graph?g0.expr={quote(expr)}&g0.tab=1" if expr else None
    return Alert(
        id="a1",
        name=name,
        service=service,
        labels=labels or {},
        annotations={"summary": summary} if summary else {},
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        generator_url=url,
    )


@pytest.mark.parametrize(
    ("alert", "want"),
    [
        # the expression's label matcher comes first, whatever the summary says
        (
            _alert(summary="cart is slow", expr='sum(rate(x{app="checkout",code=~"5.."}[5m]))'),
            ("checkout", "the alert's expression"),
        ),
        # a matcher on a value no data knows is not a service
        (_alert(expr='rate(x{service="ghost"}[5m])'), None),
        (
            _alert(summary="Average latency SLO violated on PetSite"),
            ("PetSite", "the alert's summary"),
        ),
        # whole words: cart-api is named, not cart
        (_alert(summary="p99 of cart-api above 2s"), ("cart-api", "the alert's summary")),
        (_alert(name="PetSiteHighLatency"), ("PetSite", "the alert's name")),
        (_alert(name="checkout_error_budget_burn"), ("checkout", "the alert's name")),
        # a label already says: nothing to infer, but spelled as the data spells it
        (_alert(name="PetSiteHighLatency", service="cart"), None),
        (_alert(service="Cart_API"), ("cart-api", "its label, spelled as the data spells it")),
        (_alert(name="PetSiteHighLatency", service="ghost"), None),
        (_alert(name="DiskFull", summary="the disk is full"), None),
        # a label holding a known service whole, whatever it is called
        (
            _alert(name="QueueBacklogHigh", labels={"resource": "cart-api", "entity": "jobs"}),
            ("cart-api", "a label of the alert"),
        ),
        # … not two of them, nor a job's name
        (_alert(name="Backlog", labels={"resource": "cart-api", "target": "checkout"}), None),
        (_alert(name="TargetDown", labels={"job": "checkout"}), None),
        # "shopping-cart" is not "cart"
        (_alert(name="Slow", summary="latency of shopping-cart high"), None),
    ],
)
def test_infer_reads_expression_then_labels_then_summary_then_name(
    alert: Alert, want: tuple[str, str] | None
) -> None:
    assert infer(alert, DEFAULT_SERVICE_LABELS, KNOWN) == want


def test_short_names_are_not_looked_for_in_free_text() -> None:
    assert from_text("the db is slow", KNOWN) is None
    assert from_name("DbDown", KNOWN) is None


def test_a_name_matches_whole_words_of_the_alert_name() -> None:
    known = {"api", "checkout", "HTTPGateway"}
    assert from_name("RapidErrorRise", known) is None
    assert from_name("HighApiLatency", known) == "api"
    assert from_name("HTTPGatewayDown", known) == "HTTPGateway"
    assert from_name("checkout_5xx_ratio_high", known) == "checkout"


def test_the_first_mention_wins_and_the_name_prefers_a_prefix() -> None:
    assert from_text("checkout calls cart, which is slow", KNOWN) == "checkout"
    assert from_name("CartCheckoutDegraded", KNOWN) == "cart"


def test_triage_reads_the_service_from_the_alert_and_says_so() -> None:
    """The paging service's own symptom and topology matter to the ranking: without a
    service the page has no cone. Taking the label away leaves the answer unchanged and
    a note saying where the service was read from."""
    from tests.test_proposers import context, run

    ctx = context()
    ctx.alert = ctx.alert.model_copy(
        update={"service": None, "annotations": {"summary": "error ratio of web above 5%"}}
    )
    ctx.alerts = [ctx.alert]
    a = run(ctx)
    assert a.ctx.alert.service == "web"
    assert any("web, read from the alert's summary" in n.detail for n in a.ctx.notes)
