"""Log templates that are new or spiking after the incident onset.

A template is a message with its variable parts masked (numbers, hex ids, UUIDs, IPs,
quoted strings, key=value values, digits inside words). We count each (service, template)
before and after the reference time `ref` (the incident onset minus a guard, so a
template that starts with a deploy a few minutes before the metrics move still counts as
"after") and compare the service's own rate before with its rate after.

Stack traces are one event, not thirty: a multi-line message is templated from its
meaningful lines (the header, the exception, the top frame, the root `Caused by:`), and
a trace written one record per line (Java `\\tat com.foo...`, Python `Traceback` ... and
the exception line, Go `panic:` + `goroutine N [running]:`) is folded into the record
that opened it when the records follow each other in the same file.

Only warn/error/fatal records (and records with an unknown level, a crash written
without one, and nginx's TLS handshake failures, which it writes at info) are templated. On a
busy system info/debug lines are 80-95% of the volume and almost never name a cause;
skipping them keeps triage within its time budget on a million lines. The templater is
one regex pass per distinct message (no tree, no similarity search), so its cost is
linear in the number of lines even when no two lines share a template.

Log content is data, never instructions: the text is only counted and masked, and a
template's weight depends on when and how often it appears, never on what it says
beyond the fixed family patterns below.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from aisre_cli.investigate.families import (
    LOG_FALLBACK_PATTERNS,
    LOG_FAMILY_PATTERNS,
    LOG_GUARDED_PATTERNS,
)
from aisre_cli.model import LogTable

# Two regex passes mask the variable parts. First key=value values (the `=` is kept).
# Then, in one pass whose every match starts with a digit, a hex letter or a quote (so
# the regex engine skips every other character without trying the alternatives):
# hex ids that start with a letter; tokens that start with a digit (or a sign and a
# digit) at a token boundary (numbers with units, IPs with ports, dates, versions,
# UUIDs); any other run of digits inside a word (`u123` -> `u<*>`); quoted strings.
# The hex-letter case comes first: a letter a-f inside an ordinary word is by far the
# most frequent start, and it leaves that branch on its first look-behind.
_KV = re.compile(r"""=[^\s,;)\]}"']+""")
_MASK = re.compile(
    r"""
    [0-9a-fA-F"'+\-]
    (?:
        (?<![\w.][a-fA-F])(?<=[a-fA-F])[a-fA-F]*\d[\w\-]*
      | (?<=\d)(?:(?<![\w.]\d)[\w.:\-]*|\d*)
      | (?<=[+\-])(?<![\w.][+\-])\d[\w.:\-]*
      | (?<=")[^"\n]{0,200}"
      | (?<=')[^'\n]{0,200}'
    )
    """,
    re.VERBOSE,
)
_FAMILY_RX = [(fam, re.compile(rx, re.IGNORECASE)) for fam, rx in LOG_FAMILY_PATTERNS.items()]
_GUARDED_RX = [
    (fam, words, re.compile(rx, re.IGNORECASE)) for fam, (rx, words) in LOG_GUARDED_PATTERNS.items()
]
_FALLBACK_RX = [(fam, re.compile(rx, re.IGNORECASE)) for fam, rx in LOG_FALLBACK_PATTERNS.items()]
_TEMPLATED_LEVELS = frozenset({"warn", "error", "fatal"})
_SKIPPED_LEVELS = frozenset({"info", "debug"})
_MAX_TEMPLATE = 240
_SEVERITY = {"fatal": 1.0, "error": 0.85, "warn": 0.6}

