"""A run's train/val/test splits: carved from the data, normalised, and described.

Validation is carved from the training rows per run (a fixed permutation per seed, or a fold
of ``hpt.training.cv``), and the normalisation statistics come from the remaining training rows
only, so they never see validation or test rows. ``describe`` writes down what a new input needs
to look like this data (``hpt.use.preprocessing``). ``prepare`` does all of it for a run, from
what its source loaded. ``hpt.data`` re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch

from hpt.data.loaded import Loaded
from hpt.errors import UserError


@dataclass
class Split:
    """One split's inputs and targets, row-aligned.

    Attributes:
        x: Inputs, one row per sample.
        y: Targets: class indices (N,) or floats (N, 1 or more columns).
    """

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device: torch.device) -> Split:
        """The same split on ``device`` (non-blocking copies).

        Args:
            device: Where the tensors go.

        Returns:
            A new split; this one is unchanged.
        """
        return Split(self.x.to(device, non_blocking=True), self.y.to(device, non_blocking=True))


@dataclass
class Dataset:
    """A run's train/val/test splits, the problem they pose, and how new inputs are prepared."""

    train: Split
    val: Split
    test: Split
    problem: str  # classification | binary | regression
    num_classes: int = 0  # classification: the number of classes (0: from the labels)
    # regression with data.target_scaling=standard: the training split's target (mean, std)
    # per column; the splits' y are standardised with it, metrics are reported unscaled.
    target_scale: tuple[list[float], list[float]] | None = None
    # what a new input needs to look like this data (hpt.use.preprocessing: preprocessing.json)
    preprocessing: dict[str, Any] = field(default_factory=dict)

    def to(self, device: torch.device) -> Dataset:
        """The same dataset with every split on ``device``.

        Args:
            device: Where the tensors go.

        Returns:
            A new dataset; this one is unchanged.
        """
        return replace(
            self, train=self.train.to(device), val=self.val.to(device), test=self.test.to(device)
        )

    @property
    def in_shape(self) -> list[int]:
        """The shape of one input (without the batch dimension)."""
        return [int(s) for s in self.train.x.shape[1:]]

    @property
    def out_features(self) -> int:
        """Model outputs: one per class for classification, else one per target column."""
        if self.problem == "classification":
            return self.num_classes or int(self.train.y.max()) + 1
        return int(self.train.y.shape[1]) if self.train.y.dim() == 2 else 1

    @property
    def nbytes(self) -> int:
        """The memory the tensors of all three splits take, in bytes."""
        return sum(
            t.element_size() * t.numel()
            for s in (self.train, self.val, self.test)
            for t in (s.x, s.y)
        )


@dataclass(frozen=True)
class SplitSettings:
    """How a run takes its validation rows from the training rows.

    Attributes:
        val_split: The share of the training rows held out (when the data has no
            validation set and ``folds`` is 1).
        seed: Seeds the permutation (or the folds): the same split for the same seed.
        subset: Keep only the first ``subset`` training rows (None: all).
        folds: k of a k-fold partition; 1 for a single held-out share.
        fold: Which fold validates (0-based) when ``folds > 1``.
        refit: Train on the validation rows too (``trainer.refit``): they stay the
            validation split, so the loop still reports on them, but they are no longer
            held out.
    """

    val_split: float
    seed: int
    subset: int | None = None
    folds: int = 1
    fold: int = 0
    refit: bool = False


