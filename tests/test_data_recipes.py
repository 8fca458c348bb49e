"""Dataset recipes (ifskit.data): FractalDB and SVD samples, manifests, and the on-the-fly torch dataset."""

import json

import numpy as np
import pytest

from ifskit.data import get_recipe, write_dataset
from ifskit.data.recipes import _FRACTALDB_WEIGHTS, raster

SMALL_FDB = dict(categories=3, instances=4, size=32, points=3000)


def test_fractaldb_categories_pass_the_filling_rate_and_are_pure():
    recipe = get_recipe("fractaldb", **SMALL_FDB)
    rows = recipe.category(5, 1)
    assert rows.shape[1] == 7 and 2 <= len(rows) <= 8 and abs(rows[:, 6].sum() - 1) < 1e-12
    assert np.all(np.abs(rows[:, :6]) <= 1)
    # the search of category 1 does not depend on other categories or an earlier search
    assert np.array_equal(get_recipe("fractaldb", **SMALL_FDB).category(5, 1), rows)
    from ifskit.data.recipes import _fractint_ifs
    from ifskit.render import chaos_game

    points = chaos_game(_fractint_ifs(rows[:, :6], rows[:, 6]), 3000, seed=0, threads=1, progress=False)
    assert np.count_nonzero(raster(points, 32)) >= 0.2 * 32 * 32 * 0.8  # another point set, same figure


def test_fractaldb_instances_weight_flip_and_label():
    recipe = get_recipe("fractaldb", **SMALL_FDB)
    assert [recipe.label(i) for i in range(9)] == [0, 0, 0, 0, 1, 1, 1, 1, 2]
    assert len(_FRACTALDB_WEIGHTS) == 25 and np.sum(_FRACTALDB_WEIGHTS != 1) == 24
    first, flipped = recipe.make(0, 0), recipe.make(1, 0)  # instance 1: the left-right flip
    assert first["image"].dtype == np.uint8 and first["image"].shape == (32, 32)
    assert np.array_equal(flipped["image"], first["image"][:, ::-1])
    assert np.array_equal(recipe.make(2, 0)["image"], first["image"][::-1])
    patch = get_recipe("fractaldb", **SMALL_FDB, patch=True).make(0, 0)["image"]
    assert len(np.unique(patch)) > 2  # grey patches, not one lit value


def test_svd_sampler_options():
    grey = get_recipe("svd", size=32, points=2000).make(3, 1)
    colour = get_recipe("svd", size=32, points=2000, color="random", background="random").make(3, 1)
    assert grey["image"].shape == (32, 32) and colour["image"].shape == (32, 32, 3)
    # the same points in colour: one colour where the grey picture is lit, another elsewhere
    lit = grey["image"] > 0
    assert lit.any() and not lit.all()
    assert len(np.unique(colour["image"][lit], axis=0)) == 1 and len(np.unique(colour["image"][~lit], axis=0)) == 1
    sigmas = np.linalg.svd(grey["ifs"].A, compute_uv=False)
    k = grey["ifs"].n_maps
    assert (5 + k) / 2 - 1e-9 <= (sigmas[:, 0] + 2 * sigmas[:, 1]).sum() <= (6 + k) / 2 + 1e-9


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("nope", {}, "unknown recipe"),
        ("svd", {"dim": 3}, "does not take dim"),
        ("svd", {"background": "random"}, "needs color random"),
        ("fractaldb", {"fill": 1.5}, "fill"),
    ],
)
def test_bad_recipes(name, options, message):
    with pytest.raises(ValueError, match=message):
        get_recipe(name, **options)


def test_manifest_records_categories_and_refuses_another_dataset(tmp_path):
    recipe = get_recipe("fractaldb", **SMALL_FDB)
    write_dataset(tmp_path, 6, recipe=recipe, seed=2)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["recipe"] == "fractaldb" and manifest["seed"] == 2 and manifest["layout"] == "files"
    assert len(manifest["categories"]) == 2 and np.array_equal(manifest["categories"][1], recipe.category(2, 1))
    with pytest.raises(ValueError, match="another dataset .*seed 2.*choose another folder"):
        write_dataset(tmp_path, 6, recipe=recipe, seed=3)
    with pytest.raises(ValueError, match="layout"):
        write_dataset(tmp_path, 6, recipe=recipe, seed=2, shard_size=3)
    with pytest.raises(ValueError, match="fewer than 13 samples"):
        write_dataset(tmp_path, 13, recipe=recipe, seed=2)


def test_fractal_dataset_matches_the_written_files(tmp_path):
    torch = pytest.importorskip("torch")
    from PIL import Image

    from ifskit.data import FractalDataset

    recipe = get_recipe("fractaldb", **SMALL_FDB)
    write_dataset(tmp_path, 8, recipe=recipe, seed=4)
    dataset = FractalDataset(8, recipe, seed=4)
    assert len(dataset) == 8
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, num_workers=2, shuffle=False)
    images = torch.cat([x for x, _ in loader])
    labels = torch.cat([y for _, y in loader])
    for i in range(8):
        written = np.asarray(Image.open(tmp_path / f"sample_{i:06d}.png"))
        assert np.array_equal(images[i].numpy(), written)
    assert labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    clouds = FractalDataset(2, get_recipe("clouds", points=100), seed=4)
    write_dataset(tmp_path / "c", 2, seed=4, recipe=get_recipe("clouds", points=100)) if (
        tmp_path / "c"
    ).mkdir() is None else None
    assert np.array_equal(clouds[1][0].numpy(), np.load(tmp_path / "c" / "sample_000001.npy"))


def test_raster_stretches_the_cloud_and_drops_points_that_are_not_finite():
    points = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.25], [np.nan, 3.0], [2.0, np.inf]])
    lit = raster(points, 5)
    # extremes on the corner pixels, y up; (0.5, 0.25) to column 2.5 -> 2, row 3.5 -> 3
    assert sorted(zip(*np.nonzero(lit))) == [(0, 4), (3, 2), (4, 0)]
    assert set(np.unique(lit)) == {0, 255}
    assert not raster(np.full((3, 2), np.nan), 5).any()
    assert np.count_nonzero(raster(np.array([[7.0, -2.0]]), 5)) == 1  # a single point: one pixel