# Stack-trace shapes.
_JAVA_FRAME = re.compile(r"^\s*at\s+([\w$.<>/]+)")
_JAVA_EXC = re.compile(
    r"^\s*(?:Caused by:\s*)?([\w$]+(?:\.[\w$]+)*(?:Exception|Error|Throwable))\b"
)
_PY_FRAME = re.compile(r'^\s*File "[^"]*", line \d+, in (\S+)')
_GO_FUNC = re.compile(r"^([\w./*()\[\]\-]+)\(")
_JAVA_CALL = re.compile(r"\s*at [\w$.<>/]+\(")
_GO_GOROUTINE = re.compile(r"goroutine \d+ \[")
_CRASH_HEADS = (
    "Traceback (most recent call last)",
    "Exception in thread ",
    "panic:",
    "fatal error:",
)
_INFO_FAILURE = "SSL_do_handshake() failed"
"""A failure a server logs at info: nginx writes the TLS handshakes its clients broke
off (an expired or untrusted certificate it serves) at `info`, so that clients cannot
fill its error log; counted as the error it is for the server."""
_LOG_FAILURE = "could not accept SSL connection"
"""The same from PostgreSQL, at its `LOG` level (read as info): `could not accept SSL
connection: sslv3 alert certificate expired` is its clients rejecting the certificate
it serves."""
_HAPROXY_FAILURE = "SSL handshake failure"
"""The same from HAProxy, whose connection errors share its traffic log's level
(`https-in/1: SSL handshake failure`)."""
_GO_FAILURE = "TLS handshake error from"
"""The same from Go's net/http server (`http: TLS handshake error from 10.0.0.7:5123:
remote error: tls: bad certificate`), written through the standard logger, which a
collector often files at info."""
_SUPERVISOR_RESTARTS = (
    "restart counter is at",
    "repeated too quickly",
    "too many start retries",
    "service terminated unexpectedly",
    "automatically disabled due to a series of failures",
)
"""A process manager saying a service it runs died (and that it restarted it, or gave
up): systemd's `Scheduled restart job, restart counter is at 3.` and `Start request
repeated too quickly.`, written at info; supervisord's `gave up: web entered FATAL
state, too many start retries too quickly`; Windows' Service Control Manager's `The
Billing service terminated unexpectedly.  It has done this 3 time(s).` (events 7031,
7034) and IIS' `Application pool 'BookingPool' is being automatically disabled due to
a series of failures in the process(es) serving that application pool` (WAS 5002,
rapid-fail protection). On a plain machine these are what a container's restart
counter is on a cluster, so they count as the crashes they report
(`LOG_FAMILY_PATTERNS`' restarts)."""
_START_BANNER = re.compile(
    r"\blistening on\b|\bnow listening on:|\bstarted \S+ in [\d.]+ s|"
    r"application startup complete|uvicorn running on|booting worker with pid|"
    r"\bserver (?:started|listening)\b|server startup in \[?\d+\]? ?(?:ms|milli)|"
    r"puma starting|"
    r"starting main dispatch loop",
    re.IGNORECASE,
)
"""A process announcing that it has started: a server listening (Go, Node, ASP.NET
Core's `Now listening on:`, Puma, uvicorn), Spring Boot's `Started App in 4.2
seconds`, Tomcat's `Server startup in 812 ms`, a gunicorn worker booting, Envoy's
dispatch loop. Written at info, once per start: many of them, spread over the
incident, are the service restarting over and over (`LOOP_STARTS`), where nothing
else (a restart counter, the cluster's events) says so: an App Service, a VM."""
_START_HINTS = ("isten", "tart", "ooting", "unning on")
"""Substrings one of which every `_START_BANNER` holds: the cheap test first (written
out again in `analyze`'s loop, where a call per record costs)."""
LOOP_STARTS = 5
"""Starts after the onset that make a restart loop, when they are also spread over
`LOOP_SPAN_S`: a rollout starts each pod once, within minutes."""
LOOP_SPAN_S = 900.0


def is_start_banner(msg: str) -> bool:
    """Whether a record is a process announcing it started (`_START_BANNER`)."""
    return any(h in msg for h in _START_HINTS) and _START_BANNER.search(msg) is not None


_JAVA_CONT_FIRST = frozenset({"", " ", "\t", "C", "S", "a"})
"""First characters of the records that can continue a Java trace without naming an
exception: indented frames, `Caused by:`, `Suppressed:`, `at ...` (indent stripped)."""
_PY_CHAIN = ("During handling of the above exception", "The above exception", "Traceback (")
_MAX_FOLD = 200
"""Records folded into one trace at most (a runaway trace stays one event)."""
_SEEN_BATCH = 100_000
"""Distinct messages kept to skip the regex on an exact repeat (then the cache restarts)."""


_ERROR_KV = re.compile(
    r"""\b((?:error|err|exception|exc|error_class|error_message|reason|msg|message)=)"""
    r"""(?:'([^'\n]{1,1000})'|"([^"\n]{1,1000})"|([^\s,;'"]+))""",
    re.IGNORECASE,
)
"""A key=value record's message and error (lograge's `error='Redis::TimeoutError:
Connection timed out'`, logfmt's `msg="call failed" err="dial tcp: i/o timeout"`):
their values say what happened, read as words (`error: …`, numbers masked), not as
variables like a request's path or a duration."""


