"""Dataset contracts: one YAML file per dataset, loaded into a typed, checked form.

A contract is data, not code: adding a dataset means adding a file. Everything that
reads it (validator, Glue job, catalog) goes through `Contract` so the types agree.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TYPE_PATTERN = re.compile(r"^(integer|float|string|boolean|date|timestamp|decimal\((\d+),\s*(\d+)\))$")
CHECKS = {
    "eq", "ne", "gt", "ge", "lt", "le", "in_range", "isin", "notin",
    "str_matches", "str_contains", "str_startswith", "str_endswith", "str_length",
}
TOP_LEVEL_FIELDS = {"dataset", "version", "description", "dialect", "columns", "allow_extra_columns",
                    "ordered", "unique_together", "error_threshold",
                    "rows", "parquet", "max_bytes", "max_field_bytes"}
DEFAULT_FORMATS = {"date": "%Y-%m-%d", "timestamp": "%Y-%m-%dT%H:%M:%S"}
# Python codec name -> the charset name Spark (Java) reads the staged file with. Only encodings
# both sides know are allowed, so a file the validator accepts is one the Glue job can read.
SPARK_CHARSETS = {
    "utf-8": "utf-8", "ascii": "us-ascii", "iso8859-1": "iso-8859-1", "iso8859-15": "iso-8859-15",
    "cp1252": "windows-1252", "utf-16": "utf-16", "utf-16-le": "utf-16le", "utf-16-be": "utf-16be",
}
SIZE_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
SIZE_PATTERN = re.compile(r"^(\d+)\s*(B|KiB|MiB|GiB|TiB)?$")
DEFAULT_MAX_FIELD_BYTES = 1 << 20
GLUE_TYPES = {"integer": "bigint", "float": "double", "string": "string",
              "boolean": "boolean", "date": "date", "timestamp": "timestamp"}


class ContractError(ValueError):
    """A contract file that cannot be used; the message names the file and the field."""

    def __init__(self, path: str, field_name: str, problem: str) -> None:
        super().__init__(f"{path}: {field_name}: {problem}")
        self.path, self.field, self.problem = path, field_name, problem


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    nullable: bool = True
    unique: bool = False
    format: str | None = None
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def decimal(self) -> tuple[int, int] | None:
        """(precision, scale) for decimal columns."""
        match = TYPE_PATTERN.match(self.type)
        return (int(match.group(2)), int(match.group(3))) if match and match.group(2) else None

    @property
    def glue_type(self) -> str:
        """The Hive/Glue catalog type of the column."""
        return self.type if self.decimal else GLUE_TYPES[self.type]


@dataclass(frozen=True)
class Dialect:
    delimiter: str = ","
    quote_char: str = '"'
    encoding: str = "utf-8"
    header: bool = True
    null_values: tuple[str, ...] = ("",)


@dataclass(frozen=True)
class ErrorThreshold:
    """How many bad rows a file may have and still go on: its good rows are staged, its bad
    rows rejected. Both limits hold when both are set."""

    max_rows: int | None = None
    max_fraction: float | None = None

    def allows(self, bad_rows: int, rows: int) -> bool:
        return ((self.max_rows is None or bad_rows <= self.max_rows)
                and (self.max_fraction is None or bad_rows <= self.max_fraction * rows))

    def describe(self) -> str:
        limits = ([f"{self.max_rows} rows"] if self.max_rows is not None else []) + (
            [f"{self.max_fraction:.4g} of the rows"] if self.max_fraction is not None else [])
        return " and ".join(limits)


@dataclass(frozen=True)
class Contract:
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

    def for_job(self) -> dict[str, Any]:
        """The part of the contract the Glue job needs, small enough for a state payload."""
        return {
            "dataset": self.dataset,
            "version": self.version,
            "columns": [{"name": c.name, "type": c.type, "glue_type": c.glue_type,
                         "format": c.format} for c in self.columns],
            "dialect": {"delimiter": self.dialect.delimiter, "quote_char": self.dialect.quote_char,
                        "encoding": SPARK_CHARSETS[self.dialect.encoding], "header": self.dialect.header,
                        "null_values": list(self.dialect.null_values)},
            "partition_by": list(self.partition_by),
            "compression": self.compression,
        }


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
    col_type = _require(raw, "type", str, path, where).strip()
    match = TYPE_PATTERN.match(col_type)
    if not match:
        raise ContractError(path, f"{where}type", f"unknown type {col_type!r}; expected one of "
                            "integer, float, decimal(p,s), string, boolean, date, timestamp")
    if match.group(2) and not 0 < int(match.group(3)) <= int(match.group(2)) <= 38:
        raise ContractError(path, f"{where}type", "decimal needs 0 < scale <= precision <= 38")
    checks = _optional(raw, "checks", dict, {}, path, where)
    from .custom_checks import CUSTOM_CHECKS

    for name_ in checks:
        if name_ not in CHECKS | CUSTOM_CHECKS.keys():
            raise ContractError(path, f"{where}checks.{name_}",
                                f"unknown check; expected one of {', '.join(sorted(CHECKS | CUSTOM_CHECKS.keys()))}")
    unknown = set(raw) - {"name", "type", "nullable", "unique", "format", "checks", "description"}
    if unknown:
        raise ContractError(path, f"{where}{sorted(unknown)[0]}", "unknown field")
    from .checks import build_check  # checks imports this module

    for check, arg in checks.items():
        try:
            build_check(check, arg)
        except Exception as exc:  # pandera raises TypeError, ValueError, re.error...
            raise ContractError(path, f"{where}checks.{check}", f"invalid argument {arg!r}: {exc}") from exc
    return ColumnSpec(
        name=name,
        type=col_type,
        nullable=_optional(raw, "nullable", bool, True, path, where),
        unique=_optional(raw, "unique", bool, False, path, where),
        format=_optional(raw, "format", str, DEFAULT_FORMATS.get(col_type), path, where),
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
    """Build a Contract from parsed YAML, raising ContractError on the first bad field.

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
    """Read and check one contract file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(str(path), "(yaml)", str(exc).replace("\n", " ")) from exc
    contract = parse_contract(raw, str(path))
    if contract.dataset != path.stem:
        raise ContractError(str(path), "dataset", f"must match the file name {path.stem!r}")
    return contract


def find_contract(contracts_dir: Path, dataset: str) -> Contract | None:
    """The contract for a dataset, or None when no file names it."""
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
