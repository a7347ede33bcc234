"""A source's splits before normalisation, and the targets shaped for the loss.

What every data source returns (``hpt.data.sources``): hpt's own (builtin, table,
image_folder, tv) and a user's source that wants hpt's normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from hpt.errors import UserError

PROBLEMS = ("classification", "binary", "regression")


@dataclass
class Loaded:
    """A source's splits before normalisation. ``val`` is None when it is carved from train.

    ``norm``: ``"channels"`` (uint8 images: /255, then per-channel standardisation),
    ``"columns"`` (standardise the feature columns flagged in ``columns``) or None.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    problem: str
    num_classes: int  # classification: the number of classes (0: from the labels)
    val_x: torch.Tensor | None = None
    val_y: torch.Tensor | None = None
    norm: str | None = None
    columns: torch.Tensor | None = None  # bool mask of the columns to standardise
    classes: list[str] = field(default_factory=list)
    # what a raw input is (hpt.use.preprocessing): {"kind": "table", "target", "features",
    # "columns"} or {"kind": "image", "size", "channels"}; None: tensors as given
    source: dict[str, Any] | None = None
    # a normalisation the source applied as it loaded (hpt's MNIST: its fixed mean and std),
    # written into preprocessing.json as it is; None: none, or ``norm``'s per-run statistics
    applied: dict[str, Any] | None = None


def classification_targets(
    y: torch.Tensor, problem: str, what: str
) -> tuple[torch.Tensor, str, int]:
    """Targets shaped for the loss, and the problem they describe.

    Args:
        y: The raw targets.
        problem: ``data.problem``; ``auto`` decides by the dtype (floats are values,
            integers are classes).
        what: Names the data in error messages.

    Returns:
        ``(targets, problem, outputs)``: class indices (N,) and the number of classes, or
        floats (N, 1) and 1 for binary and regression.

    Raises:
        UserError: Negative class labels, or more than two classes for ``binary``.
    """
    if problem == "auto":
        # the dtype says it (the documented contract): floats are values, integers are classes
        problem = "regression" if y.is_floating_point() else "classification"
    if problem == "regression":
        y = y.float()
        return (y.unsqueeze(1) if y.dim() == 1 else y), problem, 1
    y = y.reshape(-1).long()
    if len(y) and int(y.min()) < 0:
        raise UserError(f"{what}: class labels must be 0, 1, 2, ..., got {int(y.min())}")
    n = int(y.max()) + 1 if len(y) else 0
    if problem == "binary":
        if n > 2:
            raise UserError(f"{what}: data.problem=binary needs labels 0 and 1, got {n} classes")
        return y.float().unsqueeze(1), problem, 1
    return y, problem, n
