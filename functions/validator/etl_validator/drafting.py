"""Draft a contract from a file (`etl-local contract infer`), for a person to review.

Two reads, both with the validator's own reader (`source.open_text`: gzip by its magic, byte
order marks, UTF-16, strict decoding), so the draft claims only what the validator will find:

1. the sample, the first `--rows` records: the dialect, and each column's type from pyarrow's CSV
   type inference (the engine the validator parses with) refined by the rules below; a type the
   validator's own cast (`casting.cast_column`) does not take for every sampled value is `string`;
2. the scan, every record, streamed by `csv_stream.open_stream` and cast as the validator casts:
   a type that a later value does not fit is widened (FALLBACK), and nullability, uniqueness and
   checks are what the whole file shows. So the draft passes the file it was drafted from.

Memory is bounded whatever the file's size: the sample (`--rows` records as text), two of the
reader's batches (`csv_stream.BATCH_ROWS` rows each), and per column at most MAX_ISIN + 1
distinct values and, for a column that may be unique, its keys (`checks.SeenKeys`, at most
MAX_UNIQUE_KEYS of them: past that the draft leaves `unique` out and says so). A file that stops
decoding past the sample is read again in the next encoding. The rules are documented in
docs/contracts.md ("Drafting a contract from a sample").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml
from etl_common.column_types import DEFAULT_FORMATS, MAX_DECIMAL_PRECISION, ColumnType
from etl_common.vocabulary import Reason

from .casting import FALSE, TRUE, cast_column
from .checks import SeenKeys
from .contract import DEFAULT_MAX_FIELD_BYTES, ColumnSpec, Dialect
from .csv_stream import block_size, open_stream
from .errors import UnreadableFile
from .source import ChunkReader, Text, body_chunks, open_text

DELIMITERS = ",;\t|"
NULL_TOKENS = ["", "NULL", "null", "NA", "N/A", "None"]
BOOL_WORDS = frozenset(TRUE + FALSE)
# Tried in this order; the first the validator's reader decodes the whole file with is drafted.
# 8-bit text that is not UTF-8 is taken as latin-1, which decodes any byte.
TRIED_ENCODINGS = ("utf-8", "utf-16", "utf-16-le", "latin-1")
SNIFF_CHARS = 64 << 10
FLAG_NAME = re.compile(r"^(is|has|can|should)_|_flag$|^flag_", re.IGNORECASE)
ID_NAME = re.compile(r"^(?i:id)$|_(?i:id)$|[a-z0-9](Id|ID)$")  # id, order_id, orderId, ORDER_ID
FIXED_DECIMAL = re.compile(r"^[+-]?(\d+)\.(\d+)$")
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
NUMBERS = ("integer", "float", "decimal")
# The type a column is widened to when a value does not fit its type: each takes every value
# the one before it takes, so the records already read still fit.
FALLBACK = {"integer": "float", "decimal": "float", "float": "string", "boolean": "string",
            "date": "string", "timestamp": "string"}
MAX_SCALE = 4          # decimals only for "money-like" values: at most 4 digits after the point
MAX_ISIN = 20          # isin only when at most 20 distinct values...
MAX_ISIN_RATIO = 0.5   # ...and at most one distinct value per two rows
MAX_UNIQUE_KEYS = 2_000_000  # keys held to check a column is unique: 32 MB as int64 ranges at worst
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
    """The first records as text, and the dialect and encoding they were read with."""

    encoding: str
    compression: str | None
    delimiter: str
    quote_char: str
    header: bool
    names: list[str]
    rows: list[list[str]]                 # records with the header's number of fields
    null_values: list[str] = field(default_factory=list)

    @property
    def dialect(self) -> Dialect:
        """As a contract would give it, for the validator's reader."""
        return Dialect(self.delimiter, self.quote_char, self.encoding, self.header, tuple(self.null_values))


