"""The dataset writer (ifskit.data.factory), PC-FractalDB, the pictures and files, and `ifskit dataset` mistakes."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from ifskit import FormatError
from ifskit._io import write_files
from ifskit.data import get_recipe, write_dataset
from ifskit.data.factory import category_path
from ifskit.data.pictures import cloud_picture, contact_sheet, png_bytes, raster
from ifskit.data.recipes import _normalized
from ifskit.formats import load_points

SMALL_FDB = dict(categories=3, instances=4, size=24, points=2000)
SMALL_PC = dict(categories=4, instances=3, points=600)


def _new(folder):
    folder.mkdir()
    return folder


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- pictures and files ---------------------------------------------------------------------------
def _raster_point_by_point(points, size, patch=None):
    """FractalDB's drawing, one point at a time: the reference of the whole-array raster."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    image = np.zeros((size + 2, size + 2), dtype=np.uint8)
    for x, y in points:
        col = int(np.rint((x - lo[0]) * (size - 1) / (hi[0] - lo[0])))
        row = size - 1 - int(np.rint((y - lo[1]) * (size - 1) / (hi[1] - lo[1])))
        if patch is None:
            image[row + 1, col + 1] = 255
        else:
            block = image[row : row + 3, col : col + 3]
            np.maximum(block, patch, out=block)
    return image[1:-1, 1:-1]


def test_raster_and_patches_match_drawing_point_by_point(rng):
    points = rng.normal(size=(500, 2)) * [3, 1]
    assert np.array_equal(raster(points, 40), _raster_point_by_point(points, 40))
    patch = rng.integers(1, 256, size=(3, 3)).astype(np.uint8)
    assert np.array_equal(raster(points, 40, patch), _raster_point_by_point(points, 40, patch))
    with_nan = np.vstack([points, [[np.nan, 0.0], [np.inf, 1.0]]])
    assert np.array_equal(raster(with_nan, 40), raster(points, 40))  # escaped points dropped


@pytest.mark.parametrize("shape", [(7, 9), (5, 6, 3), (4, 3, 4)])
def test_png_bytes_read_back_by_pillow(rng, shape):
    image = rng.integers(0, 256, size=shape).astype(np.uint8)
    data = png_bytes(image)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), image)
    assert png_bytes(image) == data  # no time stamp


def test_contact_sheet_grid_and_means():
    white, black = np.full((10, 10), 255, np.uint8), np.zeros((30, 20, 3), np.uint8)
    sheet = contact_sheet([white, black, white], tile=8)
    assert sheet.shape == (2 * 10 + 2, 2 * 10 + 2, 3)  # 2 x 2 tiles of 8 + 2-pixel gaps
    assert (sheet[2:10, 2:10] == 255).all() and (sheet[2:10, 12:20] == 0).all() and (sheet[12:20, 2:10] == 255).all()
    stripes = np.zeros((16, 16), np.uint8)
    stripes[::2] = 200
    assert np.all(contact_sheet([stripes], tile=8)[2:10, 2:10] == 100)  # area mean, not a sample


