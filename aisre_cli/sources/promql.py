"""Scope a PromQL query to one of the series it returned.

Evidence cites the query that produced a series. A query such as
`sum by (job, instance) (process_resident_memory_bytes)` returns one series per
instance, so the cited text must narrow it to the one series the evidence is about.
Appending a selector (`…){instance="x"}`) is not PromQL; the matchers have to go inside
every vector selector of the query:

    sum by (job, instance) (process_resident_memory_bytes{instance="x",job="checkout"})

`scope_query(query, labels)` does that with a small lexer (no full parser): it finds
each vector selector (a metric name not used as a function, aggregation or keyword,
or a bare `{…}`), skipping label lists (`by (…)`, `on (…)`, …), strings, comments
and range/subquery brackets. Where inserting would change the answer (a label made
by `label_replace`/`label_join`/`count_values`, one side of `group_left`, or no
selector at all) it wraps instead:

    (QUERY) and on (instance, job) group by (instance, job) ({instance="x",job="checkout"})

Text that does not lex as PromQL (a bundle's `file metrics/x.json`) is returned with
the series as a comment, since no query reproduces it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PromQLSyntaxError", "matchers", "scope_query", "tokens"]

_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)[A-Za-z0-9_]*")
_OPS = ("==", "!=", "=~", "!~", ">=", "<=", "+", "-", "*", "/", "%", "^", ">", "<", "=", "@", ":")
_PUNCT = set("(){}[],")

KEYWORDS = frozenset(
    {"and", "or", "unless", "atan2", "by", "without", "on", "ignoring", "group_left"}
    | {"group_right", "offset", "bool"}
)
AGGREGATIONS = frozenset(
    {"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk"}
    | {"quantile", "count_values", "limitk", "limit_ratio"}
)
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_LITERALS = frozenset({"inf", "nan"})
# Functions and modifiers whose output labels do not all exist on every input series:
# matchers inserted below them would change the answer, so the query is wrapped instead.
_WRAP_WORDS = frozenset(
    {"label_replace", "label_join", "count_values", "group_left", "group_right", "info"}
)


class PromQLSyntaxError(ValueError):
    """The text does not lex as PromQL."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # ident | number | string | op | punct
    text: str
    start: int
    end: int


def tokens(query: str) -> list[Token]:
    """Lex `query`; raises PromQLSyntaxError on a character PromQL does not have."""
    out: list[Token] = []
    i, n = 0, len(query)
    brackets = 0  # inside `[…]` a colon separates subquery durations
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":
            nl = query.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if c in "\"'`":
            j = i + 1
            while j < n and query[j] != c:
                if query[j] == "\\" and c != "`":
                    j += 1
                elif query[j] == "\n" and c != "`":
                    raise PromQLSyntaxError(f"newline in string at {j}")
                j += 1
            if j >= n:
                raise PromQLSyntaxError(f"unterminated string at {i}")
            out.append(Token("string", query[i : j + 1], i, j + 1))
            i = j + 1
            continue
        if c.isdigit() or (c == "." and i + 1 < n and query[i + 1].isdigit()):
            m = _NUMBER.match(query, i)
            if m is None:  # pragma: no cover - the guard above guarantees a match
                raise PromQLSyntaxError(f"bad number at {i}")
            out.append(Token("number", m.group(), i, m.end()))
            i = m.end()
            continue
        m = _IDENT.match(query, i) if not (brackets and c == ":") else None
        if m is not None:
            out.append(Token("ident", m.group(), i, m.end()))
            i = m.end()
            continue
        if c in _PUNCT:
            brackets += 1 if c == "[" else -1 if c == "]" and brackets else 0
            out.append(Token("punct", c, i, i + 1))
            i += 1
            continue
        for op in _OPS:
            if query.startswith(op, i):
                out.append(Token("op", op, i, i + len(op)))
                i += len(op)
                break
        else:
            raise PromQLSyntaxError(f"unexpected {c!r} at {i}")
    _check_balance(out)
    return out


