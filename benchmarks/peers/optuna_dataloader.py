"""Peer 2: the approach the tuning guides teach (shared/seeds/): a plain Optuna script.

torchvision `datasets.MNIST` with per-sample transforms (`ToTensor` + `Normalize`), a
`DataLoader(batch_size=..., shuffle=True)` rebuilt per trial, a hand-written epoch loop that
calls `trial.report` / `trial.should_prune` after each epoch, and `study.optimize` in one
process with the default `n_jobs=1`. Sampler TPE (seeded), pruner Hyperband (min 1 epoch,
reduction factor 3) — the same settings hpt's side uses.

Run by benchmarks/peers.py inside its own virtual environment (optuna, torch, torchvision).
"""

from __future__ import annotations

import argparse

import optuna
import torch
from common import MLP, MNIST_MEAN, MNIST_STD, log_epoch, make_optimizer, split_indices
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

p = argparse.ArgumentParser()
p.add_argument("--root", required=True)
p.add_argument("--trials", type=int, default=16)
p.add_argument("--epochs", type=int, default=4)
p.add_argument("--subset", type=int, default=12000)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--timeout", type=float, default=None, help="seconds (Optuna's own time limit)")
args = p.parse_args()

transform = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
)
mnist = datasets.MNIST(root=args.root, train=True, download=False, transform=transform)
train_idx, val_idx = split_indices(args.subset, args.seed)
train_set, val_set = Subset(mnist, train_idx), Subset(mnist, val_idx)


def objective(trial: optuna.Trial) -> float:
    optimizer_name = trial.suggest_categorical("optimizer", ["adamw", "sgd"])
    lr = trial.suggest_float("lr", 1e-4, 3e-1, log=True)
    batch_size = trial.suggest_categorical("batch_size", [64, 128, 256])
    weight_decay = trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.3)

    torch.manual_seed(args.seed)
    model = MLP(dropout)
    optimizer = make_optimizer(optimizer_name, model.parameters(), lr, weight_decay)
    criterion = nn.CrossEntropyLoss()
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=1000)

    best = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for images, labels in val_loader:
                correct += (model(images).argmax(1) == labels).sum().item()
        accuracy = correct / len(val_set)
        best = max(best, accuracy)
        log_epoch(str(trial.number), epoch, accuracy)
        trial.report(accuracy, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return best


study = optuna.create_study(
    direction="maximize",
    sampler=optuna.samplers.TPESampler(seed=args.seed),
    pruner=optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=args.epochs, reduction_factor=3
    ),
)
study.optimize(objective, n_trials=args.trials, timeout=args.timeout)
print("Best parameters:", study.best_params, "value:", study.best_value)
