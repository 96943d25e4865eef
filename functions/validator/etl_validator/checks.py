"""Run a contract's checks over a stream of string batches and fill a Report.

Per-batch checks (types, nulls, ranges, allowed values, patterns) run through pandera's
pyarrow API; checks that span the file (uniqueness, row counts) keep state here.
"""

from __future__ import annotations

import re
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import narwhals.stable.v1 as nw
import pandera.pyarrow as pda
import pyarrow as pa
import pyarrow.compute as pc
from pandera.api.pyarrow.types import PyArrowData
from pandera.errors import SchemaErrors

from etl_common.vocabulary import Reason

from .casting import arrow_type, cast_column
from .check_factory import build_check
from .contract import Contract
from .custom_checks import CUSTOM_CHECKS
from .report import Report

# pandera's reason codes -> ours
REASONS = {
    "SERIES_CONTAINS_NULLS": Reason.NULL_VALUE,
    "DATAFRAME_CHECK": Reason.CHECK_FAILED,
    "WRONG_DATATYPE": Reason.WRONG_TYPE,
    "SERIES_CONTAINS_DUPLICATES": Reason.DUPLICATE_VALUE,
    "COLUMN_NOT_IN_DATAFRAME": Reason.MISSING_COLUMNS,
}
COMMON_DELIMITERS = (",", ";", "\t", "|")
SPLIT_ROWS = 50_000  # batches from this size on are checked as two halves at once
HELPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="validate")
TYPE_ERROR = "__type_error__"  # a column of the checked table: the row has a value of the wrong type
BACKSLASH = "\\"


def _not_null(data: PyArrowData) -> nw.Expr:
    """A null that a value of the wrong type left is reported as that, not as a null."""
    return ~nw.col(data.key).is_null() | nw.col(TYPE_ERROR)


NOT_NULL = pda.Check(_not_null, name="not_nullable", error="not_nullable", ignore_na=False)


def build_schema(contract: Contract) -> pda.DataFrameSchema:
    """The pandera schema for the typed columns; uniqueness is checked across batches instead.

    Nulls are refused by a check (NOT_NULL) rather than `nullable=False`: when a column has a
    null, pandera's nullable path lists the position of every passing row in Python (about 40 ms
    per 256k rows); a check's failure cases are the failing rows only. A decimal column has no
    pandera type (its engine, narwhals, knows none), so its checks compare the decimal values
    themselves, exactly; casting already made every column its type.
    """
    return pda.DataFrameSchema(
        {c.name: pda.Column(None if c.column_type.is_decimal else arrow_type(c),
                            [*([] if c.nullable else [NOT_NULL]),
                             *(build_check(k, v) for k, v in c.checks.items())],
                            nullable=True)
         for c in contract.columns},
        strict=False,
    )


def _check_label(error) -> str:
    return _label(error.check)


def _label(check: Any) -> str:
    return check if isinstance(check, str) else getattr(check, "error", None) or str(check)


def _shifted(positions: pa.Array, offset: int) -> list[int]:
    return [offset + position for position in positions.to_pylist()]


class SeenKeys:
    """The keys of a unique column (or column group) seen so far, exact, without Python objects.

    Kept as sorted, disjoint ranges `[lo, hi]` of int64 where the key is an integer, date or
    timestamp: ids that mostly count up collapse into a few ranges, so memory stays flat however
    long the file. Other keys (strings, decimals as text, floats) are one range each. Ranges sit
    in levels, each at least twice the size of the next, merged like a binary counter, so keys in
    random order cost O(log n) merges each instead of a merge of everything per batch.
    Membership is a binary search (`search_sorted`) per level.
    """

    def __init__(self) -> None:
        self._levels: list[tuple[pa.Array, pa.Array]] = []

    def repeats(self, values: pa.Array) -> pa.Array:
        """Ascending positions of the values seen before, in an earlier batch or earlier in this
        one (a first occurrence is not a repeat); nulls never repeat. Remembers the others."""
        keys = _comparable(values)
        present = len(keys) - keys.null_count
        if not present:
            return pa.array([], pa.uint64())
        order = pc.sort_indices(keys).slice(0, present)  # stable, nulls last
        ordered = pc.take(keys, order)
        repeat = pa.concat_arrays([pa.array([False]), pc.equal(ordered.slice(1), ordered.slice(0, present - 1))])
        for lo, hi in self._levels:
            at = pc.max_element_wise(pc.subtract(pc.cast(pc.search_sorted(lo, ordered, side="right"), pa.int64()), 1), 0)
            inside = pc.and_(pc.greater_equal(ordered, pc.take(lo, at)), pc.less_equal(ordered, pc.take(hi, at)))
            repeat = pc.or_(repeat, inside)
        self._remember(pc.filter(ordered, pc.invert(repeat)))
        positions = pc.filter(order, repeat)
        return pc.take(positions, pc.sort_indices(positions))

    def _remember(self, new: pa.Array) -> None:
        if not len(new):
            return
        self._levels.append(_coalesce(new, new))
        while len(self._levels) > 1 and len(self._levels[-2][0]) <= 2 * len(self._levels[-1][0]):
            (lo_a, hi_a), (lo_b, hi_b) = self._levels.pop(), self._levels.pop()
            lo, hi = pa.concat_arrays([lo_b, lo_a]), pa.concat_arrays([hi_b, hi_a])
            order = pc.sort_indices(lo)
            self._levels.append(_coalesce(pc.take(lo, order), pc.take(hi, order)))


