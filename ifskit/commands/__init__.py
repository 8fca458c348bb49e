"""Subcommands of ``ifskit`` beyond rendering, one module per topic.

Each module defines ``register(commands)``, which adds its parsers to the
``argparse`` sub-parser group ``commands`` and sets ``run=`` to a function taking
the parsed arguments and returning the exit code. Shared argument helpers
(``_count``, ``_size``, ``_add_output_options``, ``_report``, ...) are in :mod:`ifskit.cli`.
Import torch and other heavy packages inside the ``run`` functions only.
"""
