"""Exceptions and warnings that ifskit raises for user mistakes.

Everything a user can get wrong (a malformed file, a bad argument, an existing
output) raises a subclass of :class:`IfskitError`; the command line turns it into
one line on stderr and exit code 2. Any other exception is a bug in ifskit.
"""

from __future__ import annotations


class IfskitError(Exception):
    """Base class of the errors caused by user input."""


class FormatError(IfskitError, ValueError):
    """A file or value that cannot be read as an IFS or point cloud.

    Parameters
    ----------
    message : str
        What is wrong, in one line.
    path : str, optional
        The file at fault.
    line : int, optional
        The 1-based line number in ``path``.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:" + (f"{self.line}:" if self.line is not None else "") + " "
        return where + self.message


class ParameterError(IfskitError, ValueError):
    """A bad argument to a function: out of range, of the wrong kind, or inconsistent.

    Parameters
    ----------
    message : str
        What is wrong, in one line, naming the Python parameter as ``parameter`` spells it
        (the command line shows its own flag in its place, e.g. ``n_maps`` as ``--maps``).
    parameter : str
        The name of the parameter at fault.
    """

    def __init__(self, message: str, parameter: str):
        self.message = message
        self.parameter = parameter
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class NonContractiveError(IfskitError, ValueError):
    """An IFS that is not contractive (on average) where contraction is needed."""


class UnknownNameError(IfskitError, LookupError):
    """An unknown catalog name or ``.ifs`` entry; the message suggests close names."""

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0])


class OutputError(IfskitError, OSError):
    """An output that cannot be written: existing file, missing folder, bad suffix."""

    def __str__(self) -> str:
        return str(self.args[0])


class IfskitWarning(UserWarning):
    """Something ifskit fixed or tolerated for you (renormalized probabilities, ...)."""
