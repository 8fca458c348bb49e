"""Torch primitives shared by the fitter, the point-cloud encoder and the image collages.

- :mod:`~ifskit.ops.device`: where torch work runs (:func:`resolve_device`, :func:`one_torch_thread`);
- :mod:`~ifskit.ops.contractive`: affine maps that are contractive by construction;
- :mod:`~ifskit.ops.knn`: nearest neighbours between clouds, differentiable distances to them;
- :mod:`~ifskit.ops.losses`: Chamfer and smooth Hausdorff distances, collages, coverage shares.

Importing any of these imports torch.
"""
