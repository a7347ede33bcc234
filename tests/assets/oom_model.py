"""A test-only model whose forward pass runs out of CUDA memory, on any device.

Selected with ``model._target_=oom_model.OomMLP`` (``tests/assets`` on ``PYTHONPATH``). It is
hpt's MLP, except that ``width == OOM_WIDTH`` makes every forward raise the error PyTorch
raises when the GPU is full, so a sweep over ``model.width`` gets exactly one such trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from hpt.models import MLP

OOM_WIDTH = 13


class OomMLP(MLP):
    def __init__(
        self, in_shape: Sequence[int], out_features: int, width: int = 256, **kwargs: Any
    ) -> None:
        super().__init__(in_shape, out_features, width=width, **kwargs)
        self.oom = width == OOM_WIDTH

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.oom:
            raise torch.OutOfMemoryError(
                "CUDA out of memory (simulated). Tried to allocate 20.00 GiB"
            )
        return super().forward(x)
