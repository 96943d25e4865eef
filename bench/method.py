"""Run one validation method over one file and print one JSON line: seconds, rows, failure counts.

    python -m bench.method ours|pandas|duckdb FILE

`bench.run` starts each method as its own process so its peak RSS (from os.wait4) is its own.
Failure counts are keyed `column:check` with the check normalised (wrong_type, not_nullable,
unique, ge, le, isin, str_matches, str_length) so the three methods can be compared.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = Path(__file__).resolve().parent / "orders_bench.yaml"
sys.path[:0] = [str(ROOT / "functions" / "validator"), str(ROOT / "functions" / "common")]

from etl_validator.contract import Contract, load_contract  # noqa: E402

PANDERA_NAMES = {"greater_than_or_equal_to": "ge", "less_than_or_equal_to": "le",
                 "greater_than": "gt", "less_than": "lt", "equal_to": "eq", "not_equal_to": "ne",
                 "isin": "isin", "notin": "notin", "str_matches": "str_matches",
                 "str_length": "str_length", "field_uniqueness": "unique",
                 "not_nullable": "not_nullable", "in_range": "in_range"}


def _check_name(label: str) -> str:
    base = str(label).split("(", 1)[0].strip()
    return PANDERA_NAMES.get(base, base)


# ---- 1. ours: the Lambda's own streaming code path (validation.validate) on a local file ----

class LocalFile:
    """A local file as `validation.Source`: a key, a size and a fresh body per read."""

    def __init__(self, path: Path) -> None:
        self.key, self.size, self.path = str(path), path.stat().st_size, path

    def body(self) -> BinaryIO:
        return open(self.path, "rb")


def run_ours(path: Path, contract: Contract) -> tuple[int, dict[str, int]]:
    """Validation with the staged form written as the file is read, as in the Lambda (to a
    local file here instead of S3's multipart upload), bad rows to a rejects file."""
    from etl_validator.staged import StagedWriter
    from etl_validator.validation import validate

    with tempfile.TemporaryFile() as staged, tempfile.TemporaryFile() as rejects:
        writer = StagedWriter(contract, staged, rejects if contract.error_threshold else None, compress=False)
        reading = validate(LocalFile(path), contract, writer.write)
        writer.close()
    counts: dict[str, int] = {}
    for failure in reading.report.to_list():
        reason = failure["reason"]
        check = {"wrong_type": "wrong_type", "null_value": "not_nullable",
                 "duplicate_value": "unique"}.get(reason) or _check_name(failure["check"])
        key = f"{failure['column']}:{check}"
        counts[key] = counts.get(key, 0) + failure["count"]
    return reading.rows, counts


# ---- 2. pandas read_csv + pandera (pandas backend) ----

def run_pandas(path: Path, contract: Contract) -> tuple[int, dict[str, int]]:
    import pandas as pd
    import pandera.pandas as pdp
    from pandera.errors import SchemaErrors

    from etl_validator.casting import INTEGER

    d = contract.dialect
    frame = pd.read_csv(path, sep=d.delimiter, quotechar=d.quote_char, encoding=d.encoding,
                        dtype=str, keep_default_na=False, na_values=list(d.null_values))
    counts: dict[str, int] = {}
    typed, bad_any = {}, pd.Series(False, index=frame.index)
    for c in contract.columns:
        text = frame[c.name]
        if c.type == "string":
            typed[c.name] = text
            continue
        if c.type == "integer":
            ok = text.str.strip().str.fullmatch(INTEGER.strip("^$"))
            values = pd.to_numeric(text.where(ok.fillna(False)), errors="coerce").astype("Int64")
        elif c.decimal:
            p, s = c.decimal
            ok = text.str.strip().str.fullmatch(rf"[+-]?\d{{1,{p - s}}}(\.\d{{1,{s}}})?")
            values = pd.to_numeric(text.where(ok.fillna(False)), errors="coerce")
        elif c.type in ("date", "timestamp"):
            values = pd.to_datetime(text, format=c.format, errors="coerce")
        else:
            raise NotImplementedError(c.type)
        bad = text.notna() & values.isna()
        if bad.any():
            counts[f"{c.name}:wrong_type"] = int(bad.sum())
            bad_any |= bad
        typed[c.name] = values
    frame = pd.DataFrame(typed)[~bad_any]
    schema = pdp.DataFrameSchema(
        {c.name: pdp.Column(None, [_pandera_check(pdp, k, v) for k, v in c.checks.items()],
                            nullable=c.nullable, unique=c.unique, report_duplicates="exclude_first")
         for c in contract.columns})
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        for (column, check), n in cases.groupby(["column", "check"], dropna=False).size().items():
            key = f"{column}:{_check_name(check)}"
            counts[key] = counts.get(key, 0) + int(n)
    return len(bad_any), counts


def _pandera_check(pdp, name, arg):
    factory = getattr(pdp.Check, name)
    return factory(**arg) if isinstance(arg, dict) else factory(arg)


# ---- 3. DuckDB SQL ----

def _sql_str(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def duckdb_sql(path: Path, contract: Contract) -> tuple[str, list[str]]:
    """One scan: type failures via TRY_CAST/TRY_STRPTIME/regex, value checks on rows with none."""
    d = contract.dialect
    cols = contract.columns
    typed, type_bad = [], []
    for c in cols:
        q = f'"{c.name}"'
        if c.type == "string":
            typed.append(f"{q} AS {q}")
            continue
        if c.type == "integer":
            expr = f"TRY_CAST(trim({q}) AS BIGINT)"
        elif c.decimal:
            p, s = c.decimal
            pattern = rf"[+-]?\d{{1,{p - s}}}(\.\d{{1,{s}}})?"
            expr = (f"CASE WHEN regexp_full_match(trim({q}), {_sql_str(pattern)}) "
                    f"THEN CAST(trim({q}) AS DOUBLE) END")
        elif c.type in ("date", "timestamp"):
            expr = f"TRY_STRPTIME(trim({q}), {_sql_str(c.format)})"
        else:
            raise NotImplementedError(c.type)
        typed.append(f"{expr} AS {q}")
        type_bad.append((c.name, f"({q} IS NOT NULL AND {expr} IS NULL)"))
    raw_cols = ", ".join(f'"{c.name}"' for c in cols)
    any_bad = " OR ".join(b for _, b in type_bad) or "false"
    aggregates, keys = [], []
    for name, bad in type_bad:
        aggregates.append(f"count_if(__raw_bad_{name})")
        keys.append(f"{name}:wrong_type")
    for c in cols:
        q = f'"{c.name}"'
        if not c.nullable:
            aggregates.append(f"count_if(__ok AND {q} IS NULL)")
            keys.append(f"{c.name}:not_nullable")
        for check, arg in c.checks.items():
            if check in ("ge", "le", "gt", "lt"):
                op = {"ge": "<", "le": ">", "gt": "<=", "lt": ">="}[check]
                cond = f"{q} {op} {arg}"
            elif check == "isin":
                cond = f"{q} NOT IN ({', '.join(_sql_str(v) for v in arg)})"
            elif check == "str_matches":
                cond = f"NOT regexp_full_match({q}, {_sql_str(arg)})"
            elif check == "str_length":
                parts = []
                if "min_value" in arg:
                    parts.append(f"length({q}) < {arg['min_value']}")
                if "max_value" in arg:
                    parts.append(f"length({q}) > {arg['max_value']}")
                cond = " OR ".join(parts)
            else:
                raise NotImplementedError(check)
            aggregates.append(f"count_if(__ok AND {q} IS NOT NULL AND ({cond}))")
            keys.append(f"{c.name}:{check}")
        if c.unique:
            aggregates.append(f"count({q}) - count(DISTINCT {q})")
            keys.append(f"{c.name}:unique")
    aggregates.append("count(*)")
    nulls = "[" + ", ".join(_sql_str(v) for v in d.null_values) + "]"
    bad_flags = ", ".join(f"{b} AS __raw_bad_{name}" for name, b in type_bad)
    sql = f"""
WITH raw AS (
  SELECT {raw_cols} FROM read_csv({_sql_str(path)}, all_varchar = true, header = {str(d.header).lower()},
      delim = {_sql_str(d.delimiter)}, quote = {_sql_str(d.quote_char)}, escape = {_sql_str(d.quote_char)},
      nullstr = {nulls}, strict_mode = true)
), typed AS (
  SELECT {", ".join(typed)}, NOT ({any_bad}) AS __ok, {bad_flags} FROM raw
)
SELECT {", ".join(aggregates)} FROM typed"""
    return sql, keys


def run_duckdb(path: Path, contract: Contract) -> tuple[int, dict[str, int]]:
    import duckdb

    sql, keys = duckdb_sql(path, contract)
    con = duckdb.connect()
    values = con.execute(sql).fetchone()
    counts = {k: int(v) for k, v in zip(keys, values[:-1], strict=True) if v}
    return int(values[-1]), counts


PRELOAD = {"ours": ["etl_validator.validation", "etl_validator.staged"],
           "pandas": ["pandas", "pandera.pandas"], "duckdb": ["duckdb"]}
METHODS = {"ours": run_ours, "pandas": run_pandas, "duckdb": run_duckdb}


def main() -> None:
    name, file = sys.argv[1], Path(sys.argv[2])
    contract = load_contract(Path(sys.argv[3]) if len(sys.argv) > 3 else CONTRACT)
    for module in PRELOAD[name]:  # imports are not part of the timing
        __import__(module)
    started = time.perf_counter()
    rows, counts = METHODS[name](file, contract)
    seconds = time.perf_counter() - started
    print(json.dumps({"method": name, "seconds": seconds, "rows": rows,
                      "failures": dict(sorted(counts.items()))}))


if __name__ == "__main__":
    main()