def _error_value(m: re.Match[str]) -> str:
    return m.group(1)[:-1] + ": " + (m.group(2) or m.group(3) or m.group(4)) + " ;"


def _unquote_errors(line: str) -> str:
    # the cheap test first, written out (a generator over the keys costs twice as
    # much, and a million distinct lines pay it: bench/triage_scale.py)
    if (
        "rror=" in line
        or "rr=" in line
        or "sg=" in line
        or "essage=" in line
        or "xception=" in line
        or "xc=" in line
        or "eason=" in line
    ):
        return _ERROR_KV.sub(_error_value, line)
    return line


def mask(line: str) -> str:
    """The line with its variable parts replaced by `<*>`."""
    if "=" in line:
        line = _KV.sub("=<*>", _unquote_errors(line))
    return _MASK.sub("<*>", line)


def _template(text: str) -> str:
    if "\n" in text:
        return trace_template(text.split("\n"))
    if "=" in text:
        text = _KV.sub("=<*>", _unquote_errors(text))
    return _MASK.sub("<*>", text)[:_MAX_TEMPLATE]


def template_of(msg: str) -> str:
    """The template of one message (a multi-line message is read as a stack trace)."""
    if "\n" in msg:
        return trace_template(msg.split("\n"))
    return mask(msg)[:_MAX_TEMPLATE]


def trace_template(lines: list[str]) -> str:
    """One template for a stack trace: its header, exception and top frame.

    Frame line numbers, addresses and the frames below the top are left out, so the
    same failure thrown from the same place is one template however deep the stack.
    """
    rows = [x.rstrip() for x in lines if x.strip()]
    if not rows:
        return ""
    head = rows[0].strip()
    parts: list[str]
    if head.startswith("Traceback (most recent call last)"):
        # Python: the exception is the last unindented line, the failing frame the last File.
        exc = next(
            (x for x in reversed(rows[1:]) if not x[:1].isspace() and not x.startswith(_PY_CHAIN)),
            "",
        )
        frames = [m.group(1) for x in rows if (m := _PY_FRAME.match(x))]
        parts = ["Traceback", mask(exc.strip())]
        if frames:
            parts.append(f"in {frames[-1]}")
    elif head.startswith(("panic:", "fatal error:")):
        # Go: the panic value, then the first function of the panicking goroutine.
        parts = [mask(head)]
        for k, x in enumerate(rows):
            if x.startswith("goroutine ") and k + 1 < len(rows):
                m = _GO_FUNC.match(rows[k + 1].strip())
                if m:
                    parts.append(f"in {m.group(1)}")
                break
    else:
        # Java and the like: the header, the thrown exception when it is on its own line,
        # the top frame and the root cause (the last `Caused by:`).
        parts = [mask(head)]
        if len(rows) > 1 and not _JAVA_FRAME.match(rows[1]):
            m = _JAVA_EXC.match(rows[1])
            if m:
                parts.append(m.group(1))
        frame = next((m.group(1) for x in rows if (m := _JAVA_FRAME.match(x))), None)
        if frame:
            parts.append(f"at {frame}")
        causes = [m.group(1) for x in rows if x.lstrip().startswith("Caused by:")
                  and (m := _JAVA_EXC.match(x))]  # fmt: skip
        if causes:
            parts.append(f"caused by {causes[-1]}")
    return " | ".join(parts)[:_MAX_TEMPLATE]


def _trace_kind(head: str) -> str:
    """Which trace shape a record can open: python, go, or java (anything else)."""
    if head.startswith("Traceback (most recent call last)"):
        return "python"
    if head.startswith(("panic:", "fatal error:")):
        return "go"
    return "java"