@dataclass
class Profile:
    """What the whole file shows of one column; each field stays small however long the file.

    `spec` starts as the sample's type and is widened when a value does not fit; `keys` holds the
    keys seen while the column may still be unique (None once it is not, or cannot be told).
    """

    spec: ColumnSpec
    keys: SeenKeys | None
    values: int = 0                       # non-null values
    nullable: bool = False
    negative: bool = False
    distinct: set[str] | None = field(default_factory=set)  # None past MAX_ISIN
    email: bool = True                    # every value looks like an email
    code: int | None = 0                  # every value is this many capital letters (0: no value yet)
    notes: list[str] = field(default_factory=list)

    def add(self, text: pa.Array, first_record: int) -> None:
        """One batch of the column's text, its first record numbered `first_record`."""
        present = pc.drop_null(text)
        self.values += len(present)
        self.nullable = self.nullable or len(present) < len(text)
        typed = self._typed(text, first_record)
        if self.spec.column_type.name in NUMBERS:
            self.negative = self.negative or (pc.min(typed).as_py() or 0) < 0
        self._unique(typed)
        self._text(present)

    def _typed(self, text: pa.Array, first_record: int) -> pa.Array:
        """The values cast as the validator casts them, widening the type until they all fit."""
        result = cast_column(text, self.spec)
        while pc.any(result.bad).as_py():
            at = pc.index(result.bad, True).as_py()
            wider = FALLBACK[self.spec.column_type.name]
            self.notes.append(f"{self.spec.name}: {self.spec.type} in the sample, but record "
                              f"{first_record + at} has {text[at].as_py()[:40]!r}: drafted as {wider}.")
            if self.keys is not None:
                self.notes.append(f"{self.spec.name}: not checked for uniqueness past its type change.")
                self.keys = None
            self.spec = replace(self.spec, type=wider, format=None)
            result = cast_column(text, self.spec)
        return result.values

    def _unique(self, typed: pa.Array) -> None:
        if self.keys is None:
            return
        if self.values > MAX_UNIQUE_KEYS:
            self.notes.append(f"{self.spec.name}: more than {MAX_UNIQUE_KEYS} values, not checked for "
                              "uniqueness; add `unique: true` if it is.")
            self.keys = None
        elif len(self.keys.repeats(typed)):
            self.keys = None

    def _text(self, present: pa.Array) -> None:
        """What the string checks need, from the values as written; each stops once it fails."""
        if self.distinct is not None:
            self.distinct.update(pc.unique(present).slice(0, MAX_ISIN + 1).to_pylist())
            if len(self.distinct) > MAX_ISIN:
                self.distinct = None
        self.email = self.email and _all_match(present, EMAIL)
        if self.code is not None and len(present):
            size = self.code or len(present[0].as_py())
            self.code = size if _all_match(present, f"^[A-Z]{{{size}}}$") else None

    def column(self, rows: int) -> dict[str, Any]:
        """The column's contract entry (a plain mapping ready for YAML)."""
        column: dict[str, Any] = {"name": self.spec.name, "type": self.spec.type}
        if self.spec.format:
            column["format"] = self.spec.format
        column["nullable"] = self.nullable
        if self.keys is not None and self.values:
            column["unique"] = True
        checks = self._checks(rows)
        if checks:
            column["checks"] = Flow(checks)
        return column

    def _checks(self, rows: int) -> dict[str, Any]:
        kind = self.spec.column_type.name
        checks: dict[str, Any] = {}
        if kind in NUMBERS and self.values and not self.negative:
            checks["ge"] = 0
        if kind != "string" or not self.values:
            return checks
        if self.distinct is not None and len(self.distinct) <= MAX_ISIN_RATIO * rows:
            checks["isin"] = sorted(self.distinct)
        if self.email:
            checks["str_matches"] = EMAIL
        elif self.code is not None and 2 <= self.code <= 6:
            checks["str_matches"] = f"^[A-Z]{{{self.code}}}$"
        return checks


def _all_match(values: pa.Array, pattern: str) -> bool:
    """Whether every value matches, as pandera's `str_matches` tests it (RE2, from the start)."""
    return pc.all(pc.match_substring_regex(values, pattern), min_count=0).as_py()


@dataclass
class Draft:
    """A drafted contract (a plain mapping ready for YAML) and what it was drafted from."""

    contract: dict[str, Any]
    sample: Sample
    rows: int                             # data records in the file, ragged ones left out
    ragged: int                           # records with the wrong number of fields
    notes: list[str]                      # where the file overruled the sample


@contextmanager
def _opened(path: Path, encoding: str) -> Iterator[Text]:
    """The file as the validator's reader decodes it with `encoding`: UTF-8 chunks.

    Raises UnreadableFile, at once or while reading, for text not in `encoding` or not text at all.
    """
    with path.open("rb") as raw:
        yield open_text(body_chunks(raw), encoding, max_bytes=None)


def _lines(text: Text) -> io.TextIOWrapper:
    return io.TextIOWrapper(ChunkReader(text.chunks), encoding="utf-8", newline="")


def infer(path: Path, dataset: str, max_rows: int = 10_000) -> Draft:
    """Draft from the first `max_rows` records and a scan of the whole file, in the first of
    TRIED_ENCODINGS the validator reads the whole file with."""
    failure: UnreadableFile | None = None
    for encoding in TRIED_ENCODINGS:
        try:
            return _infer(path, dataset, max_rows, encoding)
        except UnreadableFile as exc:
            failure = exc
            if exc.reason != Reason.BAD_ENCODING:
                break
    raise ValueError(f"{path}: {failure}") from failure


