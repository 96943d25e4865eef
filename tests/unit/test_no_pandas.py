"""The validator must import without pandas or numpy: the Lambda package leaves them out to stay
under 250 MB, so an import that pulls them in only fails once deployed."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

# numpy and pandas behave as if not installed (pandera handles that; a None in sys.modules it does not).
BLOCK = ("import sys\n"
         "class Absent:\n"
         "    def find_spec(self, name, path=None, target=None):\n"
         "        if name.split('.')[0] in {'numpy', 'pandas'}:\n"
         "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
         "sys.meta_path.insert(0, Absent())\n")


def test_validator_and_its_checks_import_without_numpy_or_pandas():
    code = BLOCK + ("import etl_validator.plan, etl_validator.checks\n"
                    "from etl_validator.contract import load_all\nfrom pathlib import Path\n"
                    "load_all(Path('contracts'))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": f"{ROOT / 'functions/validator'}:{ROOT / 'functions/common'}"})
    assert done.returncode == 0, done.stderr[-2000:]