def continues(kind: str, msg: str, folded: int) -> int:
    """Whether a record continues the trace opened by the record just before it:
    0 no, 1 yes, 2 yes and it is the trace's last line (a Python exception line), 3 yes
    if the record after it is a frame (a Java exception line under the logged message;
    without frames below it is a log record of its own).

    `kind` is the opener's shape, `folded` how many records it already holds.
    """
    if not msg or msg[0] in " \t":  # indented frames, source lines, `... 12 more`
        return 1
    if msg.startswith(("Caused by:", "Suppressed:")):
        return 1
    if kind == "java":
        if msg.startswith("at ") and _JAVA_CALL.match(msg):  # frames with the indent stripped
            return 1
        # The exception line right under the logged message, when frames follow it.
        if folded == 0 and ("Exception" in msg or "Error" in msg or "Throwable" in msg):
            return 3 if _JAVA_EXC.match(msg) else 0
        return 0
    if kind == "python":
        if msg.startswith(_PY_CHAIN):
            return 1
        # The exception line ends a Python traceback: unindented, after indented frames.
        if folded > 0 and (": " in msg or msg.isidentifier() or _JAVA_EXC.match(msg)):
            return 2
        return 0
    # Go: the goroutine header, its function lines, `created by`, the signal line.
    if msg.startswith(("created by ", "[signal ")) or _GO_GOROUTINE.match(msg):
        return 1
    return 1 if _GO_FUNC.match(msg) else 0


def is_frame(msg: str) -> bool:
    """A Java stack frame record (`\tat com.foo.Bar.baz(Bar.java:42)`)."""
    return _JAVA_CALL.match(msg) is not None


_RESTARTS_RX = next(rx for fam, rx in _FAMILY_RX if fam == "restarts")


def log_family(template: str) -> str | None:
    for fam, rx in _FAMILY_RX:
        if rx.search(template):
            return fam
    low = template.lower()
    for fam, words, rx in _GUARDED_RX:
        if any(w in low for w in words) and rx.search(template):
            return fam
    for fam, rx in _FALLBACK_RX:
        if rx.search(template):
            return fam
    return None


@dataclass(slots=True)
class LogFinding:
    service: str
    template: str
    level: str
    family: str | None
    before: int
    after: int
    rate_ratio: float
    new: bool
    first_after: float
    """Unix seconds of the first occurrence after `ref`."""
    strength: float
    last_after: float = -math.inf
    """Unix seconds of the last occurrence after `ref`."""
    examples: list[int] = field(default_factory=list)
    """Record indices of a few examples (for file:line citations)."""
    trace: bool = False
    """The template is a stack trace (multi-line or folded records)."""
    start: bool = False
    """The template is a process's start banner, counted as a restart loop
    (`is_start_banner`, `LOOP_STARTS`)."""
    restarted: bool = False
    """The template is a process manager reporting that it restarted the service
    (`_SUPERVISOR_RESTARTS`): each record is one restart, as a restart counter's step."""


@dataclass(slots=True)
class LogStats:
    findings: list[LogFinding]
    total_records: int
    templated_records: int
    templates: int
    mentions: dict[str, list[int]] = field(default_factory=dict)
    """Record indices of error lines per family (used by the dependency analyzer)."""
    folded_records: int = 0
    """Records folded into the stack trace of the record before them."""


