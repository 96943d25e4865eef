"""Run a contract's checks over a stream of string batches and fill a Report.

Per-batch checks (types, nulls, ranges, allowed values, patterns) run through pandera's
pyarrow API; checks that span the file (uniqueness, row counts) keep state here.
"""

from __future__ import annotations

import re
from typing import Any

import narwhals.stable.v1 as nw
import pandera.pyarrow as pda
import pyarrow as pa
import pyarrow.compute as pc
from pandera.errors import SchemaErrors

from .custom_checks import CUSTOM_CHECKS
from .casting import cast_column, check_type
from .contract import ColumnSpec, Contract
from .report import Report


REASONS = {
    "SERIES_CONTAINS_NULLS": "null_value",
    "DATAFRAME_CHECK": "check_failed",
    "WRONG_DATATYPE": "wrong_type",
    "SERIES_CONTAINS_DUPLICATES": "duplicate_value",
    "COLUMN_NOT_IN_DATAFRAME": "missing_columns",
}
COMMON_DELIMITERS = (",", ";", "\t", "|")


def build_check(name: str, arg: Any) -> pda.Check:
    """One pandera check from a contract entry: `{ge: 0}`, `{str_length: {min_value: 1}}`, or a
    named check of custom_checks (`{trimmed: {}}`)."""
    if name in CUSTOM_CHECKS:
        if arg not in ({}, None, True):
            raise ValueError(f"{name} takes no argument; write {name}: {{}}")
        return pda.Check(CUSTOM_CHECKS[name], name=name, error=name)
    factory = getattr(pda.Check, name)
    return factory(**arg) if isinstance(arg, dict) else factory(arg)


def build_schema(contract: Contract) -> pda.DataFrameSchema:
    """The pandera schema for the typed columns; uniqueness is checked across batches instead."""
    return pda.DataFrameSchema(
        {c.name: pda.Column(check_type(c), [build_check(k, v) for k, v in c.checks.items()],
                            nullable=c.nullable)
         for c in contract.columns},
        strict=False,
    )


def _check_label(error) -> str:
    check = error.check
    return check if isinstance(check, str) else getattr(check, "error", None) or str(check)


