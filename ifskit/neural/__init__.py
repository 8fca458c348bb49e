"""Neural Collage encoder for point clouds: random IFS, synthetic datasets, training, encoding.

torch is imported only by the functions that need it (the model, training and
encoding), so the random IFS generator and the dataset work without it.
"""

from .dataset import generate_dataset, make_sample, write_sample
from .random import random_ifs

__all__ = ["generate_dataset", "make_sample", "random_ifs", "write_sample"]
