"""Real shapes for the fitter: a development set made from data that ships inside installable packages.

Nobody in this project drew these shapes. Each is read from a file that an ordinary ``pip install`` puts on the
machine (nothing is downloaded at run time) and sampled uniformly over its area (filled 2D regions), its surface
area (surfaces: area-weighted triangles) or its volume (solids: uniform voxels, jittered inside each voxel)::

    from real_shapes import SHAPES, load_shape       # with benchmarks/ on sys.path
    shape = load_shape("glyph_B")                     # shape.cloud (4096, 2), shape.truth (200000, 2)

=========================  ===  =========  ======================================================
shapes                     dim  kind       package (pip name)
=========================  ===  =========  ======================================================
glyph_A, glyph_B,          2    filled 2D  matplotlib (fonts DejaVu Sans and DejaVu Sans Bold)
glyph_ampersand, glyph_at,
knight
horse, phantom,            2    filled 2D  scikit-image (``skimage.data``: files in the wheel)
phantom_skull, coins
jacksboro_dem, topobathy   3    surface    matplotlib (sample data: elevation models)
brain                      3    solid      nilearn (MNI152 template in the wheel; nibabel reads it)
cortex_pial                3    surface    nilearn (fsaverage5 mesh in the wheel)
nut, ant                   3    surface    pyvista (example meshes in the wheel; vtk reads them)
frog                       3    solid      pyvista (example volume ``frog_tissues.vti``)
=========================  ===  =========  ======================================================

The held-out set (:data:`HELD_OUT_SHAPES`) was chosen on no setting of the fitter or the encoder:

=========================  ===  =========  ======================================================
glyph_g_serif, glyph_W,    2    filled 2D  matplotlib (DejaVu Serif, Sans Bold, Serif Bold, Serif
glyph_Q_serif,                             Bold Italic)
glyph_percent,
glyph_k_italic
pyvista_logo               2    filled 2D  pyvista (``pyvista_logo.png``, its opaque pixels)
airplane, sphere           3    surface    pyvista (example meshes)
channels                   3    solid      pyvista (example volume ``channels.vti``)
torus                      3    surface    pyvista (``ParametricTorus()``, its defaults; added later, after
                                           a torus drawn from a formula missed the Chamfer target)
=========================  ===  =========  ======================================================

Every cloud is in the shape's own coordinates (font units, pixels with y up, metres, millimetres, the mesh's
units); nothing is rescaled except the elevation models' heights, which are exaggerated (see
:func:`_height_field`). Input cloud and truth are independent samples, both fixed by ``seed`` and the shape's
name. Building every shape takes a few seconds, so nothing is cached on disk.
"""

from __future__ import annotations

import importlib.util
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# earth radius (m) for the elevation models' degrees -> metres (a sphere is plenty at these extents)
_EARTH_RADIUS = 6_371_000.0

# pip name of a module that a shape needs, for the message of a skipped shape
PIP_NAMES = {"skimage": "scikit-image", "nilearn": "nilearn", "pyvista": "pyvista", "matplotlib": "matplotlib"}


class MissingPackage(ImportError):
    """A shape needs an optional package that is not installed."""


# ---------------------------------------------------------------------------------------------------------------
# samplers


