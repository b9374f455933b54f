"""Timestamp parsing shared by every reader.

Bundles and APIs hand us RFC 3339 strings (with or without fractions, `Z` or an
offset), unix seconds, and unix milliseconds, sometimes as numbers and sometimes as
strings. Everything becomes a float of unix seconds (for bulk data) or an aware UTC
datetime (for models).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_ZERO = timedelta(0)

# Anything above this is taken to be milliseconds: 1e11 seconds is the year 5138,
# 1e11 milliseconds is 1973.
_MS_THRESHOLD = 1e11


class TimestampError(ValueError):
    """A value that is not a timestamp we understand."""


def to_unix(value: object) -> float:
    """Parse a timestamp into unix seconds. Raises TimestampError with the value."""
    if isinstance(value, bool):
        raise TimestampError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        v = float(value)
        if v != v or v in (float("inf"), float("-inf")):
            raise TimestampError(f"not a timestamp: {value!r}")
        return v / 1000.0 if abs(v) >= _MS_THRESHOLD else v
    if isinstance(value, str):
        s = value.strip()
        if not s:
            raise TimestampError("empty timestamp")
        if s[0].isdigit() and s.replace(".", "", 1).isdigit():
            return to_unix(float(s))
        return parse_rfc3339(s).timestamp()
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    raise TimestampError(f"not a timestamp: {value!r}")


def parse_rfc3339(s: str) -> datetime:
    """RFC 3339 / ISO 8601 with optional fraction (any precision) and zone."""
    try:  # fast path: Python 3.11 reads `Z`, offsets and nanosecond fractions
        dt = datetime.fromisoformat(s)
    except ValueError:
        pass
    else:
        if dt.tzinfo is None:
            return dt.replace(tzinfo=UTC)
        return dt if dt.utcoffset() == _ZERO else dt.astimezone(UTC)
    text = s.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    # Go and Alertmanager emit nanoseconds; Python accepts at most microseconds.
    if "." in text:
        head, _, rest = text.partition(".")
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac, zone = rest[:i], rest[i:]
        text = f"{head}.{frac[:6].ljust(6, '0')}{zone}" if frac else head + zone
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimestampError(f"not an RFC 3339 timestamp: {s!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def to_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(to_unix(value), UTC)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")
