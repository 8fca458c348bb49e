"""Neural Collage encoder for point clouds: random IFS, synthetic datasets, training, encoding.

The names below load on first use: the random IFS generator and the dataset work
without torch, which the model, training and encoding modules import.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["dataset", "encoding", "model", "random", "shipped", "train"],
    submod_attrs={
        "dataset": ["make_sample"],
        "encoding": ["encode", "load_model"],
        "random": ["random_ifs"],
        "train": ["train_copies", "train_encoder"],
    },
)