def _infer(path: Path, dataset: str, max_rows: int, encoding: str) -> Draft:
    sample = _read_sample(path, encoding, max_rows)
    specs = [_type(name, text, kind) for name, text, kind in zip(sample.names, _sample_columns(sample),
                                                                 _arrow_types(sample), strict=True)]
    first_integer = next((s.name for s in specs if s.type == "integer"), None)
    profiles = [Profile(s, SeenKeys() if s.name == first_integer or ID_NAME.search(s.name) else None)
                for s in specs]
    rows, ragged = _scan(path, sample, profiles)
    contract = {
        "dataset": dataset,
        "version": 1,
        "dialect": {"delimiter": sample.delimiter, "quote_char": sample.quote_char,
                    "encoding": sample.encoding, "header": sample.header,
                    "null_values": sample.null_values},
        "columns": [p.column(rows) for p in profiles],
        "rows": Flow(min=1),
    }
    return Draft(contract, sample, rows, ragged, [note for p in profiles for note in p.notes])


def _read_sample(path: Path, encoding: str, max_rows: int) -> Sample:
    """Detect the dialect and read the first `max_rows` records as text."""
    with _opened(path, encoding) as text:
        head = _lines(text).read(SNIFF_CHARS)
    delimiter, quote_char, header = _dialect(head[:head.rfind("\n") + 1] or head)
    with _opened(path, encoding) as text:
        reader = csv.reader(_lines(text), delimiter=delimiter, quotechar=quote_char, strict=False)
        rows = list(_take(reader, max_rows + (1 if header else 0)))
        compression = text.compression
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
    return Sample(encoding, compression, delimiter, quote_char, header, names, good, nulls)


def _take(reader: Iterator[list[str]], limit: int) -> Iterator[list[str]]:
    count = 0
    for record in reader:
        if not record:  # a blank line
            continue
        yield record
        count += 1
        if count >= limit:
            return


class _Sniffer(csv.Sniffer):
    """csv.Sniffer whose `has_header` sniffs among DELIMITERS too: left free, it re-sniffs the
    sample and takes `\r` or a space for the delimiter in CR LF files with quoted text, and then
    calls a header data (a draft of `column_1..n` strings that passes its own file)."""

    def sniff(self, sample: str, delimiters: str | None = None) -> Any:
        return super().sniff(sample, delimiters or DELIMITERS)


def _dialect(sample: str) -> tuple[str, str, bool]:
    sniffer = _Sniffer()
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


def _sample_columns(sample: Sample) -> list[pa.Array]:
    """Each sampled column as text, its null values as nulls."""
    return [pa.array([None if r[i] in sample.null_values else r[i] for r in sample.rows], pa.string())
            for i in range(len(sample.names))]


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


def _type(name: str, text: pa.Array, arrow_type: pa.DataType) -> ColumnSpec:
    """The column's type (and format) from its sampled values."""
    present = pc.drop_null(text)
    stripped = [v.strip() for v in present.to_pylist()]

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
    return ColumnSpec(name, kind, format=fmt)


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


def _scan(path: Path, sample: Sample, profiles: list[Profile]) -> tuple[int, int]:
    """Every record through the profiles, read as the validator reads it; the data records and
    the ragged ones. Raises UnreadableFile as the validator's reader does."""
    rows = 0
    with _opened(path, sample.encoding) as text:
        stream = open_stream(text.chunks, sample.dialect, sample.names, block_size(DEFAULT_MAX_FIELD_BYTES))
        if len(set(stream.header)) != len(stream.header):
            raise ValueError(f"{path}: the header repeats a column name; the validator rejects such "
                             "files (duplicate_columns)")
        for batch in stream.batches:
            for index, profile in enumerate(profiles):
                profile.add(batch.column(index), rows + 1)
            rows += batch.num_rows
    if stream.oversized:
        raise ValueError(f"{path}: a record after row {rows} is larger than the reader's block: a field "
                         f"over {DEFAULT_MAX_FIELD_BYTES} bytes, or a quote never closed")
    return rows, stream.ragged_count


class Flow(dict):
    """A mapping written on one line (checks, rows), like the shipped contracts."""


def to_yaml(draft: Draft, source: str) -> str:
    lines = [(f"# Drafted by etl-local contract infer from {source} (types from {len(draft.sample.rows)} "
              f"sampled rows; nullability, uniqueness and checks from all {draft.rows}); "
              "review every field before use.")]
    if draft.sample.compression:
        lines.append(f"# The file is {draft.sample.compression}-compressed; upload such files as <name>.csv.gz.")
    if draft.ragged:
        lines.append(f"# {draft.ragged} record(s) had the wrong number of fields and were left out; the "
                     "validator rejects the file until they are fixed (ragged_rows).")
    lines += [f"# {note}" for note in draft.notes]

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
    Dumper.add_representer(list, lambda d, v: d.represent_sequence(
        "tag:yaml.org,2002:seq", v, flow_style=not any(isinstance(i, dict) for i in v)))
    body = yaml.dump(draft.contract, Dumper=Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)
    return "\n".join(lines) + "\n" + body