def _check_balance(toks: list[Token]) -> None:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for t in toks:
        if t.kind != "punct":
            continue
        if t.text in "([{":
            stack.append(t.text)
        elif t.text in pairs:
            if not stack or stack.pop() != pairs[t.text]:
                raise PromQLSyntaxError(f"unbalanced {t.text!r} at {t.start}")
    if stack:
        raise PromQLSyntaxError(f"unclosed {stack[-1]!r}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _matcher_list(labels: dict[str, str]) -> list[str]:
    return [
        f'{k}="{_escape(v)}"'
        for k, v in sorted(labels.items())
        if k != "__name__" and _LABEL.fullmatch(k)
    ]


def matchers(labels: dict[str, str]) -> str:
    """`a="1",b="2"`: equality matchers for the labels PromQL can name, sorted."""
    return ",".join(_matcher_list(labels))


@dataclass(frozen=True, slots=True)
class _Selector:
    name_end: int | None
    """Where a bare metric name ends (insert `{…}` there); None when it has braces."""
    close: int | None
    """Index of the closing `}` of its matchers, when it has braces."""
    empty: bool
    """The braces hold nothing."""
    has: frozenset[str] = frozenset()
    """Its equality matchers already present, as `name="value"` text."""


def _selectors(toks: list[Token]) -> list[_Selector]:
    out: list[_Selector] = []
    i, n = 0, len(toks)

    def next_is(j: int, text: str) -> bool:
        return j < n and toks[j].kind == "punct" and toks[j].text == text

    def close_of(j: int, open_: str, close: str) -> int:
        depth = 0
        for k in range(j, n):
            if toks[k].kind == "punct":
                if toks[k].text == open_:
                    depth += 1
                elif toks[k].text == close:
                    depth -= 1
                    if depth == 0:
                        return k
        raise PromQLSyntaxError(f"unclosed {open_!r}")  # pragma: no cover (balanced)

    def braces(j: int) -> tuple[int, bool, frozenset[str]]:
        end = close_of(j, "{", "}")
        inner = toks[j + 1 : end]
        has = {
            f"{a.text}={c.text}"
            for a, b, c in zip(inner, inner[1:], inner[2:], strict=False)
            if a.kind == "ident" and b.text == "=" and c.kind == "string"
        }
        return end, end == j + 1, frozenset(has)

    while i < n:
        t = toks[i]
        if t.kind == "ident":
            word = t.text.lower()
            if t.text in _LABEL_LISTS:
                # `by (a, b)` / `on (…)`: label names, not selectors (group_left may have none)
                i = close_of(i + 1, "(", ")") + 1 if next_is(i + 1, "(") else i + 1
                continue
            if t.text in KEYWORDS or word in _LITERALS:
                i += 1
                continue
            if next_is(i + 1, "("):  # function call or aggregation
                i += 1
                continue
            if t.text in AGGREGATIONS and i + 1 < n and toks[i + 1].text in ("by", "without"):
                i += 1
                continue
            if next_is(i + 1, "{"):
                end, empty, has = braces(i + 1)
                out.append(_Selector(None, toks[end].start, empty, has))
                i = end + 1
                continue
            out.append(_Selector(t.end, None, False))
            i += 1
            continue
        if t.kind == "punct" and t.text == "{":
            end, empty, has = braces(i)
            out.append(_Selector(None, toks[end].start, empty, has))
            i = end + 1
            continue
        if t.kind == "punct" and t.text == "[":
            i = close_of(i, "[", "]") + 1  # range / subquery durations
            continue
        i += 1
    return out


def _wrap(query: str, labels: dict[str, str]) -> str:
    names = [k for k in sorted(labels) if k != "__name__" and _LABEL.fullmatch(k)]
    if not any(labels[k] for k in names):
        return query  # `{a=""}` is no selector: nothing can narrow it
    on = ", ".join(names)
    return f"({query.strip()}) and on ({on}) group by ({on}) ({{{matchers(labels)}}})"


def scope_query(query: str, labels: dict[str, str]) -> str:
    """`query` narrowed to the series with exactly these `labels` (see the module doc)."""
    sel = matchers(labels)
    if not sel:
        return query
    try:
        toks = tokens(query)
    except PromQLSyntaxError:
        return f"{query}  # series {{{sel}}}"
    if not toks:
        return query
    words = {t.text for t in toks if t.kind == "ident"}
    found = _selectors(toks)
    if not found or words & _WRAP_WORDS:
        return _wrap(query, labels)
    wanted = _matcher_list(labels)
    edits: list[tuple[int, str]] = []
    for s in found:
        if s.name_end is not None:
            edits.append((s.name_end, "{" + sel + "}"))
        elif s.close is not None:
            add = ",".join(m for m in wanted if m not in s.has)
            if not add:
                continue
            before = query[: s.close].rstrip()
            sep = "" if s.empty or before.endswith(",") else ","
            edits.append((s.close, sep + add))
    out = query
    for pos, text in sorted(edits, reverse=True):
        out = out[:pos] + text + out[pos:]
    return out
