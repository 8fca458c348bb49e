"""A torch ``Dataset`` that renders the samples of a recipe on the fly.

Sample ``i`` is :meth:`Recipe.make` ``(i, seed)``, a pure function: the same picture or cloud
that ``ifskit dataset`` writes for the same recipe and seed, whichever ``DataLoader`` worker
makes it and in whatever order.
"""

from __future__ import annotations

from pathlib import Path

import torch  # this module is the torch part of ifskit.data, loaded only when FractalDataset is used

from ..errors import FormatError
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
        Applied to the sample's tensor (torchvision augmentations, for example).
    workers : int, optional
        Threads of the category search, run here when the dataset is made (default: the
        cores); the ``DataLoader``'s workers get the categories with the dataset.

    Items are ``(x, label)``: for picture recipes ``x`` is the picture as a uint8 tensor
    (S, S) grey or (S, S, 3) colour, the pixels of the written PNG; for cloud recipes
    (``clouds``, ``pc-fractaldb``) the points, float32 (n_points, dim), the written ``.npy``
    (as float32). ``label`` is the category (the sample number for recipes without categories).

    Consecutive samples of a category share their points (FractalDB's flips of a weighting):
    a ``DataLoader`` without ``shuffle`` (or a sampler that keeps them together) renders less.
    """

    def __init__(self, count: int, recipe: Recipe | str = "fractaldb", *, seed: int = 0, transform=None, workers=None):
        self.recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
        self.recipe.check_count(count)
        self.count, self.seed, self.transform = int(count), int(seed), transform
        if isinstance(self.recipe, CategoryRecipe):
            search_categories(self.recipe, self.seed, self.count, workers=workers)

    @classmethod
    def from_folder(cls, folder, *, transform=None) -> FractalDataset:
        """The dataset written in ``folder`` by ``ifskit dataset``: its recipe, seed, count and categories.

        The categories are read from the manifest, not searched again.

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
        return cls(count, recipe, seed=seed, transform=transform)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        if not -self.count <= index < self.count:
            raise IndexError(f"sample {index} of a dataset of {self.count}")
        index = index % self.count
        sample = self.recipe.make(index, self.seed)
        data = sample["image"] if "image" in sample else sample["points"]
        x = torch.from_numpy(data.copy())
        if self.transform is not None:
            x = self.transform(x)
        return x, self.recipe.label(index)
