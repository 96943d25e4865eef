"""The local stack's moto patches (local/etl_local/seams.py) still fit the pinned moto."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _moto_pin() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = [m.group(1) for dep in project["dependencies"]
            if (m := re.fullmatch(r"moto(?:\[[^\]]*\])?\s*==\s*([^\s;,]+)", dep.strip()))]
    assert len(pins) == 1, f"expected one exact moto pin (moto[...]==X) in pyproject.toml, found {project['dependencies']}"
    return pins[0]


def test_seams_fit_the_installed_moto():
    from etl_local import seams

    seams.check()  # raises if moto's version or the patched internals moved


def test_seams_pin_matches_pyproject():
    from etl_local import seams

    assert seams.MOTO_VERSION == _moto_pin(), (
        f"seams.MOTO_VERSION is {seams.MOTO_VERSION} but pyproject.toml pins moto=={_moto_pin()}: "
        "re-check the patches in local/etl_local/seams.py against that moto, then update both")


def test_payload_size_is_counted_as_step_functions_counts_it():
    from etl_local import seams

    # Compact JSON in UTF-8 bytes, not moto's ASCII-escaped, spaced JSON (15 bytes here).
    assert seams.payload_bytes({"s": "é"}) == len('{"s":"é"}'.encode("utf-8")) == 10
    assert seams.PAYLOAD_LIMIT == 256 * 1024
