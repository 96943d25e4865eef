"""Dataset contracts: one YAML file per dataset, loaded into a typed, checked form.

A contract is data, not code: adding a dataset means adding a file. Everything that
reads it (validator, Glue job, catalog) goes through `Contract` so the types agree; the type
names of each engine come from the one table in `etl_common.column_types`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from decimal import Context, Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from etl_common.column_types import DEFAULT_FORMATS, MAX_DECIMAL_PRECISION, ColumnType, time_zone_directives
from etl_common.messages import JobColumn, JobContract

from .check_factory import CHECK_NAMES, check_runs

TOP_LEVEL_FIELDS = {"dataset", "version", "description", "dialect", "columns", "allow_extra_columns",
                    "ordered", "unique_together", "error_threshold",
                    "rows", "parquet", "max_bytes", "max_field_bytes"}
# The Python codecs a contract may name: those whose files the validator can tell apart by their
# first bytes (a byte order mark, NULs beside ASCII: sniff.py). The job never reads the upload.
ENCODINGS = ("utf-8", "ascii", "iso8859-1", "iso8859-15", "cp1252", "utf-16", "utf-16-le", "utf-16-be")
SIZE_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
SIZE_PATTERN = re.compile(r"^(\d+)\s*(B|KiB|MiB|GiB|TiB)?$")
DEFAULT_MAX_FIELD_BYTES = 1 << 20
# A contract without max_bytes still has a limit, of decompressed text (docs/contracts.md, max_bytes):
# at the measured ~70 MB/s, 10 GiB is read in about 2.5 minutes, twice (the second pass that places
# structural problems) within 15 minutes even at a third of that speed, so the file ends in a report.
DEFAULT_MAX_BYTES = 10 << 30
# Contracts are hand-written: the shipped ones are about 1 KiB, one of MAX_COLUMNS columns about 100 KiB.
MAX_CONTRACT_BYTES = 1 << 20
COLUMN_FIELDS = {"name", "type", "nullable", "unique", "format", "checks", "description"}
DIALECT_FIELDS = {"delimiter", "quote_char", "escape_char", "encoding", "header", "null_values"}
# Measured with the canonical read (50 rows of integers): the Glue job in local Spark takes 8 s at
# 1,500 columns and 12 s at 5,000; the validator's per-column checks grow faster than the width
# (11 s at 1,000 columns, 63 s at 2,000), so 1,000 is the width a file validates in seconds.
MAX_COLUMNS = 1000
# Athena keeps lower-case names of 1 to 255 bytes and quotes any other character (Athena "Name
# databases, tables, and columns"); a catalog name is the column name in that alphabet.
CATALOG_NAME_BYTES = 255
NOT_IN_CATALOG_NAMES = re.compile(r"[^a-z0-9_]")
# Checks that compare with values: on a decimal column they compare decimals, exactly.
COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le", "in_range", "isin", "notin"}
EXACT = Context(prec=2 * MAX_DECIMAL_PRECISION)


class ExactNumber(Decimal):
    """A decimal column's comparison value, exact; written in check labels as in the contract."""

    def __repr__(self) -> str:
        return str(self)


class ExactFloat(float):
    """A YAML float that keeps its value as written (9999999999999999.99 is 1e16 as a float)."""

    exact: Decimal


