"""
A tour of the Python API
========================

Load, inspect, render, transform and save an IFS: the calls of the README's tour, one after
the other, with the pictures they make.

Run from the repository root:  ``.venv/bin/python examples/python_api.py [OUTDIR]``
(the pictures and the YAML file go to OUTDIR, a temporary folder without it).
"""

import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import ifskit

here = Path(sys.argv[0]).resolve().parent  # examples/, wherever this runs from
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="ifskit_tour_"))
out.mkdir(exist_ok=True)

# %%
# Built-ins and files give the same value type: an :class:`ifskit.IFS` with maps ``A`` (k, d, d),
# translations ``b`` (k, d) and probabilities ``p`` (k,).
fern = ifskit.catalog("barnsley_fern")
dragon = ifskit.load(here / "dragon_geometric.yaml")
print(fern, dragon, sep="\n")
print("contraction per map:", fern.contraction_factors.round(3))
print("similarity dimension of the carpet:", ifskit.similarity_dimension(ifskit.catalog("sierpinski_carpet")))

# %%
# Points of the attractor (n, 2), and a density raster (H, W) that keeps no points.
points = ifskit.chaos_game(fern, n_points=100_000, seed=0)
counts = ifskit.density(fern, size=(512, 512), n_points=10_000_000, seed=0)
print("points", points.shape, "densest pixel", counts.max(), "hits", counts.sum())

# %%
# Aggregate, then shade: the same counts in two looks; and colour by map.
agg = ifskit.aggregate(fern, (512, 512), 10_000_000)
fern_white = ifskit.shade(agg, cmap="Greens", background="white")
dragon_by_map = ifskit.render_image(dragon, 512, 10_000_000, color="map")
ifskit.save_png(fern_white, out / "fern_white.png", overwrite=True)
ifskit.save_png(dragon_by_map, out / "dragon_by_map.png", overwrite=True)

# %%
# A family of pictures from one encoding: conjugate the maps by a rotation and a shear.
angle = np.radians(25)
M = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ [[1.0, 0.4], [0.0, 1.0]]
leaning = fern.conjugate(M)
fern_leaning = ifskit.render_image(leaning, 512, 10_000_000)
ifskit.save_png(fern_leaning, out / "fern_leaning.png", overwrite=True)

fig, axes = plt.subplots(1, 3, figsize=(12, 4.4))
for ax, (title, picture) in zip(
    axes, [("shaded on white", fern_white), ("coloured by map", dragon_by_map), ("conjugated", fern_leaning)]
):
    ax.imshow(picture)
    ax.set_title(title)
    ax.set_axis_off()
fig.tight_layout()
plt.show()

# %%
# Save in any format; reading it back gives an equal IFS.
ifskit.save(leaning, out / "fern_leaning.yaml", overwrite=True)
assert ifskit.load(out / "fern_leaning.yaml") == leaning
print("wrote", sorted(p.name for p in out.iterdir()))
