"""Dataset recipes: what sample ``i`` of a dataset is, as a pure function of ``(seed, i)``.

A recipe turns a sample number into a sample (an IFS, its points, an image), says which files
a sample can be written as, and which arrays hold it in a shard. Every random draw of sample
``i`` comes from a stream seeded by ``(seed, i)`` (and a category's from ``(seed, category)``),
so a sample does not depend on which other samples were made, in which order, or where:
datasets resume, split over Dask workers, and render on the fly in a torch ``DataLoader``
with the same bytes.

Recipes: ``clouds`` (random IFS and their chaos-game clouds, the default), ``fractaldb``
(Kataoka et al. 2020) and ``svd`` (Anderson & Farrell 2022); :func:`get_recipe` makes one.
"""

from __future__ import annotations

import inspect
import io

import numpy as np

from .._io import write_bytes
from ..errors import ParameterError
from ..formats import save_points
from ..ifs import IFS
from ..io import save
from ..neural.dataset import make_sample
from ..neural.random import random_ifs
from ..render import chaos_game, render_image, save_png
from ..render.frame import fit_window

# Tags mixed into the seeds of the streams, so that a category's stream never equals a sample's.
_SAMPLE_STREAM = 0
_CATEGORY_STREAM = 1
_POINTS_STREAM = 2


def sample_stream(seed: int, index: int) -> np.random.Generator:
    """The random stream of sample ``index`` of dataset ``seed`` (depends on nothing else)."""
    return np.random.default_rng([int(seed), _SAMPLE_STREAM, int(index)])


def category_stream(seed: int, category: int) -> np.random.Generator:
    """The random stream of category ``category`` of dataset ``seed``."""
    return np.random.default_rng([int(seed), _CATEGORY_STREAM, int(category)])


def raster(points: np.ndarray, size: int, patch: np.ndarray | None = None) -> np.ndarray:
    """Binary picture of a 2D cloud as FractalDB draws it: each point lights its pixel (or a patch).

    The cloud is stretched to the picture on each axis (its bounding box fills it, as in the
    FractalDB renderer), y pointing up. Points that are not finite are dropped.

    Parameters
    ----------
    points : ndarray, shape (n, 2)
    size : int
        Picture size ``S`` (square).
    patch : ndarray, shape (3, 3), uint8, optional
        Stamped around every point (the brightest value wins where stamps overlap);
        default: the point's pixel is set to 255.

    Returns
    -------
    ndarray, shape (S, S), uint8
    """
    points = points[np.isfinite(points).all(axis=1)]
    image = np.zeros((size, size), dtype=np.uint8)
    if len(points) == 0:
        return image
    lo, hi = points.min(axis=0), points.max(axis=0)
    scale = (size - 1) / np.where(hi > lo, hi - lo, 1.0)
    cols = np.rint((points[:, 0] - lo[0]) * scale[0]).astype(np.intp)
    rows = size - 1 - np.rint((points[:, 1] - lo[1]) * scale[1]).astype(np.intp)
    if patch is None:
        image[rows, cols] = 255
        return image
    # a patch is 3x3 centred on the point: pad by one pixel, stamp, cut the border off
    padded = np.zeros((size + 2, size + 2), dtype=np.uint8)
    for dr in range(3):
        for dc in range(3):
            np.maximum.at(padded, (rows + dr, cols + dc), patch[dr, dc])
    return padded[1:-1, 1:-1].copy()


