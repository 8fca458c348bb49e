"""The floor plan holds: import-linter's contracts (pyproject.toml), and an IFS that needs no renderer."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint_imports is None:
        pytest.skip("import-linter is not installed (pip install 'ifskit[test]')")
    run = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "BROKEN" not in run.stdout and "layers KEPT" in run.stdout


IFS_USE = """
import sys
import numpy as np
from ifskit.ifs import IFS

ifs = IFS(np.repeat(0.5 * np.eye(2)[None], 3, axis=0), [[0, 0], [0.5, 0], [0.25, 0.5]], name="s")
for name in dir(ifs):
    value = getattr(ifs, name)
    if callable(value) and name in ("bounding_ball", "guaranteed_bounds", "describe", "check_contractive"):
        value()
ifs.apply(np.zeros((4, 2)))
ifs.extent_of(np.zeros((4, 2)))
ifs.conjugate(2 * np.eye(2))
print(sorted(m for m in sys.modules if m == "numba" or m == "torch" or m.startswith("ifskit.")))
"""


def test_the_value_type_needs_no_renderer():
    run = subprocess.run([sys.executable, "-c", IFS_USE], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = eval(run.stdout)  # a list of module names
    assert "numba" not in loaded and "torch" not in loaded
    assert set(loaded) <= {"ifskit", "ifskit.ifs", "ifskit.errors"}, loaded


def test_import_ifskit_loads_neither_numba_nor_torch():
    code = "import sys, ifskit; dir(ifskit); ifskit.IFS; print('numba' in sys.modules, 'torch' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "False"]


def test_the_public_api_is_visible_and_loads():
    import ifskit

    names = dir(ifskit)
    for name in (
        "fit",
        "refine",
        "FitResult",
        "encode",
        "chaos_game",
        "density",
        "load",
        "save",
        "IFS",
        "ParameterError",
        "tight_bounds",
        "interpolate",
        "make_movie",
        "compress_image",
    ):
        assert name in names and name in ifskit.__all__
        assert getattr(ifskit, name) is not None
    assert callable(ifskit.fit) and ifskit.fit.__module__.startswith("ifskit.fitting")
    assert (ROOT / "ifskit" / "py.typed").is_file() and (ROOT / "ifskit" / "__init__.pyi").is_file()
