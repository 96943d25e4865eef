"""Draft a contract from a sample file (`etl-local contract infer`), for a person to review.

The sample is read the way the validator reads an upload (`source.open_text`: gzip by its magic,
byte order marks, UTF-16, strict decoding), so the drafted encoding is one the validator accepts.
pyarrow's CSV type inference (the engine the validator parses with) gives each column a first
type; the rules below refine it into contract types and checks. Every type is then tried on the
sample with the validator's own cast (`casting.cast_column`); a column that would not pass falls
back to `string`. The rules are documented in docs/contracts.md ("Drafting a contract").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml
from etl_common.column_types import DEFAULT_FORMATS, MAX_DECIMAL_PRECISION, ColumnType
from etl_common.vocabulary import Reason

from .casting import FALSE, TRUE, cast_column
from .contract import ColumnSpec
from .errors import UnreadableFile
from .source import ChunkReader, body_chunks, open_text

DELIMITERS = ",;\t|"
NULL_TOKENS = ["", "NULL", "null", "NA", "N/A", "None"]
BOOL_WORDS = frozenset(TRUE + FALSE)
# Tried in this order; the first the validator's reader decodes the sample with is drafted.
# 8-bit text that is not UTF-8 is taken as latin-1, which decodes any byte.
ENCODINGS = ("utf-8", "utf-16", "utf-16-le", "latin-1")
SNIFF_CHARS = 64 << 10
FLAG_NAME = re.compile(r"^(is|has|can|should)_|_flag$|^flag_", re.IGNORECASE)
ID_NAME = re.compile(r"^(?i:id)$|_(?i:id)$|[a-z0-9](Id|ID)$")  # id, order_id, orderId, ORDER_ID
FIXED_DECIMAL = re.compile(r"^[+-]?(\d+)\.(\d+)$")
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CODE = re.compile(r"^[A-Z]+$")
NUMBERS = ("integer", "float", "decimal")
MAX_SCALE = 4          # decimals only for "money-like" values: at most 4 digits after the point
MAX_ISIN = 20          # isin only when at most 20 distinct values...
MAX_ISIN_RATIO = 0.5   # ...and at most one distinct value per two sampled rows
DATE_FORMATS = [DEFAULT_FORMATS["date"], "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y",
                "%Y%m%d", "%d %b %Y", "%b %d %Y"]
TIMESTAMP_FORMATS = [
    DEFAULT_FORMATS["timestamp"], "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
]


@dataclass
class Sample:
    encoding: str
    compression: str | None
    delimiter: str
    quote_char: str
    header: bool
    names: list[str]
    rows: list[list[str]]
    skipped: int = 0                      # records with the wrong number of fields
    null_values: list[str] = field(default_factory=list)


@contextmanager
def _text(path: Path, encoding: str) -> Iterator[tuple[io.TextIOWrapper, str | None]]:
    """The file as the validator's reader decodes it with `encoding`, and its compression.

    Raises UnreadableFile, at once or while reading, for text not in `encoding` or not text at all.
    """
    with path.open("rb") as raw:
        text = open_text(body_chunks(raw), encoding, max_bytes=None)
        yield io.TextIOWrapper(ChunkReader(text.chunks), encoding="utf-8", newline=""), text.compression


def read_sample(path: Path, max_rows: int) -> Sample:
    """Detect the encoding and dialect and read the first `max_rows` records as text."""
    failure: UnreadableFile | None = None
    for encoding in ENCODINGS:
        try:
            return _read_sample(path, encoding, max_rows)
        except UnreadableFile as exc:
            failure = exc
            if exc.reason != Reason.BAD_ENCODING:
                break
    raise ValueError(f"{path}: {failure}") from failure


def _read_sample(path: Path, encoding: str, max_rows: int) -> Sample:
    with _text(path, encoding) as (text, _):
        head = text.read(SNIFF_CHARS)
    delimiter, quote_char, header = _dialect(head[:head.rfind("\n") + 1] or head)
    with _text(path, encoding) as (text, compression):
        reader = csv.reader(text, delimiter=delimiter, quotechar=quote_char, strict=False)
        rows = list(_take(reader, max_rows + (1 if header else 0)))
    if not rows:
        raise ValueError(f"{path}: no records to infer from")
    if header:
        names = _names([c.strip() for c in rows[0]])
        rows = rows[1:]
    else:
        names = [f"column_{i + 1}" for i in range(len(rows[0]))]
    good = [r for r in rows if len(r) == len(names)]
    seen = {v for r in good for v in r if v in NULL_TOKENS}
    nulls = [""] + [t for t in NULL_TOKENS[1:] if t in seen]
    return Sample(encoding, compression, delimiter, quote_char, header, names, good,
                  len(rows) - len(good), nulls)


def _take(reader: Iterator[list[str]], limit: int) -> Iterator[list[str]]:
    count = 0
    for record in reader:
        if not record:  # a blank line
            continue
        yield record
        count += 1
        if count >= limit:
            return


def _dialect(sample: str) -> tuple[str, str, bool]:
    sniffer = csv.Sniffer()
    try:
        sniffed = sniffer.sniff(sample, delimiters=DELIMITERS)
        delimiter, quote_char = sniffed.delimiter, sniffed.quotechar or '"'
    except csv.Error:
        first = sample.split("\n", 1)[0]
        delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
        quote_char = '"'
    if quote_char not in "\"'":
        quote_char = '"'
    try:
        header = sniffer.has_header(sample)
    except csv.Error:
        header = True
    return delimiter, quote_char, header


def _names(header: list[str]) -> list[str]:
    names: list[str] = []
    for i, name in enumerate(header):
        name = name or f"column_{i + 1}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def _arrow_types(sample: Sample) -> list[Any]:
    """pyarrow's inferred type per column, nulls already turned into empty fields."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in sample.rows:
        writer.writerow(["" if v in sample.null_values else v for v in row])
    table = pacsv.read_csv(
        io.BytesIO(out.getvalue().encode("utf-8")),
        read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(len(sample.names))]),
        convert_options=pacsv.ConvertOptions(null_values=[""], strings_can_be_null=True,
                                             quoted_strings_can_be_null=True))
    return [table.column(i).type for i in range(table.num_columns)]


