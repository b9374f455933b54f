"""Timestamp parsing shared by every reader.

Bundles and APIs hand us RFC 3339 strings (with or without fractions, `Z` or an
offset), unix seconds, milliseconds, microseconds and nanoseconds, sometimes as numbers
and sometimes as strings. Everything becomes a float of unix seconds (for bulk data) or an aware UTC
datetime (for models).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_ZERO = timedelta(0)

# Anything above this is taken to be milliseconds: 1e11 seconds is the year 5138,
# 1e11 milliseconds is 1973. Likewise microseconds above 1e14 and nanoseconds (OTLP's
# `timeUnixNano`, Go's UnixNano) above 1e17.
_MS_THRESHOLD = 1e11
_US_THRESHOLD = 1e14
_NS_THRESHOLD = 1e17

UNIX_MIN = 0.0
"""1970-01-01: nothing an incident cites is older."""
UNIX_MAX = 32_503_680_000.0
"""3000-01-01: far enough for any real timestamp, and far from datetime's year 9999 so
that adding a window or a baseline to it never overflows."""


class TimestampError(ValueError):
    """A value that is not a timestamp we understand."""


def to_unix(value: object) -> float:
    """Parse a timestamp into unix seconds. Raises TimestampError with the value."""
    if isinstance(value, bool):
        raise TimestampError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        try:
            v = float(value)
        except OverflowError:  # an int beyond float's range
            raise TimestampError(f"timestamp {_short(value)} out of range (1970 to 3000)") from None
        if v != v or v in (float("inf"), float("-inf")):
            raise TimestampError(f"not a timestamp: {_short(value)}")
        a = abs(v)
        if a >= _NS_THRESHOLD:
            secs = v / 1e9
        elif a >= _US_THRESHOLD:
            secs = v / 1e6
        elif a >= _MS_THRESHOLD:
            secs = v / 1000.0
        else:
            secs = v
        return _in_range(secs, value)
    if isinstance(value, str):
        s = value.strip()
        if not s:
            raise TimestampError("empty timestamp")
        if s[0].isdigit() and s.replace(".", "", 1).isdigit():
            return to_unix(float(s))
        return _in_range(parse_rfc3339(s).timestamp(), value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            return _in_range(aware.timestamp(), value)
        except OverflowError:
            raise TimestampError(f"timestamp {_short(value)} out of range (1970 to 3000)") from None
    raise TimestampError(f"not a timestamp: {_short(value)}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _in_range(secs: float, value: object) -> float:
    if not UNIX_MIN <= secs <= UNIX_MAX:
        raise TimestampError(f"timestamp {_short(value)} out of range (1970 to 3000)")
    return secs


def parse_rfc3339(s: str) -> datetime:
    """RFC 3339 / ISO 8601 with optional fraction (any precision) and zone."""
    try:  # fast path: Python 3.11 reads `Z`, offsets and nanosecond fractions
        dt = datetime.fromisoformat(s)
    except ValueError:
        pass
    else:
        if dt.tzinfo is None:
            return dt.replace(tzinfo=UTC)
        if dt.utcoffset() == _ZERO:
            return dt
        try:
            return dt.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before datetime.min in UTC
            raise TimestampError(f"timestamp {_short(s)} out of range (1970 to 3000)") from None
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
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise TimestampError(f"not an RFC 3339 timestamp: {_short(s)}") from exc


def to_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        to_unix(value)  # range check
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(to_unix(value), UTC)  # in range: cannot overflow


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")
