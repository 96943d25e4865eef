"""Differential: what the validator passes is what lands in Parquet, value for value.

Generated CSV files over the contract types and dialect options (delimiters, quote characters,
quoting, CR LF, a byte order mark, null tokens quoted and not, Unicode whitespace around numbers,
two-digit years, time-zone offsets, old dates, extreme decimals, wide headers) go through the
validator (validate + StagedWriter) and the real Glue job in local Spark. For every file the
validator passes, every Parquet value equals the validator's typed value, row for row.

Seeded and bounded here (ONE_READING_EXAMPLES, default 12); `make soak` runs many more.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl_validator.casting import FALSE, TRUE
from etl_validator.contract import Contract, parse_contract

from tests.integration.job_harness import dataset_rows, output_root, run_staged, staged_path, try_stage, typed_rows

EXAMPLES = int(os.environ.get("ONE_READING_EXAMPLES", "12"))
RUNS = count()
UNICODE_SPACES = ["\u00a0", "\u2009", "\u3000", "\t", " "]
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%Y%m%d"]
TIMESTAMP_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%z", "%d/%m/%y %H:%M", "%Y-%m-%dT%H:%M:%SZ"]


@st.composite
def columns(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1 to 8 columns, or sometimes a wide header of up to 300."""
    wide = draw(st.booleans()) and draw(st.integers(0, 9)) == 0
    n = draw(st.integers(100, 300)) if wide else draw(st.integers(1, 8))
    specs = []
    for i in range(n):
        kind = draw(st.sampled_from(["integer", "float", "decimal", "string", "boolean", "date", "timestamp"]))
        spec: dict[str, Any] = {"name": f"c{i}", "type": kind}
        if kind == "decimal":
            precision = draw(st.integers(1, 38))
            spec["type"] = f"decimal({precision},{draw(st.integers(1, precision))})"
        elif kind in ("date", "timestamp"):
            spec["format"] = draw(st.sampled_from(DATE_FORMATS if kind == "date" else TIMESTAMP_FORMATS))
        specs.append(spec)
    return specs


def value_text(draw: st.DrawFn, spec: dict[str, Any]) -> str:
    """One field's text as an export would write it, for a value of the column's type."""
    kind = spec["type"]
    pad = (lambda text: draw(st.sampled_from(["", *UNICODE_SPACES])) + text
           + draw(st.sampled_from(["", *UNICODE_SPACES])))
    if kind == "integer":
        return pad(str(draw(st.integers(-(10**18 - 1), 10**18 - 1))))  # the contract rule: 18 digits
    if kind == "float":
        return pad(repr(draw(st.floats(allow_nan=False, allow_infinity=False, width=64))))
    if kind.startswith("decimal"):
        precision, scale = (int(x) for x in kind[8:-1].split(","))
        limit = Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)
        value = draw(st.decimals(min_value=-limit, max_value=limit, places=scale, allow_nan=False,
                                 allow_infinity=False))
        return pad(f"{value:f}")
    if kind == "boolean":
        return pad(draw(st.sampled_from(TRUE + FALSE + [w.upper() for w in TRUE + FALSE])))
    if kind == "date":
        two_digit = "%y" in spec["format"]
        value = draw(st.dates(dt.date(1969, 1, 1) if two_digit else dt.date(1, 1, 1),
                              dt.date(2068, 12, 31) if two_digit else dt.date(9999, 12, 31)))
        return value.strftime(spec["format"]).replace(f"{value.year}", f"{value.year:04d}", 1) \
            if "%Y" in spec["format"] else value.strftime(spec["format"])
    if kind == "timestamp":
        fmt = spec["format"]
        two_digit = "%y" in fmt
        value = draw(st.datetimes(dt.datetime(1969, 1, 2) if two_digit else dt.datetime(1, 1, 2),
                                  dt.datetime(2068, 12, 30) if two_digit else dt.datetime(9999, 12, 30)))
        value = value.replace(microsecond=0, second=0 if "%S" not in fmt else value.second)
        if "%z" in fmt:
            minutes = draw(st.integers(-14 * 60, 14 * 60))
            value = value.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
        text = value.strftime(fmt)
        return text.replace(f"{value.year}", f"{value.year:04d}", 1) if "%Y" in fmt else text
    return draw(st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12),
        st.sampled_from(['say "hi"', "a\r\nb", "line\nbreak", " padded ", "NA", "NULL", "", "x;y,z|w",
                         "C:\\dir\\", "\u00a042\u00a0", "é", "'quoted'"])))


@st.composite
def upload(draw: st.DrawFn) -> tuple[Contract, bytes]:
    """A contract and a CSV upload written in its dialect."""
    specs = draw(columns())
    delimiter = draw(st.sampled_from([",", ";", "|", "\t"]))
    quote = draw(st.sampled_from(['"', "'"]))
    null_values = draw(st.sampled_from([[""], ["", "NA"], ["NULL"], ["", "NULL", "N/A"]]))
    contract = parse_contract({
        "dataset": "generated", "columns": specs,
        "dialect": {"delimiter": delimiter, "quote_char": quote, "null_values": null_values},
    }, "generated.yaml")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    quote_all = draw(st.booleans())

    def field(text: str, quoted: bool) -> str:
        special = any(ch in text for ch in (delimiter, quote, "\r", "\n")) or text == ""
        return quote + text.replace(quote, quote * 2) + quote if quoted or special else text

    lines = [delimiter.join(field(s["name"], quote_all) for s in specs)]
    for _ in range(draw(st.integers(0, 12))):
        fields = []
        for spec in specs:
            if draw(st.integers(0, 7)) == 0:   # a null: one of the tokens, unquoted
                token = draw(st.sampled_from(null_values))
                fields.append(token if token else "")
            else:   # a value, quoted or not (a quoted null token is the text itself)
                fields.append(field(value_text(draw, spec), quote_all or draw(st.booleans())))
        lines.append(delimiter.join(fields))
    text = newline.join(lines) + newline
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return contract, data


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(case=upload())
def test_parquet_holds_exactly_what_the_validator_passed(spark: Any, glue: Any, tmp_path: Path,
                                                         case: tuple[Contract, bytes]) -> None:
    contract, data = case
    root = tmp_path / f"run-{next(RUNS)}"
    staged, _failures = try_stage(contract, data, staged_path(root, contract, "generated-1"))
    if staged is None:
        return  # rejected: nothing goes to Parquet (what is rejected is the validator's own tests' subject)
    run_staged(root, staged.path, source_id="generated-1", contract=contract)
    assert dataset_rows(output_root(root, contract.dataset), contract) == typed_rows(staged.typed)