def infer(path: Path, dataset: str, max_rows: int = 10_000) -> tuple[dict[str, Any], Sample]:
    """The drafted contract (as a plain mapping ready for YAML) and the sample it came from."""
    sample = read_sample(path, max_rows)
    types = _arrow_types(sample)
    columns, first_integer = [], True
    for i, name in enumerate(sample.names):
        values = [None if r[i] in sample.null_values else r[i] for r in sample.rows]
        column = _column(name, pa.array(values, pa.string()), types[i], len(sample.rows))
        if column["type"] == "integer":
            column["unique"] = column.pop("_distinct") and (first_integer or bool(ID_NAME.search(name)))
            first_integer = False
        else:
            column["unique"] = column.pop("_distinct") and bool(ID_NAME.search(name))
        if not column["unique"]:
            del column["unique"]
        checks = column.pop("checks")
        if checks:
            column["checks"] = Flow(checks)
        columns.append(column)
    contract = {
        "dataset": dataset,
        "version": 1,
        "dialect": {"delimiter": sample.delimiter, "quote_char": sample.quote_char,
                    "encoding": sample.encoding, "header": sample.header,
                    "null_values": sample.null_values},
        "columns": columns,
        "rows": Flow(min=1),
    }
    return contract, sample


def _column(name: str, text: pa.Array, arrow_type: pa.DataType, sampled: int) -> dict[str, Any]:
    present = pc.drop_null(text)
    stripped = [v.strip() for v in present.to_pylist()]
    distinct = set(present.to_pylist())

    def fits(kind: str, fmt: str | None = None) -> bool:
        """Whether the validator's own cast takes every value in the sample."""
        try:
            return len(present) > 0 and not pc.any(
                cast_column(text, ColumnSpec(name, kind, format=fmt)).bad).as_py()
        except (pa.ArrowException, ValueError):
            return False

    kind, fmt = "string", None
    if pa.types.is_integer(arrow_type):
        kind = "boolean" if set(stripped) <= {"0", "1"} and FLAG_NAME.search(name) else "integer"
    elif pa.types.is_boolean(arrow_type):
        kind = "boolean"
    elif pa.types.is_floating(arrow_type):
        kind = _decimal(stripped) or "float"
    elif pa.types.is_date(arrow_type):
        kind = "date"
    elif pa.types.is_string(arrow_type) and {v.lower() for v in stripped} <= BOOL_WORDS and stripped:
        kind = "boolean"
    if kind == "string" or pa.types.is_timestamp(arrow_type):
        kind = "string"
        for candidate, formats in (("date", DATE_FORMATS), ("timestamp", TIMESTAMP_FORMATS)):
            fmt = next((f for f in formats if fits(candidate, f)), None)
            if fmt:
                kind = candidate
                break
    if kind == "date" and fmt is None:
        fmt = next((f for f in DATE_FORMATS if fits("date", f)), None)
    if kind != "string" and not fits(kind, fmt):
        kind, fmt = "string", None
    column: dict[str, Any] = {"name": name, "type": kind}
    if fmt:
        column["format"] = fmt
    column["nullable"] = len(present) < len(text)
    column["_distinct"] = len(present) > 0 and len(distinct) == len(present)
    column["checks"] = _checks(ColumnSpec(name, kind, format=fmt), text, present, sampled)
    return column


