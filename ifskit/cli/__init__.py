"""The ``ifskit`` command.

Every command reports user mistakes as one line ``ifskit: error: ...`` on stderr
with exit code 2, writes outputs atomically and refuses to replace an existing
file without ``--overwrite``. ``--json`` prints one JSON object of figures.

One module per command family (:mod:`.render`, :mod:`.info`, :mod:`.animate`, :mod:`.fit`,
:mod:`.image`, :mod:`.dataset`, :mod:`.neural`), each with ``register(commands, name)``, which
adds the parser of one of its commands to the sub-parser group ``commands`` and sets ``run=`` to its
``cmd_*`` function (parsed arguments in, exit code out); what they share is in
:mod:`._common`. The modules import numba, torch and the other heavy packages only where a
command runs, so that ``ifskit --help`` and ``ifskit catalog`` start fast.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings

from .. import __version__
from ..errors import IfskitError, IfskitWarning
from . import animate, dataset, fit, image, info, neural, render
from ._common import Parser, print_error

#: Every command and the module that defines it, in the order of ``ifskit --help``.
COMMANDS = {
    "render": render,
    "info": info,
    "catalog": info,
    "gallery": render,
    "dimension": info,
    "transform": info,
    "view": render,
    "interpolate": animate,
    "fit": fit,
    "compress": image,
    "decompress": image,
    "train-image-encoder": image,
    "fractalize": image,
    "dataset": dataset,
    "train-encoder": neural,
    "encode": neural,
}


def build_parser() -> Parser:
    """The parser of the ``ifskit`` command line; ``parser.commands`` holds the parser of each command by name."""
    parser = Parser(
        prog="ifskit",
        description=(
            "Fractals of affine maps (iterated function systems): render and inspect them, fit or encode "
            "an IFS from a point cloud, morph between IFS in movies, compress images as collages. "
            "'ifskit COMMAND --help' explains each command."
        ),
        epilog="Example: ifskit render barnsley_fern -o fern.png --points 1e8 --size 2048",
    )
    parser.add_argument("--version", action="version", version=f"ifskit {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the Python traceback of an unexpected error (a bug in ifskit), to report it; "
        "may be given anywhere on the line",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for name, module in COMMANDS.items():
        module.register(commands, name)
    parser.commands = commands.choices
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(f"ifskit: warning: {message}\n")


def main(argv=None) -> int:
    """Run the command line; returns the exit code.

    The one error path: a user's mistake (:class:`~ifskit.errors.IfskitError`) is one line and
    exit code 2; anything else is a bug in ifskit, one line saying so and exit code 1, with the
    traceback only under ``--debug``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug anywhere, not only before the command, where argparse alone would want it
    debug = "--debug" in argv[: argv.index("--")] if "--" in argv else "--debug" in argv
    if debug:
        argv.remove("--debug")
    try:
        # inside: a command's arguments are added (and their modules imported) while parsing
        parser = build_parser()
        args = parser.parse_args(argv)
        return _run(args, parser)
    except Exception as error:  # not a user's mistake: a bug, one line unless --debug
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"ifskit: error: {bug_message(error)}\n")
        return 1


def bug_message(error: BaseException) -> str:
    """The one line shown for an unexpected exception: what it was, and that it is a bug."""
    if isinstance(error, MemoryError):
        return "out of memory (use smaller sizes or fewer points; rerun with --debug to see where)"
    text = str(error).strip().splitlines()
    detail = f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__
    return (
        f"internal error, a bug in ifskit {__version__} ({detail}); rerun with --debug for the traceback and report it"
    )


def _run(args, parser) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("always", IfskitWarning)
        warnings.showwarning = _show_warning
        try:
            return args.run(args)
        except IfskitError as error:
            print_error(error, parser.commands[args.command])
            return 2
        except KeyboardInterrupt:
            sys.stderr.write("ifskit: interrupted\n")
            return 130
        except BrokenPipeError:  # e.g. 'ifskit catalog | head': the reader left, not an error
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (keep Python from failing on exit)
            return 0
        except OSError as error:
            if error.strerror is None:  # not the system's refusal: a bug
                raise
            # the machine refused (disk full, permission, name too long) where no writer of
            # ifskit caught it: the user's to fix, not a bug
            where = f"{error.filename}: " if error.filename else ""
            sys.stderr.write(f"ifskit: error: {where}{error.strerror}\n")
            return 2
