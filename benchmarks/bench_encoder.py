"""Neural Collage encoder: one-shot and refined quality and time, against the fitter from scratch in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_encoder.py            # the issue's held-out set (a few minutes)
    .venv/bin/python benchmarks/bench_encoder.py --quick    # 16 clouds, a rough check

Held-out set: random 4-map IFS (:func:`ifskit.random_ifs`: singular values in
[0.2, 0.7], fixed points in [-0.75, 0.75]^2, the sigma-factor band), drawn from
seeds the training never sees, 2048 chaos-game points each. Quality is the Chamfer
distance (mean of the two mean nearest-neighbour distances, in the cloud's own
coordinates) between the cloud and 2048 chaos-game points of the IFS found; the
"true IFS" row is the same distance for the IFS that drew the cloud (the floor of
this measure: two samples of one attractor). Times are wall clock after a warm-up
(torch import, Numba compilation); the one-shot time is one batched
``ifskit.encode`` call over all clouds divided by their number; refined and fitter
times are per cloud and include the fitter's verification, as the user gets them.
The encoder's quality-time curve is measured twice: one cloud per ``encode`` call,
and all the curve's clouds in one call (refined together in a batch, the same
answers, the fixed cost of each step shared); the fitter has no batched form.

The baseline is the fitter from scratch (``ifskit.fit(cloud, 4, steps=S)``) on the
same clouds; the speed-up is the fitter's time at its default 400 steps divided by
the time at which encoder + refinement first reaches the fitter's quality
(interpolated on the quality-time curve, in log time), once on the whole curve and
once from its first refinement step on. Every point states its mean number of maps:
the shipped 2D model's one shot is often its 48 anchor copies and the refinement grows
up to 32 maps, against the fitter's 4; a Chamfer distance does not charge an answer
for its size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

import ifskit
from ifskit._io import atomic_path
from ifskit.analysis import chamfer_distance
from ifskit.neural.random import random_ifs

#: Seed of the held-out set; the training data uses (seed 0, sample index) streams.
HELD_OUT_SEED = 424242
N_POINTS = 2048
REFINE_CURVE = [0, 5, 10, 20, 30, 100]
FIT_CURVE = [25, 50, 100, 200, 400]
# targets of the issue
ONE_SHOT_CHAMFER, ONE_SHOT_MS = 0.05, 10.0
REFINED_CHAMFER, REFINED_S = 0.025, 1.0
SPEED_UP = 20.0


def held_out(count: int, seed: int = HELD_OUT_SEED) -> tuple[list, list]:
    """The first ``count`` IFS of the held-out set ``seed`` and their clouds, each (2048, 2)."""
    systems = [random_ifs(4, 2, np.random.default_rng([seed, i])) for i in range(count)]
    clouds = [ifskit.chaos_game(ifs, N_POINTS, seed=i, progress=False) for i, ifs in enumerate(systems)]
    return systems, clouds


def quality(ifs, cloud) -> float:
    """Chamfer distance between a cloud and 2048 points of the attractor of ``ifs``."""
    return chamfer_distance(ifskit.chaos_game(ifs, N_POINTS, seed=0, progress=False), cloud)


def timed(call):
    start = time.perf_counter()
    out = call()
    return out, time.perf_counter() - start


def curve_point(method: str, steps: int, clouds: list, run) -> dict:
    """Mean quality and seconds per cloud of ``run(cloud)`` over ``clouds``."""
    scores, seconds, maps = [], [], []
    for cloud in clouds:
        ifs, dt = timed(lambda cloud=cloud: run(cloud))
        seconds.append(dt)
        scores.append(quality(ifs, cloud))
        maps.append(ifs.n_maps)
    return {
        "method": method,
        "steps": steps,
        "chamfer": float(np.mean(scores)),
        "seconds": float(np.mean(seconds)),
        "maps": float(np.mean(maps)),
    }


def batched_point(steps: int, clouds: list, model) -> dict:
    """Mean quality and seconds per cloud of one ``encode(clouds, refine=steps)`` call."""
    found, seconds = timed(lambda: ifskit.encode(clouds, model=model, refine=steps))
    scores = [quality(ifs, cloud) for ifs, cloud in zip(found, clouds)]
    return {
        "method": "encoder, batched",
        "steps": steps,
        "chamfer": float(np.mean(scores)),
        "seconds": seconds / len(clouds),
        "maps": float(np.mean([ifs.n_maps for ifs in found])),
    }


def time_to_reach(curve: list, level: float) -> float | None:
    """Seconds at which a quality-time curve (in time order) first gets to ``level``, log-interpolated."""
    for before, after in zip([None, *curve[:-1]], curve):
        if after["chamfer"] <= level:
            if before is None or before["chamfer"] <= level:
                return after["seconds"]
            f = (before["chamfer"] - level) / (before["chamfer"] - after["chamfer"])
            return float(np.exp(np.log(before["seconds"]) + f * np.log(after["seconds"] / before["seconds"])))
    return None


def plot(curves: dict, reference: float, path: str) -> None:
    """Quality against time of the encoder (one cloud per call, batched) and the fitter, log time axis, written atomically."""
    # matplotlib only when a plot is asked for, and its Agg backend before pyplot loads
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    # the two encoder curves nearly coincide: their labels go on opposite sides, the maps on one of them
    for label, curve, marker, offset, maps in (
        ("encoder + refinement, one cloud per call", curves["encoder"], "o", (4, 4), True),
        ("encoder + refinement, batched", curves["encoder_batched"], "^", (-12, -12), False),
        ("fitter from scratch", curves["fitter"], "s", (4, 4), False),
    ):
        x = [p["seconds"] for p in curve]
        y = [p["chamfer"] for p in curve]
        ax.plot(x, y, marker=marker, label=label)
        for p in curve:
            text = f"{p['steps']} ({p['maps']:.0f} maps)" if maps else str(p["steps"])
            ax.annotate(text, (p["seconds"], p["chamfer"]), textcoords="offset points", xytext=offset, fontsize=8)
    ax.axhline(reference, color="grey", ls=":", label="true IFS (floor of the measure)")
    ax.set_xscale("log")
    ax.set_xlabel("seconds per cloud (CPU)")
    ax.set_ylabel("mean Chamfer distance")
    ax.set_title("Held-out 4-map IFS clouds: quality against time (labels: steps; the fitter: 4 maps)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 clouds, 2 for shorter curves: a rough check")
    parser.add_argument("--model", help="encoder checkpoint (default: the shipped 2D weights)")
    parser.add_argument("--plot", help="quality-time PNG (default: gallery/encoder_quality_time.png, not with --quick)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--seed", type=int, default=HELD_OUT_SEED, help=f"held-out set (default {HELD_OUT_SEED}; others: a fresh draw)"
    )
    args = parser.parse_args()
    n_all, n_refined, n_curve = (16, 4, 2) if args.quick else (256, 64, 32)
    refine_curve, fit_curve = ([0, 30], [50, 200]) if args.quick else (REFINE_CURVE, FIT_CURVE)
    plot_path = args.plot or (None if args.quick else "gallery/encoder_quality_time.png")

    model = ifskit.neural.load_model(args.model)
    systems, clouds = held_out(n_all, args.seed)
    # warm-up: torch, Numba chaos game, KD-trees, the fitter; the one shot's own path (the copies)
    ifskit.encode(clouds[:4], model=model)
    ifskit.encode(clouds[:4], model=model, refine=2)
    ifskit.fit(clouds[0], 4, steps=2, progress=False)

    encoded, seconds = timed(lambda: ifskit.encode(clouds, model=model))
    one_shot = {
        "chamfer": float(np.mean([quality(ifs, c) for ifs, c in zip(encoded, clouds)])),
        "ms_per_cloud": 1000 * seconds / n_all,
        "clouds": n_all,
        "maps": float(np.mean([ifs.n_maps for ifs in encoded])),
    }
    truth = float(np.mean([quality(ifs, c) for ifs, c in zip(systems, clouds)]))
    refined = curve_point("encoder", 30, clouds[:n_refined], lambda c: ifskit.encode(c, model=model, refine=30))
    refined["clouds"] = n_refined
    subset = clouds[:n_curve]
    curves = {
        "encoder": [
            curve_point("encoder", r, subset, lambda c, r=r: ifskit.encode(c, model=model, refine=r))
            for r in refine_curve
        ],
        "encoder_batched": [batched_point(r, subset, model) for r in refine_curve],
        "fitter": [
            curve_point("fitter", s, subset, lambda c, s=s: ifskit.fit(c, 4, steps=s, progress=False).ifs)
            for s in fit_curve
        ],
    }
    fitter = curves["fitter"][-1]
    reach = time_to_reach(curves["encoder"], fitter["chamfer"])
    speed_up = fitter["seconds"] / reach if reach else None
    reach_batched = time_to_reach(curves["encoder_batched"], fitter["chamfer"])
    speed_up_batched = fitter["seconds"] / reach_batched if reach_batched else None
    # the same from the first refinement step on: the one shot left out
    reach_refined = time_to_reach([p for p in curves["encoder"] if p["steps"]], fitter["chamfer"])
    speed_up_refined = fitter["seconds"] / reach_refined if reach_refined else None
    # the other way round: how long the fitter needs for the quality of encoder + 30 steps
    enc30 = next(p for p in curves["encoder"] if p["steps"] == 30)
    fitter_reach = time_to_reach(curves["fitter"], enc30["chamfer"])
    figures = {
        "true_ifs_chamfer": truth,
        "one_shot": one_shot,
        "refined_30": refined,
        "curves": curves,
        "fitter_reference": fitter,
        "encoder_seconds_to_fitter_quality": reach,
        "speed_up": speed_up,
        "encoder_batched_seconds_to_fitter_quality": reach_batched,
        "speed_up_batched": speed_up_batched,
        "encoder_refined_seconds_to_fitter_quality": reach_refined,
        "speed_up_refined": speed_up_refined,
        "fitter_seconds_to_encoder30_quality": fitter_reach,
        "held_out_seed": args.seed,
    }
    if plot_path:
        plot(curves, truth, plot_path)
    if args.json:
        print(json.dumps(figures, indent=1))
        return

    def met(ok):
        return "met" if ok else "not met"

    cpu = platform.processor() or platform.machine()
    print(f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} (encoder and fitter steps on one torch thread)")
    print(f"held-out set: seed {args.seed}")
    print(
        f"| method | clouds | mean Chamfer | time per cloud | maps | Chamfer vs fitter ({fitter['steps']} steps) | target |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    base = fitter["chamfer"]
    print(f"| true IFS (floor of the measure) | {n_all} | {truth:.4f} | - | 4 | {truth / base:.2f}x | - |")
    ok = one_shot["chamfer"] <= ONE_SHOT_CHAMFER and one_shot["ms_per_cloud"] <= ONE_SHOT_MS
    print(
        f"| encoder, one shot (batched) | {n_all} | {one_shot['chamfer']:.4f} | {one_shot['ms_per_cloud']:.1f} ms | "
        f"{one_shot['maps']:.1f} | {one_shot['chamfer'] / base:.2f}x | <= {ONE_SHOT_CHAMFER} at <= {ONE_SHOT_MS:g} ms: "
        f"{met(ok)} |"
    )
    ok = refined["chamfer"] <= REFINED_CHAMFER and refined["seconds"] <= REFINED_S
    print(
        f"| encoder + 30 refinement steps | {n_refined} | {refined['chamfer']:.4f} | {refined['seconds']:.2f} s | "
        f"{refined['maps']:.1f} | {refined['chamfer'] / base:.2f}x | <= {REFINED_CHAMFER} in <= {REFINED_S:g} s: "
        f"{met(ok)} |"
    )
    print(
        f"| fitter from scratch, {fitter['steps']} steps (baseline) | {n_curve} | {base:.4f} | "
        f"{fitter['seconds']:.2f} s | 4 | 1.00x | - |"
    )
    for label, to_reach, ratio in (
        ("one cloud per call", reach, speed_up),
        (f"{n_curve} clouds in one call", reach_batched, speed_up_batched),
        ("one cloud per call, from the first refinement step", reach_refined, speed_up_refined),
    ):
        reach_text = f"{to_reach:.2f} s, {ratio:.1f}x faster" if to_reach else "not reached on the curve"
        print(
            f"| encoder + refinement to the fitter's quality, {label} | {n_curve} | {base:.4f} | {reach_text} | - | "
            f"- | >= {SPEED_UP:g}x: {met(bool(ratio and ratio >= SPEED_UP))} |"
        )
    print()
    print(f"Quality against time ({n_curve} clouds; steps = refinement steps or fitter steps):")
    print()
    print("| method | steps | mean Chamfer | seconds per cloud | maps |")
    print("|---|---:|---:|---:|---:|")
    labels = {
        "encoder": "encoder + refinement, one cloud per call",
        "encoder_batched": "encoder + refinement, batched",
        "fitter": "fitter from scratch",
    }
    for name, label in labels.items():
        for p in curves[name]:
            print(f"| {label} | {p['steps']} | {p['chamfer']:.4f} | {p['seconds']:.3f} | {p['maps']:.1f} |")
    if fitter_reach:
        print(
            f"\nThe fitter needs {fitter_reach:.2f} s per cloud for the quality of encoder + 30 steps "
            f"({enc30['chamfer']:.4f} in {enc30['seconds']:.2f} s): {fitter_reach / enc30['seconds']:.1f}x."
        )
    if plot_path:
        print(f"\nwrote {plot_path}")


if __name__ == "__main__":
    main()
