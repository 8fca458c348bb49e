"""
A family of pictures from one encoding
======================================

Conjugating the maps moves the attractor.

For an affine map t, the IFS with maps t o w_i o t^-1 has the attractor t(A): one
set of maps, transformed, gives rotated, squeezed, sheared and mirrored copies of
the same picture (the seed's "families of pictures").

Run from the repository root:  ``.venv/bin/python examples/demo_families.py [OUT.png]``
(``gallery/demo_families.png`` was made this way); without OUT.png the picture is only drawn.
"""

import sys

import matplotlib.pyplot as plt
import numpy as np

import ifskit
from ifskit.geometry import linear_map

out = sys.argv[1] if len(sys.argv) > 1 else None
leaf = ifskit.catalog("maple_leaf")
family = [
    ("original", linear_map(2)),
    ("rotate 40", linear_map(2, rotate=40)),
    ("scale 1, 0.5", linear_map(2, scale=(1.0, 0.5))),
    ("shear 0.6", linear_map(2, shear=0.6)),
    ("flip x", linear_map(2, flip="x")),
]
# one common window, so the panels show the transforms, not a re-framing
bounds = ifskit.render.tight_bounds(leaf)
corners = np.array([[x, y] for x in bounds[:2] for y in bounds[2:]])
moved = np.concatenate([corners @ t.T for _, t in family])
bounds = ifskit.render.frame.fit_window(
    (moved[:, 0].min(), moved[:, 0].max()), (moved[:, 1].min(), moved[:, 1].max()), (300, 300)
)
panels = []
for label, t in family:
    image = ifskit.render_image(leaf.conjugate(t), 300, 5_000_000, bounds=bounds, color="map", progress=False)
    panels.append(image)
    print(f"{label:>12}: maps conjugated by {np.round(t, 3).tolist()}")
picture = np.concatenate(panels, axis=1)
if out:
    ifskit.save_png(picture, out, overwrite=True)
    print("wrote", out)

fig, axes = plt.subplots(1, len(family), figsize=(3 * len(family), 3.4))
for ax, (label, _), panel in zip(axes, family, panels):
    ax.imshow(panel)
    ax.set_title(label)
    ax.set_axis_off()
fig.tight_layout()
plt.show()