class Region:
    """A filled 2D region bounded by polygons, inside by the even-odd rule (so holes are holes).

    Parameters
    ----------
    polygons : list of ndarray, shape (m_i, 2)
        Closed outlines (the last vertex may repeat the first).
    """

    dim = 2

    def __init__(self, polygons):
        from matplotlib.path import Path as MplPath

        self.polygons = [np.asarray(p, dtype=float) for p in polygons]
        self._paths = [MplPath(p) for p in self.polygons]
        self.lo = np.min([p.min(axis=0) for p in self.polygons], axis=0)
        self.hi = np.max([p.max(axis=0) for p in self.polygons], axis=0)

    def contains(self, points):
        """Whether each point is inside.

        Parameters
        ----------
        points : ndarray, shape (n, 2)

        Returns
        -------
        ndarray, shape (n,), bool
        """
        crossings = np.zeros(len(points), dtype=np.int64)
        for path in self._paths:
            crossings += path.contains_points(points)
        # even-odd, not matplotlib's compound-path test, which fills a glyph's holes
        return crossings % 2 == 1

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` points uniform over the area, by rejection from the bounding box.

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator

        Returns
        -------
        ndarray, shape (n, 2)
        """
        kept, total = [], 0
        while total < n:
            # a batch of the right order of size: most regions here fill 25-80% of their box
            candidates = rng.uniform(self.lo, self.hi, size=(max(4 * (n - total), 1024), 2))
            inside = candidates[self.contains(candidates)]
            kept.append(inside)
            total += len(inside)
        return np.concatenate(kept)[:n]


class Cells:
    """The union of the True cells of a 2D or 3D mask (pixels or voxels), mapped to world coordinates.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W) or (I, J, K)
    affine : ndarray, shape (d + 1, d + 1)
        Homogeneous map from cell index (the cell's centre) to world coordinates; each cell is the image of the
        unit cube around its index.
    """

    def __init__(self, mask, affine):
        mask = np.asarray(mask, dtype=bool)
        self.dim = mask.ndim
        self.index = np.argwhere(mask).astype(float)  # (cells, d)
        if len(self.index) == 0:
            raise ValueError("empty mask")
        self.affine = np.asarray(affine, dtype=float)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` points uniform over the cells' union: a uniform cell (all cells have the same area or volume),
        then a uniform point inside it.

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator

        Returns
        -------
        ndarray, shape (n, d)
        """
        cells = self.index[rng.integers(0, len(self.index), size=n)]
        local = cells + rng.uniform(-0.5, 0.5, size=cells.shape)
        return local @ self.affine[:-1, :-1].T + self.affine[:-1, -1]


class Mesh:
    """A triangle mesh in 3D, as a surface.

    Parameters
    ----------
    vertices : ndarray, shape (v, 3)
    faces : ndarray of int, shape (f, 3)
    """

    dim = 3

    def __init__(self, vertices, faces):
        self.vertices = np.asarray(vertices, dtype=float)
        self.faces = np.asarray(faces, dtype=np.int64)
        a, b, c = (self.vertices[self.faces[:, i]] for i in range(3))
        self.areas = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
        if not self.areas.sum() > 0:
            raise ValueError("mesh of zero area")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` points uniform over the surface area.

        A triangle drawn with probability proportional to its area, then a uniform point in it from two uniforms
        ``r1, r2``: barycentric weights ``(1 - sqrt(r1), sqrt(r1) (1 - r2), sqrt(r1) r2)``.

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator

        Returns
        -------
        ndarray, shape (n, 3)
        """
        cumulative = np.cumsum(self.areas)
        tri = np.searchsorted(cumulative, rng.uniform(0.0, cumulative[-1], size=n), side="right")
        tri = np.minimum(tri, len(self.faces) - 1)  # a uniform equal to the total (rounding) stays in range
        r1 = np.sqrt(rng.uniform(size=(n, 1)))
        r2 = rng.uniform(size=(n, 1))
        a, b, c = (self.vertices[self.faces[tri, i]] for i in range(3))
        return (1.0 - r1) * a + r1 * (1.0 - r2) * b + r1 * r2 * c


def grid_mesh(x, y, z) -> Mesh:
    """The surface ``z(x, y)`` of a height field on a rectilinear grid, two triangles per grid cell.

    Parameters
    ----------
    x : ndarray, shape (W,)
        Coordinates of the columns.
    y : ndarray, shape (H,)
        Coordinates of the rows.
    z : ndarray, shape (H, W)

    Returns
    -------
    Mesh
    """
    h, w = z.shape
    xx, yy = np.meshgrid(x, y)
    vertices = np.column_stack([xx.ravel(), yy.ravel(), np.asarray(z, dtype=float).ravel()])
    corner = (np.arange(h - 1)[:, None] * w + np.arange(w - 1)[None, :]).ravel()  # top-left of every cell
    faces = np.concatenate(
        [
            np.column_stack([corner, corner + 1, corner + w]),
            np.column_stack([corner + 1, corner + w + 1, corner + w]),
        ]
    )
    return Mesh(vertices, faces)


