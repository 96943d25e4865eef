"""A stand-in for a Glue crawler over CSV: catalog each dataset folder as a table.

moto's crawler never creates tables. This one does what the template's crawler is set up
to do: one table per folder at the configured level, named with the table prefix, the
header read with the first matching CSV classifier and column types inferred from a sample.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import re
import zlib
from collections import defaultdict
from typing import Any

from etl_common.column_types import SCALAR_TYPES
from etl_validator.casting import FLOAT, INTEGER

SAMPLE_BYTES = 1 << 20
SAMPLE_ROWS = 1000


def _infer(values: list[str]) -> str:
    """The logical type of a sampled column as the crawler catalogs it: booleans are only
    true/false here, not every word the validator accepts."""
    present = [v for v in values if v != ""]
    if not present:
        return "string"
    if all(re.fullmatch(INTEGER, v) for v in present):
        return "integer"
    if all(re.fullmatch(FLOAT, v) for v in present):
        return "float"
    if all(v.lower() in {"true", "false"} for v in present):
        return "boolean"
    return "string"


def _pick_classifier(text: str, classifiers: list[dict[str, Any]]) -> dict[str, Any]:
    """The classifier whose delimiter splits the header into the most columns, as Glue picks by certainty."""
    first = text.splitlines()[0] if text else ""
    return max(classifiers, key=lambda c: len(first.split(c.get("Delimiter", ","))),
               default={"Delimiter": ",", "QuoteSymbol": '"', "ContainsHeader": "PRESENT"})


def _excluded(relative: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(relative, p.replace("**", "*")) for p in patterns)


def table_columns(sample: bytes, classifier: dict[str, Any]) -> list[dict[str, str]]:
    """Column names from the header and types inferred from the sampled rows."""
    text = sample.decode("utf-8", errors="replace").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=classifier.get("Delimiter", ","),
                           quotechar=classifier.get("QuoteSymbol", '"')))[: SAMPLE_ROWS + 1]
    header, body = rows[0], rows[1:-1] if len(sample) >= SAMPLE_BYTES else rows[1:]
    return [{"Name": name.strip().lower(),
             "Type": SCALAR_TYPES[_infer([r[i] for r in body if i < len(r)])].glue}
            for i, name in enumerate(header)]


def _new_folders_only(crawler: dict[str, Any]) -> bool:
    """RecrawlPolicy CRAWL_NEW_FOLDERS_ONLY: "crawl only folders that were added since the last
    crawler run" (https://docs.aws.amazon.com/glue/latest/webapi/API_RecrawlPolicy.html); a folder
    a table already covers is left as it is."""
    return (crawler.get("RecrawlPolicy") or {}).get("RecrawlBehavior") == "CRAWL_NEW_FOLDERS_ONLY"


def _table_locations(glue: Any, database: str) -> set[str]:
    return {t.get("StorageDescriptor", {}).get("Location") for page in glue.get_paginator("get_tables").paginate(
        DatabaseName=database) for t in page["TableList"]}


def crawl(s3: Any, glue: Any, crawler: dict[str, Any], classifiers: dict[str, dict[str, Any]]) -> list[str]:
    """Catalog every S3 target of `crawler`; returns the table names created or updated."""
    config = json.loads(crawler.get("Configuration") or "{}")
    level = config.get("Grouping", {}).get("TableLevelConfiguration")
    chosen = [classifiers[name] for name in crawler.get("Classifiers", []) if name in classifiers]
    tables = []
    for target in crawler["Targets"].get("S3Targets", []):
        bucket, _, prefix = target["Path"].removeprefix("s3://").partition("/")
        depth = (level - 1 - len([p for p in prefix.split("/") if p])) if level else 1
        groups: dict[str, list[str]] = defaultdict(list)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                relative = obj["Key"][len(prefix):]
                parts = relative.split("/")
                if obj["Key"].endswith("/") or len(parts) <= depth or _excluded(relative, target.get("Exclusions", [])):
                    continue
                groups["/".join(parts[:depth])].append(obj["Key"])
        existing = _table_locations(glue, crawler["DatabaseName"]) if _new_folders_only(crawler) else set()
        for folder, keys in sorted(groups.items()):
            if f"s3://{bucket}/{prefix}{folder}/" in existing:
                continue
            sample = s3.get_object(Bucket=bucket, Key=keys[0], Range=f"bytes=0-{SAMPLE_BYTES - 1}")["Body"].read()
            if keys[0].endswith(".gz"):  # Glue's crawler reads gzip CSV; the sample is a prefix of it
                sample = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(sample)
            classifier = _pick_classifier(sample.decode("utf-8", errors="replace"), chosen)
            name = crawler.get("TablePrefix", "") + re.sub(r"[^a-z0-9_]", "_", folder.split("/")[-1].lower())
            table = {
                "Name": name,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "csv", "delimiter": classifier.get("Delimiter", ","),
                               "skip.header.line.count": "1", "UPDATED_BY_CRAWLER": crawler["Name"]},
                "StorageDescriptor": {
                    "Columns": table_columns(sample, classifier),
                    "Location": f"s3://{bucket}/{prefix}{folder}/",
                    "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                    "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                                  "Parameters": {"field.delim": classifier.get("Delimiter", ",")}},
                },
            }
            try:
                glue.create_table(DatabaseName=crawler["DatabaseName"], TableInput=table)
            except glue.exceptions.AlreadyExistsException:
                glue.update_table(DatabaseName=crawler["DatabaseName"], TableInput=table)
            tables.append(name)
    return tables
