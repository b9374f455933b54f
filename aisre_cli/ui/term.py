"""Where untrusted text meets the terminal: the one place it is made safe to show.

Almost everything aisre prints came from outside: alert labels and annotations, log
lines, change summaries, runbook titles, kubectl's stdout and stderr, audit records,
error messages quoting any of those. A terminal obeys control sequences found in
that text: `ESC ] 52 ;` writes the clipboard, `ESC ] 0 ;` sets the window title,
`ESC [ 2 J` clears the screen (so fake "all clear" text can follow), `ESC ] 8 ;`
plants a hyperlink, and the 8-bit forms (CSI 0x9b, OSC 0x9d, DCS 0x90, SOS 0x98,
PM 0x9e, APC 0x9f) do the same on terminals that honour C1 controls. Rich strips
only BEL, BS, VT, FF and CR; everything else reaches the terminal as is.

So every string from outside is passed through `visible()` before it is shown:
each C0 control (except newline and tab where the layout keeps them), DEL, each C1
control, the Unicode bidi overrides/isolates/marks (which reorder what is shown:
"Trojan Source"), the line/paragraph separators, the invisible zero-width space, word
joiner and BOM (`pay\\u200bments` is not `payments`) and lone surrogates are written as
their Python escape (`\\x1b`, `\\x9b`, `\\u202e`). The escape is visible and
unambiguous, and it is what an engineer would type to grep for it. Because a
sequence cannot start without its introducer (ESC or a C1 byte), neutralising the
introducers neutralises CSI, OSC, DCS, APC, PM and SOS whether they end in BEL or
ST; the rest of the sequence stays as readable text.

The chokepoints, used by every renderer in `aisre_cli.ui`:

- `visible(text)` for plain strings, `markup(text)` for strings placed inside rich
  markup (escaped for rich too), `safe(text, style)` builds a rich `Text`;
- `console()` makes every rich console the CLI prints with: a render hook re-checks
  each segment that reaches the terminal, so a renderer that forgot to call
  `visible()` still cannot emit a raw control (rich's own control segments, such as
  the spinner's cursor moves, are left alone), and a closed pipe raises
  `BrokenPipeError` for `main()` to end quietly (rich's default exits 1);
- `echo(text)` for plain lines (Markdown, `change list`, `runbook runs`);
- `json_text(data)` for `--json`: the exact data, with C0 escaped by `json` and
  DEL, C1, bidi controls, separators, invisibles and lone surrogates written as
  `\\uXXXX` too,
  so no raw control byte is written even with `ensure_ascii=False`.

This module imports only the standard library at import time (rich comes in when a
console or `Text` is made), so `aisre --help` stays fast.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# Everything that can drive a terminal or change how the text around it is shown.
# \n and \t are handled separately (kept, or spaces in one-line cells).
_CONTROLS = (
    "\x00-\x08\x0b-\x1f"  # C0 without \t \n (ESC, BEL, CR, NUL, ...)
    "\x7f-\x9f"  # DEL and C1 (CSI 0x9b, OSC 0x9d, DCS 0x90, SOS 0x98, PM 0x9e, APC 0x9f)
    "\u061c\u200e\u200f"  # bidi marks (ALM, LRM, RLM)
    "\u202a-\u202e"  # bidi embeddings and overrides (LRE RLE PDF LRO RLO)
    "\u2066-\u2069"  # bidi isolates (LRI RLI FSI PDI)
    "\u2028\u2029"  # line and paragraph separators
    "\u200b\u2060\ufeff"  # invisible: zero-width space, word joiner, BOM ("pay\u200bments")
    "\ud800-\udfff"  # lone surrogates (undecodable bytes): unencodable, crash a write
)
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_ONELINE = re.compile(f"\r\n|[\t\n]|[{_CONTROLS}]")
# what json.dumps(ensure_ascii=False) leaves raw inside strings (it escapes C0 itself)
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\u2028\u2029\ufeff"
    "\ud800-\udfff]"
)
_NAMED = {"\r": "\\r", "\t": "\\t", "\n": "\\n"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    cp = ord(ch)
    return f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}"


def _oneline(m: re.Match[str]) -> str:
    ch = m.group()
    return " " if ch in ("\r\n", "\n", "\t") else _escape(ch)


def visible(text: str, *, oneline: bool = False) -> str:
    """`text` with every control made visible as its escape (`\\x1b`, `\\x9b`, `\\u202e`).

    Newlines and tabs are kept (a CRLF becomes a newline), unless `oneline`: then they
    become spaces, for table cells and single-line fields where a newline would forge
    a row. Anything that is not a `str` is shown through `str()` first.
    """
    if not isinstance(text, str):
        text = str(text)
    if oneline:
        return _UNSAFE_ONELINE.sub(_oneline, text)
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return _UNSAFE.sub(lambda m: _escape(m.group()), text)


def markup(text: str, *, oneline: bool = False) -> str:
    """`visible(text)` escaped for rich markup, to place inside `console.print(f"[b]{…}")`."""
    from rich.markup import escape

    return escape(visible(text, oneline=oneline))


def safe(text: str, style: str = "", *, oneline: bool = False, **kw: Any) -> Text:
    """A rich `Text` of outside text, controls made visible (the Text factory)."""
    from rich.text import Text

    return Text(visible(text, oneline=oneline), style=style, **kw)


def clip(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells (a CJK character takes two), ending in an
    ellipsis when it was longer: one stored name cannot push a table's columns away."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(width - 1, 0)) + "…" if width > 0 else ""


def echo(text: str, *, err: bool = False) -> None:
    """One plain line of output (no markup, no colour), controls made visible."""
    stream = sys.stderr if err else sys.stdout
    stream.write(visible(text) + "\n")
    stream.flush()


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """JSON of `data`, exact (round-trips) and free of raw control characters."""
    s = json.dumps(data, indent=indent, ensure_ascii=False, default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", s)


PIPE_WIDTH = 10_000
"""Line width when stdout is a pipe or a file: lines are never hard-wrapped there."""


def stdout_width() -> int | None:
    """None on a terminal (Rich measures it); else `$COLUMNS` when the user exported
    it, or no limit: output piped to grep or written to a file must not split dates,
    PromQL or commands at column 80."""
    import os

    try:
        if sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):  # closed or replaced stdout
        pass
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


def console(*, stderr: bool = False, **kw: Any) -> Console:
    """A rich console whose every printed segment is checked (see the module doc).
    On stdout it uses the full line when stdout is not a terminal (`stdout_width`).
    Emoji codes stay text: rich would turn a `:fire:` in an alert name or a log line
    (escaped markup keeps them) into a glyph, and the engineer would see, and search
    for, something the source never said."""
    kw.setdefault("highlight", False)
    kw.setdefault("emoji", False)
    if not stderr:
        kw.setdefault("width", stdout_width())
    return _console_class()(stderr=stderr, **kw)


@cache
def _console_class() -> type[Console]:
    from rich.console import Console, ConsoleOptions, RenderHook, RenderResult
    from rich.segment import Segment

    class Guarded:
        """Renders `inner`; any control left in a text segment is made visible."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __rich_console__(self, con: Console, options: ConsoleOptions) -> RenderResult:
            for seg in con.render(self.inner, options):
                if seg.control or not _UNSAFE.search(seg.text):
                    yield seg  # rich's own cursor moves, or clean text
                else:
                    yield Segment(visible(seg.text), seg.style)

    class Guard(RenderHook):
        def process_renderables(self, renderables: list[Any]) -> list[Any]:
            return [Guarded(r) for r in renderables]

    class SafeConsole(Console):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.push_render_hook(Guard())

        def on_broken_pipe(self) -> None:
            # rich's default dups devnull over stdout and exits 1; main() decides
            raise BrokenPipeError

    return SafeConsole
