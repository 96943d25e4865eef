"""Dataset contracts: one YAML file per dataset, loaded into a typed, checked form.

A contract is data, not code: adding a dataset means adding a file. Everything that
reads it (validator, Glue job, catalog) goes through `Contract` so the types agree; the type
names of each engine come from the one table in `etl_common.column_types`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from etl_common.column_types import DEFAULT_FORMATS, ColumnType
from etl_common.messages import JobColumn, JobContract, JobDialect

from .check_factory import CHECK_NAMES, build_check

TOP_LEVEL_FIELDS = {"dataset", "version", "description", "dialect", "columns", "allow_extra_columns",
                    "ordered", "unique_together", "error_threshold",
                    "rows", "parquet", "max_bytes", "max_field_bytes"}
# Python codec name -> the charset name Spark (Java) reads the staged file with. Only encodings
# both sides know are allowed, so a file the validator accepts is one the Glue job can read.
SPARK_CHARSETS = {
    "utf-8": "utf-8", "ascii": "us-ascii", "iso8859-1": "iso-8859-1", "iso8859-15": "iso-8859-15",
    "cp1252": "windows-1252", "utf-16": "utf-16", "utf-16-le": "utf-16le", "utf-16-be": "utf-16be",
}
SIZE_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
SIZE_PATTERN = re.compile(r"^(\d+)\s*(B|KiB|MiB|GiB|TiB)?$")
DEFAULT_MAX_FIELD_BYTES = 1 << 20
COLUMN_FIELDS = {"name", "type", "nullable", "unique", "format", "checks", "description"}


class ContractError(ValueError):
    """A contract file that cannot be used; the message names the file and the field."""

    def __init__(self, path: str, field_name: str, problem: str) -> None:
        super().__init__(f"{path}: {field_name}: {problem}")
        self.path, self.field, self.problem = path, field_name, problem


@dataclass(frozen=True)
class ColumnSpec:
    """One contract column.

    `type` is the contract's type text (`integer`, `decimal(12,2)`, ...: see column_types);
    `format` the strptime format of a date or timestamp (the default one when the contract has
    none); `checks` the contract's `{check: argument}` entries, already known to build.
    """

    name: str
    type: str
    nullable: bool = True
    unique: bool = False
    format: str | None = None
    checks: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def column_type(self) -> ColumnType:
        """The parsed type; raises ValueError for a type the table does not know."""
        return ColumnType.parse(self.type)

    @property
    def decimal(self) -> tuple[int, int] | None:
        """(precision, scale) of a decimal column, None for any other type."""
        kind = self.column_type
        return (kind.precision, kind.scale) if kind.is_decimal else None

    def for_job(self) -> JobColumn:
        """The column as the Glue job casts and catalogs it."""
        return JobColumn(name=self.name, type=self.type, spark_type=self.column_type.spark,
                         glue_type=self.column_type.glue, format=self.format)


@dataclass(frozen=True)
class Dialect:
    """How the CSV text is written. `encoding` is a Python codec name (one of SPARK_CHARSETS);
    `null_values` are the field texts read as null (an unquoted empty field is one by default)."""

    delimiter: str = ","
    quote_char: str = '"'
    encoding: str = "utf-8"
    header: bool = True
    null_values: tuple[str, ...] = ("",)

    def for_job(self) -> JobDialect:
        """The dialect as the Glue job reads it: the encoding by its Java charset name."""
        return JobDialect(delimiter=self.delimiter, quote_char=self.quote_char,
                          encoding=SPARK_CHARSETS[self.encoding], header=self.header,
                          null_values=list(self.null_values))


@dataclass(frozen=True)
class ErrorThreshold:
    """How many bad rows a file may have and still go on: its good rows are staged, its bad
    rows rejected. Both limits hold when both are set.

    `max_rows` is a count of data rows with a failed check; `max_fraction` a fraction (0 to 1,
    below 1) of the file's data rows.
    """

    max_rows: int | None = None
    max_fraction: float | None = None

    def allows(self, bad_rows: int, rows: int) -> bool:
        """Whether `bad_rows` failed rows out of `rows` data rows are within every limit set."""
        return ((self.max_rows is None or bad_rows <= self.max_rows)
                and (self.max_fraction is None or bad_rows <= self.max_fraction * rows))

    def describe(self) -> str:
        limits = ([f"{self.max_rows} rows"] if self.max_rows is not None else []) + (
            [f"{self.max_fraction:.4g} of the rows"] if self.max_fraction is not None else [])
        return " and ".join(limits)


@dataclass(frozen=True)
class Contract:
    """A dataset's contract, as `parse_contract` builds it from YAML (docs/contracts.md).

    Units: `max_bytes` is bytes of the file's text once decompressed (an object already larger
    as stored is refused before reading; None: no limit); `max_field_bytes` bytes of one field,
    as UTF-8; `min_rows`/`max_rows` count data records, header excluded. `error_threshold` None
    means no bad row is accepted. `partition_by` names columns of the Parquet table,
    `compression` is its Parquet codec.
    """

    dataset: str
    version: int
    columns: tuple[ColumnSpec, ...]
    dialect: Dialect = Dialect()
    allow_extra_columns: bool = False
    ordered: bool = False
    unique_together: tuple[tuple[str, ...], ...] = ()
    error_threshold: ErrorThreshold | None = None
    min_rows: int | None = None
    max_rows: int | None = None
    partition_by: tuple[str, ...] = ()
    compression: str = "snappy"
    description: str = ""
    max_bytes: int | None = None
    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def for_job(self) -> JobContract:
        """The part of the contract the Glue job needs, small enough for a state payload."""
        return JobContract(dataset=self.dataset, version=self.version,
                           columns=[c.for_job() for c in self.columns], dialect=self.dialect.for_job(),
                           partition_by=list(self.partition_by), compression=self.compression)


def _require(mapping: dict, key: str, kind: type | tuple[type, ...], path: str, where: str) -> Any:
    if key not in mapping:
        raise ContractError(path, f"{where}{key}", "is required")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ContractError(path, f"{where}{key}", f"must be {_kind_name(kind)}, got {value!r}")
    return value


def _optional(mapping: dict, key: str, kind: type | tuple[type, ...], default: Any, path: str,
              where: str) -> Any:
    if key not in mapping or mapping[key] is None:
        return default
    return _require(mapping, key, kind, path, where)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _size(raw: dict, key: str, default: int | None, path: str) -> int | None:
    """A byte count: a whole number or a size with a binary unit, such as `512 MiB`."""
    value = _optional(raw, key, (int, str), default, path, "")
    if isinstance(value, str):
        match = SIZE_PATTERN.match(value.strip())
        if not match:
            raise ContractError(path, key, f"{value!r} is not a size; write bytes or e.g. '512 MiB' "
                                f"(units {', '.join(SIZE_UNITS)})")
        value = int(match.group(1)) * SIZE_UNITS[match.group(2) or "B"]
    if value is not None and value <= 0:
        raise ContractError(path, key, "must be positive")
    return value


def _encoding(name: str, path: str) -> str:
    """The Python codec name of a dialect encoding the validator and Spark both read."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        codec = None
    if codec not in SPARK_CHARSETS:
        raise ContractError(path, "dialect.encoding", f"unsupported encoding {name!r}; expected one of "
                            f"{', '.join(SPARK_CHARSETS)} (or an alias such as latin-1)")
    return codec