def analyze(logs: LogTable, ref: float, start: float, end: float) -> LogStats:
    n = len(logs)
    if n == 0:
        return LogStats([], 0, 0, 0)
    level, svc, msg, ts, fidx = logs.level, logs.service, logs.msg, logs.ts, logs.file_idx

    # Pass 1: which records are events (templated), and which records fold into the
    # stack trace of the event just before them.
    ev_idx = array("l")
    add_event = ev_idx.append
    folded: dict[int, list[str]] = {}
    folded_total = 0
    head = -1  # the last event, while records may still fold into it
    head_kind = ""
    head_file = -1
    head_svc = ""
    lines: list[str] | None = None
    starts: set[int] = set()  # info records that are start banners (events too)
    banner = _START_BANNER.search
    for i, m, fi, s, lv in zip(range(n), msg, fidx, svc, level, strict=True):
        if head >= 0:
            # Cheapest test first: most records cannot continue a Java trace at all.
            if (
                (
                    m[:1] in _JAVA_CONT_FIRST
                    or head_kind != "java"
                    or "Exception" in m
                    or "Error" in m
                    or "Throwable" in m
                )
                and fi == head_file
                and s == head_svc
            ):
                more = continues(head_kind, m, 0 if lines is None else len(lines) - 1)
                if more == 3:
                    more = int(i + 1 < n and fidx[i + 1] == head_file and is_frame(msg[i + 1]))
                if more:
                    if lines is None:
                        lines = folded[head] = [msg[head]]
                    lines.append(m)
                    folded_total += 1
                    if more == 2 or len(lines) > _MAX_FOLD:
                        head = -1
                    continue
            head = -1
        # A crash written without a level (stderr) still opens a trace; a process's
        # start banner is counted, for restarts (`is_start_banner`)
        if (
            lv in _SKIPPED_LEVELS
            and not m.startswith(_CRASH_HEADS)
            and _INFO_FAILURE not in m
            and _LOG_FAILURE not in m
            and _HAPROXY_FAILURE not in m
            and _GO_FAILURE not in m
            and not any(x in m for x in _SUPERVISOR_RESTARTS)
        ):
            # `is_start_banner`, inline: a million info lines pay four substring tests
            if not (
                ("isten" in m or "tart" in m or "ooting" in m or "unning on" in m)
                and banner(m) is not None
            ):
                continue
            starts.add(i)
        add_event(i)
        head = i
        head_kind = _trace_kind(m) if m[:1] in "Tpf" else "java"
        head_file = fi
        head_svc = s
        lines = None
    if not ev_idx:
        return LogStats([], n, 0, 0, folded_records=folded_total)

    # Pass 2: template each event (one regex pass per distinct message) and give it
    # the id of its (service, template). Templates are keyed by the 64-bit hash of
    # (service, text) so that a million distinct templates do not keep a million
    # strings alive (the text is rebuilt from the first event for the few that become
    # findings); two templates sharing a hash is a ~1e-7 event at a million templates
    # and would only merge their counts.
    #
    # Exact repeats of a message skip the regex through `seen` (bounded). When a whole
    # batch of messages brings almost no repeats (every line distinct), the cache only
    # costs time and is switched off for the rest of the run.
    tmpl_ids: dict[int, int] = {}
    seen: dict[tuple[str, str], int] = {}
    use_seen = True
    repeats = 0
    ev_tid = array("l")
    add = ev_tid.append
    t_first = array("l")  # position in ev_idx of each template's first event
    template = _template
    for k, i in enumerate(ev_idx):
        s = svc[i]
        group = folded.get(i) if folded else None
        text = "\n".join(group) if group else msg[i]
        if use_seen:
            key = (s, text)
            tid = seen.get(key)
            if tid is not None:
                repeats += 1
                add(tid)
                continue
        tk = hash((s, template(text)))
        tid = tmpl_ids.get(tk)
        if tid is None:
            tid = tmpl_ids[tk] = len(t_first)
            t_first.append(k)
        if use_seen:
            if len(seen) >= _SEEN_BATCH:
                use_seen = repeats >= _SEEN_BATCH // 20
                repeats = 0
                seen.clear()
            seen[key] = tid
        add(tid)
    del seen, tmpl_ids

    # Pass 3: each template's count before and after `ref`.
    n_templates = len(t_first)
    before = [0] * n_templates
    after = [0] * n_templates
    # a start banner's template: the span its starts after `ref` cover
    spread: dict[int, tuple[float, float]] = {}
    for i, tid in zip(ev_idx, ev_tid, strict=True):
        if ts[i] >= ref:
            after[tid] += 1
            if starts and i in starts:
                lo, hi = spread.get(tid, (ts[i], ts[i]))
                spread[tid] = (min(lo, ts[i]), max(hi, ts[i]))
        else:
            before[tid] += 1

    post_span = max(end - ref, 60.0)
    # The baseline is the window before `ref`, provided the logs cover it at all: when
    # no record precedes `ref` (a collector switched on at the incident), nothing can be
    # called new or spiking. Deliberately not per service and not the exact span the
    # records cover: lines added at a steady rate (tests/test_injection.py) must not
    # change any other template's verdict.
    pre_span = max(ref - start, 60.0) if _covers_baseline(ts, ref) else 0.0
    findings: list[LogFinding] = []
    hit: dict[int, LogFinding] = {}
    for tid, a in enumerate(after):
        if a < 3:  # neither rule below can fire
            continue
        b = before[tid]
        new, ratio = is_new_or_spiking(b, a, pre_span, post_span)
        if new is None:
            continue
        i = ev_idx[t_first[tid]]
        group = folded.get(i)
        text = "\n".join(group) if group else msg[i]
        t = _template(text)
        lv = _event_level(level[i], msg[i])
        fam = log_family(t)
        if fam is None and "\n" in text and _RESTARTS_RX.search(text):
            # a crash report of several lines whose verdict is not its first: .NET's
            # `Application: w3wp.exe` … `Description: The process was terminated due to
            # an unhandled exception.` (Windows event 1026)
            fam = "restarts"
        if i in starts:
            # a start banner: a restart loop when there are many, spread over the
            # incident; a rollout starting each pod once is no finding
            lo, hi = spread.get(tid, (0.0, 0.0))
            if a < LOOP_STARTS or hi - lo < LOOP_SPAN_S:
                continue
            lv, fam = "info", "restarts"
        vol = min(1.0, math.log1p(a) / math.log1p(50))
        strength = (
            _SEVERITY.get(lv, 0.7)
            * (0.55 + 0.45 * vol)
            * (1.0 if new else min(1.0, 0.5 + ratio / 20.0))
        )
        f = LogFinding(
            service=svc[i],
            template=t,
            level=lv,
            family=fam,
            before=b,
            after=a,
            rate_ratio=float(ratio),
            new=new,
            first_after=math.inf,
            strength=float(min(1.0, strength)),
            trace="\n" in text,
            start=i in starts,
            restarted=any(x in t for x in _SUPERVISOR_RESTARTS),
        )
        findings.append(f)
        hit[tid] = f
    if hit:
        # The first time after `ref`, and a few examples in record order for citations.
        for i, tid in zip(ev_idx, ev_tid, strict=True):
            f0 = hit.get(tid)
            if f0 is not None and ts[i] >= ref:
                if ts[i] < f0.first_after:
                    f0.first_after = ts[i]
                f0.last_after = max(f0.last_after, ts[i])
                if len(f0.examples) < 3:
                    f0.examples.append(i)
    mentions: dict[str, list[int]] = {}
    for f in findings:
        if f.family:
            mentions.setdefault(f.family, []).extend(f.examples)
    return LogStats(findings, n, len(ev_idx), n_templates, mentions, folded_total)


