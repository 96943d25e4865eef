"""Turn string columns into the contract's Arrow types, one bad value failing one row only."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from etl_common.column_types import STRPTIME_DIRECTIVE, time_zone_directives

if TYPE_CHECKING:
    from .contract import ColumnSpec

INTEGER = r"^[+-]?\d{1,18}$"
FLOAT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
TRUE = ["true", "t", "yes", "y", "1"]
FALSE = ["false", "f", "no", "n", "0"]
AFTER_30_DAY_MONTHS = pa.array([5, 7, 10, 12], pa.int64())
ROLLED_OVER_NUMBERS = "29|3[01]|6[01]"
# What Python's strptime takes for %z (Z, +HH:MM, +HHMM, with seconds, under 24 hours; fractions of a
# second left out) and for %Z (a UTC name; Python also takes the machine's own zone names).
ZONE_PATTERNS = {"z": r"Z|[+-](?:[01]\d|2[0-3])(?::[0-5]\d(?::[0-5]\d)?|[0-5]\d(?:[0-5]\d)?)",
                 "Z": r"(?i:UTC|GMT)"}
# Spark, Athena and Python datetimes hold years 1 to 9999; a value outside would not survive them.
FIRST_INSTANT, LAST_INSTANT = (pa.scalar(dt.datetime(1, 1, 1), pa.timestamp("us")),
                               pa.scalar(dt.datetime(9999, 12, 31, 23, 59, 59, 999999), pa.timestamp("us")))


def arrow_type(column: ColumnSpec) -> pa.DataType:
    """The Arrow type a contract column is stored as (column_types names it); pandera checks run
    on it too, decimals included, so a range check compares the exact values."""
    kind = column.column_type
    if kind.is_decimal:
        return pa.decimal128(kind.precision, kind.scale)
    return pa.type_for_alias(kind.arrow)


@dataclass(frozen=True)
class ZoneSplit:
    """A format's time zone directive taken apart: `pattern` finds the zone in a value (groups
    `before`, `zone`, `after`), `format` reads the rest as the wall time it gives."""

    pattern: str
    format: str


def _zone_split(strptime_format: str) -> ZoneSplit | None:
    """None for a format without a time zone (the contract allows one at most)."""
    found = time_zone_directives(strptime_format)
    if not found:
        return None
    zone = found[0]
    before, after = strptime_format[:zone.start()], strptime_format[zone.end():]
    pattern = rf"^(?P<before>{_loose(before)})(?P<zone>{ZONE_PATTERNS[zone[1]]})(?P<after>{_loose(after)})$"
    return ZoneSplit(pattern, before + after)


def _loose(strptime_format: str) -> str:
    """A regex for text in this format that only places its literals: strptime checks the rest."""
    pieces = STRPTIME_DIRECTIVE.split(strptime_format)  # literal, directive letter, literal, ...
    return "".join("%" if i % 2 and piece == "%" else ".*?" if i % 2 else re.escape(piece)
                   for i, piece in enumerate(pieces))


@dataclass
class CastResult:
    values: pa.Array
    bad: pa.Array  # boolean mask: a value was present but is not of the column's type


def _none_bad(text: pa.Array) -> pa.Array:
    return pc.and_(pc.is_valid(text), pc.is_null(text))


def _with_mask(text: pa.Array, ok: pa.Array, target: pa.DataType) -> CastResult:
    bad = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False)))
    if pc.any(bad).as_py():
        text = pc.if_else(bad, pa.scalar(None, pa.string()), text)
    return CastResult(pc.cast(text, target), bad)


def _plain_integers(text: pa.Array) -> pa.Array | None:
    """Arrow's own integer parse, about ten times cheaper than the regex path, where it agrees
    with INTEGER: values of at most 18 characters that are digits after an optional minus (Arrow
    also takes hex, `0x1F`; INTEGER also a `+` and whitespace). None when any value is not."""
    if (pc.max(pc.binary_length(text)).as_py() or 0) > 18:
        return None
    try:
        values = pc.cast(text, pa.int64())
    except pa.ArrowInvalid:
        return None
    digits = pc.ascii_is_decimal(pc.ascii_ltrim(text, "-"))
    return None if pc.any(pc.invert(digits)).as_py() else values


def cast_column(text: pa.Array, column: ColumnSpec) -> CastResult:
    """Cast one string column; rows that do not parse come back null and flagged in `bad`."""
    target, kind = arrow_type(column), column.column_type
    if kind.name == "string":
        return CastResult(text, _none_bad(text))
    if kind.name == "integer":
        plain = _plain_integers(text)
        if plain is not None:
            return CastResult(plain, _none_bad(text))
    trimmed = pc.utf8_trim_whitespace(text)
    if kind.name == "integer":
        # INTEGER allows one sign at most, so trimming "+" leaves at most a "-" for the cast.
        return _with_mask(pc.utf8_ltrim(trimmed, "+"), pc.match_substring_regex(trimmed, INTEGER), target)
    if kind.name == "float":
        result = _with_mask(trimmed, pc.match_substring_regex(trimmed, FLOAT), target)
        overflow = pc.fill_null(pc.is_inf(result.values), False)
        return CastResult(pc.if_else(overflow, pa.scalar(None, target), result.values),
                          pc.or_(result.bad, overflow))
    if kind.is_decimal:
        precision, scale = kind.precision, kind.scale
        whole = precision - scale
        pattern = rf"^[+-]?\d{{1,{whole}}}(\.\d{{1,{scale}}})?$" if whole else rf"^[+-]?0?\.\d{{1,{scale}}}$"
        return _with_mask(trimmed, pc.match_substring_regex(trimmed, pattern), target)
    if kind.name == "boolean":
        lowered = pc.utf8_lower(trimmed)
        ok = pc.or_(pc.is_in(lowered, pa.array(TRUE)), pc.is_in(lowered, pa.array(FALSE)))
        values = pc.if_else(ok, pc.is_in(lowered, pa.array(TRUE)), pa.scalar(None, pa.bool_()))
        return CastResult(values, pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False))))
    zone = _zone_split(column.format)
    if zone is None:
        parsed = _wall_time(trimmed, column.format, kind.name == "timestamp")
    else:
        parts = pc.extract_regex(trimmed, zone.pattern)
        local = _wall_time(pc.binary_join_element_wise(pc.struct_field(parts, "before"),
                                                       pc.struct_field(parts, "after"), ""),
                           zone.format, kind.name == "timestamp")
        parsed = pc.subtract(local, _utc_offset(pc.struct_field(parts, "zone")))
    in_range = pc.and_(pc.greater_equal(parsed, FIRST_INSTANT), pc.less_equal(parsed, LAST_INSTANT))
    if not pc.all(in_range).as_py():
        parsed = pc.if_else(in_range, parsed, pa.scalar(None, parsed.type))
    values = pc.cast(parsed, target) if kind.name == "date" else parsed
    return CastResult(values, pc.and_(pc.is_valid(text), pc.is_null(parsed)))


def _wall_time(text: pa.Array, strptime_format: str, timestamp: bool) -> pa.Array:
    """Naive timestamps of text in a format without a time zone, null where it does not parse.

    Arrow rolls impossible days over (2026-02-30 parses as 2026-03-02): a value is only valid if
    formatting it back gives the same numbers, leading zeros aside."""
    parsed = pc.strptime(text, format=strptime_format, unit="us", error_is_null=True)
    if "%f" in strptime_format:
        return parsed
    return pc.if_else(_written_as_parsed(parsed, text, strptime_format, timestamp), parsed,
                      pa.scalar(None, parsed.type))


def _utc_offset(zone: pa.Array) -> pa.Array:
    """The offsets east of UTC that ZONE_PATTERNS texts give, as durations (a UTC name is +00)."""
    signed = pc.if_else(pc.match_substring_regex(zone, "^[+-]"), zone, "+0000")
    digits = pc.utf8_rpad(pc.replace_substring(signed, ":", ""), 7, "0")  # +HHMMSS

    def number(start: int) -> pa.Array:
        return pc.cast(pc.utf8_slice_codeunits(digits, start, start + 2), pa.int64())

    seconds = pc.add(pc.add(pc.multiply(number(1), 3600), pc.multiply(number(3), 60)), number(5))
    sign = pc.if_else(pc.starts_with(signed, "-"), -1_000_000, 1_000_000)
    return pc.cast(pc.multiply(seconds, sign), pa.duration("us"))


def _written_as_parsed(parsed: pa.Array, text: pa.Array, strptime_format: str, timestamp: bool) -> pa.Array:
    """False where the value was rolled over. Formatting back is slow (strftime, about 3 µs a
    value, and two regex passes), so only values a rollover can produce are checked: a day past
    the end of February lands on March 1 to 3, day 31 of a 30-day month on the 1st of May, July,
    October or December, seconds 60 and 61 (strptime takes both) on second 0 or 1 of the next
    minute; and their text holds the day or second that rolled over (29 to 31, 60 or 61)."""
    day, month = pc.day(parsed), pc.month(parsed)
    suspect = pc.or_(pc.and_(pc.less_equal(day, 3), pc.equal(month, 3)),
                     pc.and_(pc.equal(day, 1), pc.is_in(month, AFTER_30_DAY_MONTHS)))
    if timestamp and "%S" in strptime_format:
        suspect = pc.or_(suspect, pc.less_equal(pc.second(parsed), 1))
    suspect = pc.fill_null(suspect, False)
    if not pc.any(suspect).as_py():
        return pc.invert(suspect)
    texts = pc.filter(text, suspect)
    rolled_digits = pc.fill_null(pc.match_substring_regex(texts, ROLLED_OVER_NUMBERS), False)
    same = pc.invert(rolled_digits)
    if pc.any(rolled_digits).as_py():
        whole_seconds = pc.cast(pc.filter(pc.filter(parsed, suspect), rolled_digits), pa.timestamp("s"), safe=False)
        formatted = pc.strftime(whole_seconds, format=strptime_format)
        written = pc.filter(texts, rolled_digits)
        same = pc.replace_with_mask(same, rolled_digits,
                                    pc.fill_null(pc.equal(_unpadded(formatted), _unpadded(written)), False))
    return pc.replace_with_mask(pc.invert(suspect), suspect, same)


def _unpadded(text: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(text, r"(^|\D)0+(\d)", r"\1\2")
