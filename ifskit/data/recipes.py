"""Dataset recipes: what sample ``i`` of a dataset is, as a pure function of ``(seed, i)``.

A recipe turns a sample number into a sample (an IFS, its points, a picture), says which files
a sample can be written as (and their bytes), and which arrays hold it in a shard. Every random
draw of sample ``i`` comes from a stream seeded by ``(seed, i)`` (and a category's from
``(seed, category)``), so a sample does not depend on which other samples were made, in which
order, or where: datasets resume, split over threads and Dask workers, and render on the fly in
a torch ``DataLoader`` with the same bytes.

Recipes with categories (``fractaldb``, ``pc-fractaldb``) find each category by a search
(:meth:`CategoryRecipe.search`, pure in ``(seed, category)``); the dataset writer runs the
searches first, as parallel tasks, and hands their results to the recipe
(:meth:`CategoryRecipe.adopt`) before the samples are made.

Recipes: ``clouds`` (random IFS and their chaos-game clouds, the default), ``fractaldb``
(Kataoka et al. 2020), ``pc-fractaldb`` (Yamada et al. 2022) and ``svd`` (Anderson & Farrell
2022); :func:`get_recipe` makes one.
"""

from __future__ import annotations

import inspect
import threading

import numpy as np

from ..errors import ParameterError
from ..formats.yaml_format import dump_yaml
from ..ifs import IFS
from ..neural.dataset import make_sample
from ..neural.random import random_ifs
from ..render import chaos_game
from .pictures import cloud_picture, npy_bytes, ply_bytes, png_bytes, raster, stamp

# Tags mixed into the seeds of the streams, so that a category's stream never equals a sample's.
_SAMPLE_STREAM = 0
_CATEGORY_STREAM = 1
_POINTS_STREAM = 2


# per thread: the points array of the last picture, reused by the next (see lit_picture)
_scratch = threading.local()


def sample_stream(seed: int, index: int) -> np.random.Generator:
    """The random stream of sample ``index`` of dataset ``seed`` (depends on nothing else)."""
    return np.random.default_rng([int(seed), _SAMPLE_STREAM, int(index)])


def category_stream(seed: int, category: int) -> np.random.Generator:
    """The random stream of category ``category`` of dataset ``seed``."""
    return np.random.default_rng([int(seed), _CATEGORY_STREAM, int(category)])


def points_seed(seed: int, *key: int) -> int:
    """A chaos-game seed for the points of ``key`` (a category, a weighting) in dataset ``seed``."""
    return int(np.random.default_rng([int(seed), _POINTS_STREAM, *map(int, key)]).integers(2**62))


def lit_picture(ifs: IFS, n_points: int, seed: int, size: int) -> np.ndarray:
    """:func:`raster` (S, S) of ``n_points`` chaos-game points of a 2D ``ifs``, drawn with ``seed``.

    The points go to an array this thread keeps: megabytes of new memory for every picture
    cost more than drawing them where the allocator hands large blocks back to the system
    at once (Dask's workers set ``MALLOC_TRIM_THRESHOLD_``).
    """
    points = getattr(_scratch, "points", None)
    if points is None or points.shape != (n_points, 2):
        points = _scratch.points = np.empty((n_points, 2))
    return raster(chaos_game(ifs, n_points, seed=seed, threads=1, progress=False, out=points), size)


