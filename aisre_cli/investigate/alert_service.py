"""Which service an alert is about, when its labels do not say.

Many alerts carry no service label: a rule written on a recording rule's output, an
SLO alert whose labels were aggregated away, a page forwarded with only a title. An
engineer reads the alert instead, and so does this: in order,
1. the alert's own expression (Prometheus' `generatorURL` carries it as `g0.expr`): a
   service label matcher there names the service;
2. a label of the alert whose value is a known service, whatever the label is called;
3. its summary or description naming a service the incident's data knows (whole words);
4. its name, which often starts with or holds the service (`PetSiteHighLatency`,
   `checkout_error_budget_burn`).
Only services the gathered data knows (its topology and series) count, so a word that
happens to look like a name does not invent a service.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from urllib.parse import parse_qs, urlsplit

from aisre_cli.model import Alert

MIN_NAME = 3
"""Service names shorter than this are not looked for in free text ("db", "ui")."""


def squash(s: str) -> str:
    """A name with case and separators taken out (`Cart-Service` and `cart_service` are
    `cartservice`): how two sources' spellings of one service are compared."""
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _exprs(url: str | None) -> list[str]:
    if not url:
        return []
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return []
    return [v for k, vals in sorted(query.items()) if re.fullmatch(r"g\d+\.expr", k) for v in vals]


def from_expression(alert: Alert, labels: Sequence[str], known: Collection[str]) -> str | None:
    """A service label matcher in the alert's PromQL (`{service="checkout"}`)."""
    for expr in _exprs(alert.generator_url):
        for key in labels:
            for m in re.finditer(rf'(?<![\w.]){re.escape(key)}\s*=\s*"([^"]+)"', expr):
                if m.group(1) in known:
                    return m.group(1)
    return None


_NOT_NAMES = frozenset({"alertname", "severity", "priority", "team", "job", "prometheus"})
"""Labels whose value is never the service an alert is about (`job` names the scraper's
job, which a service's exporter shares: the job is read as service only by the
profile's `service_labels`)."""


def from_label_values(alert: Alert, known: Collection[str]) -> str | None:
    """The one known service a label of the alert holds whole, whatever the label is
    called (`resource="sb-mbank-prod"` on a queue's backlog alert, `entity`, `target`):
    an alert rule keeps the labels of what it measures. None where labels name two."""
    by_squash = {squash(k): k for k in known if len(squash(k)) >= MIN_NAME}
    hits = {
        by_squash[squash(v)]
        for k, v in alert.labels.items()
        if k not in _NOT_NAMES and squash(v) in by_squash
    }
    return next(iter(hits)) if len(hits) == 1 else None


ROLE_WORDS = frozenset(
    {
        "worker",
        "workers",
        "consumer",
        "consumers",
        "processor",
        "handler",
        "daemon",
        "service",
        "svc",
    }
)
"""Words a deployment adds to the name of what it works on (`dispatch-worker` consumes the
`dispatch` queue)."""


def with_role(value: str, known: Iterable[str], roles: Collection[str]) -> set[str]:
    """The known services whose names are `value`'s words followed by role words only
    (`dispatch` → `dispatch-worker`)."""
    head = re.split(r"[-_.\s]+", value.lower())
    n = len(head)
    hits: set[str] = set()
    for s in known:
        words = re.split(r"[-_.\s]+", s.lower())
        if len(words) > n and words[:n] == head and set(words[n:]) <= set(roles):
            hits.add(s)
    return hits


def from_label_role(alert: Alert, known: Collection[str]) -> str | None:
    """The one known service named by a label's value and a role word after it: a task
    queue's alert (`queue_name="dispatch"` from celery-exporter, whose `job` names the
    exporter) is about the workers that consume it, `dispatch-worker`. None where labels
    name two."""
    hits: set[str] = set()
    for k, v in alert.labels.items():
        if k not in _NOT_NAMES and v and len(squash(v)) >= MIN_NAME:
            hits |= with_role(v, known, ROLE_WORDS)
    return next(iter(hits)) if len(hits) == 1 else None


def from_text(text: str, known: Iterable[str]) -> str | None:
    """The known service the text names first (whole words; the longest name wins where
    two start at the same place: `cart` inside `cart-api` is not a mention of `cart`)."""
    best: tuple[int, int, str] | None = None
    for s in known:
        if len(s) < MIN_NAME:
            continue
        m = re.search(rf"(?<![\w.-]){re.escape(s)}(?![\w-])", text, re.IGNORECASE)
        if m is not None:
            key = (m.start(), -len(s), s)
            if best is None or key < best:
                best = key
    return best[2] if best else None


def _tokens(name: str) -> list[str]:
    """Words of an alert name: CamelCase, acronyms, digits, any separator."""
    return [t.lower() for t in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def from_name(name: str, known: Iterable[str]) -> str | None:
    """The known service whose name (letters and digits only) is a run of whole words of
    the alert's name, the one it starts with first, else the longest
    (`PetSiteHighLatency` → `PetSite`; `RapidErrorRise` is not about `api`)."""
    toks = _tokens(name)
    runs: dict[str, int] = {}
    for i in range(len(toks)):
        for j in range(i + 1, len(toks) + 1):
            runs.setdefault("".join(toks[i:j]), i)
    hits = [
        (runs[squash(s)] > 0, -len(squash(s)), s)
        for s in known
        if len(squash(s)) >= MIN_NAME and squash(s) in runs
    ]
    return min(hits)[2] if hits else None


def infer(alert: Alert, labels: Sequence[str], known: Collection[str]) -> tuple[str, str] | None:
    """(service, where it was read) for an alert without a service, or whose service the
    data spells differently (`Checkout`, `checkout_svc` for `checkout-svc`); else None."""
    if not known or (alert.service and alert.service in known):
        return None
    if alert.service:
        same = sorted(s for s in known if squash(s) == squash(alert.service))
        return (same[0], "its label, spelled as the data spells it") if same else None
    svc = from_expression(alert, labels, known)
    if svc:
        return svc, "the alert's expression"
    svc = from_label_values(alert, known)
    if svc:
        return svc, "a label of the alert"
    text = " ".join(alert.annotations.get(k, "") for k in ("summary", "description", "message"))
    svc = from_text(text, known)
    if svc:
        return svc, "the alert's summary"
    svc = from_name(alert.name, known)
    if svc:
        return svc, "the alert's name"
    svc = from_label_role(alert, known)
    if svc:
        return svc, "a label of the alert naming what the service works on"
    return None
