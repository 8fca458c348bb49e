"""Fitting IFS maps to a point cloud with the collage theorem (torch).

If a target cloud ``T`` is within ``e`` of its collage ``W(T) = U_i w_i(T)`` (Hausdorff
distance) and every map contracts by at most ``s < 1``, the attractor of the maps is
within ``e / (1 - s)`` of ``T``. :func:`fit` makes ``e`` small by gradient descent on
maps that are contractive by construction (:mod:`ifskit.fit.params`), with
differentiable distances (:mod:`ifskit.fit.losses`).
"""

from .params import maps_from_params, n_params, params_from_maps

__all__ = ["maps_from_params", "n_params", "params_from_maps"]
