"""Fitting IFS maps to a point cloud with the collage theorem (torch).

If a target cloud ``T`` is within ``e`` of its collage ``W(T) = U_i w_i(T)`` (Hausdorff
distance) and every map contracts by at most ``s < 1``, the attractor of the maps is
within ``e / (1 - s)`` of ``T``. :func:`fit` makes ``e`` small by gradient descent on
maps that are contractive by construction (:mod:`ifskit.ops.contractive`), with
differentiable distances (:mod:`ifskit.ops.losses`)::

    import ifskit
    result = ifskit.fit(points, n_maps=3)      # points: (n, 2) or (n, 3)
    result.ifs, result.collage_error, result.bound, result.attractor_chamfer

Modules, in the order of a fit:

- :mod:`~ifskit.fitting.api`: :func:`fit`;
- :mod:`~ifskit.fitting.frame`: the cloud in the unit ball, the plane of a flat 3D cloud;
- :mod:`~ifskit.fitting.occupancy`, :mod:`~ifskit.fitting.cover`: the target's cells, copies of the shape that cover them;
- :mod:`~ifskit.fitting.polish`: those copies polished, the coverage fits;
- :mod:`~ifskit.fitting.checks`: checks of the cloud and of the settings;
- :mod:`~ifskit.fitting.starts`: starting maps from k-means parts, snapping maps to parts;
- :mod:`~ifskit.fitting.optimize`: the Adam steps and their loss (:class:`~ifskit.fitting.optimize.OptimizerSettings`);
- :mod:`~ifskit.fitting.choice`: the restart to go on with, the number of maps;
- :mod:`~ifskit.fitting.verify`: probabilities and the verification figures;
- :mod:`~ifskit.fitting.result`: :class:`FitResult`, drawn by :mod:`~ifskit.fitting.plot`;
- :mod:`~ifskit.fitting.refinement`: steps on maps you have, :func:`refine` and :func:`grow` (the encoder's
  refinement), and the k-means starts :func:`kmeans_starts`.

The names load on first use (torch is imported by the modules that optimize), so a
module above this one can import the package at its top and stay light.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=[
        "api",
        "checks",
        "choice",
        "frame",
        "optimize",
        "plot",
        "polish",
        "refinement",
        "result",
        "starts",
        "verify",
    ],
    submod_attrs={
        "api": ["fit"],
        "refinement": ["grow", "kmeans_starts", "refine"],
        "checks": ["check_settings"],
        "result": ["FitResult"],
    },
)
