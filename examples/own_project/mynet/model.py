"""A residual MLP for tabular data. hpt passes ``in_shape`` and ``out_features`` because the
constructor names them; ``hidden``, ``blocks`` and ``dropout`` come from conf/model/tabnet.yaml."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TabularNet(nn.Module):
    def __init__(
        self,
        in_shape: Sequence[int],
        out_features: int,
        hidden: int = 64,
        blocks: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.stem = nn.Linear(math.prod(in_shape), hidden)
        self.blocks = nn.Sequential(*(Block(hidden, dropout) for _ in range(blocks)))
        self.head = nn.Linear(hidden, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x.flatten(1))))