class BatchValidator:
    """Validates batches in file order; call `finish` once the stream is exhausted."""

    def __init__(self, contract: Contract, report: Report) -> None:
        self.contract, self.report = contract, report
        self.schema = build_schema(contract)
        self.rows = 0
        self._seen: dict[str, set] = {c.name: set() for c in contract.columns if c.unique}
        self._seen_groups: dict[tuple[str, ...], set] = {group: set() for group in contract.unique_together}

    def validate(self, batch: pa.RecordBatch) -> None:
        first_row = self.rows + 1
        self.rows += batch.num_rows
        row_numbers = pa.array(range(first_row, first_row + batch.num_rows), pa.int64())
        self._check_field_sizes(batch, row_numbers)
        typed: dict[str, pa.Array] = {}
        bad_any = pa.array([False] * batch.num_rows) if batch.num_rows else pa.array([], pa.bool_())
        for column in self.contract.columns:
            text = batch.column(column.name)
            result = cast_column(text, column)
            if pc.any(result.bad).as_py():
                self.report.add(f"type:{column.type}", column.name, "wrong_type",
                                pc.filter(row_numbers, result.bad).to_pylist(),
                                pc.filter(text, result.bad).to_pylist())
                bad_any = pc.or_(bad_any, result.bad)
            typed[column.name] = result.values
        for column in self.contract.columns:
            if column.unique:
                self._check_unique(column, typed[column.name], row_numbers)
        for group in self.contract.unique_together:
            self._check_unique_together(group, typed, row_numbers)
        table = pa.table({name: pc.cast(values, check_type(self._spec(name)))
                          for name, values in typed.items()} | {"__row__": row_numbers})
        if pc.any(bad_any).as_py():
            table = table.filter(pc.invert(bad_any))
        self._run_pandera(table)

    def _check_field_sizes(self, batch: pa.RecordBatch, rows: pa.Array) -> None:
        """Every column, typed or extra: a huge value is a problem whatever the column."""
        limit = self.contract.max_field_bytes
        for name, text in zip(batch.schema.names, batch.columns, strict=True):
            sizes = pc.binary_length(text)
            too_large = pc.fill_null(pc.greater(sizes, limit), False)
            if pc.any(too_large).as_py():
                self.report.add("field.max_bytes", name, "field_too_large",
                                pc.filter(rows, too_large).to_pylist(),
                                [f"{size} bytes, over the limit of {limit}"
                                 for size in pc.filter(sizes, too_large).to_pylist()])

    def _spec(self, name: str) -> ColumnSpec:
        return next(c for c in self.contract.columns if c.name == name)

    def _check_unique(self, column: ColumnSpec, values: pa.Array, rows: pa.Array) -> None:
        seen = self._seen[column.name]
        dup_rows, dup_values = [], []
        for row, value in zip(rows.to_pylist(), values.to_pylist()):
            if value is None:
                continue
            if value in seen:
                dup_rows.append(row)
                dup_values.append(value)
            else:
                seen.add(value)
        if dup_rows:
            self.report.add("unique", column.name, "duplicate_value", dup_rows, dup_values)

    def _check_unique_together(self, group: tuple[str, ...], typed: dict[str, pa.Array], rows: pa.Array) -> None:
        """A combination of columns unique across the file; rows with a null in it are not compared."""
        seen = self._seen_groups[group]
        dup_rows, dup_values = [], []
        for row, *values in zip(rows.to_pylist(), *(typed[name].to_pylist() for name in group)):
            combination = tuple(values)
            if None in combination:
                continue
            if combination in seen:
                dup_rows.append(row)
                dup_values.append(", ".join(f"{n}={v}" for n, v in zip(group, combination)))
            else:
                seen.add(combination)
        if dup_rows:
            self.report.add("unique_together", "+".join(group), "duplicate_combination", dup_rows, dup_values)

    def _run_pandera(self, table: pa.Table) -> None:
        try:
            self.schema.validate(table, lazy=True)
        except SchemaErrors as errors:
            for error in errors.schema_errors:
                self._record(table, error)

    def _record(self, table: pa.Table, error) -> None:
        """Find the failing rows of one pandera error; its narwhals output says which rows."""
        column = error.column_name or _column_from(error)
        label = _check_label(error)
        output = error.check_output
        reason = REASONS.get(error.reason_code.name if error.reason_code else "", "check_failed")
        if output is None:
            cases = error.failure_cases
            values = cases.column(0).to_pylist() if isinstance(cases, pa.Table) else [cases]
            self.report.add(label, column, reason, [None] * len(values), values)
            return
        frame = nw.from_native(table)
        if reason == "null_value" and column is not None:
            mask = pc.is_valid(table.column(column))
        elif isinstance(output, nw.Expr):
            mask = frame.select(output.alias("__ok__")).to_native().column("__ok__")
            if column is not None:
                mask = pc.or_kleene(mask, pc.is_null(table.column(column)))
        else:
            native = output.collect().to_native() if hasattr(output, "collect") else output.to_native()
            mask = native.column("check_output")
        failing = pc.invert(pc.fill_null(mask, True))
        rows = pc.filter(table.column("__row__"), failing).to_pylist()
        values = (pc.filter(table.column(column), failing).to_pylist() if column
                  else [None] * len(rows))
        self.report.add(label, column, reason, rows, values)

    def finish(self) -> None:
        if self.contract.min_rows is not None and self.rows < self.contract.min_rows:
            self.report.add_file("rows.min", "too_few_rows",
                                 f"{self.rows} rows, contract needs at least {self.contract.min_rows}")
        if self.contract.max_rows is not None and self.rows > self.contract.max_rows:
            self.report.add_file("rows.max", "too_many_rows",
                                 f"{self.rows} rows, contract allows at most {self.contract.max_rows}")


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
        report.add_file("header.delimiter", "wrong_delimiter",
                        f"the header is one column {header[0][:100]!r} that {delimiter!r} would split; "
                        f"the contract's delimiter is {contract.dialect.delimiter!r}", line=1)
        return
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        report.add("header.duplicates", None, "duplicate_columns", [None] * len(duplicates),
                   duplicates)
    missing = [c for c in contract.column_names if c not in header]
    if missing:
        report.add("header.required", None, "missing_columns", [None] * len(missing), missing)
    extra = [h for h in header if h not in contract.column_names]
    if extra and not contract.allow_extra_columns:
        report.add("header.extra", None, "unexpected_columns", [None] * len(extra), extra)
    present = [h for h in header if h in contract.column_names]
    expected = [c for c in contract.column_names if c in header]
    if contract.ordered and present != expected:
        report.add("header.order", None, "column_order", [None],
                   [f"columns are {', '.join(present)}; the contract's order is {', '.join(expected)}"])


def _other_delimiter(contract: Contract, header: list[str]) -> str | None:
    """A common delimiter other than the contract's in a one-column header, when columns are expected."""
    if len(header) != 1 or len(contract.columns) < 2:
        return None
    return next((d for d in COMMON_DELIMITERS if d != contract.dialect.delimiter and d in header[0]), None)
