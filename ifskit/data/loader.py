"""A torch ``Dataset`` that renders the samples of a recipe on the fly.

Sample ``i`` is :meth:`Recipe.make` ``(i, seed)``, a pure function: the same picture or cloud
that ``ifskit dataset`` writes for the same recipe and seed, whichever ``DataLoader`` worker
makes it and in whatever order.
"""

from __future__ import annotations

import torch  # this module is the torch part of ifskit.data, loaded only when FractalDataset is used

from .recipes import Recipe, get_recipe


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

    Items are ``(x, label)``: for picture recipes ``x`` is the picture as a uint8 tensor
    (S, S) grey or (S, S, 3) colour, the pixels of the written PNG; for ``clouds`` the points,
    float32 (n_points, dim), the written ``.npy``. ``label`` is the category (the sample
    number for recipes without categories).
    """

    def __init__(self, count: int, recipe: Recipe | str = "fractaldb", *, seed: int = 0, transform=None):
        self.recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
        self.recipe.check_count(count)
        self.count, self.seed, self.transform = int(count), int(seed), transform

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
