"""The encoder on real shapes: one shot and refined, against the fitter at matched quality (issue 19).

Run from the repository root::

    .venv/bin/python benchmarks/bench_encoder_real.py                  # every shape, encoder and fitter curve
    .venv/bin/python benchmarks/bench_encoder_real.py --no-fitter      # the encoder alone (a few minutes)
    .venv/bin/python benchmarks/bench_encoder_real.py --shapes glyph_A,nut --json
    .venv/bin/python benchmarks/bench_encoder_real.py --seed 1                 # fresh draws of the shapes
    .venv/bin/python benchmarks/bench_encoder_real.py --no-fitter --figure gallery/encoder_real_shapes.png

The shapes are the development set of ``benchmarks/bench_real.py`` (:mod:`real_shapes`), which
the encoder never trains on (``--seed 1``: other clouds and truths of them, which the fitter's
settings were not tuned on): 4096-point input clouds, dense truths, the same figures
(:mod:`real_metrics`): occupancy IoU of 10^6 chaos-game points against the truth at 128^2 (64^3
in 3D), Hausdorff and Chamfer distances in % of the truth's diagonal.

- **One shot**: one batched ``ifskit.encode`` call over all clouds of a dimension (the shipped
  model of that dimension), its wall time divided by their number.
- **Refined**: ``ifskit.encode(cloud, refine=30)``, one cloud per call, the call's wall time (what
  ``ifskit encode --refine 30 --json`` reports as ``seconds``).
- **Fitter at matched quality**: ``ifskit.fit(cloud, n_maps="auto", steps=S, max_maps=M)`` for growing ``S``
  (``M`` from ``--fit-max-maps``: 16, fit's default; the encoder's refinement grows to 32, so
  ``--fit-max-maps 16,32`` also gives the fitter that room);
  the first ``S`` whose mean IoU (2D) or mean Chamfer (3D) reaches the refined encoder's is the
  fitter's cost of the same quality. Both sides are timed without the fitter's verification
  render (a 2 * 10^5-point chaos game and exact distances, which ``fit`` always computes):
  ``FitResult.seconds`` minus the time of :func:`ifskit.fitting.verify.verify` on its answer,
  measured in the same run. Speed ratio = fitter's time at matched quality / encoder's.

Targets (issue 19, 2-core CPU): 2D one shot mean IoU >= 0.70 at <= 10 ms a cloud; refined 30 steps
mean IoU >= 0.80 in <= 1.5 s; 3D refined Chamfer <= 1.5% in <= 3 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from bench_real import environment
from real_metrics import score_ifs
from real_shapes import SHAPES, MissingPackage, load_shape

import ifskit
from ifskit.fitting.verify import verify

REFINE_STEPS = 30
FIT_CURVE = (0, 10, 25, 50, 100, 200, 400)
TARGETS = {"one_shot_iou": 0.70, "one_shot_ms": 10.0, "refined_iou": 0.80, "refined_s": 1.5}
TARGETS_3D = {"refined_chamfer_pct": 1.5, "refined_s": 3.0}


def warm_up(models: dict) -> None:
    """Load torch and both models, compile the chaos game: none of it in the first row."""
    rng = np.random.default_rng(0)
    for dim in (2, 3):
        cloud = rng.uniform(size=(300, dim))
        ifskit.encode(cloud, model=models.get(dim))  # the one shot's own path (the 2D copies)
        ifskit.encode(cloud, refine=2, model=models.get(dim))
        ifskit.fit(cloud, 2, steps=2, progress=False)


def score(shape, ifs, grids: dict | None = None, key: str = "") -> dict:
    """The figures of ``ifs`` against the shape's truth; its and the truth's occupancy grids into ``grids`` when given."""
    s = score_ifs(shape.truth, ifs)
    if grids is not None:
        grids.setdefault("truth", s.truth_grid)
        grids[key] = s.attractor_grid
    return {"iou": s.iou, "hausdorff_pct": s.hausdorff_pct, "chamfer_pct": s.chamfer_pct, "maps": ifs.n_maps}


def write_figure(path: str, shapes: dict, rows: dict, grids: dict) -> None:
    """The 2D shapes' truth, one-shot and refined attractors at the benchmark's 128^2 occupancy, one column each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in grids if shapes[n].dim == 2]
    fig, axes = plt.subplots(3, len(names), figsize=(1.9 * len(names), 6.0), layout="constrained", squeeze=False)
    for j, name in enumerate(names):
        for i, key in enumerate(("truth", "one_shot", "refined")):
            ax = axes[i, j]
            # grids are indexed (x, y): transpose to rows of y, y up
            ax.imshow(grids[name][key].T, origin="lower", cmap="gray_r", vmin=0, vmax=1.25, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if key == "truth":
                ax.set_title(name, fontsize=8)
            else:
                row = rows[name][key]
                label = "one shot" if key == "one_shot" else f"+ {REFINE_STEPS} steps"
                ax.set_title(f"{label}: {row['maps']} maps, IoU {row['iou']:.2f}", fontsize=7)
    fig.suptitle(
        f"ifskit.encode on real 2D shapes: truth | one shot | refined {REFINE_STEPS} steps (occupancy 128^2)",
        fontsize=9,
    )
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run_encoder(shapes: dict, models: dict, grids: dict) -> dict:
    """One shot (batched per dimension) and refined (one cloud per call) rows per shape; ``models`` by dimension.

    The occupancy grids of the truths and attractors go into ``grids`` (per shape, per key) for the figure.
    """
    rows = {name: {"name": name, "dim": shape.dim} for name, shape in shapes.items()}
    for dim in (2, 3):
        names = [n for n, s in shapes.items() if s.dim == dim]
        if not names:
            continue
        start = time.perf_counter()
        answers = ifskit.encode([shapes[n].cloud for n in names], model=models.get(dim))
        per_cloud = (time.perf_counter() - start) / len(names)
        for name, ifs in zip(names, answers):
            rows[name]["one_shot"] = {
                **score(shapes[name], ifs, grids.setdefault(name, {}), "one_shot"),
                "seconds": per_cloud,
            }
    for name, shape in shapes.items():
        start = time.perf_counter()
        ifs = ifskit.encode(shape.cloud, refine=REFINE_STEPS, model=models.get(shape.dim))
        seconds = time.perf_counter() - start
        rows[name]["refined"] = {**score(shape, ifs, grids.setdefault(name, {}), "refined"), "seconds": seconds}
        print(
            f"  {name:16s} one shot IoU {rows[name]['one_shot']['iou']:.3f}  refined IoU "
            f"{rows[name]['refined']['iou']:.3f} chamfer {rows[name]['refined']['chamfer_pct']:.2f}% "
            f"{ifs.n_maps} maps {seconds:.2f} s",
            flush=True,
        )
    return rows


def run_fitter(shapes: dict, steps_list, seed: int = 0, max_maps: int = 16) -> dict:
    """Per step count, per shape: the fitter's figures and its time without the verification."""
    curve = {}
    for steps in steps_list:
        curve[steps] = {}
        for name, shape in shapes.items():
            result = ifskit.fit(shape.cloud, n_maps="auto", steps=steps, seed=seed, progress=False, max_maps=max_maps)
            start = time.perf_counter()
            verify(result.ifs, result.points, seed)
            verification = time.perf_counter() - start
            curve[steps][name] = {**score(shape, result.ifs), "seconds": result.seconds - verification}
        print(f"  fitter (max_maps {max_maps}) {steps:4d} steps: " + _means(curve[steps], shapes), flush=True)
    return curve


def _means(rows: dict, shapes: dict) -> str:
    parts = []
    for dim, key in ((2, "iou"), (3, "chamfer_pct")):
        names = [n for n in rows if shapes[n].dim == dim]
        if names:
            parts.append(
                f"{dim}D {key} {np.mean([rows[n][key] for n in names]):.3f} "
                f"in {np.mean([rows[n]['seconds'] for n in names]):.2f} s"
            )
    return "; ".join(parts)


def matched(curve: dict, shapes: dict, dim: int, goal: float) -> tuple:
    """The fewest steps whose mean quality reaches ``goal`` (IoU up in 2D, Chamfer down in 3D), and their mean time."""
    key, better = ("iou", np.greater_equal) if dim == 2 else ("chamfer_pct", np.less_equal)
    for steps, rows in curve.items():
        names = [n for n in rows if shapes[n].dim == dim]
        if names and better(np.mean([rows[n][key] for n in names]), goal):
            return steps, float(np.mean([rows[n]["seconds"] for n in names]))
    return None, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", help="comma-separated names (default: all)")
    parser.add_argument("--no-fitter", action="store_true", help="skip the fitter's curve")
    parser.add_argument("--fit-steps", default=",".join(map(str, FIT_CURVE)), help="the fitter's step counts")
    parser.add_argument(
        "--fit-max-maps", default="16",
        help="the fitter's max_maps, one curve each (default 16, fit's default; the encoder grows to 32)",
    )  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    parser.add_argument("--figure", metavar="PNG", help="write the 2D shapes' one-shot and refined attractors here")
    parser.add_argument(
        "--seed", type=int, default=0,
        help="seed of the shapes' clouds and truths and of every fit (default 0: the development draws)",
    )  # fmt: skip
    parser.add_argument("--model-2d", metavar="PT", help="2D checkpoint instead of the shipped one")
    parser.add_argument("--model-3d", metavar="PT", help="3D checkpoint instead of the shipped one")
    args = parser.parse_args()
    names = args.shapes.split(",") if args.shapes else list(SHAPES)
    shapes = {}
    for name in names:
        try:
            shapes[name] = load_shape(name, seed=args.seed)
        except MissingPackage as missing:
            print(f"skipped {name}: {missing}")
    print(", ".join(f"{key} {value}" for key, value in environment().items()) + "; warming up", flush=True)
    models = {2: args.model_2d, 3: args.model_3d}
    warm_up(models)
    grids = {}
    rows = run_encoder(shapes, models, grids)
    if args.figure:
        write_figure(args.figure, shapes, rows, grids)
    report = {"rows": rows, "summary": {}}
    for dim in (2, 3):
        dim_rows = [r for r in rows.values() if r["dim"] == dim]
        if not dim_rows:
            continue
        summary = {
            "one_shot_iou": float(np.mean([r["one_shot"]["iou"] for r in dim_rows])),
            "one_shot_ms": 1000 * dim_rows[0]["one_shot"]["seconds"],
            "one_shot_chamfer_pct": float(np.mean([r["one_shot"]["chamfer_pct"] for r in dim_rows])),
            "refined_iou": float(np.mean([r["refined"]["iou"] for r in dim_rows])),
            "refined_chamfer_pct": float(np.mean([r["refined"]["chamfer_pct"] for r in dim_rows])),
            "refined_hausdorff_pct": float(np.mean([r["refined"]["hausdorff_pct"] for r in dim_rows])),
            "refined_s_mean": float(np.mean([r["refined"]["seconds"] for r in dim_rows])),
            "refined_s_max": float(np.max([r["refined"]["seconds"] for r in dim_rows])),
            "refined_maps": float(np.mean([r["refined"]["maps"] for r in dim_rows])),
        }
        report["summary"][dim] = summary
        print(f"{dim}D: " + ", ".join(f"{k} {v:.3f}" for k, v in summary.items()))
    if not args.no_fitter:
        report["fitter"] = {}
        for max_maps in (int(m) for m in args.fit_max_maps.split(",")):
            curve = run_fitter(shapes, [int(s) for s in args.fit_steps.split(",")], args.seed, max_maps)
            report["fitter"][max_maps] = {str(k): v for k, v in curve.items()}
            for dim, summary in report["summary"].items():
                goal = summary["refined_iou"] if dim == 2 else summary["refined_chamfer_pct"]
                steps, seconds = matched(curve, shapes, dim, goal)
                if steps is None:
                    print(
                        f"{dim}D: the fitter (max_maps {max_maps}) does not reach the refined encoder's quality "
                        f"within {max(curve)} steps"
                    )
                else:
                    ratio = seconds / summary["refined_s_mean"]
                    summary[f"matched_max_maps_{max_maps}"] = {"steps": steps, "fitter_s": seconds, "ratio": ratio}
                    print(
                        f"{dim}D: the fitter (max_maps {max_maps}) reaches it at {steps} steps, {seconds:.2f} s a "
                        f"shape: ratio {ratio:.1f}x"
                    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1, default=float)


if __name__ == "__main__":
    sys.path.insert(0, "benchmarks")
    main()