class ContractLoader(yaml.SafeLoader):
    """yaml.safe_load, with floats as ExactFloat and no aliases: a contract is a small hand-written
    file that needs none, and nested aliases (a "billion laughs") expand a 1 KB file to gigabytes."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed in contracts; "
                                              "write the value out", self.peek_event().start_mark)
        return super().compose_node(parent, index)


def _exact_float(loader: ContractLoader, node: yaml.ScalarNode) -> ExactFloat:
    value = ExactFloat(loader.construct_yaml_float(node))
    try:
        value.exact = Decimal(loader.construct_scalar(node).replace("_", ""))
    except InvalidOperation:  # YAML 1.1's .inf, .nan and 1:30.5
        value.exact = Decimal(repr(float(value)))
    return value


ContractLoader.add_constructor("tag:yaml.org,2002:float", _exact_float)


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

    @property
    def catalog_name(self) -> str:
        """The name in the Parquet files and the catalog: lower case, any character but `a-z`,
        `0-9` and `_` as `_` (Spark, Glue and Athena match names without case; Athena keeps no other)."""
        return NOT_IN_CATALOG_NAMES.sub("_", self.name.lower())

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
                         glue_type=self.column_type.glue, catalog_name=self.catalog_name)


@dataclass(frozen=True)
class Dialect:
    """How the CSV text is written. `encoding` is a Python codec name (one of ENCODINGS);
    `null_values` are the field texts read as null (an unquoted empty field is one by default).
    `escape_char` makes the character after it literal (MySQL and Hive write `\\"`); None: a
    quote inside quotes is doubled (RFC 4180), and a value showing `\\"` rejects the file."""

    delimiter: str = ","
    quote_char: str = '"'
    encoding: str = "utf-8"
    header: bool = True
    null_values: tuple[str, ...] = ("",)
    escape_char: str | None = None


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
    as stored is refused before reading; DEFAULT_MAX_BYTES when the contract says none); `max_field_bytes` bytes of one field,
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
    max_bytes: int = DEFAULT_MAX_BYTES
    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        """The column named `name`; raises KeyError when the contract has none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def for_job(self) -> JobContract:
        """The part of the contract the Glue job needs, small enough for a state payload."""
        return JobContract(dataset=self.dataset, version=self.version,
                           columns=[c.for_job() for c in self.columns],
                           partition_by=[self.column(name).catalog_name for name in self.partition_by],
                           compression=self.compression)


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
    """The Python codec name of a dialect encoding, one of ENCODINGS."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        codec = None
    if codec not in ENCODINGS:
        raise ContractError(path, "dialect.encoding", f"unsupported encoding {name!r}; expected one of "
                            f"{', '.join(ENCODINGS)} (or an alias such as latin-1)")
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
    if column_type.is_decimal:
        checks = {check: _decimal_argument(arg, column_type, path, f"{where}checks.{check}")
                  if check in COMPARISONS else arg for check, arg in checks.items()}
    for check, arg in checks.items():
        try:
            check_runs(check, arg)
        except Exception as exc:  # pandera raises TypeError, ValueError, re.error...; RE2 ValueError
            raise ContractError(path, f"{where}checks.{check}", f"invalid argument {arg!r}: {exc}") from exc
    strptime_format = _optional(raw, "format", str, DEFAULT_FORMATS.get(column_type.name), path, where)
    zones = time_zone_directives(strptime_format or "")
    if (zones and column_type.name != "timestamp") or len(zones) > 1:
        raise ContractError(path, f"{where}format", "a time zone (%z or %Z) may appear once, in a timestamp "
                            "format: a date has none")
    return ColumnSpec(
        name=name,
        type=column_type.text,
        nullable=_optional(raw, "nullable", bool, True, path, where),
        unique=_optional(raw, "unique", bool, False, path, where),
        format=strptime_format,
        checks=checks,
    )


def _decimal_argument(arg: Any, kind: ColumnType, path: str, field_name: str) -> Any:
    """A comparison's values on a decimal column as ExactNumbers of the column's type: the check
    then compares the stored decimals exactly (as floats, 10000000000000000.00 passes
    `le: 9999999999999999.99`). `in_range` and `isin`/`notin` hold them in a mapping or list."""
    if isinstance(arg, dict):
        return {key: _decimal_argument(value, kind, path, field_name) if key in ("min_value", "max_value")
                else value for key, value in arg.items()}
    if isinstance(arg, list):
        return [_decimal_argument(value, kind, path, field_name) for value in arg]
    if isinstance(arg, bool) or not isinstance(arg, (int, float, Decimal)):
        raise ContractError(path, field_name, f"{arg!r} is not a number; a {kind.text} column compares numbers")
    if isinstance(arg, ExactFloat):
        arg = arg.exact
    number = ExactNumber(repr(arg) if isinstance(arg, float) else arg)  # a float from Python code: as typed
    try:
        fits = number.is_finite() and number.quantize(Decimal(1).scaleb(-kind.scale), context=EXACT) == number
    except InvalidOperation:  # more digits than EXACT holds
        fits = False
    if not fits or number.copy_abs() >= Decimal(1).scaleb(kind.precision - kind.scale):
        raise ContractError(path, field_name, f"{number} is not a {kind.text} value: a decimal column compares "
                            "exactly with values of its own type")
    return number


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


def _dialect(raw: dict, path: str) -> Dialect:
    """The dialect, its special characters each one ASCII character, the escape distinct from the
    others (an unknown key is an error: `escapechar`, Python's spelling, would be ignored)."""
    unknown = set(raw) - DIALECT_FIELDS
    if unknown:
        raise ContractError(path, f"dialect.{sorted(unknown)[0]}", "unknown field")
    dialect = Dialect(
        delimiter=_optional(raw, "delimiter", str, ",", path, "dialect."),
        quote_char=_optional(raw, "quote_char", str, '"', path, "dialect."),
        encoding=_encoding(_optional(raw, "encoding", str, "utf-8", path, "dialect."), path),
        header=_optional(raw, "header", bool, True, path, "dialect."),
        null_values=tuple(_optional(raw, "null_values", list, [""], path, "dialect.")),
        escape_char=_optional(raw, "escape_char", str, None, path, "dialect."),
    )
    for name in ("delimiter", "quote_char", "escape_char"):
        value = getattr(dialect, name)
        if value is not None and (len(value) != 1 or not value.isascii()):
            raise ContractError(path, f"dialect.{name}", "must be one character (ASCII)")
    if dialect.escape_char in (dialect.delimiter, dialect.quote_char):
        raise ContractError(path, "dialect.escape_char", "must differ from the delimiter and the quote_char "
                            "(leave it out for quotes doubled inside quotes)")
    return dialect


def _check_catalog_names(columns: tuple[ColumnSpec, ...], path: str) -> None:
    """Every column needs a catalog name of its own: Spark, Glue and Athena tell names apart
    without case, and Athena keeps only CATALOG_NAME_BYTES of a-z, 0-9 and _."""
    seen: dict[str, str] = {}
    for column in columns:
        catalog, where = column.catalog_name, f"columns[{column.name}].name"
        if not 0 < len(catalog) <= CATALOG_NAME_BYTES:
            raise ContractError(path, where, f"must be 1 to {CATALOG_NAME_BYTES} characters (the catalog's limit)")
        other = seen.setdefault(catalog, column.name)
        if other == column.name:
            continue
        if other.lower() == column.name.lower():
            raise ContractError(path, where, f"differs from {other!r} only in case; Spark, Glue and Athena "
                                "do not tell them apart")
        raise ContractError(path, where, f"{other!r} and {column.name!r} both become {catalog!r} in the "
                            "catalog, which keeps only lower-case a-z, 0-9 and _")


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
    if len(raw_columns) > MAX_COLUMNS:
        raise ContractError(path, "columns", f"{len(raw_columns)} columns; a contract takes at most {MAX_COLUMNS} (docs/contracts.md)")
    columns = tuple(_column(c, i, path) for i, c in enumerate(raw_columns))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ContractError(path, "columns", "column names must be unique")
    _check_catalog_names(columns, path)
    dialect = _dialect(_optional(raw, "dialect", dict, {}, path, ""), path)
    rows = _optional(raw, "rows", dict, {}, path, "")
    parquet = _optional(raw, "parquet", dict, {}, path, "")
    partition_by = tuple(_optional(parquet, "partition_by", list, [], path, "parquet."))
    for part in partition_by:
        if part not in names:
            raise ContractError(path, "parquet.partition_by", f"{part!r} is not a column")
        if columns[names.index(part)].nullable:
            raise ContractError(path, "parquet.partition_by", f"{part!r} is nullable; a partition column needs "
                                "nullable: false (a null would land in __HIVE_DEFAULT_PARTITION__)")
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
        max_bytes=_size(raw, "max_bytes", DEFAULT_MAX_BYTES, path),
        max_field_bytes=_size(raw, "max_field_bytes", DEFAULT_MAX_FIELD_BYTES, path),
    )


def load_contract(path: Path) -> Contract:
    """Read and check one contract file; raises ContractError naming the file and the field."""
    with path.open("rb") as file:
        data = file.read(MAX_CONTRACT_BYTES + 1)
    if len(data) > MAX_CONTRACT_BYTES:
        raise ContractError(str(path), "(file)", f"larger than {MAX_CONTRACT_BYTES >> 20} MiB; a contract "
                            "is a small hand-written file")
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=ContractLoader)  # a SafeLoader
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
