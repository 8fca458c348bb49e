"""Fitting IFS maps to a point cloud with the collage theorem (torch).

If a target cloud ``T`` is within ``e`` of its collage ``W(T) = U_i w_i(T)`` (Hausdorff
distance) and every map contracts by at most ``s < 1``, the attractor of the maps is
within ``e / (1 - s)`` of ``T``. :func:`fit` makes ``e`` small by gradient descent on
maps that are contractive by construction (:mod:`ifskit.fit.params`), with
differentiable distances (:mod:`ifskit.fit.losses`)::

    import ifskit
    result = ifskit.fit(points, n_maps=3)      # points: (n, 2) or (n, 3)
    result.ifs, result.collage_error, result.bound, result.attractor_chamfer
"""

import sys
import types

from .fitter import FitResult, fit, refine
from .params import maps_from_params, n_params, params_from_maps

__all__ = ["FitResult", "fit", "maps_from_params", "n_params", "params_from_maps", "refine"]


class _CallableModule(types.ModuleType):
    """``ifskit.fit`` is both this package and the function :func:`fit`: importing any
    ``ifskit.fit.*`` module makes the attribute ``ifskit.fit`` the package, so the
    package forwards calls to the function and ``ifskit.fit(points, 3)`` always works."""

    def __call__(self, *args, **kwargs):
        return fit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