def _png_bytes(image: np.ndarray) -> bytes:
    """A uint8 picture (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA as PNG bytes (no time stamp: same bytes)."""
    from PIL import Image  # Pillow: only to write pictures

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _check_int(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or int(value) != value or not low <= int(value) <= high:
        raise ParameterError(f"{name} must be an integer in [{low}, {high}], got {value!r}", name)
    return int(value)


class Recipe:
    """Base of the recipes: settings, formats, samples and their files and shard arrays.

    Subclasses set :attr:`name`, :attr:`formats` (file types a sample can be written as,
    the first ones the default), implement :meth:`make` and :meth:`shard_arrays`, and take
    their settings as keyword options (checked, then kept in :attr:`settings`, which the
    manifest records).
    """

    name = ""
    formats: tuple = ()
    default_formats: tuple = ()
    #: Samples per category; None: no categories.
    instances: int | None = None

    def __init__(self, **settings):
        self.settings = settings

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.settings == other.settings

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"{type(self).__name__}({options})"

    def label(self, index: int) -> int:
        """Category of sample ``index`` (its number when the recipe has no categories)."""
        return int(index) if self.instances is None else int(index) // self.instances

    def check_count(self, count: int) -> None:
        """Refuse a dataset of ``count`` samples that the recipe cannot make (``ParameterError``)."""

    def categories(self, seed: int, count: int) -> list | None:
        """Parameters of every category used by samples ``0 .. count - 1`` (JSON-able), or None."""
        return None

    def check_formats(self, formats) -> tuple:
        """``formats`` checked (None: the default), duplicates removed."""
        if formats is None:
            return self.default_formats
        formats = tuple(dict.fromkeys(str(f).lower() for f in formats))
        unknown = [f for f in formats if f not in self.formats]
        if not formats or unknown:
            raise ParameterError(
                f"formats: recipe {self.name} writes some of {','.join(self.formats)}, got {','.join(formats)}",
                "formats",
            )
        return formats

    def make(self, index: int, seed: int) -> dict:
        """Sample ``index`` of dataset ``seed``: a dict of its parts (``ifs``, ``points``, ``image``)."""
        raise NotImplementedError

    def write_files(self, sample: dict, paths: dict) -> None:
        """Write the files ``{format: path}`` of one sample, each atomically."""
        raise NotImplementedError

    def shard_arrays(self, indices: np.ndarray, samples: list, formats) -> dict:
        """Arrays of a shard holding ``samples`` (numbers ``indices``), name -> array; ``index`` first."""
        raise NotImplementedError


class CloudsRecipe(Recipe):
    """Random IFS and their chaos-game clouds (the ``clouds`` recipe, the default).

    Each sample is a random contractive IFS of :func:`ifskit.random_ifs`: maps
    ``R(theta) diag(sigma) D R(phi)`` with singular values in [0.2, 0.7] and, in 2D, the
    sigma-factor band ``[(5 + k)/2, (6 + k)/2]`` of Anderson & Farrell (2022), fixed points
    in [-0.75, 0.75]^d; ``k`` maps drawn uniformly in ``maps``; and ``points`` points of its
    attractor. Files: ``yaml`` (the IFS), ``npy``/``ply`` (the cloud), ``png`` (a density
    picture, ``png_size`` square). No categories: a sample's label is its number.

    Parameters
    ----------
    maps : (int, int)
        Fewest and most maps (both included), default (2, 4).
    points : int
        Points per cloud, default 2048.
    dim : {2, 3}
    png_size : int
        Side of the density pictures, default 256.
    """

    name = "clouds"
    formats = ("yaml", "npy", "ply", "png")
    default_formats = ("yaml", "npy")

    def __init__(self, *, maps=(2, 4), points: int = 2048, dim: int = 2, png_size: int = 256):
        lo, hi = (_check_int(v, "maps", 1, 64) for v in maps)
        if lo > hi:
            raise ParameterError(f"maps must be (K1, K2) with K1 <= K2, got {tuple(maps)}", "maps")
        super().__init__(
            maps=[lo, hi],
            points=_check_int(points, "points", 1, 10**9),
            dim=_check_int(dim, "dim", 2, 3),
            png_size=_check_int(png_size, "png_size", 8, 8192),
        )

    def make(self, index: int, seed: int) -> dict:
        s = self.settings
        # the sample stream of ifskit.neural.dataset, kept so that clouds datasets keep their bytes
        ifs, points = make_sample(index, seed, tuple(s["maps"]), s["points"], s["dim"])
        return {"ifs": ifs, "points": points, "index": int(index)}

    def image(self, sample: dict) -> np.ndarray:
        """The density picture of a sample, RGBA (S, S, 4) uint8."""
        ifs, points, size = sample["ifs"], sample["points"], self.settings["png_size"]
        # framed by the sample's own cloud: the renderer then skips its search for the
        # attractor's bounds, most of the time of a small picture
        bounds = None
        if ifs.dim == 2:
            lo, hi = points.min(axis=0).astype(float), points.max(axis=0).astype(float)
            bounds = fit_window((lo[0], hi[0]), (lo[1], hi[1]), (size, size))  # the renderer's margin and aspect
        n_points = _PNG_POINTS_PER_PIXEL * size * size
        return render_image(ifs, size, n_points, seed=sample["index"], bounds=bounds, progress=False, threads=1)

    def write_files(self, sample: dict, paths: dict) -> None:
        for fmt, path in paths.items():
            if fmt == "yaml":
                save(sample["ifs"], path)
            elif fmt in ("npy", "ply"):
                save_points(sample["points"], path)
            elif fmt == "png":
                save_png(self.image(sample), path)
            else:
                raise ParameterError(f"formats: unknown format {fmt!r}", "formats")

    def shard_arrays(self, indices, samples, formats) -> dict:
        s = self.settings
        n, k, dim = len(samples), s["maps"][1], s["dim"]
        arrays = {"index": np.asarray(indices, dtype=np.int64)}
        if "npy" in formats or "ply" in formats:
            arrays["points"] = np.stack([sample["points"] for sample in samples]).reshape(n, s["points"], dim)
        if "yaml" in formats:
            arrays["n_maps"] = np.array([sample["ifs"].n_maps for sample in samples], dtype=np.int64)
            arrays["A"], arrays["b"], arrays["p"] = np.zeros((n, k, dim, dim)), np.zeros((n, k, dim)), np.zeros((n, k))
            for row, sample in enumerate(samples):
                ifs = sample["ifs"]
                m = ifs.n_maps
                arrays["A"][row, :m], arrays["b"][row, :m], arrays["p"][row, :m] = ifs.A, ifs.b, ifs.p
        if "png" in formats:
            arrays["image"] = np.stack([self.image(sample) for sample in samples])
        return arrays


#: Density pictures of the clouds recipe: points drawn per pixel.
_PNG_POINTS_PER_PIXEL = 20


class ImageRecipe(Recipe):
    """A recipe whose samples are pictures with a category label: ``png`` files, ``image`` arrays."""

    formats = ("png",)
    default_formats = ("png",)

    def write_files(self, sample: dict, paths: dict) -> None:
        for fmt, path in paths.items():
            if fmt != "png":
                raise ParameterError(f"formats: unknown format {fmt!r}", "formats")
            write_bytes(path, _png_bytes(sample["image"]))

    def shard_arrays(self, indices, samples, formats) -> dict:
        return {
            "index": np.asarray(indices, dtype=np.int64),
            "label": np.array([self.label(i) for i in indices], dtype=np.int64),
            "image": np.stack([sample["image"] for sample in samples]),
        }


# FractalDB's intra-category variation: the 25 rows of its weights file (weights_0.4.csv):
# all ones, then each of the six parameters a..f multiplied by 0.8, 0.9, 1.1 or 1.2 in turn
_FRACTALDB_WEIGHTS = np.ones((25, 6))
for _row in range(24):
    _FRACTALDB_WEIGHTS[1 + _row, _row // 4] = (0.8, 0.9, 1.1, 1.2)[_row % 4]
del _row
# Flips: none, left-right, up-down, both.
_FLIPS = 4


class FractalDBRecipe(ImageRecipe):
    """FractalDB (Kataoka et al., "Pre-training without Natural Images", ACCV 2020).

    **Categories** by the filling-rate search: draw ``k`` maps (``k`` uniform in
    ``maps``, FractalDB 2..8) with the six parameters ``a..f`` uniform in [-1, 1] and
    probabilities ``|ad - bc|`` normalized; render ``points`` chaos-game points; keep the
    system when at least ``fill`` of the pixels are lit (FractalDB: 0.2), else draw again.
    Category ``c`` is the first system kept from the stream of ``(seed, c)``; systems that
    are not contractive on average are rejected before rendering (their points escape:
    FractalDB's renderer would find them nearly empty too). Parameters are recorded as
    rows ``a,b,c,d,e,f,p`` (Fractint's order: ``x' = a x + b y + e``, ``y' = c x + d y + f``).

    **Instances** (FractalDB: 1,000 per category = 25 weightings x 4 flips x 10 patches):
    instance ``j`` of a category multiplies one of ``a..f`` of every map by 0.8, 0.9, 1.1 or
    1.2 (or none: 25 weightings, ``j // (4 * patterns) % 25``), flips the picture
    (none, left-right, up-down, both: ``j // patterns % 4``) and, with ``patch``, stamps a
    random 3x3 grey patch (drawn from the sample's stream) at every point instead of
    lighting one pixel.

    **Pictures**: ``size`` square (FractalDB: 362 x 362, trained at 224 x 224 crops),
    greyscale uint8, the cloud stretched to fill it. FractalDB-1k: 1,000 categories x 1,000
    instances, 100,000 points per picture; FractalDB-10k: 10,000 categories.

    Parameters
    ----------
    categories : int
        Number of categories (default 1000); sample ``i`` is of category ``i // instances``.
    instances : int
        Samples per category (default 1000).
    size : int
        Picture side (default 362).
    points : int
        Chaos-game points per picture (default 100,000).
    maps : (int, int)
        Fewest and most maps of a category (default (2, 8)).
    fill : float
        Least filling rate of a category (default 0.2).
    patch : bool
        Stamp 3x3 random grey patches (default False: one pixel per point).
    """

    name = "fractaldb"

    def __init__(
        self,
        *,
        categories: int = 1000,
        instances: int = 1000,
        size: int = 362,
        points: int = 100_000,
        maps=(2, 8),
        fill: float = 0.2,
        patch: bool = False,
    ):
        lo, hi = (_check_int(v, "maps", 1, 64) for v in maps)
        if lo > hi:
            raise ParameterError(f"maps must be (K1, K2) with K1 <= K2, got {tuple(maps)}", "maps")
        if not 0 < float(fill) < 1:
            raise ParameterError(f"fill must be in (0, 1), got {fill!r}", "fill")
        super().__init__(
            categories=_check_int(categories, "categories", 1, 10**7),
            instances=_check_int(instances, "instances", 1, 10**7),
            size=_check_int(size, "size", 8, 8192),
            points=_check_int(points, "points", 1, 10**9),
            maps=[lo, hi],
            fill=float(fill),
            patch=bool(patch),
        )
        self.instances = self.settings["instances"]
        self._found: dict = {}  # (seed, category) -> rows (k, 7): the search is done once per process

    def __getstate__(self):
        return {"settings": self.settings, "instances": self.instances, "_found": self._found}

    def check_count(self, count: int) -> None:
        s = self.settings
        if int(count) > s["categories"] * s["instances"]:
            raise ParameterError(
                f"count: recipe fractaldb makes {s['categories']} categories x {s['instances']} instances, "
                f"fewer than {count} samples",
                "count",
            )

    def category(self, seed: int, category: int) -> np.ndarray:
        """Category ``category`` of dataset ``seed``: rows ``a,b,c,d,e,f,p``, shape (k, 7)."""
        key = (int(seed), int(category))
        if key not in self._found:
            self._found[key] = self._search(category_stream(seed, category))
        return self._found[key]

    def categories(self, seed: int, count: int) -> list:
        last = self.label(max(int(count) - 1, 0))
        return [self.category(seed, c).tolist() for c in range(last + 1)]

    def _search(self, rng: np.random.Generator) -> np.ndarray:
        s = self.settings
        while True:
            k = int(rng.integers(s["maps"][0], s["maps"][1] + 1))
            params = rng.uniform(-1.0, 1.0, size=(k, 6))
            ifs = _fractint_ifs(params, None)
            if ifs is None:
                continue
            points = chaos_game(ifs, s["points"], seed=int(rng.integers(2**62)), threads=1, progress=False)
            if np.count_nonzero(raster(points, s["size"])) >= s["fill"] * s["size"] ** 2:
                return np.column_stack([params, ifs.p])

    def make(self, index: int, seed: int) -> dict:
        s, index = self.settings, int(index)
        label = self.label(index)
        if label >= s["categories"]:
            raise ParameterError(
                f"count: recipe fractaldb has {s['categories']} categories x {s['instances']} instances; "
                f"sample {index} is past them",
                "count",
            )
        rows = self.category(seed, label)
        patterns = 10 if s["patch"] else 1
        instance = index % s["instances"]
        weighting = instance // (_FLIPS * patterns) % len(_FRACTALDB_WEIGHTS)
        flip = instance // patterns % _FLIPS
        rng = sample_stream(seed, index)
        ifs = _fractint_ifs(rows[:, :6] * _FRACTALDB_WEIGHTS[weighting], rows[:, 6], check=False)
        # the points depend on the category and the weighting only: flips and patches of one
        # weighting are the same points, as in FractalDB
        points_seed = [int(seed), _POINTS_STREAM, label, weighting]
        points = chaos_game(ifs, s["points"], seed=int(np.random.default_rng(points_seed).integers(2**62)),
                            threads=1, progress=False)  # fmt: skip
        patch = rng.integers(0, 256, size=(3, 3)).astype(np.uint8) if s["patch"] else None
        image = raster(points, s["size"], patch)
        if flip & 1:
            image = image[:, ::-1]
        if flip & 2:
            image = image[::-1]
        return {"ifs": ifs, "image": np.ascontiguousarray(image), "label": label}


def _fractint_ifs(params: np.ndarray, p, check: bool = True) -> IFS | None:
    """IFS of Fractint rows ``a..f`` (k, 6) with probabilities ``p`` (default ``|ad - bc|`` normalized).

    With ``check``: None when the system is not contractive on average (its orbits escape).
    """
    A = params[:, [0, 1, 2, 3]].reshape(-1, 2, 2)
    b = params[:, 4:6]
    if p is None:
        det = np.abs(np.linalg.det(A))
        if det.sum() <= 0:
            return None
        p = det / det.sum()
    if check:
        norms = np.linalg.norm(A, ord=2, axis=(1, 2))
        if np.any(norms == 0) or float(np.sum(p * np.log(np.maximum(norms, 1e-300)))) >= 0:
            return None
    return IFS(A, b, np.asarray(p, dtype=float))


class SVDRecipe(ImageRecipe):
    """The sigma-factor sampler of Anderson & Farrell ("Improving Fractal Pre-training", WACV 2022).

    Each sample is its own system (no categories searched): ``k`` maps, ``k`` uniform in
    ``maps`` (the paper: 2..4), each ``A = R(theta) diag(sigma1, sigma2) D R(phi)`` with a
    random reflection ``D``; the singular values are constrained by the sigma-factor
    ``alpha = sum_i (sigma_i1 + 2 sigma_i2)`` in the band ``[(5 + k)/2, (6 + k)/2]`` (the
    paper's finding: below it the attractor is dust, above it fills the plane), drawn by
    rejection in :func:`ifskit.random_ifs`. Pictures ``size`` square (the paper renders
    256 x 256 at 100,000 points for its multi-instance 1k-class set), one pixel per point.

    ``color``: ``"grey"`` (uint8 (S, S)) or ``"random"`` (a random colour per sample, RGB
    (S, S, 3)), ``background``: ``"black"`` or ``"random"`` (a random colour, with
    ``color="random"`` only). Label: the sample number (the paper's classes are systems).

    Parameters
    ----------
    size : int
        Picture side (default 256).
    points : int
        Chaos-game points per picture (default 100,000).
    maps : (int, int)
        Fewest and most maps (default (2, 4)).
    color : {"grey", "random"}
    background : {"black", "random"}
    """

    name = "svd"

    def __init__(self, *, size: int = 256, points: int = 100_000, maps=(2, 4), color="grey", background="black"):
        lo, hi = (_check_int(v, "maps", 1, 64) for v in maps)
        if lo > hi:
            raise ParameterError(f"maps must be (K1, K2) with K1 <= K2, got {tuple(maps)}", "maps")
        if color not in ("grey", "random"):
            raise ParameterError(f"color must be grey or random, got {color!r}", "color")
        if background not in ("black", "random"):
            raise ParameterError(f"background must be black or random, got {background!r}", "background")
        if background == "random" and color == "grey":
            raise ParameterError(
                "background random needs color random (grey pictures have a black background)", "background"
            )
        super().__init__(
            size=_check_int(size, "size", 8, 8192),
            points=_check_int(points, "points", 1, 10**9),
            maps=[lo, hi],
            color=color,
            background=background,
        )

    def make(self, index: int, seed: int) -> dict:
        s = self.settings
        rng = sample_stream(seed, index)
        k = int(rng.integers(s["maps"][0], s["maps"][1] + 1))
        ifs = random_ifs(k, 2, rng)
        points = chaos_game(ifs, s["points"], seed=int(rng.integers(2**62)), threads=1, progress=False)
        lit = raster(points, s["size"])
        if s["color"] == "grey":
            image = lit
        else:
            fg = rng.integers(0, 256, size=3).astype(np.uint8)
            bg = rng.integers(0, 256, size=3).astype(np.uint8) if s["background"] == "random" else np.zeros(3, np.uint8)
            image = np.where(lit[:, :, None] > 0, fg, bg).astype(np.uint8)
        return {"ifs": ifs, "image": image, "label": int(index)}


#: Recipes by name.
RECIPES = {recipe.name: recipe for recipe in (CloudsRecipe, FractalDBRecipe, SVDRecipe)}


def get_recipe(name: str = "clouds", **options) -> Recipe:
    """The recipe ``name`` with its ``options`` (keyword settings, see each recipe class).

    Raises
    ------
    ParameterError
        An unknown recipe, or an option the recipe does not take (``recipe`` / the option's name).
    """
    if name not in RECIPES:
        raise ParameterError(f"recipe: unknown recipe {name!r}; choose one of {', '.join(RECIPES)}", "recipe")
    cls = RECIPES[name]
    try:
        return cls(**options)
    except TypeError:
        known = [p for p in inspect.signature(cls).parameters]
        wrong = sorted(set(options) - set(known))
        raise ParameterError(
            f"recipe {name} does not take {', '.join(wrong) or 'these options'} (it takes {', '.join(known)})",
            wrong[0] if wrong else "recipe",
        ) from None
