"""`sam build` the template and check each function fits Lambda's 250 MB unzipped limit.

Slow: `sam build` downloads the arm64 wheels (pyarrow alone is ~150 MB unzipped) and usually takes
1-3 minutes; BUILD_TIMEOUT allows for a slow index. The build runs once per module.
`pytest -s` shows the measured sizes. The tools are installed by `make test`; a missing SAM CLI
or python3.12 fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
BUILD_TIMEOUT = 900  # seconds
LIMIT = 262_144_000  # bytes: Lambda's 250 MB (MiB) for a function plus all its layers, unzipped
MB = 1024 * 1024

# The layers each function uses in template.yaml (Globals CommonLayer + the function's own).
EXPECTED_LAYERS = {
    "ValidatorFunction": ["CommonLayer", "ContractsLayer"],
    "MoverFunction": ["CommonLayer"],
}
REQUIRED_IN_VALIDATOR = ["pyarrow", "pandera"]
FORBIDDEN_IN_VALIDATOR = ["pandas", "numpy"]  # either would push the validator past the limit


def _runs(python: Path) -> bool:
    try:
        return subprocess.run([str(python), "-c", "import sys; assert sys.version_info[:2] == (3, 12)"],
                              capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _version_key(python: Path) -> tuple[int, ...]:
    # ~/.pyenv/versions/3.12.1/bin/python3.12 -> (3, 12, 1)
    return tuple(int(n) for n in re.findall(r"\d+", python.parents[1].name))


def _python312_bin() -> Path | None:
    """The folder with a working python3.12: on PATH, else the newest pyenv 3.12.x of the real home."""
    found = shutil.which("python3.12")
    candidates = [Path(found)] if found else []
    candidates += sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"), key=_version_key, reverse=True)
    return next((c.parent for c in candidates if _runs(c)), None)


# Computed at import time, before any test points HOME at a temporary folder.
PY312_BIN = _python312_bin()


def _sam() -> str:
    sam = os.environ.get("SAM_CLI") or shutil.which("sam")
    assert sam, "SAM CLI not found: set SAM_CLI to the sam executable (make test does) or put sam on PATH"
    assert Path(sam).exists(), f"SAM_CLI={sam} does not exist"
    return sam


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return (f"$ {' '.join(result.args)}\nexit code {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}")


def _bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class Build:
    def __init__(self, build_dir: Path) -> None:
        self.dir = build_dir
        self.template: dict[str, Any] = yaml_parse((build_dir / "template.yaml").read_text(encoding="utf-8"))
        self.resources: dict[str, Any] = self.template["Resources"]
        self.source: dict[str, Any] = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))

    def code_dir(self, function_id: str) -> Path:
        return (self.dir / self.resources[function_id]["Properties"]["CodeUri"]).resolve()

    def layers(self, function_id: str) -> list[str]:
        shared = self.template.get("Globals", {}).get("Function", {}).get("Layers", [])
        own = self.resources[function_id]["Properties"].get("Layers", [])
        return [layer["Ref"] for layer in list(shared) + list(own)]

    def layer_dir(self, layer_id: str) -> Path:
        return (self.dir / self.resources[layer_id]["Properties"]["ContentUri"]).resolve()


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Build:
    assert PY312_BIN, "python3.12 not found on PATH nor in ~/.pyenv/versions/3.12*: sam build needs it"
    sam = _sam()
    build_dir = tmp_path_factory.mktemp("sam-build")
    home = tmp_path_factory.mktemp("sam-home")
    env = dict(os.environ)
    env.update(HOME=str(home), SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION,
               PATH=f"{PY312_BIN}{os.pathsep}{env.get('PATH', '')}")
    # No container; --no-cached overrides samconfig.toml's `cached = true`.
    cmd = [sam, "build", "--template-file", str(TEMPLATE), "--build-dir", str(build_dir),
           "--no-cached", "--region", REGION]
    try:
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=BUILD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"sam build did not finish in {BUILD_TIMEOUT}s\nstdout:\n{exc.stdout}\nstderr:\n{exc.stderr}")
    assert result.returncode == 0, "sam build failed:\n" + _report(result)
    assert (build_dir / "template.yaml").exists(), "sam build wrote no template:\n" + _report(result)
    return Build(build_dir)


@pytest.mark.parametrize("function_id", sorted(EXPECTED_LAYERS))
def test_function_and_layers_fit_the_unzipped_limit(build, function_id):
    layers = build.layers(function_id)
    assert layers == EXPECTED_LAYERS[function_id], f"{function_id} uses layers {layers}"
    code = build.code_dir(function_id)
    assert (code / "app.py").is_file(), f"built {function_id} has no app.py in {code}"
    parts = {function_id: _bytes(code)}
    for layer_id in layers:
        path = build.layer_dir(layer_id)
        if "BuildMethod" not in build.resources[layer_id].get("Metadata", {}):
            # Not built (ContractsLayer): sam packages the source folder as is, so measure that.
            source = (ROOT / build.source["Resources"][layer_id]["Properties"]["ContentUri"]).resolve()
            assert path == source, f"{layer_id}: built template points at {path}, not {source}"
        assert path.is_dir(), f"{layer_id}: {path} is not a folder"
        parts[layer_id] = _bytes(path)
    total = sum(parts.values())
    detail = " + ".join(f"{name} {size / MB:.1f}" for name, size in parts.items())
    print(f"\n{function_id}: {total:,} bytes = {total / MB:.1f} MB unzipped of {LIMIT / MB:.0f} MB "
          f"({detail}; headroom {(LIMIT - total) / MB:.1f} MB)")
    assert total < LIMIT, (f"{function_id} and its layers unzip to {total:,} bytes ({detail} MB), "
                           f"over Lambda's limit of {LIMIT:,}")


def _packages(path: Path) -> set[str]:
    """Top-level importable names and distributions in a built folder (and a layer's python/)."""
    names = set()
    for folder in (path, path / "python"):
        if folder.is_dir():
            for entry in folder.iterdir():
                name = entry.name.split("-")[0] if entry.name.endswith((".dist-info", ".egg-info")) else entry.stem
                names.add(name.lower().replace("-", "_"))
    return names


def test_validator_ships_pyarrow_and_pandera_without_pandas_or_numpy(build):
    function_id = "ValidatorFunction"
    code = build.code_dir(function_id)
    own = _packages(code)
    missing = [name for name in REQUIRED_IN_VALIDATOR if name not in own]
    assert not missing, f"built {function_id} lacks {missing}; it has {sorted(own)}"
    everything = own.union(*(_packages(build.layer_dir(layer)) for layer in build.layers(function_id)))
    present = [name for name in FORBIDDEN_IN_VALIDATOR if name in everything]
    assert not present, (f"{present} got into {function_id} or its layers (a dependency pulled them in); "
                         f"they would push it past the 250 MB limit. Packages: {sorted(everything)}")