# ---------------------------------------------------------------------------------------------------------------
# shapes


def _mpl_font(filename: str) -> Path:
    import matplotlib

    # the file inside matplotlib, never a system font of the same family name
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / filename


def _glyph(char: str, font: str) -> Region:
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    path = TextPath((0, 0), char, size=100, prop=FontProperties(fname=_mpl_font(font)))
    return Region(path.to_polygons())  # Bezier outlines flattened to polygons


def _image_mask(mask) -> Cells:
    """Pixels (row, column) as unit squares at x = column, y = -row (the picture upright)."""
    affine = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    return Cells(mask, affine)


def _horse() -> Cells:
    import skimage.data

    return _image_mask(~skimage.data.horse())  # True is the white background


def _phantom(skull_only: bool) -> Cells:
    import skimage.data

    image = skimage.data.shepp_logan_phantom()  # (400, 400) in [0, 1]; the skull is the only value 1
    return _image_mask(image > 0.99 if skull_only else image > 0)


def _coins() -> Cells:
    import scipy.ndimage as ndi
    import skimage.data
    from skimage.filters import sobel
    from skimage.segmentation import watershed

    # scikit-image's own region-based segmentation of this picture (its gallery example, and its page.png):
    # watershed of the Sobel elevation from sure background (< 30) and sure coin (> 150) markers, holes filled
    image = skimage.data.coins()
    markers = np.zeros(image.shape, dtype=np.uint8)
    markers[image < 30] = 1
    markers[image > 150] = 2
    mask = ndi.binary_fill_holes(watershed(sobel(image), markers) == 2)
    labels, n = ndi.label(mask)
    sizes = ndi.sum(mask, labels, np.arange(1, n + 1))
    # one 2-pixel speck besides the 24 coins (1077 pixels and up)
    return _image_mask(np.isin(labels, 1 + np.flatnonzero(sizes >= 50)))


def _height_field(name: str, exaggeration: float) -> Mesh:
    """An elevation model of matplotlib's sample data as a surface in metres.

    Longitude and latitude become metres east and north of the model's centre (a sphere, locally); heights are
    multiplied by ``exaggeration``: at true scale both models lie within 2% of their diagonal from a plane, which
    a flat attractor would match within the 3D targets, so the relief is exaggerated to about an eighth of the
    width, as a shaded relief map shows it.
    """
    from matplotlib import cbook

    data = cbook.get_sample_data(name)
    if "elevation" in data:  # jacksboro_fault_dem.npz: a grid between xmin..xmax, ymin..ymax (rows north to south)
        z = data["elevation"].astype(float)
        lon = np.linspace(float(data["xmin"]), float(data["xmax"]), z.shape[1])
        lat = np.linspace(float(data["ymin"]), float(data["ymax"]), z.shape[0])
    else:  # topobathy.npz: topography and bathymetry with its own axes
        z = data["topo"].astype(float)
        lon, lat = data["longitude"].astype(float), data["latitude"].astype(float)
    lat0, lon0 = np.radians(lat.mean()), np.radians(lon.mean())
    x = _EARTH_RADIUS * np.cos(lat0) * (np.radians(lon) - lon0)
    y = _EARTH_RADIUS * (np.radians(lat) - lat0)
    return grid_mesh(x, y, exaggeration * z)


def _brain() -> Cells:
    from nilearn.datasets import load_mni152_brain_mask

    image = load_mni152_brain_mask(resolution=1)  # the MNI152 template thresholded (nilearn's 0.2), 1 mm voxels
    return Cells(np.asarray(image.dataobj) > 0, image.affine)


def _cortex_pial() -> Mesh:
    from nilearn.datasets import load_fsaverage

    hemisphere = load_fsaverage("fsaverage5")["pial"].parts["left"]  # 10242 vertices, 20480 triangles, mm
    return Mesh(hemisphere.coordinates, hemisphere.faces)


def _triangles(mesh) -> Mesh:
    """A pyvista mesh as a :class:`Mesh` of triangles."""
    mesh = mesh.triangulate()
    return Mesh(mesh.points, mesh.faces.reshape(-1, 4)[:, 1:])  # faces are flat [3, i, j, k, 3, ...]