def split(
    train: Split, test: Split, val: Split | None, problem: str, num_classes: int, how: SplitSettings
) -> Dataset:
    """Train/val/test: validation is ``val`` when the data has one, else carved from train.

    With ``how.folds > 1`` the validation rows are fold ``how.fold`` of a k-fold partition of
    the training rows, whatever ``val`` is.

    Args:
        train: The training rows.
        test: The test rows (kept as they are).
        val: The data's own validation rows, if it has them.
        problem: ``classification``, ``binary`` or ``regression``.
        num_classes: Classification's number of classes (0: from the labels).
        how: The validation share, seed, subset and folds.

    Returns:
        The three splits, not normalised.

    Raises:
        UserError: A ``val_split`` outside (0, 1), a ``subset`` under 2 or too few rows.
    """
    if not 0.0 < how.val_split < 1.0:
        raise UserError(
            f"trainer.val_split must be between 0 and 1 (exclusive), got {how.val_split}"
        )
    if how.subset is not None:
        if how.subset < 2:
            raise UserError(f"data.subset must be at least 2, got {how.subset}")
        train = Split(train.x[: how.subset], train.y[: how.subset])
    if how.folds > 1:
        from hpt.training.cv import class_labels, fold_indices

        labels = class_labels(train.y, problem)
        train_idx, val_idx = fold_indices(len(train), how.folds, how.fold, how.seed, labels)
    elif val is not None:
        if how.refit:
            train = Split(torch.cat([train.x, val.x]), torch.cat([train.y, val.y]))
        return Dataset(train, val, test, problem, num_classes)
    else:
        # A fixed permutation per seed keeps the split reproducible and independent of the run
        # order.
        perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(how.seed))
        n_val = max(1, round(len(train) * how.val_split))
        if n_val >= len(train):
            raise UserError(f"too few training rows ({len(train)}) to carve a validation split")
        val_idx, train_idx = perm[:n_val], perm[n_val:]
    if how.refit:  # every training row trains; the carved rows are still reported on
        train_idx = torch.cat([train_idx, val_idx])
    return Dataset(
        Split(train.x[train_idx], train.y[train_idx]),
        Split(train.x[val_idx], train.y[val_idx]),
        test,
        problem,
        num_classes,
    )


def describe(
    data: Dataset, source: dict[str, Any], norm: dict[str, Any] | None, classes: list[str]
) -> dict[str, Any]:
    """The fitted preprocessing of a run's data, as plain JSON (``hpt.use.preprocessing``).

    Args:
        data: The run's splits (normalised, targets scaled).
        source: What a raw input is (``{"kind": "image", ...}``, ``"table"`` or
            ``"tensor"``; ``target`` names a table's target column).
        norm: The normalisation statistics (``normalise``), or None.
        classes: The class names (empty: numbered from the data).

    Returns:
        The ``preprocessing.json`` content.
    """
    if data.problem == "classification" and not classes:
        classes = [str(i) for i in range(data.out_features)]
    elif data.problem == "binary" and not classes:
        classes = ["0", "1"]
    target: dict[str, Any] = {"name": source.get("target"), "scaling": "none"}
    if data.target_scale is not None:
        target.update(scaling="standard", mean=data.target_scale[0], std=data.target_scale[1])
    return {
        "format": 1,
        "problem": data.problem,
        "classes": classes if data.problem != "regression" else [],
        "input": {k: v for k, v in source.items() if k != "target"},
        "normalise": norm,
        "target": target,
    }


def scale_targets(data: Dataset, scaling: str) -> Dataset:
    """``data.target_scaling=standard``: regression targets standardised with the training
    split's mean and std, so the default learning rates fit any target's units.

    Args:
        data: The run's splits.
        scaling: ``standard`` or ``none``.

    Returns:
        The splits with scaled targets and ``target_scale`` set (unchanged for ``none`` or
        a problem that is not regression).

    Raises:
        UserError: Another ``scaling``.
    """
    if scaling not in ("standard", "none"):
        raise UserError(f"data.target_scaling={scaling}: use standard or none")
    if scaling == "none" or data.problem != "regression":
        return data
    y = data.train.y.float()
    mean = y.mean(dim=0)
    std = y.std(dim=0).nan_to_num(1.0).clamp_min(1e-12) if len(y) > 1 else torch.ones_like(mean)

    def scaled(s: Split) -> Split:
        return Split(s.x, (s.y.float() - mean) / std)

    return replace(
        data,
        train=scaled(data.train),
        val=scaled(data.val),
        test=scaled(data.test),
        target_scale=(mean.tolist(), std.tolist()),
    )


