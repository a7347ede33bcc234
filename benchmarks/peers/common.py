"""What every peer script shares with hpt, so that only the tool differs.

The same MLP as hpt.models.MLP (784-256-256-10, ReLU, dropout after each hidden layer), the
same training subset (the first N MNIST training images) and the same validation split as
hpt.build.load_dataset (10% by a permutation seeded with the run's seed), the same
normalisation. `log_epoch` appends one JSON line per finished epoch with a wall-clock stamp,
which is how peers.py measures the time until a search first reaches the target accuracy.
"""

from __future__ import annotations

import json
import os
import time

import torch
from torch import nn

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class MLP(nn.Module):
    def __init__(self, dropout: float, width: int = 256, depth: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        features = 28 * 28
        for _ in range(depth):
            layers += [nn.Linear(features, width), nn.ReLU(inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            features = width
        layers.append(nn.Linear(features, 10))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def split_indices(subset: int, seed: int, val_split: float = 0.1) -> tuple[list[int], list[int]]:
    """(train, val) indices into the first `subset` training images, exactly as hpt splits."""
    perm = torch.randperm(subset, generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(subset * val_split))
    return perm[n_val:].tolist(), perm[:n_val].tolist()


def make_optimizer(
    name: str, params, lr: float, weight_decay: float
) -> torch.optim.Optimizer:  # hpt's conf/optimizer/{adamw,sgd}.yaml defaults
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)


def log_epoch(trial: str, epoch: int, val_acc: float) -> None:
    path = os.environ.get("PEER_LOG")
    if path:
        line = json.dumps({"trial": trial, "epoch": epoch, "val_acc": val_acc, "t": time.time()})
        # One short O_APPEND write per line: safe from concurrent trial processes.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
