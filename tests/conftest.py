"""Shared fixtures."""

from pathlib import Path

import numpy as np
import pytest

import ifskit

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def sierpinski() -> ifskit.IFS:
    return ifskit.catalog("sierpinski")


@pytest.fixture
def fern() -> ifskit.IFS:
    return ifskit.catalog("barnsley_fern")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def cli():
    """Run ``ifskit ARGS`` in this process; returns the exit code (argparse's too)."""
    from ifskit.cli import main

    def run(*args):
        try:
            return main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors and --help
            return exc.code

    return run
