"""The ``ifskit`` command.

Every command reports user mistakes as one line ``ifskit: error: ...`` on stderr
with exit code 2, writes outputs atomically and refuses to replace an existing
file without ``--overwrite``. ``--json`` prints one JSON object of figures.

One module per command family (:mod:`.render`, :mod:`.info`, :mod:`.animate`, :mod:`.fit`,
:mod:`.image`, :mod:`.neural`), each with ``register(commands, name)``, which adds the parser
of one of its commands to the sub-parser group ``commands`` and sets ``run=`` to its
``cmd_*`` function (parsed arguments in, exit code out); what they share is in
:mod:`._common`. The modules import numba, torch and the other heavy packages only where a
command runs, so that ``ifskit --help`` and ``ifskit catalog`` start fast.
"""

from __future__ import annotations

import os
import sys
import warnings

from .. import __version__
from ..errors import IfskitError, IfskitWarning
from . import animate, fit, image, info, neural, render
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
    "dataset": neural,
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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for name, module in COMMANDS.items():
        module.register(commands, name)
    parser.commands = commands.choices
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(f"ifskit: warning: {message}\n")


def main(argv=None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
