"""Reproduce the shipped 2D encoder weights (ifskit/neural/weights/encoder_2d.pt).

Run from the repository root::

    nice -n 5 .venv/bin/python scripts/train_encoder.py            # the shipped run (fixed settings and seed)
    .venv/bin/python scripts/train_encoder.py --resume             # continue it after an interruption

One run of ``ifskit.neural.train.train_encoder``: 16000 steps of Adam with a cosine
learning rate from 3e-3, batches of 32 clouds of 256 points drawn on the fly, the
collage bound plus the attractor term with weight 30 (see :mod:`ifskit.neural.train`).
About 32 minutes on one core of a 2-core x86_64 machine (31.6 min measured, shared
with other jobs). The budget is a fixed number
of optimizer steps, not wall-clock time, so the weights depend only on the seed and
the settings below (CPU, one torch thread: other thread counts may round
differently). The full training checkpoint (with optimizer state) goes to
--checkpoint; the shipped file keeps only what encoding needs (architecture,
weights, training settings and loss history).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ifskit.neural.model import load_checkpoint, save_checkpoint
from ifskit.neural.shipped import DEFAULT_WEIGHTS
from ifskit.neural.train import train_encoder

#: The shipped run (architecture: ifskit.neural.model.default_hparams(2)).
STEPS = 16000
SEED = 0
BATCH = 32
LEARNING_RATE = 3e-3
ATTRACTOR_WEIGHT = 30.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="encoder_2d_training.pt", help="full training checkpoint")
    parser.add_argument("--output", default=str(DEFAULT_WEIGHTS), help="shipped weights file")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"optimizer steps (shipped: {STEPS})")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--from-checkpoint", action="store_true", help="only export --checkpoint as it is")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if not args.from_checkpoint:
        figures = train_encoder(
            args.checkpoint,
            args.steps,
            seed=SEED,
            dim=2,
            device="cpu",
            resume=args.resume,
            overwrite=not args.resume,
            batch_size=BATCH,
            learning_rate=LEARNING_RATE,
            attractor_weight=ATTRACTOR_WEIGHT,
            progress=sys.stderr.isatty(),
        )
        print(f"{time.strftime('%H:%M:%S')} {figures}", flush=True)
    model, checkpoint = load_checkpoint(args.checkpoint)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    extra = {"train": checkpoint["train"], "history": checkpoint["history"]}
    save_checkpoint(args.output, model, step=checkpoint["step"], extra=extra, overwrite=True)
    print(f"wrote {args.output} (step {checkpoint['step']} of {checkpoint['train']['steps']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