def _pyvista_mesh(loader: str) -> Mesh:
    from pyvista import examples

    return _triangles(getattr(examples, loader)())


def _torus() -> Mesh:
    import pyvista

    return _triangles(pyvista.ParametricTorus())  # pyvista's defaults: ring radius 1, tube radius 0.2


def _frog() -> Cells:
    from pyvista import examples

    volume = examples.load_frog_tissues()  # 500 x 470 x 136 labels, 0 outside the frog, spacing (1, 1, 1.5)
    labels = np.asarray(volume["MetaImage"]).reshape(volume.dimensions, order="F")
    affine = np.diag([*volume.spacing, 1.0])
    affine[:3, 3] = volume.origin
    return Cells(labels > 0, affine)  # every tissue: the whole frog


def _pyvista_logo() -> Cells:
    import matplotlib.pyplot as plt
    from pyvista import examples

    rgba = plt.imread(Path(examples.__file__).parent / "pyvista_logo.png")  # (592, 1389, 4) floats in [0, 1]
    return _image_mask(rgba[..., 3] > 0.5)  # the opaque pixels: the word, some letters drawn as wireframes


def _channels() -> Cells:
    from pyvista import examples

    volume = examples.load_channels()  # 250 x 250 x 100 cells of facies 0-4; 0 the background rock
    facies = np.asarray(volume["facies"]).reshape([n - 1 for n in volume.dimensions], order="F")
    affine = np.diag([*volume.spacing, 1.0])
    affine[:3, 3] = np.asarray(volume.origin) + 0.5 * np.asarray(volume.spacing)  # cell centres
    return Cells(facies > 0, affine)


@dataclass(frozen=True)
class ShapeSpec:
    """How to make one shape.

    Attributes
    ----------
    name : str
    dim : int
        2 or 3.
    kind : str
        ``"filled 2D"``, ``"surface"`` or ``"solid"``: sampled uniformly over area, surface area or volume.
    source : str
        The package and file the shape comes from, and what was taken from it.
    features : str
        What makes it hard for the fitter: holes, thin parts, several components.
    module : str
        The module the shape needs beyond numpy/scipy/matplotlib (see ``PIP_NAMES`` for its pip name).
    build : callable
        Returns the shape's sampler (:class:`Region`, :class:`Cells` or :class:`Mesh`).
    """

    name: str
    dim: int
    kind: str
    source: str
    features: str
    module: str
    build: Callable[[], Region | Cells | Mesh]


_SANS_BOLD = "DejaVuSans-Bold.ttf"
_SANS = "DejaVuSans.ttf"

