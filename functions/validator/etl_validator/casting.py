"""Turn string columns into the contract's Arrow types, one bad value failing one row only."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .contract import ColumnSpec

INTEGER = r"^[+-]?\d{1,18}$"
FLOAT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
TRUE = ["true", "t", "yes", "y", "1"]
FALSE = ["false", "f", "no", "n", "0"]


def arrow_type(column: ColumnSpec) -> pa.DataType:
    """The Arrow type a contract column is stored as."""
    if column.decimal:
        return pa.decimal128(*column.decimal)
    return {
        "integer": pa.int64(), "float": pa.float64(), "string": pa.string(),
        "boolean": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us"),
    }[column.type]


def check_type(column: ColumnSpec) -> pa.DataType:
    """The type pandera checks run on: decimals are compared as floats (narwhals has no decimal)."""
    return pa.float64() if column.decimal else arrow_type(column)


@dataclass
class CastResult:
    values: pa.Array
    bad: pa.Array  # boolean mask: a value was present but is not of the column's type


def _with_mask(text: pa.Array, ok: pa.Array, target: pa.DataType) -> CastResult:
    ok = pc.fill_null(ok, False)
    present = pc.is_valid(text)
    values = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), target)
    return CastResult(values, pc.and_(present, pc.invert(ok)))


def cast_column(text: pa.Array, column: ColumnSpec) -> CastResult:
    """Cast one string column; rows that do not parse come back null and flagged in `bad`."""
    target = arrow_type(column)
    if column.type == "string":
        return CastResult(text, pc.and_(pc.is_valid(text), pc.is_null(text)))
    trimmed = pc.utf8_trim_whitespace(text)
    if column.type == "integer":
        unsigned = pc.replace_substring_regex(trimmed, r"^\+", "")
        return _with_mask(unsigned, pc.match_substring_regex(trimmed, INTEGER), target)
    if column.type == "float":
        result = _with_mask(trimmed, pc.match_substring_regex(trimmed, FLOAT), target)
        overflow = pc.fill_null(pc.is_inf(result.values), False)
        return CastResult(pc.if_else(overflow, pa.scalar(None, target), result.values),
                          pc.or_(result.bad, overflow))
    if column.decimal:
        precision, scale = column.decimal
        whole = precision - scale
        pattern = rf"^[+-]?\d{{1,{whole}}}(\.\d{{1,{scale}}})?$" if whole else rf"^[+-]?0?\.\d{{1,{scale}}}$"
        return _with_mask(trimmed, pc.match_substring_regex(trimmed, pattern), target)
    if column.type == "boolean":
        lowered = pc.utf8_lower(trimmed)
        ok = pc.or_(pc.is_in(lowered, pa.array(TRUE)), pc.is_in(lowered, pa.array(FALSE)))
        values = pc.if_else(ok, pc.is_in(lowered, pa.array(TRUE)), pa.scalar(None, pa.bool_()))
        return CastResult(values, pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False))))
    parsed = pc.strptime(trimmed, format=column.format, unit="us", error_is_null=True)
    # Arrow rolls impossible days over (2026-02-30 parses as 2026-03-02): a value is only
    # valid if formatting it back gives the same numbers, leading zeros aside.
    if "%f" not in column.format:
        parsed = pc.if_else(_written_as_parsed(parsed, trimmed, column), parsed, pa.scalar(None, parsed.type))
    values = pc.cast(parsed, target) if column.type == "date" else parsed
    return CastResult(values, pc.and_(pc.is_valid(text), pc.is_null(parsed)))


def _written_as_parsed(parsed: pa.Array, text: pa.Array, column: ColumnSpec) -> pa.Array:
    """False where the value was rolled over. Formatting back is slow (strftime and two regex
    passes per value), so only values a rollover can produce are checked: a day past the month's
    end lands on day 1 to 3 of the next month, second 60 on second 0 of the next minute."""
    suspect = pc.less_equal(pc.day(parsed), 3)
    if column.type == "timestamp" and "%S" in column.format:
        suspect = pc.or_(suspect, pc.equal(pc.second(parsed), 0))
    suspect = pc.fill_null(suspect, False)
    if not pc.any(suspect).as_py():
        return pc.invert(suspect)
    whole_seconds = pc.cast(pc.filter(parsed, suspect), pa.timestamp("s"), safe=False)
    formatted = pc.strftime(whole_seconds, format=column.format)
    same = pc.fill_null(pc.equal(_unpadded(formatted), _unpadded(pc.filter(text, suspect))), False)
    return pc.replace_with_mask(pc.invert(suspect), suspect, same)


def _unpadded(text: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(text, r"(^|\D)0+(\d)", r"\1\2")
