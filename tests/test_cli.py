"""The command-line package itself (:mod:`ifskit.cli`): its entry points, its start-up imports,
and the error printer that shows a library ``ParameterError`` with the command's own flag.

The commands' behaviour is tested in test_cli_errors.py and the test files of each topic.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from ifskit.cli import COMMANDS, build_parser
from ifskit.cli._common import error_message, flag_of
from ifskit.errors import FormatError, ParameterError

TWO_ENTRIES = "a {\n 0.5 0 0 0.5 0 0 0.5\n 0.5 0 0 0.5 0.5 0 0.5\n}\nb {\n 0.5 0 0 0.5 0 0 1\n}\n"


def ifskit(*args, cwd) -> subprocess.CompletedProcess:
    """``ifskit ARGS`` as a user runs it (``python -m ifskit.cli``)."""
    return subprocess.run(
        [sys.executable, "-m", "ifskit.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The message of the one ``ifskit: error:`` line of a user mistake (exit code 2)."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("ifskit: error: "), result.stderr
    return result.stderr[len("ifskit: error: ") : -1]


def command(name: str):
    return build_parser().commands[name]


# ---- a library ParameterError shows the command's flag ------------------------------------------
def test_name_of_a_catalog_entry_is_shown_as_the_flag(tmp_path):
    message = one_error_line(ifskit("render", "sierpinski", "--name", "x", "-o", "out.png", cwd=tmp_path))
    assert message == "--name picks an entry of a .ifs file, but 'sierpinski' is a catalog name"
    assert not (tmp_path / "out.png").exists()


def test_a_path_holding_the_parameter_is_left_alone(tmp_path):
    (tmp_path / "name").mkdir()
    (tmp_path / "name" / "lib.ifs").write_text(TWO_ENTRIES)
    message = one_error_line(ifskit("info", "name/lib.ifs", cwd=tmp_path))
    assert message == "name/lib.ifs: holds 2 entries; choose one with --name (a, b)"


def test_device_is_shown_as_the_flag(tmp_path):
    pytest.importorskip("torch")
    message = one_error_line(ifskit("render", "sierpinski", "-o", "out.png", "--device", "gpu", cwd=tmp_path))
    assert message.startswith("--device must be one of ") and message.endswith("got 'gpu'")


def test_the_flag_in_process(cli, tmp_path, capsys):
    (tmp_path / "one.yaml").write_text("maps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - [0.5, 0, 0, 0.5, 0.5, 0]\n")
    assert cli("info", tmp_path / "one.yaml", "--name", "a") == 2
    assert capsys.readouterr().err == (
        f"ifskit: error: {tmp_path / 'one.yaml'}: --name picks an entry of a .ifs file; this file holds one IFS\n"
    )


@pytest.mark.parametrize(
    "name, parameter, flag",
    [
        ("render", "name", "--name"),  # a dest: its first long option
        ("render", "overwrite", "--overwrite"),
        ("render", "n_points", "--points"),  # the table of names that differ
        ("render", "client", "--scheduler"),
        ("render", "spec", "--scheduler"),
        ("render", "view", "--elev/--azim"),
        ("render", "method", "--method"),
        ("fit", "n_maps", "--maps"),
        ("fit", "max_contraction", "--max-contraction"),
        ("train-encoder", "learning_rate", "--lr"),  # arguments added when parsed
        ("train-encoder", "batch_size", "--batch"),
        ("interpolate", "method", "--clouds"),  # the command's own table (ifs_from_cloud)
        ("interpolate", "steps", "--fit-steps"),
        ("interpolate", "n_frames", "--frames"),
        ("compress", "min_size", "--min-block"),
        ("dataset", "png_size", "--size"),
        ("catalog", "n_maps", "--n-maps"),  # no such option: the parameter as a flag
        ("catalog", "tol", "--tol"),
    ],
)
def test_flag_of_each_parameter(name, parameter, flag):
    parser = command(name)
    parser.format_help()  # as when the command is parsed: deferred arguments are added
    assert flag_of(parameter, parser) == flag


def test_only_the_first_whole_word_is_replaced():
    parser = command("fit")
    parser.format_help()
    error = ParameterError("n_maps = 5: n_maps maps need 5 points; n_mapsx", "n_maps")
    assert error_message(error, parser) == "--maps = 5: n_maps maps need 5 points; n_mapsx"
    for kept in ("data/n_maps/x.npy: too few", "x.n_maps is 3", "n_maps.npy: too few", "my_n_maps is 3"):
        assert error_message(ParameterError(kept, "n_maps"), parser) == kept
    assert error_message(ParameterError("a sentence about n_maps.", "n_maps"), parser) == "a sentence about --maps."
    # not a ParameterError: as it is
    assert error_message(FormatError("n_maps is bad", "f.yaml"), parser) == "f.yaml: n_maps is bad"
    assert error_message(ParameterError("device must be cpu", "device")) == "--device must be cpu"


# ---- entry points and start-up --------------------------------------------------------------------
def test_every_command_is_registered_in_the_help_order():
    parser = build_parser()
    assert list(parser.commands) == list(COMMANDS)
    listed = parser.format_help()
    where = [listed.index(f"\n    {name}") for name in COMMANDS]
    assert where == sorted(where)


def test_python_dash_m(tmp_path):
    result = ifskit("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("ifskit ")


START_UP = """
import sys
from ifskit.cli import main
try:
    code = main({args!r})
except SystemExit as exc:
    code = exc.code
print(code, 'numba' in sys.modules, 'torch' in sys.modules)
"""


@pytest.mark.parametrize("args", [["catalog"], ["catalog", "--json"], ["--help"], ["--version"]])
def test_start_up_imports_neither_numba_nor_torch(tmp_path, args):
    run = subprocess.run(
        [sys.executable, "-c", START_UP.format(args=args)], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert run.stdout.split()[-3:] == ["0", "False", "False"], run.stdout[-500:]


def test_deferred_arguments_are_in_the_help(tmp_path):
    result = ifskit("interpolate", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "--clouds {auto,encode,fit}" in result.stdout
    result = ifskit("train-encoder", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "--attractor-weight W" in result.stdout