def _check_int(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or int(value) != value or not low <= int(value) <= high:
        raise ParameterError(f"{name} must be an integer in [{low}, {high}], got {value!r}", name)
    return int(value)


def _check_maps(maps) -> list:
    lo, hi = (_check_int(v, "maps", 1, 64) for v in maps)
    if lo > hi:
        raise ParameterError(f"maps must be (K1, K2) with K1 <= K2, got {tuple(maps)}", "maps")
    return [lo, hi]


class Recipe:
    """Base of the recipes: settings, formats, samples and their files and shard arrays.

    Subclasses set :attr:`name`, :attr:`formats` (file types a sample can be written as) and
    :attr:`default_formats`, implement :meth:`make`, :meth:`files`, :meth:`picture` and
    :meth:`shard_arrays`, and take their settings as keyword options (checked, then kept in
    :attr:`settings`, which the manifest records).
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

    def categories_needed(self, count: int) -> range:
        """Categories that samples ``0 .. count - 1`` use (empty without categories)."""
        return range(0)

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

    def files(self, sample: dict, formats) -> dict:
        """The bytes of the files of one sample, ``{format: bytes}``."""
        raise NotImplementedError

    def picture(self, sample: dict) -> np.ndarray:
        """A uint8 picture of the sample, (S, S) grey or (S, S, 3) colour: what the contact sheet shows."""
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
    attractor. Files: ``yaml`` (the IFS), ``npy``/``ply`` (the cloud), ``png`` (the cloud
    drawn as a grey log-density picture, ``png_size`` square, seen along z in 3D: the picture
    of the sample's own points, so raise ``points`` for denser pictures). No categories: a
    sample's label is its number.

    Parameters
    ----------
    maps : (int, int)
        Fewest and most maps (both included), default (2, 4).
    points : int
        Points per cloud, default 2048.
    dim : {2, 3}
    png_size : int
        Side of the pictures, default 256.
    """

    name = "clouds"
    formats = ("yaml", "npy", "ply", "png")
    default_formats = ("yaml", "npy")

    def __init__(self, *, maps=(2, 4), points: int = 2048, dim: int = 2, png_size: int = 256):
        super().__init__(
            maps=_check_maps(maps),
            points=_check_int(points, "points", 1, 10**9),
            dim=_check_int(dim, "dim", 2, 3),
            png_size=_check_int(png_size, "png_size", 8, 8192),
        )

    def make(self, index: int, seed: int) -> dict:
        s = self.settings
        # the sample stream of ifskit.neural.dataset, kept so that clouds datasets keep their bytes
        ifs, points = make_sample(index, seed, tuple(s["maps"]), s["points"], s["dim"])
        return {"ifs": ifs, "points": points, "index": int(index)}

    def picture(self, sample: dict) -> np.ndarray:
        return cloud_picture(sample["points"], self.settings["png_size"])

    def files(self, sample: dict, formats) -> dict:
        writers = {
            "yaml": lambda: dump_yaml(sample["ifs"]).encode("utf-8"),
            "npy": lambda: npy_bytes(sample["points"].astype(float)),
            "ply": lambda: ply_bytes(sample["points"]),
            "png": lambda: png_bytes(self.picture(sample)),
        }
        return {fmt: writers[fmt]() for fmt in formats}

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
            arrays["image"] = np.stack([self.picture(sample) for sample in samples])
        return arrays


class ImageRecipe(Recipe):
    """A recipe whose samples are pictures with a category label: ``png`` files, ``image`` arrays."""

    formats = ("png",)
    default_formats = ("png",)

    def picture(self, sample: dict) -> np.ndarray:
        return sample["image"]

    def files(self, sample: dict, formats) -> dict:
        return {fmt: png_bytes(sample["image"]) for fmt in formats}

    def shard_arrays(self, indices, samples, formats) -> dict:
        return {
            "index": np.asarray(indices, dtype=np.int64),
            "label": np.array([self.label(i) for i in indices], dtype=np.int64),
            "image": np.stack([sample["image"] for sample in samples]),
        }


class CategoryRecipe(Recipe):
    """A recipe of categories found by a search, each with :attr:`instances` samples.

    Sample ``i`` is instance ``i % instances`` of category ``i // instances``. The search of a
    category (:meth:`search`) is a pure function of ``(seed, category)``; its result is kept
    (:meth:`category`), and a writer that ran the searches elsewhere hands them over with
    :meth:`adopt`. Category parameters are rows of floats (:attr:`columns` names them).
    """

    #: Names of the columns of a category's rows (the manifest's ``category_columns``).
    columns: tuple = ()

    def __init__(self, **settings):
        super().__init__(**settings)
        self.instances = self.settings["instances"]
        self._found: dict = {}  # (seed, category) -> rows: each search runs once per process
        self._local = threading.local()  # per thread: the points last drawn, reused by the next sample

    def __getstate__(self):
        return {"settings": self.settings, "instances": self.instances, "_found": self._found}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()

    def check_count(self, count: int) -> None:
        s = self.settings
        if int(count) > s["categories"] * s["instances"]:
            raise ParameterError(
                f"count: recipe {self.name} makes {s['categories']} categories x {s['instances']} instances, "
                f"fewer than {count} samples",
                "count",
            )

    def categories_needed(self, count: int) -> range:
        return range(self.label(max(int(count) - 1, 0)) + 1)

    def search(self, seed: int, category: int) -> np.ndarray:
        """Search category ``category`` of dataset ``seed``: its rows, shape (k, len(columns))."""
        raise NotImplementedError

    def category(self, seed: int, category: int) -> np.ndarray:
        """Category ``category`` of dataset ``seed``: its rows (searched now unless known)."""
        key = (int(seed), int(category))
        if key not in self._found:
            self._found[key] = self.search(seed, category)
        return self._found[key]

    def adopt(self, seed: int, found: dict) -> None:
        """Take categories searched elsewhere: ``{category: rows}`` of dataset ``seed``."""
        for category, rows in found.items():
            self._found[(int(seed), int(category))] = np.asarray(rows, dtype=float)

    def known(self, seed: int) -> set:
        """Categories of dataset ``seed`` already searched or adopted."""
        return {c for s, c in self._found if s == int(seed)}

    def categories(self, seed: int, count: int) -> list:
        return [self.category(seed, c).tolist() for c in self.categories_needed(count)]

    def _check_index(self, index: int) -> None:
        s = self.settings
        if not 0 <= index < s["categories"] * s["instances"]:
            raise ParameterError(
                f"count: recipe {self.name} has {s['categories']} categories x {s['instances']} instances; "
                f"sample {index} is past them",
                "count",
            )

    def _reuse(self, key, make):
        """``make()``, or its value for ``key`` when this thread's last call had the same key.

        Consecutive samples of a category share points (FractalDB's flips and patches of one
        weighting, PC-FractalDB's main cloud): each thread keeps the last ones.
        """
        last = getattr(self._local, "last", None)
        if last is not None and last[0] == key:
            return last[1]
        value = make()
        self._local.last = (key, value)
        return value


# FractalDB's intra-category variation: the 25 rows of its weights file (weights_0.4.csv):
# all ones, then each of the six parameters a..f multiplied by 0.8, 0.9, 1.1 or 1.2 in turn
_FRACTALDB_WEIGHTS = np.ones((25, 6))
for _row in range(24):
    _FRACTALDB_WEIGHTS[1 + _row, _row // 4] = (0.8, 0.9, 1.1, 1.2)[_row % 4]
del _row
# Flips: none, left-right, up-down, both.
_FLIPS = 4


class FractalDBRecipe(CategoryRecipe, ImageRecipe):
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
    random 3x3 grey patch (drawn from the sample's stream, ``patterns`` = 10) at every point
    instead of lighting one pixel. Without ``patch`` there are 100 different pictures per
    category: instances past 100 repeat them.

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
    columns = ("a", "b", "c", "d", "e", "f", "p")

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
        if not 0 < float(fill) < 1:
            raise ParameterError(f"fill must be in (0, 1), got {fill!r}", "fill")
        super().__init__(
            categories=_check_int(categories, "categories", 1, 10**7),
            instances=_check_int(instances, "instances", 1, 10**7),
            size=_check_int(size, "size", 8, 8192),
            points=_check_int(points, "points", 1, 10**9),
            maps=_check_maps(maps),
            fill=float(fill),
            patch=bool(patch),
        )

    def search(self, seed: int, category: int) -> np.ndarray:
        s = self.settings
        rng = category_stream(seed, category)
        while True:
            k = int(rng.integers(s["maps"][0], s["maps"][1] + 1))
            params = rng.uniform(-1.0, 1.0, size=(k, 6))
            ifs = _fractint_ifs(params, None)
            if ifs is None:
                continue
            lit = lit_picture(ifs, s["points"], int(rng.integers(2**62)), s["size"])
            if np.count_nonzero(lit) >= s["fill"] * s["size"] ** 2:
                return np.column_stack([params, ifs.p])

    def make(self, index: int, seed: int) -> dict:
        s, index = self.settings, int(index)
        self._check_index(index)
        label = self.label(index)
        patterns = 10 if s["patch"] else 1
        instance = index % s["instances"]
        weighting = instance // (_FLIPS * patterns) % len(_FRACTALDB_WEIGHTS)
        flip = instance // patterns % _FLIPS
        rows = self.category(seed, label)
        ifs = _fractint_ifs(rows[:, :6] * _FRACTALDB_WEIGHTS[weighting], rows[:, 6], check=False)

        def lit():
            # the points depend on the category and the weighting only: the flips and patches
            # of one weighting are pictures of the same points, as in FractalDB
            return lit_picture(ifs, s["points"], points_seed(seed, label, weighting), s["size"])

        image = self._reuse((int(seed), label, weighting), lit)
        if s["patch"]:
            patch = sample_stream(seed, index).integers(0, 256, size=(3, 3)).astype(np.uint8)
            image = stamp(image, patch)
        if flip & 1:
            image = image[:, ::-1]
        if flip & 2:
            image = image[::-1]
        # a copy: the kept picture must not change with the sample the caller holds
        return {"ifs": ifs, "image": np.array(image, order="C"), "label": label}


def _fractint_ifs(params: np.ndarray, p, check: bool = True) -> IFS | None:
    """IFS of Fractint rows ``a..f`` (k, 6) with probabilities ``p`` (default ``|ad - bc|`` normalized).

    With ``check``: None when the system is not contractive on average (its orbits escape).
    """
    A = params[:, [0, 1, 2, 3]].reshape(-1, 2, 2)
    b = params[:, 4:6]
    return _affine_ifs(A, b, p, check)


def _affine_ifs(A: np.ndarray, b: np.ndarray, p, check: bool) -> IFS | None:
    """IFS of maps ``A`` (k, d, d), ``b`` (k, d), probabilities ``p`` (default ``|det A|`` normalized).

    With ``check``: None when the system is not contractive on average (its orbits escape).
    """
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


def _normalized(points: np.ndarray) -> np.ndarray:
    """PC-FractalDB's normalization: min-max over all coordinates to [-1, 1], then centred on the mean."""
    lo, hi = float(points.min()), float(points.max())
    scaled = (points - lo) * (2.0 / (hi - lo) if hi > lo else 0.0) - 1.0
    return scaled - scaled.mean(axis=0)


class PCFractalDBRecipe(CategoryRecipe):
    """PC-FractalDB (Yamada et al., "Point Cloud Pre-training with Natural 3D Structures", CVPR 2022).

    **Categories** by the variance search (the authors' ``category_search.py``): draw ``k``
    maps of 3D space (``k`` uniform in ``maps``, the authors' 2..7), the 12 parameters of each
    (3x3 matrix row-major, then the translation) uniform in [-1, 1], probabilities ``|det A|``
    normalized; draw ``points`` chaos-game points, normalize them (min-max over all coordinates
    to [-1, 1], then centred on their mean) and keep the system when the variance along each of
    x, y and z exceeds ``variance`` (the authors' 0.05: no flat or thin categories), else draw
    again. Systems not contractive on average are rejected before rendering (the authors'
    NaN check rejects them after). Parameters are recorded as rows ``a..l,p``.

    **Instances** by FractalNoiseMix (the authors' ``fractal_noise_mix.py``): a fraction
    ``1 - mix`` of the points is the category's own cloud (the same for every instance, as
    in the source), the fraction ``mix`` (the authors' 0.2) the normalized cloud of another
    category drawn at random among all ``categories`` for each instance; the union is centred
    again. With ``mix=0`` every instance of a category is the same cloud.

    Files: ``ply`` (binary, double x, y, z; the authors' format), ``npy``.

    Parameters
    ----------
    categories : int
        Number of categories (default 1000).
    instances : int
        Samples per category (default 1000).
    points : int
        Points per cloud (default 10,000).
    maps : (int, int)
        Fewest and most maps of a category (default (2, 7)).
    variance : float
        Least variance along each axis of the normalized cloud (default 0.05).
    mix : float
        Fraction of the points from another category (default 0.2; 0: no mix).
    """

    name = "pc-fractaldb"
    formats = ("ply", "npy")
    default_formats = ("ply",)
    columns = tuple("abcdefghijkl") + ("p",)

    def __init__(
        self,
        *,
        categories: int = 1000,
        instances: int = 1000,
        points: int = 10_000,
        maps=(2, 7),
        variance: float = 0.05,
        mix: float = 0.2,
    ):
        if not 0 < float(variance) < 1:
            raise ParameterError(f"variance must be in (0, 1), got {variance!r}", "variance")
        if not 0 <= float(mix) < 1:
            raise ParameterError(f"mix must be in [0, 1), got {mix!r}", "mix")
        super().__init__(
            categories=_check_int(categories, "categories", 1, 10**7),
            instances=_check_int(instances, "instances", 1, 10**7),
            points=_check_int(points, "points", 2, 10**9),
            maps=_check_maps(maps),
            variance=float(variance),
            mix=float(mix),
        )

    def categories_needed(self, count: int) -> range:
        # a mixed instance takes points of any category
        return range(self.settings["categories"]) if self.settings["mix"] > 0 else super().categories_needed(count)

    def search(self, seed: int, category: int) -> np.ndarray:
        s = self.settings
        rng = category_stream(seed, category)
        while True:
            k = int(rng.integers(s["maps"][0], s["maps"][1] + 1))
            params = rng.uniform(-1.0, 1.0, size=(k, 12))
            ifs = _affine_ifs(params[:, :9].reshape(-1, 3, 3), params[:, 9:], None, check=True)
            if ifs is None:
                continue
            points = chaos_game(ifs, s["points"], seed=int(rng.integers(2**62)), threads=1, progress=False)
            if np.all(np.isfinite(points)) and np.all(_normalized(points).var(axis=0) > s["variance"]):
                return np.column_stack([params, ifs.p])

    def _cloud(self, seed: int, category: int, n_points: int, chaos_seed: int) -> np.ndarray:
        rows = self.category(seed, category)
        ifs = _affine_ifs(rows[:, :9].reshape(-1, 3, 3), rows[:, 9:12], rows[:, 12], check=False)
        return _normalized(chaos_game(ifs, n_points, seed=chaos_seed, threads=1, progress=False))

    def make(self, index: int, seed: int) -> dict:
        s, index = self.settings, int(index)
        self._check_index(index)
        label = self.label(index)
        n_mix = int(round(s["points"] * s["mix"]))
        n_main = s["points"] - n_mix
        main = self._reuse((int(seed), label), lambda: self._cloud(seed, label, n_main, points_seed(seed, label)))
        if n_mix == 0:
            points = main
        else:
            rng = sample_stream(seed, index)
            other = int(rng.integers(s["categories"]))
            noise = self._cloud(seed, other, n_mix, int(rng.integers(2**62)))
            points = np.concatenate([main, noise])
            points -= points.mean(axis=0)
        return {"points": points.astype(np.float32), "label": label}

    def picture(self, sample: dict) -> np.ndarray:
        return cloud_picture(sample["points"], 128)

    def files(self, sample: dict, formats) -> dict:
        writers = {"ply": ply_bytes, "npy": lambda points: npy_bytes(points.astype(float))}
        return {fmt: writers[fmt](sample["points"]) for fmt in formats}

    def shard_arrays(self, indices, samples, formats) -> dict:
        return {
            "index": np.asarray(indices, dtype=np.int64),
            "label": np.array([self.label(i) for i in indices], dtype=np.int64),
            "points": np.stack([sample["points"] for sample in samples]),
        }


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
            maps=_check_maps(maps),
            color=color,
            background=background,
        )

    def make(self, index: int, seed: int) -> dict:
        s = self.settings
        rng = sample_stream(seed, index)
        k = int(rng.integers(s["maps"][0], s["maps"][1] + 1))
        ifs = random_ifs(k, 2, rng)
        lit = lit_picture(ifs, s["points"], int(rng.integers(2**62)), s["size"])
        if s["color"] == "grey":
            image = lit
        else:
            fg = rng.integers(0, 256, size=3).astype(np.uint8)
            bg = rng.integers(0, 256, size=3).astype(np.uint8) if s["background"] == "random" else np.zeros(3, np.uint8)
            image = _two_colours(lit, fg, bg)
        return {"ifs": ifs, "image": image, "label": int(index)}


def _two_colours(lit: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """An (S, S, 3) uint8 picture: colour ``fg`` (3,) where ``lit`` (S, S) is 255, ``bg`` where 0.

    Channel by channel, ``bg + on * (fg - bg)`` in uint8 arithmetic (modulo 256, so the sum
    is ``fg`` where on): five times faster than ``np.where`` of the broadcast colours.
    """
    on = lit >> 7  # 0 or 1
    image = np.empty((*lit.shape, 3), dtype=np.uint8)
    for channel in range(3):
        np.multiply(on, np.uint8((int(fg[channel]) - int(bg[channel])) % 256), out=image[:, :, channel])
        image[:, :, channel] += bg[channel]
    return image


#: Recipes by name.
RECIPES = {recipe.name: recipe for recipe in (CloudsRecipe, FractalDBRecipe, PCFractalDBRecipe, SVDRecipe)}


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
