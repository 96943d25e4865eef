"""One logical type system: each contract type with its Arrow, Glue catalog and Spark names.

The validator stores values as the Arrow type, the Glue job casts to the Spark type (a Spark
SQL DDL name, which `Column.cast` accepts as text) and the catalog table declares the Glue
type. `decimal(p,s)` keeps its precision and scale in all three. Dates and timestamps are
parsed with the column's strptime `format` rather than cast; DEFAULT_FORMATS gives theirs.
Sources: Glue/Hive data types (Athena "Data types in Amazon Athena"), Spark SQL
"Data Types", Apache Arrow "Data Types".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")
MAX_DECIMAL_PRECISION = 38  # Arrow decimal128, Spark DecimalType and Hive decimal alike


@dataclass(frozen=True)
class LogicalType:
    """A contract type's names in each engine; `arrow` is a pyarrow type alias."""

    name: str
    arrow: str
    glue: str
    spark: str


SCALAR_TYPES = {t.name: t for t in (
    LogicalType("integer", arrow="int64", glue="bigint", spark="bigint"),
    LogicalType("float", arrow="float64", glue="double", spark="double"),
    LogicalType("string", arrow="string", glue="string", spark="string"),
    LogicalType("boolean", arrow="bool", glue="boolean", spark="boolean"),
    LogicalType("date", arrow="date32", glue="date", spark="date"),
    LogicalType("timestamp", arrow="timestamp[us]", glue="timestamp", spark="timestamp"),
)}
DEFAULT_FORMATS = {"date": "%Y-%m-%d", "timestamp": "%Y-%m-%dT%H:%M:%S"}
STRPTIME_DIRECTIVE = re.compile(r"%(.)")
TIME_ZONE_DIRECTIVES = ("z", "Z")
TYPE_NAMES = (*SCALAR_TYPES, "decimal(p,s)")


@dataclass(frozen=True)
class ColumnType:
    """A parsed contract type: a scalar name, or `decimal(p,s)` with its precision and scale."""

    name: str
    precision: int | None = None
    scale: int | None = None

    @classmethod
    def parse(cls, text: str) -> ColumnType:
        """Raises ValueError naming the accepted types, or the decimal bounds."""
        text = text.strip()
        if text in SCALAR_TYPES:
            return cls(text)
        match = DECIMAL.fullmatch(text)
        if not match:
            raise ValueError(f"unknown type {text!r}; expected one of {', '.join(TYPE_NAMES)}")
        precision, scale = int(match[1]), int(match[2])
        if not 0 < scale <= precision <= MAX_DECIMAL_PRECISION:
            raise ValueError(f"decimal needs 0 < scale <= precision <= {MAX_DECIMAL_PRECISION}")
        return cls("decimal", precision, scale)

    @property
    def is_decimal(self) -> bool:
        return self.name == "decimal"

    @property
    def text(self) -> str:
        """The contract's spelling, which is also the Glue and Spark name of a decimal."""
        return f"decimal({self.precision},{self.scale})" if self.is_decimal else self.name

    @property
    def glue(self) -> str:
        return self.text if self.is_decimal else SCALAR_TYPES[self.name].glue

    @property
    def spark(self) -> str:
        return self.text if self.is_decimal else SCALAR_TYPES[self.name].spark

    @property
    def arrow(self) -> str:
        """A pyarrow type alias; decimals are `decimal128(p, s)`, built by the caller."""
        return f"decimal128({self.precision}, {self.scale})" if self.is_decimal else SCALAR_TYPES[self.name].arrow


def time_zone_directives(strptime_format: str) -> list[re.Match[str]]:
    """The %z and %Z of a strptime format, in order (`%%z` is a literal)."""
    return [m for m in STRPTIME_DIRECTIVE.finditer(strptime_format) if m[1] in TIME_ZONE_DIRECTIVES]
