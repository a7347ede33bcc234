"""Losses. Each ``conf/loss`` option is a ``_target_`` config the builder instantiates.

``loss=auto`` is ``auto(problem)``: the usual loss of the data's problem. A named loss is
checked against the problem, so ``loss=mse`` on classification data is a readable error.
"""

from __future__ import annotations

from torch import nn

from hpt.errors import UserError

# The problem each loss fits, and the conf/loss option that selects it (for messages).
FITS: dict[type[nn.Module], tuple[str, str]] = {
    nn.CrossEntropyLoss: ("classification", "cross_entropy"),
    nn.BCEWithLogitsLoss: ("binary", "bce"),
    nn.MSELoss: ("regression", "mse"),
    nn.L1Loss: ("regression", "l1"),
    nn.SmoothL1Loss: ("regression", "smooth_l1"),
}
USUAL: dict[str, type[nn.Module]] = {
    "classification": nn.CrossEntropyLoss,
    "binary": nn.BCEWithLogitsLoss,
    "regression": nn.MSELoss,
}


def auto(problem: str, label_smoothing: float = 0.0) -> nn.Module:
    """Cross-entropy for classification, BCE-with-logits for binary, MSE for regression."""
    if problem not in USUAL:
        raise UserError(
            f"loss=auto needs data.problem classification, binary or regression, got {problem!r}"
        )
    if USUAL[problem] is nn.CrossEntropyLoss:
        return nn.CrossEntropyLoss(label_smoothing=label_smoothing)  # classification only
    return USUAL[problem]()


def check_fits(loss: nn.Module, problem: str) -> None:
    """A loss made for another problem is the user's error; unknown (custom) losses pass."""
    fits = FITS.get(type(loss))
    if fits is not None and fits[0] != problem:
        usual = FITS[USUAL[problem]][1] if problem in USUAL else "auto"
        raise UserError(
            f"loss={fits[1]} does not fit a {problem} task (data.problem={problem}); "
            f"use loss=auto or loss={usual}"
        )
