"""Digests of the answers of every stage, to prove that a refactor changes no number.

Run before and after a change that should change no answer, and compare::

    .venv/bin/python scripts/answers.py > before.txt      # on the old commit
    .venv/bin/python scripts/answers.py > after.txt       # on the new one
    diff before.txt after.txt                             # empty: identical to the bit

Each line is ``stage  sha256-prefix``: the bytes of the arrays (or files) a stage returns
for fixed inputs and seeds. It uses the public API and the command line only, so it runs
unchanged across moves of the modules behind them (about a minute on 2 cores).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import ifskit


def digest(*parts) -> str:
    """First 16 hex digits of the SHA-256 of arrays, bytes or JSON-able values."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            h.update(part)
        elif isinstance(part, np.ndarray | float | int | list | tuple):
            arr = np.ascontiguousarray(part)
            h.update(str(arr.dtype).encode() + str(arr.shape).encode() + arr.tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def ifs_digest(ifs) -> str:
    return digest(ifs.A, ifs.b, ifs.p)


def cli(folder: Path, *args) -> bytes:
    """Run ``ifskit ARGS`` and return its stdout with the run-dependent ``seconds`` removed."""
    out = subprocess.run([sys.executable, "-m", "ifskit.cli", *args], cwd=folder, capture_output=True)
    if out.returncode:
        raise SystemExit(f"ifskit {' '.join(args)}: {out.stderr.decode()}")
    try:
        figures = json.loads(out.stdout)
    except json.JSONDecodeError:
        return out.stdout
    figures.pop("seconds", None)
    return json.dumps(figures, sort_keys=True).encode()


def main() -> None:
    lines = []

    def record(stage, value):
        lines.append(f"{stage:40s} {value}")
        print(lines[-1], flush=True)

    fern, tri, sponge = (ifskit.catalog(n) for n in ("barnsley_fern", "sierpinski", "menger_sponge"))
    for name, ifs in (("fern", fern), ("sierpinski", tri), ("menger", sponge)):
        record(f"chaos_game {name}", digest(ifskit.chaos_game(ifs, 100_000, seed=3, progress=False)))
    record("density fern", digest(ifskit.density(fern, size=(256, 192), n_points=10**6, seed=2)))
    record("render_image fern", digest(ifskit.render_image(fern, size=200, n_points=200_000, seed=1)))
    record("render_image sponge", digest(ifskit.render_image(sponge, size=160, n_points=200_000, seed=1)))
    record("box_dimension sierpinski", digest(float(ifskit.box_dimension(tri, n_points=200_000, seed=0))))
    cloud_a = ifskit.chaos_game(tri, 3000, seed=1, progress=False)
    cloud_b = ifskit.chaos_game(fern, 3000, seed=1, progress=False)
    record(
        "chamfer/hausdorff",
        digest(ifskit.chamfer_distance(cloud_a, cloud_b), ifskit.hausdorff_distance(cloud_a, cloud_b)),
    )
    record("attractor_distance", digest(ifskit.attractor_distance(tri, fern, n_points=20_000, seed=0)))
    record("interpolate", ifs_digest(ifskit.interpolate(tri, fern, 0.37)))

    for k, steps in ((3, 40), ("auto", 15)):
        res = ifskit.fit(cloud_a, n_maps=k, steps=steps, seed=0, progress=False)
        record(
            f"fit sierpinski k={k}",
            digest(
                res.ifs.A, res.ifs.b, res.ifs.p, res.history, res.bound, res.attractor_chamfer, res.attractor_hausdorff
            ),
        )
    tet = ifskit.chaos_game(ifskit.catalog("sierpinski_tetrahedron"), 2000, seed=0, progress=False)
    res = ifskit.fit(tet, n_maps=4, steps=20, seed=1, progress=False, loss="hausdorff")
    record("fit tetrahedron hausdorff", digest(res.ifs.A, res.ifs.b, res.ifs.p, res.history))
    res = ifskit.fit(cloud_b, n_maps=4, steps=20, seed=2, init="random", restarts=1, progress=False)
    record("fit fern random start", digest(res.ifs.A, res.ifs.b, res.ifs.p, res.history))
    record("encode one shot", ifs_digest(ifskit.encode(cloud_b)))
    record("encode refine 6", ifs_digest(ifskit.encode(cloud_b, refine=6, seed=1)))
    record("random_ifs", ifs_digest(ifskit.random_ifs(4, 3, seed=5)))

    from ifskit.image import compress_image, sample_image, save_image

    image = sample_image(size=64)
    code = compress_image(image, quality=70)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.fic"
        code.save(path)
        record("compress_image .fic", digest(path.read_bytes()))
        record("decode scale 2", digest(ifskit.load_fic(path).decode(scale=2)))

    from ifskit.image.encoder import encode_image, train_encoder
    from ifskit.image.fractalize import fractalize

    trained = train_encoder([sample_image(size=96)], steps=3, batch=4, seed=0)
    neural = encode_image(trained.model, image)
    record("image encoder train+encode", digest(neural.to_bytes(), neural.decode()))
    record("fractalize", digest(fractalize(image[:32, :32], scale=2, steps=3).image))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        save_image(sample_image(size=64, gray=False), folder / "photo.png")
        runs = {
            "cli render png": [
                "render",
                "maple_leaf",
                "-o",
                "a.png",
                "--points",
                "2e5",
                "--size",
                "96",
            ],
            "cli render map colour": [
                "render",
                "heighway_dragon",
                "-o",
                "b.png",
                "--points",
                "2e5",
                "--size",
                "96",
                "--color",
                "map",
                "--background",
                "white",
            ],
            "cli render deterministic": [
                "render",
                "sierpinski",
                "--method",
                "deterministic",
                "-o",
                "c.png",
                "--size",
                "96",
            ],
            "cli render measure": ["render", "barnsley_fern", "--method", "measure", "-o", "d.png", "--size", "96"],
            "cli render hutchinson ply": ["render", "menger_sponge", "--method", "deterministic", "-o", "e.npy"],
            "cli render views": [
                "render",
                "menger_sponge",
                "--views",
                "-o",
                "f.png",
                "--size",
                "96",
                "--points",
                "1e5",
            ],
            "cli transform": ["transform", "maple_leaf", "--rotate", "30", "--shear", "0.4", "-o", "g.yaml"],
            "cli interpolate gif": [
                "interpolate",
                "sierpinski",
                "barnsley_fern",
                "-o",
                "h.gif",
                "--frames",
                "4",
                "--size",
                "48",
                "--points",
                "2e4",
            ],
            "cli dataset": ["dataset", "-o", "ds", "--count", "3", "--points", "500", "--format", "yaml,npy,ply"],
            "cli compress": ["compress", "photo.png", "-o", "i.fic"],
        }
        for stage, args in runs.items():
            stdout = cli(folder, *args, "--json")
            record(stage + " (json)", digest(stdout))
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            record(f"file {path.relative_to(folder)}", digest(path.read_bytes()))
        record("cli info", digest(cli(folder, "info", "barnsley_fern", "--json")))
        record("cli dimension", digest(cli(folder, "dimension", "e.npy", "--json")))


if __name__ == "__main__":
    main()