def _comparable(values: pa.Array) -> pa.Array:
    """Keys search_sorted can order that are equal exactly when the values are: integers, dates and
    timestamps as int64 (so consecutive ones merge into ranges), decimals as their fixed-scale text,
    floats with -0.0 as 0.0."""
    kind = values.type
    if pa.types.is_decimal(kind):
        return pc.cast(values, pa.string())
    if pa.types.is_floating(kind):
        return pc.add(values, 0.0)
    if pa.types.is_date32(kind):
        return pc.cast(pc.cast(values, pa.int32()), pa.int64())
    if pa.types.is_integer(kind) or pa.types.is_timestamp(kind) or pa.types.is_boolean(kind):
        return pc.cast(values, pa.int64())
    return values


def _coalesce(lo: pa.Array, hi: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Sorted disjoint ranges with adjacent integer ranges joined (3-5 and 6-9 become 3-9)."""
    if len(lo) < 2 or not pa.types.is_integer(lo.type):
        return lo, hi
    gap = pc.not_equal(lo.slice(1), pc.add(hi.slice(0, len(hi) - 1), 1))
    return (pc.filter(lo, pa.concat_arrays([pa.array([True]), gap])),
            pc.filter(hi, pa.concat_arrays([gap, pa.array([True])])))


def _combination(typed: dict[str, pa.Array], group: tuple[str, ...]) -> pa.Array:
    """One string key per row for a column group, null if a value is: each value's text prefixed
    by its length, so no two different combinations give the same key."""
    parts: list[pa.Array | str] = []
    for name in group:
        text = pc.cast(_comparable(typed[name]), pa.string())
        parts += [pc.cast(pc.binary_length(text), pa.string()), ":", text]
    return pc.binary_join_element_wise(*parts, "")


@dataclass
class _Finding:
    """One check's failing rows in part of a batch, held until the report takes them in order."""

    order: tuple[int, ...]  # where the check comes in an unsplit batch: sizes, types, unique, pandera
    check: str
    column: str | None
    reason: Reason
    positions: list[int | None]  # in the batch; None for a failure of no particular row
    values: list[Any]


@dataclass(frozen=True)
class CheckedBatch:
    """One batch after its checks: `typed` holds the contract's columns in its order as their
    Arrow types (null where a value failed its type), `failed` the ascending positions in the
    batch of rows with any failed check."""

    typed: pa.Table
    failed: pa.Array


@dataclass
class _Part:
    """What checking one part of a batch found, and its typed values for uniqueness."""

    findings: list[_Finding]
    typed: dict[str, pa.Array]
    offset: int


class BatchValidator:
    """Validates batches in file order; call `finish` once the stream is exhausted.

    A large batch is checked as two halves, the second in HELPER: pyarrow compute releases the GIL,
    so both cores work. Uniqueness then runs over the halves in order and the findings go to the
    report in the order an unsplit batch gives them, so the report is the same either way.
    """

    def __init__(self, contract: Contract, report: Report) -> None:
        self.contract, self.report = contract, report
        self.schema = build_schema(contract)
        self.rows = 0
        self._seen = {c.name: SeenKeys() for c in contract.columns if c.unique}
        self._seen_groups = {group: SeenKeys() for group in contract.unique_together}
        self._pandera_order = {(name, _label(check)): (3, i, j)
                               for i, (name, column) in enumerate(self.schema.columns.items())
                               for j, check in enumerate(column.checks)}
        self._builtin = {(c.name, _label(build_check(k, v))) for c in contract.columns
                         for k, v in c.checks.items() if k not in CUSTOM_CHECKS}
        # Where _check_escapes looks: string columns until it finds one; none when the dialect declares
        # an escape or uses a backslash as its delimiter or quote.
        dialect = contract.dialect
        search = dialect.escape_char is None and BACKSLASH not in (dialect.delimiter, dialect.quote_char)
        self._escape_columns = [c.name for c in contract.columns if search and c.column_type.name == "string"]
        # pandera registers its backends on the first validate: once, before two threads can race.
        self.schema.validate(pa.table({c.name: pa.array([], arrow_type(c)) for c in contract.columns}
                                      | {TYPE_ERROR: pa.array([], pa.bool_())}))

    def validate(self, batch: pa.RecordBatch) -> CheckedBatch:
        """Types, then uniqueness, then pandera on the typed batch. A row with a value of the wrong
        type is not checked further: its nulls and value checks are left out of the findings.
        Returns the batch's typed values and which of its rows failed."""
        first_row = self.rows + 1
        self.rows += batch.num_rows
        if self._escape_columns:
            self._check_escapes(batch, first_row)
        if batch.num_rows < SPLIT_ROWS:
            parts = [self._check_part(batch, 0)]
        else:
            half = batch.num_rows // 2
            second = HELPER.submit(self._check_part, batch.slice(half), half)
            parts = [self._check_part(batch.slice(0, half), 0), second.result()]
        findings = [finding for part in parts for finding in part.findings]
        for part in parts:
            findings += self._check_unique(part)
        for f in sorted(findings, key=lambda f: f.order):
            self.report.add(f.check, f.column, f.reason,
                            [None if p is None else first_row + p for p in f.positions], f.values)
        failed = sorted({p for f in findings for p in f.positions if p is not None})
        self.report.count_failed_rows(len(failed))
        typed = {c.name: pa.chunked_array([part.typed[c.name] for part in parts], arrow_type(c))
                 for c in self.contract.columns}
        return CheckedBatch(pa.table(typed), pa.array(failed, pa.int64()))

    def _check_escapes(self, batch: pa.RecordBatch, first_row: int) -> None:
        """Quotes escaped with a backslash, which the dialect does not declare: read with doubled
        quotes, `"say \\"hi\\""` becomes `say \\hi\\""`, a value holding a backslash before a quote
        and ending with one (JSON in a well-quoted field, `{"a": "\\"x\\""}`, ends otherwise; `C:\\dir\\`
        holds no quote). Reported once, for the file: the tool that wrote it escaped every value so,
        and no row of it was read as written. String columns only: other types fail their cast."""
        quote = self.contract.dialect.quote_char
        for name in self._escape_columns:
            values = batch.column(name)
            position = _first_escaped(values, quote)
            if position is not None:
                value = values[position].as_py()
                value = value if len(value) <= 40 else value[:40] + "..."
                self.report.add_file("row.escapes", Reason.UNDECLARED_ESCAPE,
                                     f"values show {BACKSLASH}{quote}: the file escapes quotes with a backslash, "
                                     f"which the dialect does not declare; add escape_char: '{BACKSLASH}' to it "
                                     f"(first: {name}, row {first_row + position}: {value})")
                self._escape_columns = []
                return

    def _check_part(self, batch: pa.RecordBatch, offset: int) -> _Part:
        """Field sizes, types and pandera: everything that needs no other rows."""
        findings = self._check_field_sizes(batch, offset)
        typed: dict[str, pa.Array] = {}
        bad_any: pa.Array | None = None
        for index, column in enumerate(self.contract.columns):
            text = batch.column(column.name)
            result = cast_column(text, column)
            if pc.any(result.bad).as_py():
                positions = pc.indices_nonzero(result.bad)
                findings.append(_Finding((1, index), f"type:{column.type}", column.name, Reason.WRONG_TYPE,
                                         _shifted(positions, offset), pc.take(text, positions).to_pylist()))
                bad_any = result.bad if bad_any is None else pc.or_(bad_any, result.bad)
            typed[column.name] = result.values
        if bad_any is None:
            bad_any = pc.fill_null(pa.nulls(batch.num_rows, pa.bool_()), False)
        table = pa.table(typed | {TYPE_ERROR: bad_any})
        findings += self._run_pandera(table, offset)
        return _Part(findings, typed, offset)

    def _check_field_sizes(self, batch: pa.RecordBatch, offset: int) -> list[_Finding]:
        """Every column, typed or extra: a huge value is a problem whatever the column."""
        limit = self.contract.max_field_bytes
        findings = []
        for index, (name, text) in enumerate(zip(batch.schema.names, batch.columns, strict=True)):
            sizes = pc.binary_length(text)
            if (pc.max(sizes).as_py() or 0) <= limit:
                continue
            positions = pc.indices_nonzero(pc.fill_null(pc.greater(sizes, limit), False))
            findings.append(_Finding((0, index), "field.max_bytes", name, Reason.FIELD_TOO_LARGE,
                                     _shifted(positions, offset),
                                     [f"{size} bytes, over the limit of {limit}"
                                      for size in pc.take(sizes, positions).to_pylist()]))
        return findings

    def _check_unique(self, part: _Part) -> list[_Finding]:
        """Keys repeated within the file; parts must come in file order (the state is the keys seen)."""
        findings = []
        typed, offset = part.typed, part.offset
        for index, column in enumerate(self.contract.columns):
            if column.unique:
                positions = self._seen[column.name].repeats(typed[column.name])
                if len(positions):
                    findings.append(_Finding((2, index), "unique", column.name, Reason.DUPLICATE_VALUE,
                                             _shifted(positions, offset),
                                             pc.take(typed[column.name], positions).to_pylist()))
        for index, (group, seen) in enumerate(self._seen_groups.items(), start=len(self.contract.columns)):
            positions = seen.repeats(_combination(typed, group))
            if len(positions):
                combinations = zip(*(pc.take(typed[name], positions).to_pylist() for name in group))
                findings.append(_Finding((2, index), "unique_together", "+".join(group),
                                         Reason.DUPLICATE_COMBINATION, _shifted(positions, offset),
                                         [", ".join(f"{n}={v}" for n, v in zip(group, values))
                                          for values in combinations]))
        return findings

    def _run_pandera(self, table: pa.Table, offset: int) -> list[_Finding]:
        """One pandera run per part. Rows with a value of the wrong type stay in (filtering them
        out would copy the batch) but are not checked further: NOT_NULL passes them and their
        other failures are left out of the findings."""
        try:
            self.schema.validate(table, lazy=True)
        except SchemaErrors as errors:
            try:
                findings = (self._record(table, error, offset) for error in errors.schema_errors)
                return [finding for finding in findings if finding is not None]
            finally:
                _release(errors)
        return []

    def _record(self, table: pa.Table, error, offset: int) -> _Finding | None:
        """Find the failing rows of one pandera error; its narwhals output says which rows."""
        column = error.column_name or _column_from(error)
        label = _check_label(error)
        output = error.check_output
        reason = Reason.NULL_VALUE if label == NOT_NULL.error else REASONS.get(
            error.reason_code.name if error.reason_code else "", Reason.CHECK_FAILED)
        order = self._pandera_order.get((column, label), (3, len(self.contract.columns)))
        cases = error.failure_cases
        if output is None:
            values = cases.column(0).to_pylist() if isinstance(cases, pa.Table) else [cases]
            return _Finding(order, label, column, reason, [None] * len(values), values)
        if reason == Reason.NULL_VALUE and column is not None:
            mask = pc.is_valid(table.column(column))
        elif (column, label) in self._builtin and isinstance(cases, pa.Table) and cases.num_columns == 1:
            # pandera's built-in column checks look at one value at a time: a row fails exactly
            # when its value is one of the failure cases, and is_in is cheaper than a second run.
            mask = pc.invert(pc.is_in(table.column(column), value_set=pc.unique(cases.column(0))))
        elif isinstance(output, nw.Expr):
            mask = nw.from_native(table).select(output.alias("__ok__")).to_native().column("__ok__")
            if column is not None:
                mask = pc.or_kleene(mask, pc.is_null(table.column(column)))
        else:
            native = output.collect().to_native() if hasattr(output, "collect") else output.to_native()
            mask = native.column("check_output")
        failing = pc.and_(pc.invert(pc.fill_null(mask, True)), pc.invert(table.column(TYPE_ERROR)))
        positions = pc.indices_nonzero(failing)
        if not len(positions):
            return None
        values = (pc.take(table.column(column), positions).to_pylist() if column
                  else [None] * len(positions))
        return _Finding(order, label, column, reason, _shifted(positions, offset), values)

    def finish(self) -> None:
        if self.contract.min_rows is not None and self.rows < self.contract.min_rows:
            self.report.add_file("rows.min", Reason.TOO_FEW_ROWS,
                                 f"{self.rows} rows, contract needs at least {self.contract.min_rows}")
        if self.contract.max_rows is not None and self.rows > self.contract.max_rows:
            self.report.add_file("rows.max", Reason.TOO_MANY_ROWS,
                                 f"{self.rows} rows, contract allows at most {self.contract.max_rows}")


def _first_escaped(values: pa.Array, quote: str) -> int | None:
    """The position of the first value holding a backslash before `quote` and ending with `quote`,
    or None. The column's UTF-8 bytes are searched first, in place: a regex over a buffer runs at a
    few GB/s, pyarrow's substring kernels at a few hundred MB/s, and a hit is rare."""
    escaped = BACKSLASH + quote
    _, offsets, data = values.buffers()
    bounds = memoryview(offsets).cast("i")  # a string array's int32 offsets
    text = memoryview(data)[bounds[values.offset]:bounds[values.offset + len(values)]]
    if not re.search(re.escape(escaped.encode()), text):
        return None
    found = pc.and_(pc.match_substring(values, escaped), pc.ends_with(values, quote))
    position = pc.index(found, True).as_py()
    return position if position >= 0 else None


def _column_from(error) -> str | None:
    """pandera's pyarrow errors name the column only in their failure-case table or message."""
    cases = error.failure_cases
    if isinstance(cases, pa.Table) and cases.num_columns == 1 and cases.column_names[0] != "failure_case":
        return cases.column_names[0]
    match = re.search(r"column '([^']+)'", str(error))
    return match.group(1) if match else None


def check_header(contract: Contract, header: list[str], report: Report) -> None:
    """Wrong delimiter, missing, unexpected and duplicate columns: problems no row check explains."""
    delimiter = _other_delimiter(contract, header)
    if delimiter:
        report.add_file("header.delimiter", Reason.WRONG_DELIMITER,
                        f"the header is one column {header[0][:100]!r} that {delimiter!r} would split; "
                        f"the contract's delimiter is {contract.dialect.delimiter!r}", line=1)
        return
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        report.add("header.duplicates", None, Reason.DUPLICATE_COLUMNS, [None] * len(duplicates),
                   duplicates)
    missing = [c for c in contract.column_names if c not in header]
    if missing:
        report.add("header.required", None, Reason.MISSING_COLUMNS, [None] * len(missing), missing)
    extra = [h for h in header if h not in contract.column_names]
    if extra and not contract.allow_extra_columns:
        report.add("header.extra", None, Reason.UNEXPECTED_COLUMNS, [None] * len(extra), extra)
    present = [h for h in header if h in contract.column_names]
    expected = [c for c in contract.column_names if c in header]
    if contract.ordered and present != expected:
        report.add("header.order", None, Reason.COLUMN_ORDER, [None],
                   [f"columns are {', '.join(present)}; the contract's order is {', '.join(expected)}"])


def _other_delimiter(contract: Contract, header: list[str]) -> str | None:
    """A common delimiter other than the contract's in a one-column header, when columns are expected."""
    if len(header) != 1 or len(contract.columns) < 2:
        return None
    return next((d for d in COMMON_DELIMITERS if d != contract.dialect.delimiter and d in header[0]), None)


def _release(errors: SchemaErrors) -> None:
    """Clear the frames of pandera's error tracebacks once recorded. Their frames hold the
    batch's typed data and failure cases in reference cycles, which only the cyclic garbage
    collector frees: with every row failing, each batch left about 25 MB of Arrow memory until
    the next full collection, and a 1 GB all-bad file peaked at 1.1 GB instead of about 400 MB
    (docs/performance.md, "Memory on hostile inputs")."""
    for error in [errors, *errors.schema_errors]:
        traceback.clear_frames(error.__traceback__)
        error.__traceback__ = None
