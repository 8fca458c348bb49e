"""What the commands share: the parser, argument types, the SOURCE and output options, the
report of figures, folders, the Dask client of ``--scheduler``, and the error printer.

The error printer shows a library :class:`~ifskit.errors.ParameterError` with the command's
own flag in place of the Python parameter it names (``n_maps`` as ``--maps``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
from pathlib import Path

from ..errors import OutputError, ParameterError
from ..limits import MAX_RENDER_PIXELS, check_seed


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (exit code 2).

    Two more keyword arguments, for the parser of a command:

    ``arguments``, if given, is a function that adds the command's arguments to the parser. It
    runs when the command is parsed or its help shown, not when the parser is built: a command
    whose choices or defaults come from a module that imports numba or torch names them there,
    so that ``ifskit --help`` and the other commands do not import that module.

    ``parameters`` maps library parameters to the dests of this command's options that set
    them, where the names differ only here (:func:`flag_of`; :data:`PARAMETER_DESTS` holds
    those of every command).

    ``commands``, of the top parser: the parser of each command by name.
    """

    def __init__(self, *args, arguments=None, parameters: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._deferred = arguments
        self.parameters = dict(parameters or {})
        self.commands: dict[str, Parser] = {}

    def _add_deferred_arguments(self) -> None:
        if self._deferred is not None:
            add, self._deferred = self._deferred, None
            add(self)

    def parse_known_args(self, args=None, namespace=None):
        self._add_deferred_arguments()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._add_deferred_arguments()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_deferred_arguments()
        return super().format_help()

    def error(self, message):
        sys.stderr.write(f"ifskit: error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


# ---- argument types -----------------------------------------------------------------------------
def count(text: str) -> int:
    """A positive whole number, also written as 2e8 or 10_000_000."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not value.is_integer() or value < 1 or value > 2**62:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(value)


def seed(text: str) -> int:
    """A random seed: a whole number from 0 to 2**63 - 1."""
    try:
        return check_seed(int(text))
    except (ValueError, ParameterError):
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**63 - 1, got {text!r}") from None


def count_at_most(limit: int, what: str):
    """An argparse type: a whole number from 1 to ``limit`` (written as :func:`count` accepts);
    ``what`` names it in the error."""

    def parse(text: str) -> int:
        value = count(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"expected {what} from 1 to {limit:,}, got {text!r}")
        return value

    return parse


#: Most threads of ``--threads``.
MAX_THREADS = 1024


#: A thread count: a whole number from 1 to :data:`MAX_THREADS`.
threads = count_at_most(MAX_THREADS, "a thread count")


def whole(text: str) -> int:
    """A whole number, 0 or more (a seed, a number of steps that may be 0)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more, got {text!r}")
    return value


def number_in(low: float, high: float, what: str, low_included: bool = False, high_included: bool = False):
    """An argparse type: a number between ``low`` and ``high`` (ends excluded unless said);
    ``what`` names it in the error (``expected a positive learning rate, got '-1'``). NaN fails."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        above = value >= low if low_included else value > low
        below = value <= high if high_included else value < high
        if not (above and below):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


def pixel_size(text: str) -> tuple:
    """``N`` or ``WxH`` in pixels, returned as (H, W); at most :data:`~ifskit.limits.MAX_RENDER_PIXELS` in all."""
    try:
        parts = [int(v) for v in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected N or WxH in pixels, got {text!r}")
    width, height = (parts[0], parts[0]) if len(parts) == 1 else parts
    if width * height > MAX_RENDER_PIXELS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is {width * height:,} pixels; ifskit renders at most {MAX_RENDER_PIXELS:,} (e.g. 4096x4096)"
        )
    return height, width


def render_device(text: str) -> str | None:
    """The torch device of --device, or None for the default Numba renderer."""
    return None if text == "numba" else text


def window(text: str) -> tuple:
    """``xmin,xmax,ymin,ymax``: four finite numbers."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected xmin,xmax,ymin,ymax, got {text!r}")
    return values


def floats(text: str) -> tuple:
    """One or more finite numbers separated by commas."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    return values


# ---- options every command family uses ----------------------------------------------------------
def add_source(parser) -> None:
    """The SOURCE argument and ``--name``."""
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="a .yaml, .ifs (Fractint) or .json file, or a catalog name (see 'ifskit catalog')",
    )
    parser.add_argument("--name", metavar="ENTRY", help="the entry of a multi-entry .ifs file (case-insensitive)")


def add_output_options(parser, overwrite: str | None = None, quiet: bool = False) -> None:
    """The options a command ends with: ``--overwrite`` (``overwrite`` is its help: what it
    replaces), ``--quiet`` (for a command with a progress bar), and ``--json``."""
    if overwrite is not None:
        parser.add_argument("--overwrite", action="store_true", help=overwrite)
    if quiet:
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def show_progress(args) -> bool:
    """Whether a command with ``--quiet`` shows its progress bar: not quiet, and stderr a terminal."""
    return not args.quiet and sys.stderr.isatty()


def report(args, figures: dict, text: str | None = None) -> None:
    """Print ``figures`` as one JSON object with ``--json``, else ``text`` (if any).

    Strict JSON: a figure that is NaN or infinite is refused (ValueError, a bug to report)
    rather than printed as ``NaN``/``Infinity``, which JSON readers reject.
    """
    if args.json:
        print(json.dumps(figures, allow_nan=False))
    elif text:
        print(text)


def make_folder(path) -> Path:
    """The folder ``path``, made if missing (its parent must exist)."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: is a file, not a folder")
    if not folder.parent.is_dir():
        raise OutputError(f"{folder}: the folder {str(folder.parent)!r} does not exist")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot make the folder: {exc.strerror}") from None
    return folder


