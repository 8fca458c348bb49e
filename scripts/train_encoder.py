"""Reproduce the shipped encoder weights (ifskit/neural/weights/encoder_2d.pt and encoder_3d.pt).

Run from the repository root::

    .venv/bin/python scripts/train_encoder.py --dim 2            # the shipped 2D run (fixed settings and seed)
    .venv/bin/python scripts/train_encoder.py --dim 3            # the shipped 3D run
    .venv/bin/python scripts/train_encoder.py --dim 2 --resume   # continue a run after an interruption
    .venv/bin/python scripts/train_encoder.py --dim 2 --device cuda   # the same run on a GPU
    .venv/bin/python scripts/train_encoder.py --dim 2 --copies-init ifskit/neural/weights/encoder_2d.pt
                                                     # the 2D copies stage alone, on the shipped heads

One run of ``ifskit.neural.train.train_encoder`` per dimension: Adam with a cosine
learning rate from 3e-3, batches of 32 clouds of 256 points drawn on the fly (half
attractors of random IFS of 2 to 4 maps, half procedural shapes of
:mod:`ifskit.neural.shapes`), the collage bound plus the attractor term with weight 30
(see :mod:`ifskit.neural.train`), heads for 2 to 8 maps. The 2D model then gets its anchor
copies (``ifskit.neural.train.train_copies``: 32 maps, one per farthest-point anchor, trained
alone on the collage's occupancy, its collage bound and its attractor, everything else fixed).
The budget is a fixed number of
optimizer steps, not wall-clock time, so the weights depend only on the seed and the
settings below (CPU, one torch thread; other thread counts and GPUs may round
differently, so a GPU run gives other, equally good weights). The full training
checkpoint (with optimizer state) goes to --checkpoint; the shipped file keeps only what
encoding needs (architecture, weights, training settings and loss history). How long
each run took is in the docs (docs/notes/encoder.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ifskit.neural.model import load_checkpoint, save_checkpoint
from ifskit.neural.shipped import WEIGHTS
from ifskit.neural.train import train_copies, train_encoder

#: The shipped runs (architecture: ifskit.neural.model.default_hparams(dim)).
STEPS = {2: 8000, 3: 8000}
SEED = 0
BATCH = 32
LEARNING_RATE = 3e-3
ATTRACTOR_WEIGHT = 30.0
SHAPE_SHARE = 0.5
MAPS = (2, 4)
#: The 2D copies stage (the other settings: ifskit.neural.train's COPIES_* defaults).
COPIES_STEPS = 6000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, choices=(2, 3), default=2, help="which model (default 2)")
    parser.add_argument("--checkpoint", help="full training checkpoint (default encoder_{dim}d_training.pt)")
    parser.add_argument("--output", help="shipped weights file (default ifskit/neural/weights/encoder_{dim}d.pt)")
    parser.add_argument("--steps", type=int, help="optimizer steps (shipped: 8000)")
    parser.add_argument("--device", default="cpu", help="cpu (the shipped runs) or cuda")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--from-checkpoint", action="store_true", help="only export --checkpoint as it is")
    parser.add_argument(
        "--copies-init", metavar="PT",
        help="2D: skip the heads' training, train the copies on this model's heads (e.g. the shipped file)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.copies_init and args.dim != 2:
        parser.error("--copies-init: only the 2D model has anchor copies")
    import torch

    torch.set_num_threads(1)
    checkpoint_path = args.checkpoint or f"encoder_{args.dim}d_training.pt"
    output = args.output or str(WEIGHTS[args.dim])
    if not args.from_checkpoint and not args.copies_init:
        figures = train_encoder(
            checkpoint_path,
            args.steps or STEPS[args.dim],
            seed=SEED,
            dim=args.dim,
            device=args.device,
            resume=args.resume,
            overwrite=not args.resume,
            batch_size=BATCH,
            learning_rate=LEARNING_RATE,
            maps=MAPS,
            attractor_weight=ATTRACTOR_WEIGHT,
            shape_share=SHAPE_SHARE,
            progress=sys.stderr.isatty(),
        )
        print(f"{time.strftime('%H:%M:%S')} {figures}", flush=True)
    if args.dim == 2 and not args.from_checkpoint:
        # the copies train on the heads' model; the trunk and heads stay as they are
        heads = args.copies_init or checkpoint_path
        checkpoint_path = checkpoint_path.removesuffix(".pt") + "_copies.pt"
        figures = train_copies(
            checkpoint_path, heads, COPIES_STEPS, seed=SEED, device=args.device, overwrite=True,
            progress=sys.stderr.isatty(),
        )  # fmt: skip
        print(f"{time.strftime('%H:%M:%S')} copies {figures}", flush=True)
    elif args.dim == 2:
        checkpoint_path = checkpoint_path.removesuffix(".pt") + "_copies.pt"
    model, checkpoint = load_checkpoint(checkpoint_path)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    extra = {
        key: checkpoint[key] for key in ("train", "history", "copies_train", "copies_history") if key in checkpoint
    }
    save_checkpoint(output, model, step=checkpoint["step"], extra=extra, overwrite=True)
    print(f"wrote {output} (step {checkpoint['step']} of {checkpoint['train']['steps']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
