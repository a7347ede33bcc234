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

# trainer.folds=auto: a sweep on a table of fewer than SMALL_TABLE training rows validates by
# AUTO_FOLDS-fold cross-validation. Below 1,000 rows a 10% holdout has under 100 rows: one
# row is a whole accuracy point, and the binomial standard error at 90% accuracy is 3 points,
# more than the differences a sweep has to tell apart, so its "best" is the luckiest split.
# Five folds validate every training row (the error shrinks about 2.2x), and a fit on so few
# rows takes milliseconds. Images are left alone: five fits of a CNN are not cheap.
SMALL_TABLE = 1000
AUTO_FOLDS = 5


def fold_count(value: object) -> int:
    """``trainer.folds`` as a number; ``auto`` not resolved for a sweep (``auto_folds``) is the
    single holdout."""
    return 1 if value == "auto" or value is None else int(value)  # type: ignore[call-overload]


def auto_folds(rows: int, features: bool, in_sweep: bool) -> int:
    """What ``trainer.folds=auto`` means for a run.

    Args:
        rows: The training rows (validation included, before it is carved out).
        features: The inputs are feature vectors (a table), not images or sequences.
        in_sweep: The run is a sweep trial (``hpt train`` keeps its single holdout).

    Returns:
        ``AUTO_FOLDS`` for a sweep on a small table, else 1.
    """
    return AUTO_FOLDS if in_sweep and features and 2 * AUTO_FOLDS <= rows < SMALL_TABLE else 1


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
