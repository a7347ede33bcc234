"""Peer 4's task function: a Hydra app with a hand-written loop on tensors.

The loop is the fast kind (MNIST decoded once into one normalised tensor, batches by
`randperm` + slicing, no DataLoader), so this peer differs from hpt mostly in its runner:
hydra-optuna-sweeper asks Optuna for a batch of `n_jobs` trials, launches them with Hydra's
basic launcher in this process, one after another, and cannot prune.

Run by benchmarks/peers.py inside its own virtual environment (hydra-optuna-sweeper 1.2).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/peers/common.py
from common import MLP, MNIST_MEAN, MNIST_STD, log_epoch, make_optimizer, split_indices


@functools.lru_cache(maxsize=1)  # trials run in this one process: decode the files once
def mnist(root: str, subset: int, seed: int):
    from torchvision.datasets import MNIST

    ds = MNIST(root, train=True, download=False)
    x = ((ds.data[:subset].float() / 255.0 - MNIST_MEAN) / MNIST_STD).unsqueeze(1)
    y = ds.targets[:subset].long()
    train_idx, val_idx = (torch.tensor(i) for i in split_indices(subset, seed))
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    x, y, vx, vy = mnist(cfg.root, cfg.subset, cfg.seed)
    torch.manual_seed(cfg.seed)
    model = MLP(cfg.dropout)
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.weight_decay)
    criterion = nn.CrossEntropyLoss()
    trial = str(HydraConfig.get().job.num)
    best = 0.0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            optimizer.zero_grad()
            criterion(model(x[idx]), y[idx]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            correct = sum(
                (model(vx[i : i + 2048]).argmax(1) == vy[i : i + 2048]).sum().item()
                for i in range(0, len(vx), 2048)
            )
        accuracy = correct / len(vx)
        best = max(best, accuracy)
        log_epoch(trial, epoch, accuracy)
    return best


if __name__ == "__main__":
    main()
