"""The package's namespaces: ``import jaxcalc`` alone makes the documented ones usable."""

import os
import subprocess
import sys
from pathlib import Path

import jaxcalc


def test_import_jaxcalc_makes_objectives_and_optimizers_available():
    # a fresh interpreter: in this one, other tests have imported the subpackages already
    code = (
        "import jaxcalc as jc\n"
        "print(jc.objectives.get('booth').f_opt)\n"
        "print('adam' in jc.optimizers.optimizer_names())\n"
    )
    root = str(Path(jaxcalc.__file__).resolve().parents[1])  # this checkout's jaxcalc
    env = {**os.environ, "PYTHONPATH": root}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["0.0", "True"]


def test_public_names_are_importable():
    for name in jaxcalc.__all__:
        assert hasattr(jaxcalc, name), name
