"""examples/fit_point_cloud.ipynb runs from top to bottom (fast setting) in a kernel of this interpreter."""

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("torch")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "fit_point_cloud.ipynb"


@pytest.mark.slow
def test_fit_notebook_runs_in_the_fast_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("IFSKIT_NOTEBOOK_FAST", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    # "python3" must be this interpreter (jupyter_client starts 'python' kernels with sys.executable)
    nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    text = "".join(out.get("text", "") for out in outputs)
    assert text.rstrip().splitlines()[-1] == sys.executable
    assert text.count(">= attractor Hausdorff") == 7 and ": False;" not in text  # every bound holds
    # fern, tetrahedron, good and poor leaf; the letter, the horse, the terrain
    assert sum("image/png" in out.get("data", {}) for out in outputs) == 7
    assert text.count("occupancy IoU") == 7
    assert "maps chosen:" in text
