"""Run ifskit's commands on a corpus of hostile inputs and arguments (issue 22), and report.

Each case is a small folder of generated files (YAML, JSON, Fractint ``.ifs``, ``.fic``, ``.npy``,
PLY, PNG: valid files with bit flips, truncations, huge declared sizes, deep nesting, wrong types)
and one ``ifskit`` command line on them, or a valid input with hostile arguments (sizes, counts,
seeds, thread counts, output paths). Every case runs in its own subprocess with its address space
capped (``RLIMIT_AS``, ``--memory``) and a timeout (``--timeout``); its peak resident memory is
read from the operating system (``wait4``).

The promise checked: exit code 0 or 2, no Python traceback, no signal, within the time and memory,
a reported output whole (non-empty, readable), and the other files of the folder untouched. The
table gives, per kind of case, the exit codes, tracebacks, signals, timeouts, the slowest run and
the largest peak memory; every case outside the promise is listed with its command and stderr.

Usage::

    python scripts/hostile_corpus.py                  # about 300 cases, seed 0
    python scripts/hostile_corpus.py --seed 1 --per-kind 60 --jobs 4
    python scripts/hostile_corpus.py --kinds fic,png --keep /tmp/corpus   # keep the case folders

A case that times out is run again alone once (on a busy machine, a slow start is not a hang);
the table counts the second run. The exit code is 1 when a case breaks the promise, else 0.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

#: Arguments that keep every valid case quick: the corpus checks behaviour, not speed.
QUICK_RENDER = ["--points", "2e4", "--size", "64", "--quiet"]

SIERPINSKI_YAML = (
    "name: s\nmaps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n  - {A: [[0.5, 0], [0, 0.5]], b: [0.5, 0], p: 0.3}\n"
    "  - {scale: 0.5, rotate: 10, translate: [0.25, 0.5], p: 0.3}\n"
)
SIERPINSKI_JSON = json.dumps(
    {"name": "s", "maps": [{"A": [[0.5, 0], [0, 0.5]], "b": [x, y]} for x, y in ((0, 0), (0.5, 0), (0.25, 0.5))]}
)
FRACTINT = (
    "tri {\n 0.5 0 0 0.5 0 0 .33\n 0.5 0 0 0.5 0.5 0 .33\n 0.5 0 0 0.5 .25 .5 .34\n}\n"
    "cube (3D) {\n .5 0 0 0 .5 0 0 0 .5 0 0 0 .5\n .5 0 0 0 .5 0 0 0 .5 .5 .5 .5 .5\n}\n"
)


@dataclass
class Case:
    """One command line and the files it runs on."""

    kind: str
    name: str
    args: list
    files: dict = field(default_factory=dict)  # name -> bytes, or a callable(folder) that makes it
    output: str | None = None  # the file the command writes, checked whole when it exits 0


@dataclass
class Outcome:
    case: Case
    returncode: int | None
    seconds: float
    peak_bytes: int
    stderr: str
    problems: list


# ---- mutations -------------------------------------------------------------------------------------
def flip_bits(data: bytes, rng, count: int) -> bytes:
    data = bytearray(data)
    for _ in range(count):
        i = int(rng.integers(len(data)))
        data[i] ^= 1 << int(rng.integers(8))
    return bytes(data)


def truncate(data: bytes, rng) -> bytes:
    return data[: int(rng.integers(len(data)))]


def mutate(data: bytes, rng) -> tuple:
    """A bit flip, several, a truncation, or a spliced byte run: (label, bytes)."""
    choice = int(rng.integers(4))
    if choice == 0:
        return "flip1", flip_bits(data, rng, 1)
    if choice == 1:
        return "flips", flip_bits(data, rng, int(rng.integers(2, 20)))
    if choice == 2:
        return "trunc", truncate(data, rng)
    start = int(rng.integers(len(data)))
    return "splice", data[:start] + bytes(rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8)) + data[start:]


# ---- generators, one per kind ----------------------------------------------------------------------
def yaml_cases(rng, n):
    commands = [["info", "IN"], ["render", "IN", "-o", "out.png", *QUICK_RENDER]]
    texts = {
        "deep": "maps: " + "[" * 5000 + "]" * 5000,
        "deep_map": "maps:\n" + "".join("  " * i + "- a:\n" for i in range(200)),
        "huge_number": "maps:\n  - {A: [[1e309, 0], [0, 0.5]], b: [0, 0]}\n",
        "huge_b": "maps:\n  - {A: [[0.5, 0], [0, 0.5]], b: [1e308, 0]}\n  - {scale: 0.5}\n",
        "many_maps": "maps:\n" + "  - [0.5, 0, 0, 0.5, 0, 0]\n" * 5000,
        "alias_bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdefgh", "bcdefghi")
        )
        + "maps: *i\n",
        "unicode": "name: \u202e\U0001f600\x85\nmaps:\n  - [0.5, 0, 0, 0.5, 0, 0]\n",
        "nan": "maps:\n  - [.nan, 0, 0, 0.5, 0, 0]\n",
        "strings": "maps:\n  - [a, b, c, d, e, f]\n",
        "zero_map": "maps:\n  - [0, 0, 0, 0, 0, 0]\n",
        "negative_p": "maps:\n  - {scale: 0.5, p: -1}\n  - {scale: 0.5, p: 2}\n",
        "binary": "\x00\x01maps",
        "tags": "maps: !!python/object/apply:os.system ['echo pwned']\n",
    }
    cases = [Case("yaml", label, cmd, {"IN.yaml": text.encode()}) for label, text in texts.items() for cmd in commands]
    base = SIERPINSKI_YAML.encode()
    while len(cases) < n:
        label, data = mutate(base, rng)
        cases.append(Case("yaml", label, commands[len(cases) % 2], {"IN.yaml": data}))
    return _inputs(cases, ".yaml")


def json_cases(rng, n):
    commands = [["info", "IN"], ["render", "IN", "-o", "out.png", *QUICK_RENDER]]
    texts = {
        "deep": '{"maps": ' + "[" * 100000 + "]" * 100000 + "}",
        "big_number": '{"maps": [{"A": [[1e309, 0], [0, 0.5]], "b": [0, 0]}]}',
        "digits": '{"maps": [{"A": [[' + "7" * 5000 + ', 0], [0, 0.5]], "b": [0, 0]}]}',
        "nan": '{"maps": [{"A": [[NaN, 0], [0, 0.5]], "b": [0, 0]}]}',
        "infinity": '{"maps": [{"A": [[0.5, 0], [0, 0.5]], "b": [Infinity, 0]}]}',
        "wrong_types": '{"maps": {"A": "x"}}',
        "list": "[1, 2, 3]",
        "empty": "",
        "utf16": SIERPINSKI_JSON.encode("utf-16").decode("latin-1"),
    }
    cases = [
        Case("json", label, cmd, {"IN.json": text.encode("latin-1", "replace")})
        for label, text in texts.items()
        for cmd in commands
    ]
    base = SIERPINSKI_JSON.encode()
    while len(cases) < n:
        label, data = mutate(base, rng)
        cases.append(Case("json", label, commands[len(cases) % 2], {"IN.json": data}))
    return _inputs(cases, ".json")


def fractint_cases(rng, n):
    commands = [["info", "IN", "--name", "tri"], ["render", "IN", "--all", "-o", "outdir", *QUICK_RENDER]]
    texts = {
        "many_entries": "".join(f"e{i} {{\n 0.5 0 0 0.5 0 0 1\n}}\n" for i in range(20000)),
        "huge_value": "tri {\n 0.5 0 0 0.5 1e400 0 .5\n 0.5 0 0 0.5 0 0 .5\n}\n",
        "unclosed": "tri {\n 0.5 0 0 0.5 0 0 .5\n",
        "long_line": "tri {\n" + " 0.5" * 100000 + "\n}\n",
        "nul": "tri {\x00\n}\n",
        "many_maps": "tri {\n" + " 0.5 0 0 0.5 0 0 .1\n" * 10000 + "}\n",
    }
    cases = [Case("ifs", label, cmd, {"IN.ifs": text.encode()}) for label, text in texts.items() for cmd in commands]
    base = FRACTINT.encode()
    while len(cases) < n:
        label, data = mutate(base, rng)
        cases.append(Case("ifs", label, commands[len(cases) % 2], {"IN.ifs": data}))
    return _inputs(cases, ".ifs")


def _fic_frame(kind: int, body: bytes) -> bytes:
    data = b"IFSC" + bytes([1, kind]) + body
    return data + struct.pack("<I", zlib.crc32(data))


def fic_cases(rng, n, valid_code: bytes):
    commands = [["decompress", "IN", "-o", "out.png"], ["decompress", "IN", "-o", "out.png", "--scale", "3"]]
    pifs = lambda h, w, mn, mx, step: struct.pack("<IIBBBBBBH", h, w, 1, mn, mx, 5, 7, step, 900)  # noqa: E731
    neural = lambda h, w: struct.pack("<IIHBBBBBH", h, w, 8, 4, 0, 0, 64, 8, 900)  # noqa: E731
    files = {
        "pifs_16384": _fic_frame(0, pifs(16384, 16384, 2, 2, 255) + struct.pack("<I", 4000) + bytes(4000)),
        "pifs_6000_short": _fic_frame(0, pifs(6000, 6000, 2, 2, 255) + struct.pack("<I", 4000) + bytes(4000)),
        "pifs_4G": _fic_frame(0, pifs(2**32 - 1, 2**32 - 1, 2, 64, 1) + struct.pack("<I", 10) + bytes(10)),
        "pifs_length_lie": _fic_frame(0, pifs(64, 64, 4, 32, 2) + struct.pack("<I", 2**32 - 1)),
        "neural_16384": _fic_frame(1, neural(16384, 16384) + bytes(4000)),
        "neural_6000": _fic_frame(1, neural(6000, 6000) + bytes(4000)),
        "empty": b"",
        "magic_only": b"IFSC",
    }
    cases = [Case("fic", label, cmd, {"IN.fic": data}) for label, data in files.items() for cmd in commands]
    cases.append(
        Case("fic", "scale_huge", ["decompress", "IN", "-o", "out.png", "--scale", "256"], {"IN.fic": valid_code})
    )
    while len(cases) < n:
        label, data = mutate(valid_code, rng)
        if rng.random() < 0.5 and len(data) > 8:  # a valid checksum: the parser itself is exercised
            label, data = label + "+crc", _fic_frame(data[5], data[6:-4])
        cases.append(Case("fic", label, commands[len(cases) % 2], {"IN.fic": data}))
    return _inputs(cases, ".fic")


def _npy(array, header_edit=None) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    data = buffer.getvalue()
    if header_edit is not None:
        end = data.index(b"\n") + 1
        header = header_edit(data[10:end].decode("latin-1")).encode("latin-1")
        data = data[:8] + struct.pack("<H", len(header)) + header + data[end:]
    return data


def npy_cases(rng, n):
    commands = [["dimension", "IN"], ["fit", "IN", "--maps", "2", "--steps", "3", "-o", "out.yaml"]]
    points = np.random.default_rng(0).random((300, 2))
    files = {
        "strings": _npy(np.array(["a", "b"])),
        "records": _npy(np.zeros(3, dtype=[("x", "f8"), ("y", "f8")])),
        "objects": _npy(np.array([{"a": 1}], dtype=object)),
        "complex": _npy(np.zeros((10, 2), complex)),
        "float16": _npy(np.zeros((10, 2), np.float16)),
        "bool": _npy(np.ones((10, 2), bool)),
        "1d": _npy(np.zeros(10)),
        "4d": _npy(np.zeros((2, 2, 2, 2))),
        "huge_shape": _npy(points, lambda h: h.replace("(300, 2)", "(1000000000000, 3)")),
        "negative_shape": _npy(points, lambda h: h.replace("(300, 2)", "(-5, 2)")),
        "bad_descr": _npy(points, lambda h: h.replace("<f8", "<q99")),
        "not_a_dict": _npy(points, lambda h: "[1, 2]" + " " * (len(h) - 6)),
        "nan": _npy(np.full((10, 2), np.nan)),
        "huge_values": _npy(np.full((10, 2), 1e308)),
        "npz": (lambda: (np.savez(b := __import__("io").BytesIO(), a=points), b.getvalue())[1])(),
    }
    cases = [Case("npy", label, cmd, {"IN.npy": data}) for label, data in files.items() for cmd in commands]
    base = _npy(points)
    while len(cases) < n:
        label, data = mutate(base, rng)
        cases.append(Case("npy", label, commands[len(cases) % 2], {"IN.npy": data}))
    return _inputs(cases, ".npy")


def _ply(points: np.ndarray, binary: bool) -> bytes:
    header = (
        f"ply\nformat {'binary_little_endian' if binary else 'ascii'} 1.0\nelement vertex {len(points)}\n"
        "property double x\nproperty double y\nproperty double z\nend_header\n"
    ).encode()
    body = points.astype("<f8").tobytes() if binary else "".join(f"{x} {y} {z}\n" for x, y, z in points).encode()
    return header + body


def ply_cases(rng, n):
    commands = [["dimension", "IN"], ["fit", "IN", "--maps", "2", "--steps", "3", "-o", "out.yaml"]]
    points = np.column_stack([np.random.default_rng(0).random((300, 2)), np.zeros(300)])
    binary, ascii_ = _ply(points, True), _ply(points, False)
    files = {
        "long_header_line": binary.replace(b"end_header", b"comment " + b"x" * 2000 + b"\nend_header"),
        "count_2e9": binary.replace(b"vertex 300", b"vertex 2000000000"),
        "count_negative": binary.replace(b"vertex 300", b"vertex -1"),
        "list_property": binary.replace(b"property double z", b"property list uchar int z"),
        "truncated_binary": binary[:-100],
        "truncated_ascii": ascii_[: len(ascii_) // 2],
        "long_word": ascii_.replace(b"end_header\n", b"end_header\n" + b"1" * 500 + b" 0 0\n"),
        "no_end_header": binary.split(b"end_header")[0],
        "big_header": b"ply\nformat ascii 1.0\n" + b"comment x\n" * 20000 + b"end_header\n",
    }
    cases = [Case("ply", label, cmd, {"IN.ply": data}) for label, data in files.items() for cmd in commands]
    while len(cases) < n:
        label, data = mutate(binary if len(cases) % 3 else ascii_, rng)
        cases.append(Case("ply", label, commands[len(cases) % 2], {"IN.ply": data}))
    return _inputs(cases, ".ply")


def _png_ihdr(data: bytes, width: int, height: int) -> bytes:
    """``data`` (a PNG) with its IHDR declaring ``width`` x ``height``, checksum fixed."""
    chunk = bytearray(data[8:33])
    chunk[8:16] = struct.pack(">II", width, height)
    chunk[21:25] = struct.pack(">I", zlib.crc32(bytes(chunk[4:21])))
    return data[:8] + bytes(chunk) + data[33:]


def png_cases(rng, n):
    import io

    commands = [
        ["compress", "IN", "-o", "out.fic"],
        ["decompress", "CODE", "-o", "out.png", "--start", "IN"],
        ["render", "sierpinski", "-o", "out.png", "--method", "deterministic", "--start", "IN", "--size", "64"],
    ]
    image = (np.add.outer(np.arange(64), np.arange(64)) * 2 % 256).astype(np.uint8)

    def png(array, **options):
        buffer = io.BytesIO()
        Image.fromarray(array, **options).save(buffer, format="PNG")
        return buffer.getvalue()

    base = png(image)
    files = {
        "ihdr_100000": _png_ihdr(base, 100000, 100000),
        "ihdr_3000": _png_ihdr(base, 3000, 3000),
        "big_blank_3000": png(np.zeros((3000, 3000), np.uint8)),
        "rgba": png(np.zeros((64, 64, 4), np.uint8)),
        "16bit": png(np.zeros((64, 64), np.uint16)),
        "tiny": png(np.zeros((2, 2), np.uint8)),
        "not_png": b"GIF89a" + bytes(100),
    }
    cases = [Case("png", label, cmd, {"IN.png": data}) for label, data in files.items() for cmd in commands]
    while len(cases) < n:
        label, data = mutate(base, rng)
        cases.append(Case("png", label, commands[len(cases) % 3], {"IN.png": data}))
    return _inputs(cases, ".png")


def argument_cases(rng, n):
    """Valid inputs, hostile arguments and output paths."""
    values = {
        "--points": ["0", "-1", "1e15", "nan", "inf", "1e", str(2**64), "2.5"],
        "--size": ["0", "46340", "1x99999999", "axb", "-5", "65536x1"],
        "--seed": ["-1", str(2**63), str(2**64), "1.5", "nan"],
        "--threads": ["0", "-1", "100000", "x"],
        "--gamma": ["nan", "inf", "-1", "0", "1e308"],
        "--supersample": ["0", "-2", "100", "1e9"],
        "--iterations": ["-1", "0", "1e12"],
        "--elev": ["nan", "inf", "1e300"],
        "--bounds": ["0,0,0,0", "nan,1,0,1", "1,0,1,0", "0,1e308,0,1"],
    }
    cases = []
    for flag, options in values.items():
        for value in options:
            extra = ["--method", "deterministic"] if flag == "--iterations" else []
            args = ["render", "sierpinski", "-o", "out.png", *QUICK_RENDER, *extra, flag, value]
            cases.append(Case("args", f"render {flag} {value}", args, output="out.png"))
    long_name = "n" * 300 + ".png"
    outputs = {
        "long_name": (["render", "sierpinski", "-o", long_name, *QUICK_RENDER], {}),
        "missing_folder": (["render", "sierpinski", "-o", "no/such/out.png", *QUICK_RENDER], {}),
        "folder_at_output": (
            ["render", "sierpinski", "-o", "out.png", "--overwrite", *QUICK_RENDER],
            {"out.png/": None},
        ),
        "dangling_link": (["render", "sierpinski", "-o", "out.png", *QUICK_RENDER], {"out.png@": "/nonexistent/x"}),
        "existing": (["render", "sierpinski", "-o", "out.png", *QUICK_RENDER], {"out.png": b"mine"}),
        "unknown_suffix": (["render", "sierpinski", "-o", "out.exe", *QUICK_RENDER], {}),
        "gif_folder": (["decompress", "CODE", "-o", "out.png", "--overwrite"], {"out.png/": None}),
    }
    for label, (args, files) in outputs.items():
        cases.append(Case("args", label, args, files))
    for flag, values_ in {
        "--scale": ["0", "256", "1e9"],
        "--iterations": ["0", "1e12"],
    }.items():
        for value in values_:
            cases.append(
                Case("args", f"decompress {flag} {value}", ["decompress", "CODE", "-o", "out.png", flag, value])
            )
    for flag, values_ in {
        "--scale": ["1e300", "0", "nan", "1e-300"],
        "--rotate": ["1e300", "inf"],
        "--translate": ["1e300,0", "x"],
        "--shear": ["1e300"],
    }.items():
        for value in values_:
            args = ["transform", "sierpinski", "-o", "t.yaml", flag, value]
            cases.append(Case("args", f"transform {flag} {value}", args))
    for flag, values_ in {
        "--steps": ["0", "1e18"],
        "--maps": ["0", "1e6", "-3"],
        "--max-contraction": ["nan", "2"],
    }.items():
        for value in values_:
            args = ["fit", "CLOUD", "-o", "out.yaml", "--steps", "3", "--maps", "2", flag, value]
            cases.append(Case("args", f"fit {flag} {value}", args))
    for flag, values_ in {"--steps": ["1e9"], "--batch": ["100000", "0"], "--top-k": ["100"], "--lr": ["nan"]}.items():
        for value in values_:
            cases.append(
                Case(
                    "args",
                    f"train-image-encoder {flag} {value}",
                    ["train-image-encoder", "IMAGES", "-o", "m.pt", flag, value],
                )
            )
    return _inputs(cases, "")


def _inputs(cases, suffix):
    for case in cases:
        case.args = [f"IN{suffix}" if a == "IN" else a for a in case.args]
        case.output = next((a for i, a in enumerate(case.args) if i and case.args[i - 1] == "-o"), None)
    return cases


KINDS = {
    "yaml": yaml_cases,
    "json": json_cases,
    "ifs": fractint_cases,
    "fic": fic_cases,
    "npy": npy_cases,
    "ply": ply_cases,
    "png": png_cases,
    "args": argument_cases,
}


# ---- running ---------------------------------------------------------------------------------------
def shared_inputs(folder: Path) -> dict:
    """Valid files the cases refer to by name (CODE, CLOUD, IMAGES): made once."""
    from ifskit.image import compress_image

    image = (np.add.outer(np.arange(64), np.arange(64)) * 2 % 256).astype(np.uint8)
    code = folder / "code.fic"
    if not code.exists():
        compress_image(image, quality=50).save(code)
    cloud = folder / "cloud.npy"
    np.save(cloud, np.random.default_rng(0).random((300, 2)))
    images = folder / "images"
    images.mkdir(exist_ok=True)
    Image.fromarray(np.tile(image, (2, 2))).save(images / "a.png")
    return {"CODE": str(code), "CLOUD": str(cloud), "IMAGES": str(images)}


def run_case(case: Case, folder: Path, shared: dict, memory: int, timeout: float) -> Outcome:
    folder.mkdir(parents=True)
    for name, data in case.files.items():
        if name.endswith("/"):
            (folder / name[:-1]).mkdir()
            (folder / name[:-1] / "keep.txt").write_text("the user's")
        elif name.endswith("@"):
            os.symlink(data, folder / name[:-1])
        else:
            (folder / name).write_bytes(data)
    (folder / "sentinel.txt").write_text("nothing may delete this")
    before = {p: p.stat(follow_symlinks=False).st_mtime_ns for p in folder.rglob("*")}
    args = [shared.get(a, a) for a in case.args]

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    with open(folder / ".stderr", "wb") as err, open(folder / ".stdout", "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "ifskit.cli", *args], cwd=folder, stdout=out, stderr=err, preexec_fn=limit,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )  # fmt: skip
        status = usage = None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                status = None
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        process.returncode = 0  # reaped above: keep Popen from waiting again
    stderr = (folder / ".stderr").read_text(errors="replace")
    returncode = None if status is None else os.waitstatus_to_exitcode(status)
    problems = []
    if returncode is None:
        problems.append(f"timeout ({timeout:.0f} s)")
    elif returncode < 0:
        problems.append(f"signal {signal.Signals(-returncode).name}")
    elif returncode not in (0, 2):
        problems.append(f"exit {returncode}")
    if "Traceback (most recent call last)" in stderr:
        problems.append("traceback")
    errors = [line for line in stderr.splitlines() if line.startswith("ifskit: error:")]
    if returncode == 2 and len(errors) != 1:
        problems.append(f"{len(errors)} error lines")
    for path in before:
        if not os.path.lexists(path) and path.name != case.output:
            problems.append(f"deleted {path.relative_to(folder)}")
    if returncode == 0 and case.output and not case.output.endswith(("/", "outdir")):
        problems += _check_whole(folder / case.output)
    return Outcome(case, returncode, seconds, usage.ru_maxrss * 1024 if usage else 0, stderr, problems)


def _check_whole(path: Path) -> list:
    if not path.is_file() or path.stat().st_size == 0:
        return [f"reported {path.name} written, it is missing or empty"]
    if path.suffix == ".png":
        try:
            with Image.open(path) as image:
                image.load()
        except Exception as error:  # noqa: BLE001 (any failure: the file is not whole)
            return [f"{path.name} is not a readable PNG ({error})"]
    return []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="random seed of the mutations (default 0)")
    parser.add_argument("--per-kind", type=int, default=36, help="cases per kind of input (default 36)")
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help=f"comma-separated kinds (default all: {','.join(KINDS)})"
    )
    parser.add_argument("--memory", type=float, default=1.5, help="address-space cap per run, GB (default 1.5)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds per run (default 30)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    parser.add_argument("--keep", metavar="DIR", help="make the case folders in DIR and keep them")
    parser.add_argument("--json", metavar="OUT", help="also write every outcome to OUT as JSON")
    args = parser.parse_args(argv)

    root = Path(args.keep or tempfile.mkdtemp(prefix="ifskit-corpus-"))
    root.mkdir(parents=True, exist_ok=True)
    shared = shared_inputs(root)
    rng = np.random.default_rng(args.seed)
    cases = []
    for kind in args.kinds.split(","):
        if kind == "fic":
            cases += fic_cases(rng, args.per_kind, Path(shared["CODE"]).read_bytes())
        else:
            cases += KINDS[kind](rng, args.per_kind)
    print(f"{len(cases)} cases, {args.jobs} at once, cap {args.memory:g} GB, timeout {args.timeout:g} s", flush=True)
    memory = int(args.memory * 1e9)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(run_case, case, root / f"case{i:04d}", shared, memory, args.timeout)
            for i, case in enumerate(cases)
        ]
        outcomes = [f.result() for f in futures]
    # a timeout among parallel runs on a busy machine may be a slow start, not a hang: rerun alone
    for i, outcome in enumerate(outcomes):
        if outcome.returncode is None:
            print(f"rerunning alone: [{outcome.case.kind} {outcome.case.name}] (timed out)", flush=True)
            outcomes[i] = run_case(outcome.case, root / f"rerun{i:04d}", shared, memory, args.timeout)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)

    print(f"\n{'kind':6} {'cases':>5} {'exit 0':>6} {'exit 2':>6} {'other':>5} {'trace':>5} {'signal':>6} "
          f"{'timeout':>7} {'max s':>6} {'max MB':>7}")  # fmt: skip
    by_kind = collections.defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.case.kind].append(outcome)
    for kind, group in by_kind.items():
        codes = collections.Counter(o.returncode for o in group)
        other = sum(n for c, n in codes.items() if c not in (0, 2) and c is not None and c >= 0)
        print(
            f"{kind:6} {len(group):5} {codes[0]:6} {codes[2]:6} {other:5} "
            f"{sum('traceback' in o.problems for o in group):5} "
            f"{sum(o.returncode is not None and o.returncode < 0 for o in group):6} "
            f"{sum(o.returncode is None for o in group):7} {max(o.seconds for o in group):6.1f} "
            f"{max(o.peak_bytes for o in group) / 1e6:7.0f}"
        )
    findings = [o for o in outcomes if o.problems]
    print(f"\n{len(findings)} findings")
    for o in findings:
        last = o.stderr.strip().splitlines()[-1:] or [""]
        print(
            f"- [{o.case.kind} {o.case.name}] ifskit {' '.join(o.case.args)[:160]}: {'; '.join(o.problems)}: {last[0][:240]}"
        )
    if args.json:
        records = [
            {"kind": o.case.kind, "name": o.case.name, "args": o.case.args, "returncode": o.returncode,
             "seconds": round(o.seconds, 3), "peak_bytes": o.peak_bytes, "problems": o.problems,
             "stderr": o.stderr[-2000:]}
            for o in outcomes
        ]  # fmt: skip
        Path(args.json).write_text(json.dumps(records, indent=1))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