def test_write_files_writes_all_or_nothing(tmp_path):
    write_files({tmp_path / "a.bin": b"abc", tmp_path / "b.bin": b"de"})
    assert (tmp_path / "a.bin").read_bytes() == b"abc" and (tmp_path / "b.bin").read_bytes() == b"de"
    (tmp_path / "c.bin").mkdir()  # a folder where a file should go: that write fails
    with pytest.raises(OSError):
        write_files({tmp_path / "d.bin": b"x", tmp_path / "c.bin" / "sub" / "e.bin": b"y"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin", "c.bin"]  # no d.bin, no temporary


# ---- PC-FractalDB ---------------------------------------------------------------------------------
def test_pc_fractaldb_categories_pass_the_variance_filter():
    recipe = get_recipe("pc-fractaldb", **SMALL_PC)
    from ifskit.data.recipes import _affine_ifs
    from ifskit.render import chaos_game

    for category in range(3):
        rows = recipe.category(7, category)
        assert rows.shape[1] == 13 and 2 <= len(rows) <= 7 and abs(rows[:, 12].sum() - 1) < 1e-12
        assert np.all(np.abs(rows[:, :12]) <= 1)
        ifs = _affine_ifs(rows[:, :9].reshape(-1, 3, 3), rows[:, 9:12], rows[:, 12], check=False)
        cloud = _normalized(chaos_game(ifs, 20_000, seed=3, threads=1, progress=False))
        assert np.all(cloud.var(axis=0) > 0.05 * 0.8)  # another point set, nearly the same figure
    assert np.array_equal(get_recipe("pc-fractaldb", **SMALL_PC).category(7, 2), recipe.category(7, 2))


def test_pc_fractaldb_noise_mix():
    mixed = get_recipe("pc-fractaldb", **SMALL_PC)
    plain = get_recipe("pc-fractaldb", **SMALL_PC, mix=0)
    a, b = mixed.make(0, 1)["points"], mixed.make(1, 1)["points"]
    assert a.shape == (600, 3) and a.dtype == np.float32
    assert np.allclose(a.mean(axis=0), 0, atol=1e-5)
    # the first 480 points are the category's own cloud, shared by its instances up to the re-centring
    assert np.allclose(a[:480] - a[:480].mean(0), b[:480] - b[:480].mean(0), atol=1e-5)
    assert not np.allclose(a[480:], b[480:], atol=1e-3)  # the mixed-in 20% differ
    assert np.array_equal(plain.make(0, 1)["points"], plain.make(2, 1)["points"])  # no mix: one cloud
    assert plain.categories_needed(4) == range(2) and mixed.categories_needed(4) == range(4)


def test_pc_fractaldb_files_and_loader(tmp_path):
    torch = pytest.importorskip("torch")
    from ifskit.data import FractalDataset

    recipe = get_recipe("pc-fractaldb", **SMALL_PC)
    write_dataset(tmp_path, 5, recipe=recipe, seed=2, formats=("ply", "npy"))
    dataset = FractalDataset.from_folder(tmp_path)
    for i in (0, 4):
        from_ply, from_npy = load_points(tmp_path / f"sample_{i:06d}.ply"), np.load(tmp_path / f"sample_{i:06d}.npy")
        assert np.array_equal(from_ply, from_npy)
        assert torch.equal(dataset[i][0], torch.from_numpy(from_npy.astype(np.float32)))
    assert dataset[4][1] == 1
    assert cloud_picture(from_npy, 32).shape == (32, 32)


# ---- the writer ------------------------------------------------------------------------------------
def test_same_bytes_whatever_the_threads_and_a_stopped_run_resumes(tmp_path):
    recipe = get_recipe("fractaldb", **SMALL_FDB)
    write_dataset(_new(tmp_path / "one"), 10, recipe=recipe, seed=3, workers=1)
    reference = _files(tmp_path / "one")
    assert (
        write_dataset(_new(tmp_path / "two"), 10, recipe=get_recipe("fractaldb", **SMALL_FDB), seed=3, workers=2)[
            "written"
        ]
        == 10
    )
    assert _files(tmp_path / "two") == reference
    # a budget spent before any work: nothing but what was found so far, then the rerun finishes
    stopped = write_dataset(_new(tmp_path / "stop"), 10, recipe=get_recipe("fractaldb", **SMALL_FDB), seed=3,
                            time_budget=1e-9)  # fmt: skip
    assert stopped["complete"] is False and stopped["written"] == 0
    assert not list((tmp_path / "stop").glob("sample_*")) and not list((tmp_path / "stop").glob(".*"))
    resumed = write_dataset(tmp_path / "stop", 10, recipe=get_recipe("fractaldb", **SMALL_FDB), seed=3)
    assert resumed["complete"] is True and resumed["written"] == 10
    assert _files(tmp_path / "stop") == reference


def test_tar_shards_hold_the_files_and_labels_that_webdataset_reads(tmp_path):
    import webdataset

    recipe = get_recipe("fractaldb", **SMALL_FDB)
    write_dataset(_new(tmp_path / "files"), 10, recipe=recipe, seed=2, preview=False)
    files = _files(tmp_path / "files")
    write_dataset(_new(tmp_path / "tar"), 10, recipe=recipe, seed=2, shard_size=4, shard_format="tar", workers=1)
    shards = sorted(p.name for p in (tmp_path / "tar").glob("shard_*"))
    assert shards == ["shard_000000.tar", "shard_000001.tar", "shard_000002.tar"]
    urls = [str(tmp_path / "tar" / name) for name in shards]
    samples = list(webdataset.WebDataset(urls, shardshuffle=False))
    assert [s["__key__"] for s in samples] == [f"sample_{i:06d}" for i in range(10)]
    for i, sample in enumerate(samples):
        assert sample["png"] == files[f"sample_{i:06d}.png"]  # the files layout's bytes
        assert int(sample["cls"]) == i // SMALL_FDB["instances"]
    manifest = json.loads((tmp_path / "tar" / "manifest.json").read_text())
    assert manifest["layout"] == "shards" and manifest["shard_format"] == "tar"
    # the same bytes on two threads, and a lost shard is made again
    write_dataset(_new(tmp_path / "again"), 10, recipe=recipe, seed=2, shard_size=4, shard_format="tar", workers=2)
    assert _files(tmp_path / "again") == _files(tmp_path / "tar")
    (tmp_path / "tar" / "shard_000001.tar").unlink()
    resumed = write_dataset(tmp_path / "tar", 10, recipe=recipe, seed=2, shard_size=4, shard_format="tar")
    assert resumed["written"] == 4 and resumed["skipped"] == 6
    assert _files(tmp_path / "again") == _files(tmp_path / "tar")
    with pytest.raises(FormatError, match='shard_format "tar"'):  # an npz run in a tar folder
        write_dataset(tmp_path / "tar", 10, recipe=recipe, seed=2, shard_size=4)


def test_categories_written_as_rows_and_read_back_on_resume(tmp_path):
    recipe = get_recipe("fractaldb", **SMALL_FDB)
    first = write_dataset(tmp_path, 5, recipe=recipe, seed=6)
    assert first["categories_searched"] == 2
    rows = np.loadtxt(category_path(tmp_path, 1), delimiter=",", ndmin=2)
    assert rows.shape[1] == 7 and np.array_equal(rows, recipe.category(6, 1))  # exact: a,b,c,d,e,f,p
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["category_columns"] == list("abcdefp") and np.array_equal(manifest["categories"][1], rows)
    # grown by one category: the two written are read, one is searched
    grown = write_dataset(tmp_path, 9, recipe=get_recipe("fractaldb", **SMALL_FDB), seed=6)
    assert grown["categories_searched"] == 1 and grown["written"] == 4 and grown["skipped"] == 5
    preview = np.asarray(Image.open(tmp_path / "preview.png"))
    assert preview.shape == (2 * 98 + 2, 2 * 98 + 2, 3)  # three categories: a 2 x 2 sheet of 96-pixel tiles


def test_clouds_png_is_the_picture_of_the_cloud(tmp_path):
    recipe = get_recipe("clouds", points=300, png_size=32)
    write_dataset(tmp_path, 3, recipe=recipe, seed=1, formats=("npy", "png"), preview=False)
    points = np.load(tmp_path / "sample_000002.npy")
    picture = np.asarray(Image.open(tmp_path / "sample_000002.png"))
    assert picture.shape == (32, 32) and np.array_equal(picture, cloud_picture(points, 32))
    assert not (tmp_path / "preview.png").exists()


# ---- `ifskit dataset` mistakes: one line, exit 2, nothing lost -------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["--recipe", "nope"], "invalid choice: 'nope'"),
        (["--recipe", "svd", "--fill", 0.3], "recipe svd does not take --fill"),
        (["--recipe", "fractaldb", "--variance", 0.1], "recipe fractaldb does not take --variance"),
        (["--mix", 0.1], "recipe clouds does not take --mix"),
        (["--recipe", "pc-fractaldb", "--mix", 1], "--mix: expected a fraction in [0, 1)"),
        (["--recipe", "pc-fractaldb", "--format", "png"], "--format: recipe pc-fractaldb writes some of ply,npy"),
        (["--count", 0], "--count: expected a positive whole number"),
        (["--count", "1e12"], "--count must be from 1 to 100,000,000"),
        (["--time", 0], "--time: expected a positive number of seconds"),
        (["--scheduler", "local:1024"], "local:N needs 1 <= N <="),
        (["--scheduler", "local:2", "--threads", 2], "--threads applies without --scheduler"),
        (["--threads", 100000], "--threads must be a whole number from 1 to 1024"),
        (["--shard-format", "tar"], "--shard-format applies to shards only: give a shard size too"),
        (["--shard-size", 2, "--shard-format", "zip"], "--shard-format: invalid choice: 'zip'"),
    ],
)
def test_cli_mistakes(cli, tmp_path, capsys, args, message):
    options = {"--count": 3}
    for flag, value in zip(args[::2], args[1::2]):
        options[flag] = value
    argv = [a for pair in options.items() for a in pair]
    assert cli("dataset", "-o", tmp_path / "out", *argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ifskit: error:") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "other, differs",
    [
        (["--recipe", "svd"], 'recipe "fractaldb"'),
        (["--seed", 5], "seed 4"),
        (["--size", 32], '"size": 24'),
        (["--shard-size", 3], 'layout "files"'),
    ],
)
def test_cli_refuses_a_folder_of_another_dataset(cli, tmp_path, capsys, other, differs):
    common = ["--recipe", "fractaldb", "--categories", 2, "--instances", 2, "--size", 24, "--points", 1500]
    options = dict(zip(common[::2], common[1::2]), **{"--count": 3, "--seed": 4})
    assert cli("dataset", "-o", tmp_path, *[a for pair in options.items() for a in pair], "--quiet") == 0
    before = _files(tmp_path)
    options.update(dict(zip(other[::2], other[1::2])))
    if options["--recipe"] == "svd":
        for flag in ("--categories", "--instances"):
            options.pop(flag)
    assert cli("dataset", "-o", tmp_path, *[a for pair in options.items() for a in pair]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "manifest.json: the folder holds another dataset" in err and differs in err
    assert "rerun with its settings to resume it, or choose another folder" in err
    assert _files(tmp_path) == before


def test_a_sample_owns_its_picture():
    # flips of one weighting share their points inside the recipe: changing a sample must not change the next
    recipe = get_recipe("fractaldb", **SMALL_FDB)
    first = recipe.make(0, 0)["image"]
    kept = first.copy()
    first[:] = 7
    assert np.array_equal(recipe.make(0, 0)["image"], kept)
    assert np.array_equal(recipe.make(1, 0)["image"], kept[:, ::-1])


def test_the_command_lists_every_recipe():
    from ifskit.cli.dataset import RECIPE_NAMES
    from ifskit.data import RECIPES

    assert RECIPE_NAMES == tuple(RECIPES)


def test_fractal_dataset_augmentations():
    torch = pytest.importorskip("torch")
    from ifskit.data import FractalDataset

    plain = FractalDataset(4, get_recipe("fractaldb", **SMALL_FDB), seed=1)
    cropped = FractalDataset(4, get_recipe("fractaldb", **SMALL_FDB), seed=1, crop=16, flip=True)
    torch.manual_seed(0)
    crops = [cropped[2][0] for _ in range(40)]
    full = plain[2][0]
    assert all(c.shape == (16, 16) for c in crops)
    windows = {(r, c): full[r : r + 16, c : c + 16] for r in range(9) for c in range(9)}
    found = [
        next((key, flipped) for key, w in windows.items() for flipped in (False, True)
             if torch.equal(w.flip(1) if flipped else w, crop))
        for crop in crops
    ]  # fmt: skip
    assert len({key for key, _ in found}) > 5 and {flipped for _, flipped in found} == {False, True}
    clouds = FractalDataset(2, get_recipe("pc-fractaldb", **SMALL_PC, mix=0), seed=1, rotate=True, jitter=0.01)
    base = torch.from_numpy(FractalDataset(2, clouds.recipe, seed=1)[0][0].numpy())
    turned = clouds[0][0]
    assert turned.shape == base.shape and not torch.allclose(turned, base, atol=1e-3)
    # a turn about z and a small jitter: z and the distances from the z axis stay
    assert torch.allclose(turned[:, 2], base[:, 2], atol=0.06)
    assert torch.allclose(turned[:, :2].norm(dim=1), base[:, :2].norm(dim=1), atol=0.08)
    with pytest.raises(ValueError, match="crop 30 is larger than the pictures"):
        FractalDataset(4, get_recipe("fractaldb", **SMALL_FDB), crop=30)[0]


class _SlowSearch(type(get_recipe("fractaldb"))):
    """FractalDB whose search takes a known time, so that a time budget stops it between categories."""

    def search(self, seed, category):
        import time

        time.sleep(0.3)
        return super().search(seed, category)


def test_a_search_stopped_by_the_time_budget_resumes_from_its_files(tmp_path):
    stopped = write_dataset(tmp_path, 12, recipe=_SlowSearch(**SMALL_FDB), seed=2, workers=1, time_budget=0.4)
    assert stopped["complete"] is False and stopped["written"] == 0
    found = sorted(p.name for p in (tmp_path / "categories").iterdir())
    assert found in (["000000.csv"], ["000000.csv", "000001.csv"])  # those started within the budget, kept
    resumed = write_dataset(tmp_path, 12, recipe=get_recipe("fractaldb", **SMALL_FDB), seed=2)
    assert resumed["categories_searched"] == 3 - len(found) and resumed["written"] == 12
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    write_dataset(fresh, 12, recipe=get_recipe("fractaldb", **SMALL_FDB), seed=2)
    assert _files(fresh) == {k: v for k, v in _files(tmp_path).items() if not k.startswith("fresh/")}


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("manifest.json", "[1, 2]", "manifest.json: not a dataset manifest"),
        ("manifest.json", "{not json", "manifest.json: cannot read the dataset manifest"),
        ("categories/000000.csv", "0.1,0.2,x\n", "000000.csv: cannot read the category's parameters"),
    ],
)
def test_cli_damaged_dataset_files_are_one_line(cli, tmp_path, capsys, name, text, message):
    options = ["--recipe", "fractaldb", "--categories", 2, "--instances", 2, "--size", 24, "--points", 1500]
    assert cli("dataset", "-o", tmp_path, *options, "--count", 2, "--quiet") == 0
    (tmp_path / name).write_text(text)
    assert cli("dataset", "-o", tmp_path, *options, "--count", 4) == 2
    err = capsys.readouterr().err
    assert err.startswith("ifskit: error:") and message in err and err.count("\n") == 1
