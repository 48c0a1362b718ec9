"""docs/tutorial.ipynb runs from top to bottom in a fresh kernel, so it cannot rot.

The notebook checks its own numbers against closed forms (the homework's derivatives, the
tangent y = 4x - 4, Rosenbrock's Hessian at (1, 1)); a failed check is a failed cell here.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"


@pytest.mark.slow
def test_the_tutorial_runs_and_shows_its_figures(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    root = str(NOTEBOOK.parent.parent)
    env_path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path  # the kernel imports this checkout's jaxcalc
    try:
        client.execute()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    kernel_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    # homework 1-3, the comparison, the paths and the report's figure: shown inline,
    # each once (a figure returned and also flushed by the inline backend shows twice)
    assert len(images) == 6, len(images)
    texts = "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert "Derivative(1st derivative of 3x^2 + 1 = 6*x)" in texts
    assert "y = 4*x - 4" in texts
    assert "Trajectory(bfgs on rosenbrock" in texts
    assert any("text/html" in o.get("data", {}) for o in outputs)  # Trajectory and frames
    print(f"tutorial kernel CPU time: {kernel_cpu:.1f} s")
