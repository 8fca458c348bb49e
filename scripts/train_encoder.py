"""Reproduce the shipped 2D encoder weights (ifskit/neural/weights/encoder_2d.pt).

Run from the repository root::

    nice -n 5 .venv/bin/python scripts/train_encoder.py            # the shipped run (fixed schedule and seed)
    .venv/bin/python scripts/train_encoder.py --resume             # continue it after an interruption

The schedule: Adam with a cosine learning rate over the first phase (9000 steps), then
a warm restart: resumed to 16000 steps in all, the learning rate following the cosine
of the new total from step 9000 on (``train_encoder(..., resume=True)`` with more
steps). The budget is a fixed number of optimizer steps, not wall-clock time, so the weights
depend only on the seed and the settings below (CPU, one torch thread: other thread
counts may round differently). The full
training checkpoint (with optimizer state) goes to --checkpoint; the shipped file keeps
only what encoding needs (architecture, weights, training settings and loss history).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ifskit.neural.encoding import DEFAULT_WEIGHTS
from ifskit.neural.model import load_checkpoint, save_checkpoint
from ifskit.neural.train import train_encoder

#: The shipped run (architecture: ifskit.neural.model.default_hparams(2)): the step
#: totals of the phases, each a cosine learning-rate schedule resumed from the last.
SCHEDULE = (9000, 16000)
SEED = 0
BATCH = 32
LEARNING_RATE = 3e-3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="encoder_2d_training.pt", help="full training checkpoint")
    parser.add_argument("--output", default=str(DEFAULT_WEIGHTS), help="shipped weights file")
    parser.add_argument("--steps", type=int, help=f"one phase of this many steps (shipped: {SCHEDULE})")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--from-checkpoint", action="store_true", help="only export --checkpoint as it is")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    phases = SCHEDULE if args.steps is None else (args.steps,)
    for phase, total in enumerate(phases if not args.from_checkpoint else ()):
        resume = args.resume or phase > 0
        if resume and Path(args.checkpoint).exists() and load_checkpoint(args.checkpoint)[1]["step"] >= total:
            continue  # this phase is done (a resumed run)
        figures = train_encoder(
            args.checkpoint,
            total,
            seed=SEED,
            dim=2,
            device="cpu",
            resume=resume,
            overwrite=not resume,
            batch_size=BATCH,
            learning_rate=LEARNING_RATE,
            progress=sys.stderr.isatty(),
        )
        print(f"{time.strftime('%H:%M:%S')} phase {phase + 1}: {figures}", flush=True)
    model, checkpoint = load_checkpoint(args.checkpoint)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    extra = {"train": checkpoint["train"], "history": checkpoint["history"]}
    save_checkpoint(args.output, model, step=checkpoint["step"], extra=extra, overwrite=True)
    print(f"wrote {args.output} (step {checkpoint['step']} of {checkpoint['train']['steps']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
