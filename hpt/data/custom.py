"""What a user's ``data._target_`` function returns, checked and read into tensors.

The contract (README, "Your data"): ``data._target_`` names a function; the data config's
other keys are its keyword arguments (``hpt.data.sources.arguments``).
It returns ``(train, test)`` or a dict with ``train``, ``test`` and optionally ``val``;
each set is either a pair of tensors ``(x, y)`` or a ``torch.utils.data.Dataset`` whose items
are ``(x, y)`` pairs (read once, into tensors). ``y`` holds class indices (integers) for
classification, floats for regression; ``data.problem`` says which when the dtype would not.
Images are given as float tensors, already scaled the way the model wants them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from hpt.data.loaded import Loaded, classification_targets
from hpt.errors import UserError, one_line


def _tensors(part: Any, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if (
        isinstance(part, tuple | list)
        and len(part) == 2
        and all(isinstance(t, torch.Tensor) for t in part)
    ):
        x, y = part
    elif isinstance(part, torch.utils.data.Dataset):
        try:
            items = [part[i] for i in range(len(part))]  # type: ignore[arg-type]
            x = torch.stack([torch.as_tensor(i[0]) for i in items])
            y = torch.stack([torch.as_tensor(i[1]) for i in items])
        except Exception as exc:
            raise UserError(
                f"{what}: its items must be (x, y) pairs of tensors or numbers ({one_line(exc)})"
            ) from None
    else:
        raise UserError(
            f"{what} must be an (x, y) pair of tensors or a torch Dataset, got "
            f"{type(part).__name__}"
        )
    if len(x) != len(y):
        raise UserError(f"{what}: x has {len(x)} rows but y has {len(y)}")
    if len(x) == 0:
        raise UserError(f"{what} is empty")
    return (x.float() if not x.is_floating_point() else x), y


def from_sets(out: Any, problem: str, what: str) -> Loaded:
    """The sets a user's data function returned, checked, as a source's splits.

    Args:
        out: What the function returned: ``(train, test)`` or a dict with ``train``,
            ``test`` and optionally ``val``; each an ``(x, y)`` pair or a torch Dataset.
        problem: ``data.problem``; ``auto`` decides by the targets' dtype.
        what: Names the function in error messages (``data._target_=pkg.fn``).

    Returns:
        The train/test (and val, when returned) sets as tensors, not normalised.

    Raises:
        UserError: Anything other than the documented sets.
    """
    parts = _parts(out, what)
    sets = {k: _tensors(v, f"{what}: its {k} set") for k, v in parts.items()}
    shapes = {k: tuple(x.shape[1:]) for k, (x, _) in sets.items()}
    if len(set(shapes.values())) != 1:
        raise UserError(f"{what}: the sets' inputs differ in shape: {shapes}")
    y_train, problem, n = classification_targets(sets["train"][1], problem, f"{what}: train")
    ys = {k: classification_targets(y, problem, f"{what}: {k}")[0] for k, (_, y) in sets.items()}
    if problem == "classification":
        n = max(n, *(int(y.max()) + 1 for y in ys.values()))
    val = sets.get("val")
    return Loaded(
        sets["train"][0],
        y_train,
        sets["test"][0],
        ys["test"],
        problem,
        n,
        val_x=val[0] if val else None,
        val_y=ys["val"] if val else None,
    )


def _parts(out: Any, what: str) -> dict[str, Any]:
    """The sets the function returned: ``(train, test)`` or a dict with train, test, val."""
    if isinstance(out, Mapping):
        if "train" not in out or "test" not in out:
            raise UserError(
                f"{what} returned a dict without 'train' and 'test' keys: {sorted(out)}"
            )
        return {k: out[k] for k in ("train", "val", "test") if out.get(k) is not None}
    if isinstance(out, tuple | list) and len(out) == 2:
        return {"train": out[0], "test": out[1]}
    raise UserError(f"{what} must return (train, test) or a dict of them, got {type(out).__name__}")
