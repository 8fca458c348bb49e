"""Hostile sizes and arguments (issue 22): refused in one line, exit 2, before memory is spent.

The command-line cases run ``ifskit`` in a subprocess whose address space is capped
(``RLIMIT_AS``, :data:`MEMORY_CAP`): without the limits under test, each of them grows past the
cap (a ``MemoryError``, exit 1) or past the timeout, so the test fails.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from ifskit._io import write_torch
from ifskit.errors import FormatError, ParameterError
from ifskit.image import compress_image, fic
from ifskit.image.files import load_code
from ifskit.limits import MAX_COMPRESS_PIXELS, MAX_DECODE_PIXELS, MAX_RENDER_PIXELS

#: Address space of a capped ifskit run: numba and torch reserve some, a refused run needs no more.
MEMORY_CAP = 1_500_000_000


def run_capped(*args, cwd, timeout: float = 120) -> subprocess.CompletedProcess:
    """``ifskit ARGS`` in a subprocess with at most :data:`MEMORY_CAP` of address space."""

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    return subprocess.run(
        [sys.executable, "-m", "ifskit.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def assert_one_line_refusal(result, *words):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ifskit: error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def small_code(tmp_path):
    image = (np.add.outer(np.arange(64), np.arange(64)) * 2 % 256).astype(np.uint8)
    path = tmp_path / "small.fic"
    compress_image(image, quality=50).save(path)
    return path


# ---- .fic headers: declared sizes checked before anything is allocated ------------------------------
def _pifs_file(path, height, width, min_size, max_size, step, payload=4000):
    header = struct.pack("<IIBBBBBBH", height, width, 1, min_size, max_size, 5, 7, step, 900)
    path.write_bytes(fic.pack(fic.KIND_PIFS, header, struct.pack("<I", payload) + bytes(payload)))
    return path


def _neural_file(path, height, width):
    header = struct.pack("<IIHBBBBBH", height, width, 8, 4, 0, 0, 64, 8, 900)
    path.write_bytes(fic.pack(fic.KIND_NEURAL, header, bytes(4000)))
    return path


def _peak_bytes(function):
    tracemalloc.start()
    try:
        with pytest.raises(FormatError) as caught:
            function()
        return tracemalloc.get_traced_memory()[1], str(caught.value)
    finally:
        tracemalloc.stop()


def test_fic_declaring_a_huge_image_is_refused_from_its_header(tmp_path):
    path = _pifs_file(tmp_path / "bomb.fic", 16384, 16384, 2, 2, 255)
    peak, message = _peak_bytes(lambda: load_code(path))
    assert "declares a 16384x16384 image" in message
    assert peak < 20 * 2**20


def test_fic_whose_payload_cannot_hold_its_blocks_is_refused_before_the_domain_tables(tmp_path):
    # 6000^2 is under the image limit, but 3000^2 blocks of 12 bits do not fit 4,000 bytes;
    # without the check the domain tables of 9 million blocks were made first (hundreds of MB)
    path = _pifs_file(tmp_path / "short.fic", 6000, 6000, 2, 2, 255)
    peak, message = _peak_bytes(lambda: load_code(path))
    assert "needs at least" in message
    assert peak < 20 * 2**20


def test_neural_fic_declaring_a_huge_image_is_refused_from_its_header(tmp_path):
    pytest.importorskip("torch")
    for size, words in ((16384, "declares a 16384x16384 image"), (6000, "needs at least")):
        path = _neural_file(tmp_path / f"n{size}.fic", size, size)
        peak, message = _peak_bytes(lambda path=path: load_code(path))
        assert words in message
        assert peak < 20 * 2**20


# ---- decoded, compressed and rendered pixels -------------------------------------------------------
def test_decode_scale_is_bounded_in_the_library(tmp_path):
    code = load_code(small_code(tmp_path))
    side = code.decoded_size[0]
    code.check_scale(int((MAX_DECODE_PIXELS / side**2) ** 0.5))
    with pytest.raises(ParameterError, match="decodes at most") as caught:
        next(code.decode_steps(int((MAX_DECODE_PIXELS / side**2) ** 0.5) + 1))
    assert caught.value.parameter == "scale"


def test_decompress_scale_256_of_a_small_code_is_one_line(tmp_path):
    # 64^2 at scale 256 is 16384^2: it grew past 20 GB, or ended in MemoryError
    code = small_code(tmp_path)
    result = run_capped("decompress", code, "-o", "big.png", "--scale", "256", cwd=tmp_path)
    assert_one_line_refusal(result, "--scale 256", f"{MAX_DECODE_PIXELS:,}")
    assert not (tmp_path / "big.png").exists()


def test_compress_refuses_a_large_image_before_decoding_it(tmp_path):
    # a few KB of PNG, 9 million pixels: the search grew past the cap (and took hours)
    Image.new("L", (3000, 3000)).save(tmp_path / "big.png")
    assert (tmp_path / "big.png").stat().st_size < 100_000
    result = run_capped("compress", "big.png", "-o", "big.fic", cwd=tmp_path)
    assert_one_line_refusal(result, "big.png", f"{MAX_COMPRESS_PIXELS:,}")
    with pytest.raises(ParameterError, match="compresses at most"):
        compress_image(np.zeros((2049, 2048), np.uint8))


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["--size", "46340"], ["--size", f"{MAX_RENDER_PIXELS:,}"]),
        (["--size", "4096", "--supersample", "2"], ["--supersample 2", f"{MAX_RENDER_PIXELS:,}"]),
        (["--points", "1e15"], ["--points"]),
        (["--threads", "100000"], ["--threads"]),
        (["--gamma", "nan"], ["--gamma"]),
        (["--seed", str(2**64)], ["--seed"]),
    ],
)
def test_render_arguments_out_of_range_are_one_line(tmp_path, arguments, words):
    result = run_capped("render", "sierpinski", "-o", "x.png", *arguments, cwd=tmp_path, timeout=60)
    assert_one_line_refusal(result, *words)
    assert not (tmp_path / "x.png").exists()


def test_render_point_clouds_are_bounded_by_the_points_kept(tmp_path):
    # a point-cloud output keeps every point: 1e9 of them grew past the cap
    result = run_capped("render", "sierpinski", "-o", "x.ply", "--points", "1e9", cwd=tmp_path, timeout=60)
    assert_one_line_refusal(result, "--points", "20,000,000")


@pytest.mark.parametrize(
    "command, arguments, words",
    [
        ("fit", ["CLOUD", "--maps", "2", "-o", "f.yaml", "--steps", "1e18"], ["--steps"]),
        ("fit", ["CLOUD", "--maps", "1000000", "-o", "f.yaml"], ["--maps"]),
        ("train-image-encoder", ["DIR", "-o", "m.pt", "--steps", "1e9"], ["--steps"]),
        ("train-image-encoder", ["DIR", "-o", "m.pt", "--batch", "100000"], ["--batch 100000"]),
        ("train-image-encoder", ["DIR", "-o", "m.pt", "--top-k", "100"], ["--top-k"]),
    ],
)
def test_training_arguments_out_of_range_are_one_line(tmp_path, command, arguments, words):
    np.save(tmp_path / "cloud.npy", np.random.default_rng(0).random((200, 2)))
    (tmp_path / "images").mkdir()
    Image.new("L", (64, 64)).save(tmp_path / "images" / "a.png")
    arguments = [{"CLOUD": "cloud.npy", "DIR": "images"}.get(a, a) for a in arguments]
    result = run_capped(command, *arguments, cwd=tmp_path, timeout=60)
    assert_one_line_refusal(result, *words)


def test_render_all_keeps_nothing_per_entry(tmp_path):
    """``render X.ifs --all``: the peak memory of 60 entries is that of 5 (each entry's picture is freed)."""
    entry = "{\n 0.5 0 0 0.5 0 0 .33\n 0.5 0 0 0.5 0.5 0 .33\n 0.5 0 0 0.5 .25 .5 .34\n}\n"
    peaks = {}
    for count in (5, 60):
        (tmp_path / f"{count}.ifs").write_text("".join(f"e{i} {entry}" for i in range(count)))
        script = (
            "import resource, sys; from ifskit.cli import main; "
            f"code = main(['render', '{count}.ifs', '--all', '-o', 'out{count}', '--points', '1e4', '--size', '512', "
            "'--quiet']); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)"
        )
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
        assert len(list((tmp_path / f"out{count}").glob("*.png"))) == count
        peaks[count] = int(result.stdout.split()[-1]) * 1024
    # a 512^2 picture is 1 MB as RGBA and 2 MB as counts: 55 kept entries would add over 100 MB
    assert peaks[60] - peaks[5] < 40 * 2**20, peaks


# ---- strict JSON -----------------------------------------------------------------------------------
def test_info_json_is_strict_for_a_map_that_collapses_to_a_point(tmp_path, capsys):
    from ifskit.cli import main

    (tmp_path / "zero.yaml").write_text("maps:\n  - {A: [[0, 0], [0, 0]], b: [0, 0]}\n  - {scale: 0.5}\n")
    assert main(["info", str(tmp_path / "zero.yaml"), "--json"]) == 0
    text = capsys.readouterr().out

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    figures = json.loads(text, parse_constant=refuse)
    assert figures["average_contraction"] is None
    assert all(np.isfinite(figures["bounds"]))


# ---- reproducible saves ----------------------------------------------------------------------------
def test_two_torch_saves_of_one_object_are_byte_identical(tmp_path):
    torch = pytest.importorskip("torch")
    state = {"weights": torch.arange(12.0).reshape(3, 4), "config": {"crop": 64}}
    first = write_torch(tmp_path / "a.pt", state)
    second = write_torch(tmp_path / "folder with another name.pt", state)
    assert first.read_bytes() == second.read_bytes()
    assert torch.load(first)["weights"].equal(state["weights"])
    assert not [p for p in tmp_path.iterdir() if ".ifskit-tmp-" in p.name]


def test_image_encoder_weights_do_not_depend_on_the_thread_count(tmp_path):
    torch = pytest.importorskip("torch")
    from ifskit.image.encoder import save_encoder, train_encoder

    rng = np.random.default_rng(0)
    images = [(rng.random((96, 96)) * 255).astype(np.uint8) for _ in range(2)]
    before = torch.get_num_threads()
    files = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            result = train_encoder(images, steps=3, batch=4, seed=5)
            files.append(save_encoder(result.model, tmp_path / f"threads{threads}.pt").read_bytes())
    finally:
        torch.set_num_threads(before)
    assert files[0] == files[1]


@pytest.mark.parametrize("width", [100_000, 9000])
def test_start_pictures_are_checked_from_their_header(tmp_path, width):
    # a 64x64 PNG whose header declares width^2: Pillow's bomb error was a bug line (exit 1)
    Image.new("L", (64, 64)).save(tmp_path / "small.png")
    data = bytearray((tmp_path / "small.png").read_bytes())
    data[16:24] = struct.pack(">II", width, width)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    (tmp_path / "bomb.png").write_bytes(bytes(data))
    result = run_capped(
        "render", "sierpinski", "-o", "x.png", "--method", "deterministic", "--start", "bomb.png", cwd=tmp_path
    )
    assert_one_line_refusal(result, "bomb.png", "--start")
    code = small_code(tmp_path)
    result = run_capped("decompress", code, "-o", "y.png", "--start", "bomb.png", cwd=tmp_path)
    assert_one_line_refusal(result, "bomb.png")


def test_save_refuses_what_load_would_refuse(tmp_path):
    # 'transform --scale 1e300' wrote a file that ifskit could not read back
    import ifskit

    huge = ifskit.IFS(A=np.eye(2)[None] * 0.5, b=np.array([[1e300, 0.0]]))
    with pytest.raises(FormatError, match="reads back"):
        ifskit.save(huge, tmp_path / "huge.yaml")
    assert not (tmp_path / "huge.yaml").exists()
    result = run_capped("transform", "sierpinski", "-o", "t.yaml", "--scale", "1e300", cwd=tmp_path)
    assert result.returncode == 2 and "reads back" in result.stderr
    assert not (tmp_path / "t.yaml").exists()


def test_start_picture_with_a_broken_chunk_is_one_line(tmp_path):
    # found by scripts/hostile_corpus.py (seed 0): 40 bytes spliced into a PNG make Pillow raise
    # SyntaxError ("broken PNG file"), which the render command took for a bug (exit 1)
    image = (np.add.outer(np.arange(64), np.arange(64)) * 2 % 256).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "small.png")
    data = (tmp_path / "small.png").read_bytes()
    splice = bytes.fromhex("e7012b8bedbf568f07e860ef4c3700474dc7dbd0b090beab6878b300f0f5e664bfd87edb1f95e78d")
    (tmp_path / "broken.png").write_bytes(data[:62] + splice + data[62:])
    args = ["render", "sierpinski", "-o", "x.png", "--method", "deterministic", "--size", "64", "--start", "broken.png"]
    assert_one_line_refusal(run_capped(*args, cwd=tmp_path), "broken.png", "--start")
