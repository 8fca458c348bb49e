"""Neural Collage encoder for point clouds: random IFS, synthetic datasets, training, encoding.

torch is imported only by the functions that need it (the model, training and
encoding), so the random IFS generator and the dataset work without it.
"""

from .dataset import generate_dataset, make_sample, write_sample
from .encoding import encode, load_model
from .random import random_ifs
from .train import train_encoder

__all__ = ["encode", "generate_dataset", "load_model", "make_sample", "random_ifs", "train_encoder", "write_sample"]