def _decimal(values: list[str]) -> str | None:
    """decimal(p,s) when every value is written with the same 1 to MAX_SCALE decimals."""
    matches = [FIXED_DECIMAL.match(v) for v in values]
    if not values or not all(matches):
        return None
    scales = {len(m.group(2)) for m in matches}
    if len(scales) != 1 or not 1 <= (scale := scales.pop()) <= MAX_SCALE:
        return None
    whole = max(len(m.group(1).lstrip("0") or "0") for m in matches)
    precision = max(10, whole + 3 + scale)  # room for values 1000 times the largest seen
    return ColumnType("decimal", precision, scale).text if precision <= MAX_DECIMAL_PRECISION else None


def _checks(spec: ColumnSpec, text: pa.Array, present: pa.Array, sampled: int) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    if spec.column_type.name in NUMBERS:
        low = pc.min(cast_column(text, spec).values).as_py()
        if low is not None and low >= 0:
            checks["ge"] = 0
    if spec.column_type.name != "string" or len(present) == 0:
        return checks
    values = present.to_pylist()
    distinct = sorted(set(values))
    if len(distinct) <= MAX_ISIN and len(distinct) / max(sampled, 1) <= MAX_ISIN_RATIO:
        checks["isin"] = distinct
    if all(re.match(EMAIL, v) for v in values):
        checks["str_matches"] = EMAIL
    elif all(CODE.match(v) for v in values) and len(lengths := {len(v) for v in values}) == 1 \
            and 2 <= (size := lengths.pop()) <= 6:
        checks["str_matches"] = f"^[A-Z]{{{size}}}$"
    return checks


class Flow(dict):
    """A mapping written on one line (checks, rows), like the shipped contracts."""


def to_yaml(contract: dict[str, Any], source: str, sample: Sample) -> str:
    lines = [(f"# Drafted by etl-local contract infer from {source} ({len(sample.rows)} rows sampled); "
              "review every field before use.")]
    if sample.compression:
        lines.append(f"# The sample is {sample.compression}-compressed; upload such files as <name>.csv.gz.")
    if sample.skipped:
        lines.append(f"# {sample.skipped} sampled record(s) had the wrong number of fields and were ignored.")
    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
    Dumper.add_representer(list, lambda d, v: d.represent_sequence(
        "tag:yaml.org,2002:seq", v, flow_style=not any(isinstance(i, dict) for i in v)))
    body = yaml.dump(contract, Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=100)
    return "\n".join(lines) + "\n" + body

