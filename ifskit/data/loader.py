"""A torch ``Dataset`` that renders the samples of a recipe on the fly.

Sample ``i`` is :meth:`Recipe.make` ``(i, seed)``, a pure function: the same picture or cloud
that ``ifskit dataset`` writes for the same recipe and seed, whichever ``DataLoader`` worker
makes it and in whatever order.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch  # this module is the torch part of ifskit.data, loaded only when FractalDataset is used

from ..errors import FormatError, ParameterError
from .factory import MANIFEST, read_manifest, search_categories
from .recipes import CategoryRecipe, Recipe, get_recipe


class FractalDataset(torch.utils.data.Dataset):
    """Samples ``0 .. count - 1`` of a recipe, rendered when asked for.

    Parameters
    ----------
    count : int
        Number of samples.
    recipe : Recipe or str
        A recipe (:func:`ifskit.data.get_recipe`) or a name with default settings.
    seed : int
        Dataset seed.
    transform : callable, optional
        Applied to the sample's tensor after the augmentations below (torchvision's, for example).
    crop : int, optional
        Pictures: a random square crop of this side (FractalDB trains on 224 x 224 crops of its
        362 x 362 pictures).
    flip : bool
        A random mirror image, half of the time: pictures left-right, clouds ``x -> -x``.
    rotate : bool
        Clouds: a random rotation about the vertical axis (z in 3D; the plane in 2D).
    jitter : float
        Clouds: Gaussian noise of this standard deviation added to every coordinate.
    workers : int, optional
        Threads of the category search, run here when the dataset is made (default: the
        cores); the ``DataLoader``'s workers get the categories with the dataset.

    Items are ``(x, label)``: for picture recipes ``x`` is the picture as a uint8 tensor
    (S, S) grey or (S, S, 3) colour, the pixels of the written PNG; for cloud recipes
    (``clouds``, ``pc-fractaldb``) the points, float32 (n_points, dim), the written ``.npy``
    (as float32). ``label`` is the category (the sample number for recipes without categories).

    The augmentations draw from torch's random generator, which ``DataLoader`` seeds in each
    worker (pass it a ``generator`` for the same draws every run); without them, item ``i`` is
    always the same tensor. Consecutive samples of a category share their points (FractalDB's
    flips of a weighting): a ``DataLoader`` without ``shuffle`` (or a sampler that keeps them
    together) renders less.
    """

    def __init__(
        self,
        count: int,
        recipe: Recipe | str = "fractaldb",
        *,
        seed: int = 0,
        transform=None,
        crop: int | None = None,
        flip: bool = False,
        rotate: bool = False,
        jitter: float = 0.0,
        workers=None,
    ):
        self.recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
        self.recipe.check_count(count)
        self.count, self.seed, self.transform = int(count), int(seed), transform
        if crop is not None and (isinstance(crop, bool) or int(crop) != crop or crop < 1):
            raise ParameterError(f"crop must be a positive whole number of pixels, got {crop!r}", "crop")
        if not float(jitter) >= 0:
            raise ParameterError(f"jitter must be a standard deviation >= 0, got {jitter!r}", "jitter")
        self.crop, self.flip, self.rotate, self.jitter = crop, bool(flip), bool(rotate), float(jitter)
        if isinstance(self.recipe, CategoryRecipe):
            search_categories(self.recipe, self.seed, self.count, workers=workers)

    @classmethod
    def from_folder(cls, folder, **options) -> FractalDataset:
        """The dataset written in ``folder`` by ``ifskit dataset``: its recipe, seed, count and categories.

        The categories are read from the manifest, not searched again; ``options`` are those of
        the class (``transform``, ``crop``, ``flip``, ...).

        Raises
        ------
        FormatError
            No manifest in ``folder``, or one that does not describe a dataset.
        """
        manifest = read_manifest(folder)
        if manifest is None:
            raise FormatError("no dataset here (no manifest)", Path(folder) / MANIFEST)
        try:
            recipe = get_recipe(manifest["recipe"], **manifest["settings"])
            seed, count = int(manifest["seed"]), int(manifest["count"])
            if isinstance(recipe, CategoryRecipe):
                recipe.adopt(seed, dict(enumerate(manifest["categories"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(
                f"not a dataset manifest ({type(exc).__name__}: {exc})", Path(folder) / MANIFEST
            ) from None
        return cls(count, recipe, seed=seed, **options)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        if not -self.count <= index < self.count:
            raise IndexError(f"sample {index} of a dataset of {self.count}")
        index = index % self.count
        sample = self.recipe.make(index, self.seed)
        if "image" in sample:
            x = self._augment_picture(torch.from_numpy(sample["image"]))
        else:
            x = self._augment_cloud(torch.from_numpy(sample["points"]))
        if self.transform is not None:
            x = self.transform(x)
        return x, self.recipe.label(index)

    def _augment_picture(self, image: torch.Tensor) -> torch.Tensor:
        """A random crop and mirror image of a picture (S, S) or (S, S, 3)."""
        if self.crop is not None:
            height, width = image.shape[:2]
            if self.crop > min(height, width):
                raise ParameterError(f"crop {self.crop} is larger than the pictures ({height} x {width})", "crop")
            top, left = (int(torch.randint(0, n - self.crop + 1, ())) for n in (height, width))
            image = image[top : top + self.crop, left : left + self.crop]
        if self.flip and bool(torch.rand(()) < 0.5):
            image = image.flip(1)
        return image.contiguous()

    def _augment_cloud(self, points: torch.Tensor) -> torch.Tensor:
        """A random mirror image, turn about the vertical axis and jitter of a cloud (n, d)."""
        if self.flip and bool(torch.rand(()) < 0.5):
            points = points * torch.tensor([-1.0] + [1.0] * (points.shape[1] - 1))
        if self.rotate:
            angle = float(torch.rand(())) * 2 * math.pi
            c, s = math.cos(angle), math.sin(angle)
            turn = torch.eye(points.shape[1])
            turn[:2, :2] = torch.tensor([[c, -s], [s, c]])
            points = points @ turn.T
        if self.jitter > 0:
            points = points + self.jitter * torch.randn(points.shape)
        return points.to(torch.float32).contiguous()