# fmt: off
SHAPES: dict[str, ShapeSpec] = {
    spec.name: spec
    for spec in [
        ShapeSpec("glyph_A", 2, "filled 2D", f"matplotlib: fonts/ttf/{_SANS_BOLD}, 'A'", "1 hole", "matplotlib",
                  lambda: _glyph("A", _SANS_BOLD)),
        ShapeSpec("glyph_B", 2, "filled 2D", f"matplotlib: fonts/ttf/{_SANS_BOLD}, 'B'", "2 holes", "matplotlib",
                  lambda: _glyph("B", _SANS_BOLD)),
        ShapeSpec("glyph_ampersand", 2, "filled 2D", f"matplotlib: fonts/ttf/{_SANS_BOLD}, '&'",
                  "1 hole, curved strokes", "matplotlib", lambda: _glyph("&", _SANS_BOLD)),
        ShapeSpec("glyph_at", 2, "filled 2D", f"matplotlib: fonts/ttf/{_SANS}, '@'", "thin strokes, 1 hole",
                  "matplotlib", lambda: _glyph("@", _SANS)),
        ShapeSpec("knight", 2, "filled 2D", f"matplotlib: fonts/ttf/{_SANS}, U+265E black chess knight",
                  "silhouette with a thin mane line (3 holes)", "matplotlib", lambda: _glyph("\u265e", _SANS)),
        ShapeSpec("horse", 2, "filled 2D", "scikit-image: data/horse.png (skimage.data.horse, the horse)",
                  "thin legs and tail", "skimage", _horse),
        ShapeSpec("phantom", 2, "filled 2D", "scikit-image: data/phantom.png (Shepp-Logan, value > 0)",
                  "2 holes", "skimage", lambda: _phantom(skull_only=False)),
        ShapeSpec("phantom_skull", 2, "filled 2D", "scikit-image: data/phantom.png (Shepp-Logan, the skull ring)",
                  "thin ring (2% of its width), 1 large hole", "skimage", lambda: _phantom(skull_only=True)),
        ShapeSpec("coins", 2, "filled 2D", "scikit-image: data/coins.png (watershed segmentation)",
                  "24 separate discs", "skimage", _coins),
        ShapeSpec("jacksboro_dem", 3, "surface", "matplotlib: sample_data/jacksboro_fault_dem.npz (heights x5)",
                  "height field, ridges and valleys", "matplotlib",
                  lambda: _height_field("jacksboro_fault_dem.npz", 5.0)),
        ShapeSpec("topobathy", 3, "surface", "matplotlib: sample_data/topobathy.npz (heights x10)",
                  "height field, land and sea floor", "matplotlib", lambda: _height_field("topobathy.npz", 10.0)),
        ShapeSpec("brain", 3, "solid", "nilearn: datasets/data/mni_icbm152_t1_tal_nlin_sym_09a (brain mask)",
                  "filled, smooth", "nilearn", _brain),
        ShapeSpec("cortex_pial", 3, "surface", "nilearn: datasets/data/fsaverage5/pial_left.gii.gz",
                  "closed surface, deeply folded", "nilearn", _cortex_pial),
        ShapeSpec("nut", 3, "surface", "pyvista: examples/nut.ply", "closed surface with a through hole",
                  "pyvista", lambda: _pyvista_mesh("load_nut")),
        ShapeSpec("ant", 3, "surface", "pyvista: examples/ant.ply", "closed surface, thin legs and antennae",
                  "pyvista", lambda: _pyvista_mesh("load_ant")),
        ShapeSpec("frog", 3, "solid", "pyvista: examples/frog_tissues.vti (every tissue label)",
                  "thin legs, internal gaps", "pyvista", _frog),
    ]
}

#: Shapes that no setting of the fitter or the encoder was chosen on: run them
#: (``bench_real.py --held-out``) to see how the figures of the development set carry over.
#: Added on 2026-12-07 and run once with the code of that day before any later change.
HELD_OUT_SHAPES: dict[str, ShapeSpec] = {
    spec.name: spec
    for spec in [
        ShapeSpec("glyph_g_serif", 2, "filled 2D", "matplotlib: fonts/ttf/DejaVuSerif.ttf, 'g'",
                  "thin curved strokes, 2 holes", "matplotlib", lambda: _glyph("g", "DejaVuSerif.ttf")),
        ShapeSpec("glyph_W", 2, "filled 2D", f"matplotlib: fonts/ttf/{_SANS_BOLD}, 'W'", "sharp corners, no hole",
                  "matplotlib", lambda: _glyph("W", _SANS_BOLD)),
        ShapeSpec("glyph_Q_serif", 2, "filled 2D", "matplotlib: fonts/ttf/DejaVuSerif-Bold.ttf, 'Q'",
                  "ring with a tail, 1 hole", "matplotlib", lambda: _glyph("Q", "DejaVuSerif-Bold.ttf")),
        ShapeSpec("glyph_percent", 2, "filled 2D", f"matplotlib: fonts/ttf/{_SANS_BOLD}, '%'",
                  "3 parts, 2 holes", "matplotlib", lambda: _glyph("%", _SANS_BOLD)),
        ShapeSpec("glyph_k_italic", 2, "filled 2D", "matplotlib: fonts/ttf/DejaVuSerif-BoldItalic.ttf, 'k'",
                  "slanted strokes, serifs", "matplotlib", lambda: _glyph("k", "DejaVuSerif-BoldItalic.ttf")),
        ShapeSpec("pyvista_logo", 2, "filled 2D", "pyvista: examples/pyvista_logo.png (opaque pixels)",
                  "a word of 7 letters, 2 of them wireframes (18 parts)", "pyvista", _pyvista_logo),
        ShapeSpec("airplane", 3, "surface", "pyvista: examples/airplane.ply", "thin wings and tail", "pyvista",
                  lambda: _pyvista_mesh("load_airplane")),
        ShapeSpec("sphere", 3, "surface", "pyvista: examples/sphere.ply", "closed, smooth, curved everywhere",
                  "pyvista", lambda: _pyvista_mesh("load_sphere")),
        ShapeSpec("channels", 3, "solid", "pyvista: examples/channels.vti (facies > 0)",
                  "branching channels in a slab", "pyvista", _channels),
        ShapeSpec("torus", 3, "surface", "pyvista: ParametricTorus() (its defaults)",
                  "closed, a hole through it", "pyvista", _torus),
    ]
}
# fmt: on