def _column(raw: Any, index: int, path: str) -> ColumnSpec:
    where = f"columns[{index}]."
    if not isinstance(raw, dict):
        raise ContractError(path, f"columns[{index}]", "must be a mapping")
    name = _require(raw, "name", str, path, where)
    where = f"columns[{name}]."
    type_text = _require(raw, "type", str, path, where)
    try:
        column_type = ColumnType.parse(type_text)
    except ValueError as exc:
        raise ContractError(path, f"{where}type", str(exc)) from exc
    checks = _optional(raw, "checks", dict, {}, path, where)
    for check in checks:
        if check not in CHECK_NAMES:
            raise ContractError(path, f"{where}checks.{check}",
                                f"unknown check; expected one of {', '.join(sorted(CHECK_NAMES))}")
    unknown = set(raw) - COLUMN_FIELDS
    if unknown:
        raise ContractError(path, f"{where}{sorted(unknown)[0]}", "unknown field")
    for check, arg in checks.items():
        try:
            build_check(check, arg)
        except Exception as exc:  # pandera raises TypeError, ValueError, re.error...
            raise ContractError(path, f"{where}checks.{check}", f"invalid argument {arg!r}: {exc}") from exc
    return ColumnSpec(
        name=name,
        type=column_type.text,
        nullable=_optional(raw, "nullable", bool, True, path, where),
        unique=_optional(raw, "unique", bool, False, path, where),
        format=_optional(raw, "format", str, DEFAULT_FORMATS.get(column_type.name), path, where),
        checks=checks,
    )


def _error_threshold(raw: dict, path: str) -> ErrorThreshold | None:
    """`error_threshold: {max_rows: 100, max_fraction: 0.01}`; absent means no bad row is accepted."""
    limits = _optional(raw, "error_threshold", dict, None, path, "")
    if limits is None:
        return None
    unknown = set(limits) - {"max_rows", "max_fraction"}
    if unknown or not limits:
        raise ContractError(path, f"error_threshold.{sorted(unknown)[0]}" if unknown else "error_threshold",
                            "expected max_rows and/or max_fraction")
    threshold = ErrorThreshold(
        max_rows=_optional(limits, "max_rows", int, None, path, "error_threshold."),
        max_fraction=_optional(limits, "max_fraction", (int, float), None, path, "error_threshold."))
    if threshold.max_rows is not None and threshold.max_rows < 0:
        raise ContractError(path, "error_threshold.max_rows", "must be 0 or more")
    if threshold.max_fraction is not None and not 0 <= threshold.max_fraction < 1:
        raise ContractError(path, "error_threshold.max_fraction", "must be at least 0 and below 1")
    return threshold


