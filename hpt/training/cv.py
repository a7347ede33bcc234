"""k-fold cross-validation splits (``trainer.folds=K``): which training rows validate which fold.

The folds are carved from the training set only; the test set never takes part. The whole
training set is shuffled once by a generator seeded with ``trainer.seed``. For values (a
regression) the permutation is cut into K contiguous chunks (sizes differ by at most one): fold
``i`` validates on chunk ``i`` and trains on the other K-1. For classes the folds are
stratified, as scikit-learn's ``StratifiedKFold``: the shuffled rows are grouped by class and
dealt to the folds in turn, so every fold holds each class in its share (counts differ by at
most one), and a fold count above the smallest class's rows is refused. Every row is validated
exactly once across the K folds, and the partition depends only on (the labels, K, seed), so
trials of one sweep that share a seed see identical folds and their per-fold values are
comparable.
"""

from __future__ import annotations

import torch

from hpt.errors import UserError

# trainer.folds=auto: a sweep on a table of fewer than SMALL_TABLE training rows validates by
# AUTO_FOLDS-fold cross-validation. Below 1,000 rows a 10% holdout has under 100 rows: one
# row is a whole accuracy point, and the binomial standard error at 90% accuracy is 3 points,
# more than the differences a sweep has to tell apart, so its "best" is the luckiest split.
# Five folds validate every training row (the error shrinks about 2.2x), and a fit on so few
# rows takes milliseconds. Above it five fits are not free by default: a 20-trial sweep of a
# 1,875-row, 784-column table took under a minute with a holdout and was still running after
# 14 minutes with five folds (two sweeps sharing this 2-core machine). Images are left alone:
# five fits of a CNN are not cheap.
SMALL_TABLE = 1000
AUTO_FOLDS = 5


def fold_count(value: object) -> int:
    """``trainer.folds`` as a number; ``auto`` not resolved for a sweep (``auto_folds``) is the
    single holdout."""
    return 1 if value == "auto" or value is None else int(value)  # type: ignore[call-overload]


def auto_folds(rows: int, features: bool, in_sweep: bool, smallest_class: int | None = None) -> int:
    """What ``trainer.folds=auto`` means for a run.

    Args:
        rows: The training rows (validation included, before it is carved out).
        features: The inputs are feature vectors (a table), not images or sequences.
        in_sweep: The run is a sweep trial (``hpt train`` keeps its single holdout).
        smallest_class: The training rows of the rarest class (None: not classes); stratified
            folds cannot outnumber them.

    Returns:
        ``AUTO_FOLDS`` (fewer if a class is smaller) for a sweep on a small table, else 1.
    """
    if not (in_sweep and features and rows < SMALL_TABLE):
        return 1
    folds = AUTO_FOLDS if smallest_class is None else min(AUTO_FOLDS, smallest_class)
    return folds if folds >= 2 and 2 * folds <= rows else 1


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


def class_labels(y: torch.Tensor, problem: str) -> torch.Tensor | None:
    """The targets as one class label per row, what stratified folds deal by; None for values
    (a regression) or targets of several columns. A binary target may be ``(N, 1)``."""
    classes = problem in ("classification", "binary") and y.numel() == len(y)
    return y.reshape(-1) if classes else None


def smallest_class(labels: torch.Tensor) -> int:
    """The rows of the rarest class among ``labels``."""
    return int(labels.unique(return_counts=True)[1].min()) if len(labels) else 0


def check_folds(folds: int, n: int, labels: torch.Tensor | None = None) -> None:
    """Refuse a fold count the data cannot support, in one line."""
    if folds < 1:
        raise UserError(f"trainer.folds must be >= 1 (1 = the usual holdout split), got {folds}")
    if folds > 1 and folds > n // 2:
        raise UserError(
            f"trainer.folds={folds} is too many for {n} training rows (each fold needs at least 2)"
        )
    if folds > 1 and labels is not None and folds > (rarest := smallest_class(labels)):
        raise UserError(
            f"trainer.folds={folds} is more than the {rarest} training rows of the smallest "
            f"class: stratified folds need a row of every class each (use trainer.folds<={rarest}"
            ", or trainer.folds=1 for a holdout)"
        )


def fold_indices(
    n: int, folds: int, fold: int, seed: int, labels: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train_idx, val_idx)`` of fold ``fold`` (0-based) of ``folds`` over ``n`` rows,
    stratified by ``labels`` (class indices) when given."""
    check_folds(folds, n, labels)
    if not 0 <= fold < folds:
        raise UserError(f"fold {fold} is outside 0..{folds - 1}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    if labels is not None:  # shuffled rows grouped by class, dealt to the folds in turn
        order = perm[torch.sort(labels[perm], stable=True).indices]
        dealt = torch.arange(n) % folds
        return order[dealt != fold], order[dealt == fold]
    chunks = perm.tensor_split(folds)
    val_idx = chunks[fold]
    train_idx = torch.cat([c for i, c in enumerate(chunks) if i != fold])
    return train_idx, val_idx
