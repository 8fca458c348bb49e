"""Any starting picture converges to the same attractor (the seed's square and ellipse).

Iterating the Hutchinson operator W(S) = w_1(S) U w_2(S) U w_3(S) of the Sierpinski
maps five times, once from a square and once from an ellipse: after a few steps
the two rows show the same triangle, because the limit depends only on the maps.

Run from the repository root:  .venv/bin/python examples/demo_any_start.py [OUT.png]
(default gallery/demo_any_start.png).
"""

import sys

import numpy as np
from PIL import Image, ImageDraw

import ifskit
from ifskit.render import Aggregate, hutchinson_raster, shade

out = sys.argv[1] if len(sys.argv) > 1 else "gallery/demo_any_start.png"
sierpinski = ifskit.catalog("sierpinski")
size, steps = 200, 5
rows = []
for start in ("square", "ellipse"):
    result = hutchinson_raster(sierpinski, size, start=start, iterations=steps, frames=True, supersample=1)
    panels = []
    for step, frame in enumerate(result.frames):
        rgba = shade(Aggregate(frame, result.bounds, 0), cmap="viridis", gamma=1.0)
        panel = Image.fromarray((rgba * 255).astype(np.uint8), mode="RGBA")
        label = f"{start}, start" if step == 0 else f"step {step}"
        draw = ImageDraw.Draw(panel)
        draw.rectangle((2, 2, 8 + 6 * len(label), 16), fill=(0, 0, 0, 255))
        draw.text((6, 4), label, fill=(255, 255, 255, 255))
        panels.append(np.asarray(panel))
    rows.append(np.concatenate(panels, axis=1))
    print(f"{start}: {int(result.covered.sum())} pixels set after {result.iterations} steps")
ifskit.save_png(np.concatenate(rows, axis=0), out, overwrite=True)
print("wrote", out)
