"""Reproduce the shipped 2D encoder weights (ifskit/neural/weights/encoder_2d.pt).

Run from the repository root::

    nice -n 5 .venv/bin/python scripts/train_encoder.py            # the shipped run (fixed schedule and seed)
    .venv/bin/python scripts/train_encoder.py --resume             # continue it after an interruption

The schedule, three phases of Adam with a cosine learning rate:

1. 9000 steps on the collage bound alone (``attractor_weight=0``), learning rate 3e-3;
2. a warm restart: resumed to 16000 steps in all, the learning rate following the
   cosine of the new total from step 9000 on (``train_encoder(..., resume=True)``
   with more steps);
3. a fine-tuning of 3000 steps with the attractor term (``attractor_weight=30``),
   learning rate 1e-3, from the weights of phase 2 (``init=``) on the clouds that
   follow its data (see :mod:`ifskit.neural.train` for why).

About 45 minutes on one core of this 2-core machine. The budget is a fixed number of
optimizer steps, not wall-clock time, so the weights depend only on the seed and the
settings below (CPU, one torch thread: other thread counts may round differently).
The full training checkpoints (with optimizer state) go to --checkpoint (phases 1-2)
and to its ``_attractor`` sibling (phase 3); the shipped file keeps only what encoding
needs (architecture, weights, training settings and loss history).
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
#: totals of the collage-bound phases, each a cosine learning-rate schedule resumed from the last.
SCHEDULE = (9000, 16000)
SEED = 0
BATCH = 32
LEARNING_RATE = 3e-3
#: The attractor-term phase: steps, weight, learning rate.
FINE_TUNE_STEPS = 3000
ATTRACTOR_WEIGHT = 30.0
FINE_TUNE_LEARNING_RATE = 1e-3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="encoder_2d_training.pt", help="full training checkpoint")
    parser.add_argument("--output", default=str(DEFAULT_WEIGHTS), help="shipped weights file")
    parser.add_argument("--steps", type=int, help=f"one collage-bound phase of this many steps (shipped: {SCHEDULE})")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--from-checkpoint", action="store_true", help="only export --checkpoint as it is")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    phases = SCHEDULE if args.steps is None else (args.steps,)
    fine_tuned = Path(args.checkpoint).with_name(Path(args.checkpoint).stem + "_attractor.pt")
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
            attractor_weight=0.0,
            progress=sys.stderr.isatty(),
        )
        print(f"{time.strftime('%H:%M:%S')} phase {phase + 1}: {figures}", flush=True)
    final = args.checkpoint
    if not args.from_checkpoint:
        figures = train_encoder(
            fine_tuned,
            FINE_TUNE_STEPS,
            seed=SEED,
            dim=2,
            device="cpu",
            resume=args.resume,
            overwrite=not args.resume,
            batch_size=BATCH,
            learning_rate=FINE_TUNE_LEARNING_RATE,
            attractor_weight=ATTRACTOR_WEIGHT,
            init=args.checkpoint,
            progress=sys.stderr.isatty(),
        )
        print(f"{time.strftime('%H:%M:%S')} attractor phase: {figures}", flush=True)
        final = fine_tuned
    model, checkpoint = load_checkpoint(final)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    extra = {"train": checkpoint["train"], "history": checkpoint["history"]}
    save_checkpoint(args.output, model, step=checkpoint["step"], extra=extra, overwrite=True)
    print(f"wrote {args.output} (step {checkpoint['step']} of {checkpoint['train']['steps']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
