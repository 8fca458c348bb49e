"""A tour of the Python API: load, inspect, render, transform and save an IFS.

Run from the repository root:  .venv/bin/python examples/python_api.py [OUTDIR]
"""

import sys
from pathlib import Path

import numpy as np

import ifskit

out = Path(sys.argv[1] if len(sys.argv) > 1 else "api_tour")
out.mkdir(exist_ok=True)

# Built-ins and files give the same value type.
fern = ifskit.catalog("barnsley_fern")
dragon = ifskit.load("examples/dragon_geometric.yaml")
print(fern, dragon, sep="\n")
print("contraction per map:", fern.contraction_factors.round(3))
print("similarity dimension of the carpet:", ifskit.similarity_dimension(ifskit.catalog("sierpinski_carpet")))

# Points of the attractor (n, 2), and a density raster (H, W) that keeps no points.
points = ifskit.chaos_game(fern, n_points=100_000, seed=0)
counts = ifskit.density(fern, size=(512, 512), n_points=10_000_000, seed=0)
print("points", points.shape, "densest pixel", counts.max(), "hits", counts.sum())

# Aggregate, then shade: the same counts in two looks.
agg = ifskit.aggregate(fern, (512, 512), 10_000_000)
ifskit.save_png(ifskit.shade(agg, cmap="Greens", background="white"), out / "fern_white.png", overwrite=True)
ifskit.save_png(ifskit.render_image(dragon, 512, 10_000_000, color="map"), out / "dragon_by_map.png", overwrite=True)

# A family of pictures from one encoding: conjugate by a rotation and shear.
angle = np.radians(25)
M = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ [[1.0, 0.4], [0.0, 1.0]]
leaning = fern.conjugate(M)
ifskit.save_png(ifskit.render_image(leaning, 512, 10_000_000), out / "fern_leaning.png", overwrite=True)

# Save in any format; reading it back gives an equal IFS.
ifskit.save(leaning, out / "fern_leaning.yaml", overwrite=True)
assert ifskit.load(out / "fern_leaning.yaml") == leaning
print("wrote", sorted(p.name for p in out.iterdir()))