def spec_of(name: str) -> ShapeSpec:
    """The spec of a development or held-out shape.

    Parameters
    ----------
    name : str
        A key of :data:`SHAPES` or :data:`HELD_OUT_SHAPES`.

    Returns
    -------
    ShapeSpec

    Raises
    ------
    KeyError
        An unknown name.
    """
    return SHAPES[name] if name in SHAPES else HELD_OUT_SHAPES[name]


@dataclass(frozen=True)
class Shape:
    """One shape of the development or held-out set.

    Attributes
    ----------
    name : str
    dim : int
    kind : str
    cloud : ndarray, shape (n_input, dim)
        The input cloud for the fitter.
    truth : ndarray, shape (n_truth, dim)
        A dense independent sample of the same shape, to measure against.
    source : str
    features : str
    """

    name: str
    dim: int
    kind: str
    cloud: np.ndarray
    truth: np.ndarray
    source: str
    features: str


def missing_package(name: str) -> str | None:
    """The pip name of the package that shape ``name`` needs and that is not installed, else None.

    Parameters
    ----------
    name : str
        A key of :data:`SHAPES` or :data:`HELD_OUT_SHAPES`.

    Returns
    -------
    str or None
    """
    module = spec_of(name).module
    return None if importlib.util.find_spec(module) is not None else PIP_NAMES.get(module, module)


def default_truth_size(kind: str) -> int:
    """Points of the truth by default: 200,000, and 10^6 for solids.

    A solid fills up to half of its 64^3 bounding cube (~1.3 * 10^5 voxels): 2 * 10^5 points would leave about one
    voxel in five of the truth's own occupancy empty (Poisson, 1.5 points a voxel), 10^6 one in 2000.

    Parameters
    ----------
    kind : str

    Returns
    -------
    int
    """
    return 1_000_000 if kind == "solid" else 200_000


def load_shape(name: str, n_input: int = 4096, n_truth: int | None = None, seed: int = 0) -> Shape:
    """Build one shape: its input cloud and its truth.

    Parameters
    ----------
    name : str
        A key of :data:`SHAPES` or :data:`HELD_OUT_SHAPES`.
    n_input : int
        Points of the input cloud.
    n_truth : int, optional
        Points of the truth; default :func:`default_truth_size` of the shape's kind.
    seed : int
        With the name, fixes both samples (independent streams for cloud and truth).

    Returns
    -------
    Shape

    Raises
    ------
    KeyError
        An unknown name.
    MissingPackage
        The shape needs a package that is not installed (the message names its pip name).
    """
    spec = spec_of(name)
    missing = missing_package(name)
    if missing is not None:
        raise MissingPackage(f"shape {name!r} needs the package {missing!r} (pip install {missing})")
    if n_truth is None:
        n_truth = default_truth_size(spec.kind)
    sampler = spec.build()
    # the name in the seed: shapes do not share random streams; spawn: cloud and truth are independent draws
    cloud_seq, truth_seq = np.random.SeedSequence([seed, zlib.crc32(name.encode())]).spawn(2)
    cloud = sampler.sample(n_input, np.random.default_rng(cloud_seq))
    truth = sampler.sample(n_truth, np.random.default_rng(truth_seq))
    return Shape(spec.name, spec.dim, spec.kind, cloud, truth, spec.source, spec.features)