def parse_contract(raw: Any, path: str) -> Contract:
    """Build a Contract from parsed YAML (`path` only names the file in errors), raising
    ContractError on the first bad field.

    Every check is built once here, so a bad argument fails when the contract loads, not
    on the first file of the dataset.
    """
    if not isinstance(raw, dict):
        raise ContractError(path, "(root)", "must be a mapping")
    unknown = set(raw) - TOP_LEVEL_FIELDS
    if unknown:
        raise ContractError(path, sorted(unknown)[0], "unknown field")
    raw_columns = _require(raw, "columns", list, path, "")
    if not raw_columns:
        raise ContractError(path, "columns", "needs at least one column")
    columns = tuple(_column(c, i, path) for i, c in enumerate(raw_columns))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ContractError(path, "columns", "column names must be unique")
    dialect_raw = _optional(raw, "dialect", dict, {}, path, "")
    dialect = Dialect(
        delimiter=_optional(dialect_raw, "delimiter", str, ",", path, "dialect."),
        quote_char=_optional(dialect_raw, "quote_char", str, '"', path, "dialect."),
        encoding=_encoding(_optional(dialect_raw, "encoding", str, "utf-8", path, "dialect."), path),
        header=_optional(dialect_raw, "header", bool, True, path, "dialect."),
        null_values=tuple(_optional(dialect_raw, "null_values", list, [""], path, "dialect.")),
    )
    for name in ("delimiter", "quote_char"):
        if len(getattr(dialect, name)) != 1 or not getattr(dialect, name).isascii():
            raise ContractError(path, f"dialect.{name}", "must be one character (ASCII)")
    rows = _optional(raw, "rows", dict, {}, path, "")
    parquet = _optional(raw, "parquet", dict, {}, path, "")
    partition_by = tuple(_optional(parquet, "partition_by", list, [], path, "parquet."))
    for part in partition_by:
        if part not in names:
            raise ContractError(path, "parquet.partition_by", f"{part!r} is not a column")
    compression = _optional(parquet, "compression", str, "snappy", path, "parquet.")
    if compression not in {"snappy", "gzip", "zstd", "none"}:
        raise ContractError(path, "parquet.compression", "must be snappy, gzip, zstd or none")
    unique_together = tuple(tuple(group) for group in _optional(raw, "unique_together", list, [], path, ""))
    for i, group in enumerate(unique_together):
        if len(group) < 2 or any(name not in names for name in group) or len(set(group)) != len(group):
            raise ContractError(path, f"unique_together[{i}]", "must list two or more distinct columns of the contract")
    return Contract(
        dataset=_require(raw, "dataset", str, path, ""),
        version=_optional(raw, "version", int, 1, path, ""),
        columns=columns,
        dialect=dialect,
        allow_extra_columns=_optional(raw, "allow_extra_columns", bool, False, path, ""),
        ordered=_optional(raw, "ordered", bool, False, path, ""),
        unique_together=unique_together,
        error_threshold=_error_threshold(raw, path),
        min_rows=_optional(rows, "min", int, None, path, "rows."),
        max_rows=_optional(rows, "max", int, None, path, "rows."),
        partition_by=partition_by,
        compression=compression,
        description=_optional(raw, "description", str, "", path, ""),
        max_bytes=_size(raw, "max_bytes", None, path),
        max_field_bytes=_size(raw, "max_field_bytes", DEFAULT_MAX_FIELD_BYTES, path),
    )


def load_contract(path: Path) -> Contract:
    """Read and check one contract file; raises ContractError naming the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(str(path), "(yaml)", str(exc).replace("\n", " ")) from exc
    contract = parse_contract(raw, str(path))
    if contract.dataset != path.stem:
        raise ContractError(str(path), "dataset", f"must match the file name {path.stem!r}")
    return contract


def find_contract(contracts_dir: Path, dataset: str) -> Contract | None:
    """The contract for a dataset, or None when no file names it (or the name could leave the
    folder); raises ContractError when the file does not load."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", dataset) or dataset.startswith("."):
        return None
    for suffix in (".yaml", ".yml"):
        path = contracts_dir / f"{dataset}{suffix}"
        if path.is_file():
            return load_contract(path)
    return None


def load_all(contracts_dir: Path) -> list[Contract]:
    """Every contract in a folder; used by tests and `etl-local` to fail early on a bad file."""
    return [load_contract(p) for p in sorted(contracts_dir.glob("*.y*ml"))]
