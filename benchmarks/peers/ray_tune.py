"""Peer 3: Ray Tune with Optuna search and ASHA, the training function as Ray's docs write it.

The function trainable builds its torchvision `DataLoader`s inside (the docs' MNIST example),
trains, and calls `tune.report` after each epoch; `OptunaSearch` (TPE, seeded) proposes the
configurations and `ASHAScheduler` (grace period 1 epoch, reduction factor 3, max_t = epochs)
stops the laggards. Ray runs as many trials at once as it has CPUs (one CPU per trial by
default), so on 2 cores two trials train side by side. No checkpoints are written (the docs'
simplest form), which spares Ray the cost of saving them.

Run by benchmarks/peers.py inside its own virtual environment (ray[tune], optuna, torch).
"""

from __future__ import annotations

import argparse
import os
import tempfile

import optuna
import torch
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

p = argparse.ArgumentParser()
p.add_argument("--root", required=True)
p.add_argument("--trials", type=int, default=16)
p.add_argument("--epochs", type=int, default=4)
p.add_argument("--subset", type=int, default=12000)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--timeout", type=float, default=None, help="seconds (Tune's time_budget_s)")
args = p.parse_args()


def train_mnist(config: dict) -> None:
    from common import MLP, MNIST_MEAN, MNIST_STD, log_epoch, make_optimizer, split_indices
    from torch import nn
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    )
    mnist = datasets.MNIST(args.root, train=True, download=False, transform=transform)
    train_idx, val_idx = split_indices(args.subset, args.seed)
    train_loader = DataLoader(
        Subset(mnist, train_idx), batch_size=config["batch_size"], shuffle=True
    )
    val_loader = DataLoader(Subset(mnist, val_idx), batch_size=1000)

    torch.manual_seed(args.seed)
    model = MLP(config["dropout"])
    optimizer = make_optimizer(
        config["optimizer"], model.parameters(), config["lr"], config["weight_decay"]
    )
    criterion = nn.CrossEntropyLoss()
    trial_id = tune.get_context().get_trial_id()
    for epoch in range(1, args.epochs + 1):
        model.train()
        for images, labels in train_loader:
            optimizer.zero_grad()
            criterion(model(images), labels).backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for images, labels in val_loader:
                correct += (model(images).argmax(1) == labels).sum().item()
        accuracy = correct / len(val_idx)
        log_epoch(trial_id, epoch, accuracy)
        tune.report({"val_acc": accuracy})


search_space = {
    "optimizer": tune.choice(["adamw", "sgd"]),
    "lr": tune.loguniform(1e-4, 3e-1),
    "batch_size": tune.choice([64, 128, 256]),
    "weight_decay": tune.loguniform(1e-6, 1e-2),
    "dropout": tune.uniform(0.0, 0.3),
}
tuner = tune.Tuner(
    train_mnist,
    tune_config=tune.TuneConfig(
        metric="val_acc",
        mode="max",
        search_alg=OptunaSearch(sampler=optuna.samplers.TPESampler(seed=args.seed)),
        scheduler=ASHAScheduler(max_t=args.epochs, grace_period=1, reduction_factor=3),
        num_samples=args.trials,
        time_budget_s=args.timeout,
    ),
    run_config=tune.RunConfig(
        storage_path=os.environ.get("PEER_WORK") or tempfile.mkdtemp(), verbose=1
    ),
    param_space=search_space,
)
results = tuner.fit()
best = results.get_best_result(metric="val_acc", mode="max", scope="all")
print("Best config:", best.config, "value:", best.metrics["val_acc"])
