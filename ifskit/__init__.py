"""ifskit: fractals of affine maps (iterated function systems).

Load or build an :class:`IFS`, render it with the chaos game, save it::

    import ifskit
    fern = ifskit.catalog("barnsley_fern")
    points = ifskit.chaos_game(fern, n_points=100_000, seed=0)      # (n, 2)
    counts = ifskit.density(fern, size=(1024, 1024), n_points=10**7)  # (1024, 1024)
    image = ifskit.render_image(fern, size=1024)                     # (1024, 1024, 4) uint8
    ifskit.save(fern, "fern.yaml")

Every public name is listed in ``__init__.pyi`` beside this file and loaded on first use:
``import ifskit`` imports neither numba nor torch, and ``dir(ifskit)``, ``help()`` and
editors see every name.
"""

import lazy_loader

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
