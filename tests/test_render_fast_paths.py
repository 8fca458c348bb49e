"""The density renderer's fast paths: framing without sampling, batches, float32, bounded memory."""

import tracemalloc

import numpy as np
import pytest

import ifskit
from ifskit import IFS
from ifskit.builtin import catalog_names
from ifskit.render.aggregate import _job
from ifskit.render.extent import extent_sample, tight_bounds
from ifskit.render.frame import fit_window, window


def random_contractive(rng: np.random.Generator, n_maps: int) -> IFS:
    """A random IFS: each map a rotation, scales in [0.2, 0.8], a rotation, a shift."""
    A = []
    for _ in range(n_maps):
        t1, t2 = rng.uniform(0, 2 * np.pi, 2)
        r1 = np.array([[np.cos(t1), -np.sin(t1)], [np.sin(t1), np.cos(t1)]])
        r2 = np.array([[np.cos(t2), -np.sin(t2)], [np.sin(t2), np.cos(t2)]])
        A.append(r1 @ np.diag(rng.uniform(0.2, 0.8, 2) * rng.choice([-1, 1], 2)) @ r2)
    return IFS(np.array(A), rng.uniform(-1, 1, (n_maps, 2)))


def shapes() -> list:
    rng = np.random.default_rng(3)
    return [ifskit.catalog(name) for name in catalog_names()] + [random_contractive(rng, k) for k in (2, 3, 4, 5, 7)]


@pytest.mark.parametrize("ifs", shapes(), ids=lambda ifs: ifs.name or f"random{ifs.n_maps}")
def test_the_attractor_fills_the_frame_as_before(ifs):
    # the bounds come from a search of compositions of maps, not from 300,000 chaos-game
    # points as before: the box holds those points (to 0.5% of the extent) and reaches
    # at most 3% further (extremes that the points missed), so the attractor fills the
    # frame of a picture as before, inside its 5% margin
    sample = extent_sample(ifs)
    lo, hi = ifs.extent_of(sample)
    extent = np.max(hi - lo)
    bounds = np.asarray(tight_bounds(ifs)).reshape(-1, 2)
    assert np.all(bounds[:, 0] <= lo + 0.005 * extent) and np.all(bounds[:, 1] >= hi - 0.005 * extent)
    assert np.all(bounds[:, 0] >= lo - 0.03 * extent) and np.all(bounds[:, 1] <= hi + 0.03 * extent)
    if ifs.dim == 2:
        before = np.array(fit_window(np.array([lo[0], hi[0]]), np.array([lo[1], hi[1]]), (200, 300)))
        now = np.array(window(ifs, (200, 300)).bounds)
        assert now[1] - now[0] == pytest.approx(before[1] - before[0], rel=0.03)
        inside = (sample[:, 0] > now[0]) & (sample[:, 0] < now[1]) & (sample[:, 1] > now[2]) & (sample[:, 1] < now[3])
        assert inside.all()


def test_densities_equal_the_renders_one_by_one(fern, sierpinski):
    rng = np.random.default_rng(0)
    batch = [fern, sierpinski] + [random_contractive(rng, k) for k in (2, 3, 5)]
    # a deep zoom: this render falls back to float64, so the batch mixes both precisions
    zoom = (0.5, 0.5001, 5.0, 5.0001)
    together = ifskit.render.densities(batch, (40, 56), 70_000, seed=[1, 2, 3, 4, 5], threads=2)
    assert together.shape == (5, 40, 56) and together.dtype == np.uint64
    for i, ifs in enumerate(batch):
        assert np.array_equal(together[i], ifskit.density(ifs, (40, 56), 70_000, seed=i + 1))
    zoomed = ifskit.render.densities([fern, sierpinski], 32, 50_000, bounds=zoom, threads=3)
    assert np.array_equal(zoomed[0], ifskit.density(fern, 32, 50_000, bounds=zoom))
    one_thread = ifskit.render.densities(batch, (40, 56), 70_000, seed=[1, 2, 3, 4, 5], threads=1)
    assert np.array_equal(together, one_thread)
    with pytest.raises(ifskit.ParameterError, match="seed"):
        ifskit.render.densities(batch, 8, 100, seed=[1, 2])


def test_float32_keeps_the_measure(fern):
    n = 2_000_000
    fast = ifskit.density(fern, 1024, n, seed=3)
    exact = ifskit.density(fern, 1024, n, seed=3, precision="float64")
    assert not np.array_equal(fast, exact)  # float32 is used here
    assert 0.5 * np.abs(fast.astype(np.int64) - exact.astype(np.int64)).sum() / n <= 0.005
    with pytest.raises(ifskit.ParameterError, match="precision"):
        ifskit.density(fern, 8, 100, precision="float16")


def test_deep_zooms_fall_back_to_float64_by_themselves(sierpinski):
    # a window 1/1000 of the triangle wide at its corner: float32 pixel coordinates of
    # the whole attractor would be too coarse there, so the float32 render is the float64 one
    zoom = (-2e-4, 8e-4, -2e-4, 8e-4)
    job, _ = _job(sierpinski, (64, 64), 10_000, 0, zoom, None, "float32")
    assert job.precision == "float64"
    fast = ifskit.density(sierpinski, 64, 2_000_000, bounds=zoom)
    assert fast.sum() > 10
    assert np.array_equal(fast, ifskit.density(sierpinski, 64, 2_000_000, bounds=zoom, precision="float64"))
    job, _ = _job(sierpinski, (64, 64), 10_000, 0, (-0.2, 0.8, -0.2, 0.8), None, "float32")
    assert job.precision == "float32"


def test_float64_output_is_the_same_whatever_the_threads(fern):
    n = 5 * 2**18 + 999
    one = ifskit.density(fern, (64, 48), n, seed=4, precision="float64", threads=1)
    assert np.array_equal(one, ifskit.density(fern, (64, 48), n, seed=4, precision="float64", threads=2))
    assert np.array_equal(one, ifskit.density(fern, (64, 48), n, seed=4, precision="float64", threads=5))


def test_huge_point_counts_allocate_nothing_per_chunk(sierpinski):
    # issue 22: `render --points 1e15` reached 7.4 GB before drawing a point (arrays of
    # every chunk's seed and count); now the chunks of any range are found by arithmetic
    job, _ = _job(sierpinski, (64, 64), 10**15, 0, None, None, "float32")
    tracemalloc.start()
    try:
        counts, _, _ = job.bin_chunks(job.n_chunks - 2, job.n_chunks, threads=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert int(counts.sum()) == job.chunk_points(job.n_chunks - 2, job.n_chunks) > 0
    assert peak < 5_000_000


def test_rendering_many_ifs_one_after_the_other_keeps_no_leftovers():
    # IFS only contractive on average are framed from chaos-game samples (about 5 MB
    # each), kept for the last few IFS only, even while the IFS themselves stay alive
    rng = np.random.default_rng(1)
    kept = []

    def render_more(count):
        for _ in range(count):
            A = np.array([1.2 * np.eye(2), 0.3 * np.eye(2)])
            kept.append(IFS(A, rng.uniform(-1, 1, (2, 2)), [0.2, 0.8]))
            ifskit.density(kept[-1], 16, 1000)

    tracemalloc.start()
    try:
        render_more(30)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 12 * 150_000 * 2 * 8  # a sample of 150,000 points for the last 8 IFS; 30 before
