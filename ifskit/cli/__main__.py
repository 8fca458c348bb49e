"""``python -m ifskit.cli ARGS``: the ``ifskit`` command."""

import sys

from . import main

sys.exit(main())
