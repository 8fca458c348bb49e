"""Where torch work runs: one device resolver for the fitter, the encoders and the torch renderer."""

from __future__ import annotations

import contextlib

import torch

from ..errors import IfskitError, ParameterError


def resolve_device(device, action: str = "run", cpu_name: str = "cpu") -> torch.device:
    """The torch device meant by ``device``.

    Parameters
    ----------
    device : str, torch.device or None
        None or ``cpu_name``: the CPU; ``"cuda"`` or ``"cuda:N"``: a GPU.
    action : str
        What would run there (``"fit"``, ``"encode"``, ``"render"``, ...), for the messages.
    cpu_name : str
        How the caller spells the CPU: ``"cpu"``, or ``"torch-cpu"`` for the renderer, whose
        default (None) is its Numba kernels rather than torch.

    Returns
    -------
    torch.device

    Raises
    ------
    ParameterError
        An unknown device name.
    IfskitError
        CUDA asked for where it is not available, or a GPU index that does not exist.
    """
    if device is None:
        return torch.device("cpu")
    name = str(device) if isinstance(device, torch.device) else ("cpu" if device == cpu_name else str(device))
    if name != "cpu" and not (name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit())):
        raise ParameterError(f"device must be one of {cpu_name}, cuda, cuda:N, got {device!r}", "device")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            why = "built without CUDA" if torch.version.cuda is None else "no GPU found"
            raise IfskitError(
                f"cannot {action} on {name!r}: CUDA is not available (torch {torch.__version__}, {why}); "
                f"use the CPU (device {cpu_name!r})"
            )
        index = int(name[5:]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise IfskitError(f"cannot {action} on {name!r}: there are only {torch.cuda.device_count()} CUDA devices")
    return torch.device(name)


@contextlib.contextmanager
def one_torch_thread():
    """Torch on one thread within the block (fitting, encoding, the torch chaos game on the
    CPU): their tensors are small, so torch's thread pool costs more than it gives, and far
    more (20x measured) when the cores are busy with other work."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
