"""Fitting IFS maps to a point cloud with the collage theorem (torch).

If a target cloud ``T`` is within ``e`` of its collage ``W(T) = U_i w_i(T)`` (Hausdorff
distance) and every map contracts by at most ``s < 1``, the attractor of the maps is
within ``e / (1 - s)`` of ``T``. :func:`fit` makes ``e`` small by gradient descent on
maps that are contractive by construction (:mod:`ifskit.ops.contractive`), with
differentiable distances (:mod:`ifskit.ops.losses`)::

    import ifskit
    result = ifskit.fit(points, n_maps=3)      # points: (n, 2) or (n, 3)
    result.ifs, result.collage_error, result.bound, result.attractor_chamfer
"""

from .fitter import FitResult, fit, refine

__all__ = ["FitResult", "fit", "refine"]
