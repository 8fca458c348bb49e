"""
The chaos game on the Barnsley fern
===================================

The chaos game's points accumulating on the Barnsley fern (the seed's random iteration):
apply a randomly chosen map, plot the point, repeat. The first few points of one orbit are
drawn large; every panel adds ten times as many points.

Run from the repository root:  ``.venv/bin/python examples/demo_chaos_game.py [OUT.png]``
(``gallery/demo_chaos_game.png`` was made this way); without OUT.png the picture is only drawn.
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import ifskit

out = sys.argv[1] if len(sys.argv) > 1 else None
fern = ifskit.catalog("barnsley_fern")
points = ifskit.chaos_game(fern, 1_000_000, seed=0)
x0, x1, y0, y1 = ifskit.render.frame.fit_window(*ifskit.render.tight_bounds(fern).reshape(2, 2), (500, 300))

counts = [100, 1_000, 10_000, 100_000, 1_000_000]
fig, axes = plt.subplots(1, len(counts), figsize=(3 * len(counts), 5), facecolor="black")
for ax, n in zip(axes, counts):
    ax.scatter(points[:n, 0], points[:n, 1], s=max(0.02, 30 / n**0.5), c="#7fd67f", linewidths=0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"{n:,} points", color="white")
fig.suptitle("The chaos game: apply a randomly chosen map, plot the point, repeat", color="white")
fig.tight_layout()
if out:
    fig.savefig(out, dpi=80, facecolor="black")
    print("wrote", out)
plt.show()