def unit_if_constant(std: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """``std`` with 1 where a column (or channel) is constant in the training split, as
    scikit-learn's ``StandardScaler`` does. Dividing by a floor such as 1e-6 instead turned a
    pixel that is 0 in every training row and 16 in one test row into 1.6e7: digits' test
    log-loss read 1611 and its accuracy fell a point."""
    constant = (std == 0) | (std <= 1e-7 * mean.abs())
    return torch.where(constant, torch.ones_like(std), std)


def normalise(
    data: Dataset, norm: str | None, columns: torch.Tensor | None
) -> tuple[Dataset, dict[str, Any] | None]:
    """Standardise with the training split's statistics (uint8 images: /255 first).

    Args:
        data: The run's splits, validation already carved out.
        norm: ``channels`` (per image channel), ``columns`` (the columns flagged in
            ``columns``) or None (unchanged).
        columns: For ``columns``: a bool mask of the feature columns to standardise.

    Returns:
        The normalised splits, and the statistics as plain lists (None when unchanged).
    """
    if norm is None:
        return data, None
    if norm == "channels":

        def scaled(x: torch.Tensor) -> torch.Tensor:
            return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()

        train = scaled(data.train.x)
        dims = [0, *range(2, train.dim())]
        mean = train.mean(dim=dims, keepdim=True)
        std = unit_if_constant(train.std(dim=dims, keepdim=True), mean)

        def apply(x: torch.Tensor, fresh: torch.Tensor | None = None) -> torch.Tensor:
            return ((scaled(x) if fresh is None else fresh) - mean).div_(std)

        stats = {"kind": "channels", "mean": mean.flatten().tolist(), "std": std.flatten().tolist()}
        return replace(
            data,
            train=Split(apply(data.train.x, train), data.train.y),
            val=Split(apply(data.val.x), data.val.y),
            test=Split(apply(data.test.x), data.test.y),
        ), stats
    assert norm == "columns" and columns is not None
    mean = torch.zeros(data.train.x.shape[1])
    std = torch.ones(data.train.x.shape[1])
    if bool(columns.any()):
        cols = data.train.x[:, columns]
        mean[columns] = cols.mean(dim=0)
        if len(cols) > 1:
            std[columns] = unit_if_constant(cols.std(dim=0).nan_to_num(1.0), mean[columns])
    return replace(
        data,
        train=Split((data.train.x - mean) / std, data.train.y),
        val=Split((data.val.x - mean) / std, data.val.y),
        test=Split((data.test.x - mean) / std, data.test.y),
    ), {"kind": "columns", "mean": mean.tolist(), "std": std.tolist()}


def prepare(
    src: Loaded,
    d: Any,
    *,
    val_split: float,
    seed: int,
    folds: int = 1,
    fold: int = 0,
    refit: bool = False,
) -> Dataset:
    """A run's splits of what its source loaded: carved, normalised, targets scaled, described.

    Validation is the source's own when it has one, else carved from its training rows; with
    ``folds > 1`` it is fold ``fold`` of a k-fold partition of them (``hpt.training.cv``).

    Args:
        src: The source's splits (``hpt.build.load_source``).
        d: The data config: ``subset`` and ``target_scaling`` are read.
        val_split: The share of the training rows held out for validation.
        seed: Seeds the validation split (or the folds).
        folds: k of a k-fold partition; 1 for a single held-out share.
        fold: Which fold validates when ``folds > 1``.
        refit: Train on the validation rows too (``SplitSettings.refit``).

    Returns:
        The splits and their ``preprocessing`` description.
    """
    val = Split(src.val_x, src.val_y) if src.val_x is not None and src.val_y is not None else None
    how = SplitSettings(val_split, seed, d.get("subset"), folds, fold, refit)
    train, test = Split(src.train_x, src.train_y), Split(src.test_x, src.test_y)
    data = split(train, test, val, src.problem, src.num_classes, how)
    data, stats = normalise(data, src.norm, src.columns)
    data = scale_targets(data, str(d.get("target_scaling") or "none"))
    source = src.source or {"kind": "tensor", "shape": data.in_shape}
    return replace(data, preprocessing=describe(data, source, stats or src.applied, src.classes))