def over_before(f: LogFinding, alert: float) -> bool:
    """A burst of a template that was over well before the page: last seen more than
    `metrics.EPISODE_S` before the alert, after lasting less than the quiet since (a
    restart's minute of refused connections ten minutes before an unrelated page). As
    a metric's episode that ended that early, it is the tail of something else. A
    template that comes now and then over a long stretch is not over by being quiet a
    while."""
    from aisre_cli.investigate.analyzers.metrics import EPISODE_S

    quiet = alert - f.last_after
    return quiet > EPISODE_S and f.last_after - f.first_after < quiet


def _event_level(raw: str, msg: str) -> str:
    """The level an event is counted at: its own when templated, a crash written
    without a level (stderr) is fatal for a Go panic and an error otherwise, and an
    unknown level is an error."""
    if raw in _SKIPPED_LEVELS:
        return "fatal" if msg.startswith(("panic:", "fatal error:")) else "error"
    return raw if raw in _TEMPLATED_LEVELS else "error"


def _covers_baseline(ts: Sequence[float], ref: float) -> bool:
    """Whether any record (of any level) precedes `ref`."""
    return any(t < ref for t in ts)


def is_new_or_spiking(
    before: int, after: int, pre_span: float, post_span: float
) -> tuple[bool | None, float]:
    """(new?, rate ratio): True for a new template, False for a spiking one, None for
    neither.

    `pre_span` is the baseline's length before `ref` (zero when the logs do not cover
    it: there is no baseline, so nothing is new or spiking).
    New: never seen before `ref`, at least 3 times after, and the baseline long enough
    that at the after-rate it would have shown at least 3 times. Spiking: at least 5
    times after, 3x the baseline rate, and surprising for a Poisson count at the
    baseline rate (-log10 tail >= 6)."""
    if pre_span <= 0:
        return None, 0.0
    rate_b = before / pre_span
    rate_a = after / post_span
    ratio = rate_a / max(rate_b, 0.5 / pre_span)
    if before == 0 and after >= 3 and rate_a * pre_span >= 3.0:
        return True, ratio
    expected = max(rate_b * post_span, 0.5)
    if ratio >= 3.0 and after >= 5 and _poisson_surprise(after, expected) >= 6.0:
        return False, ratio
    return None, ratio


def _poisson_surprise(observed: int, expected: float) -> float:
    """-log10 of the (approximate) upper tail P(X >= observed) for X ~ Poisson(expected)."""
    if observed <= expected:
        return 0.0
    # Chernoff bound on the upper tail, good enough to rank and threshold.
    k, lam = float(observed), max(expected, 1e-9)
    log_p = -lam + k - k * math.log(k / lam)
    return -log_p / math.log(10)