@contextlib.contextmanager
def dask_client(scheduler: str | None):
    """The Dask client of --scheduler, or None without it."""
    if scheduler is None:
        yield None
        return
    # ifskit.distributed imports dask: only for the commands run with --scheduler
    from ..distributed import connect

    with connect(scheduler) as client:
        yield client


# ---- errors -------------------------------------------------------------------------------------
#: Library parameters set by options of other names, in every command: parameter -> the dests
#: of those options (a command's own such names: ``Parser(parameters=...)``).
PARAMETER_DESTS = {
    "n_maps": ("maps",),
    "n_points": ("points",),
    "n_frames": ("frames",),
    "client": ("scheduler",),
    "spec": ("scheduler",),
    "view": ("elev", "azim"),
    "batch_size": ("batch",),
    "learning_rate": ("lr",),
    "min_size": ("min_block",),
    "max_size": ("max_block",),
    "formats": ("format",),
    "png_size": ("size",),
}


def flag_of(parameter: str, parser: argparse.ArgumentParser | None = None) -> str:
    """The option of the command ``parser`` that sets the library's ``parameter``.

    The dests that the parser's ``parameters`` or :data:`PARAMETER_DESTS` give for it (else
    ``parameter`` itself) are looked up among the parser's options, each shown by its first
    long option string (``--elev/--azim`` for two); where none is found, ``--`` and the
    parameter with ``-`` for ``_``.
    """
    options, dests = {}, PARAMETER_DESTS.get(parameter, (parameter,))
    if parser is not None:
        options = {action.dest: action.option_strings for action in parser._actions}
        dests = getattr(parser, "parameters", {}).get(parameter, dests)
    flags = []
    for dest in dests:
        long = [option for option in options.get(dest, ()) if option.startswith("--")]
        if long:
            flags.append(long[0])
    return "/".join(flags) if flags else "--" + parameter.replace("_", "-")


def error_message(error: Exception, parser: argparse.ArgumentParser | None = None) -> str:
    """The message of ``error``; that of a :class:`~ifskit.errors.ParameterError` with the first
    whole-word occurrence of its parameter (not within a path or a dotted or hyphenated name)
    replaced by the option of the command ``parser`` (:func:`flag_of`)."""
    message = str(error)
    if isinstance(error, ParameterError):
        word = rf"(?<![\w./\\-]){re.escape(error.parameter)}(?![\w/\\-]|\.\w)"
        message = re.sub(word, lambda _: flag_of(error.parameter, parser), message, count=1)
    return message


def print_error(error: Exception, parser: argparse.ArgumentParser | None = None) -> None:
    """``ifskit: error: MESSAGE`` on stderr, in the words of the command ``parser``."""
    sys.stderr.write(f"ifskit: error: {error_message(error, parser)}\n")
