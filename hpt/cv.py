"""k-fold cross-validation splits (``trainer.folds=K``): which training rows validate which fold.

The folds are carved from the training set only; the test set never takes part. The whole
training set is shuffled once by a generator seeded with ``trainer.seed`` and cut into K
contiguous chunks of that permutation (sizes differ by at most one): fold ``i`` validates
on chunk ``i`` and trains on the other K-1. Every row is validated exactly once across the
K folds, and the partition depends only on (n, K, seed), so trials of one sweep that share
a seed see identical folds and their per-fold values are comparable.
"""

from __future__ import annotations

import torch

from hpt.errors import UserError


def check_plan(folds: int, repeats: int) -> None:
    """Refused settings of ``trainer.folds`` / ``trainer.repeats``, found before anything trains."""
    if folds < 1 or repeats < 1:
        raise UserError(
            f"trainer.folds and trainer.repeats must be >= 1, got folds={folds}, repeats={repeats}"
        )
    if folds > 1 and repeats > 1:
        raise UserError(
            "trainer.folds and trainer.repeats cannot both be > 1: use one "
            "(repeated k-fold is not supported)"
        )


def check_folds(folds: int, n: int) -> None:
    """Refuse a fold count the data cannot support, in one line."""
    if folds < 1:
        raise UserError(f"trainer.folds must be >= 1 (1 = the usual holdout split), got {folds}")
    if folds > 1 and folds > n // 2:
        raise UserError(
            f"trainer.folds={folds} is too many for {n} training rows (each fold needs at least 2)"
        )


def fold_indices(n: int, folds: int, fold: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train_idx, val_idx)`` of fold ``fold`` (0-based) of ``folds`` over ``n`` rows."""
    check_folds(folds, n)
    if not 0 <= fold < folds:
        raise UserError(f"fold {fold} is outside 0..{folds - 1}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    chunks = perm.tensor_split(folds)
    val_idx = chunks[fold]
    train_idx = torch.cat([c for i, c in enumerate(chunks) if i != fold])
    return train_idx, val_idx
