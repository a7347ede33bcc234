"""How hpt chooses, between epochs of a run and between trials of a sweep: the rules that make
a choice hold on small validation sets. Plain Python (no torch), used by the training loop
and by the sweep alike.

- **Ties.** An accuracy on ``n`` validation rows moves in steps of ``1/n``: on 40 rows many
  epochs and trials share it while their losses differ several-fold. Values within
  ``tie_rule``'s tolerance (half a row for ``*/acc``, float noise otherwise) are a tie, broken
  by the validation loss (lower wins), and only then by the earlier epoch or trial.
- **Divergence.** A run whose training loss ended far above where it started (or above
  chance) has diverged; its validation score is luck, and a sweep never chooses it.
- **Noise.** The objective's standard error: across folds (``trainer.folds``), or binomial
  for a holdout accuracy. ``within_noise`` says whether the best is distinguishable from
  the baseline trial at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# A finished run whose last training loss is above this multiple of its reference (its first
# epoch's training loss, or chance where that is lower) diverged. A run that learns ends far
# below both; one whose logits blew up (AdamW at lr 0.25 on 400 rows) ends 5-50x above.
DIVERGED_FACTOR = 3.0


def tie_rule(objective: str, n_val: int) -> tuple[float, str | None]:
    """The tolerance within which two values of ``objective`` tie, and what breaks the tie.

    Args:
        objective: The selecting metric (``val/acc``, ``val/loss``, ...).
        n_val: The validation rows it is computed on.

    Returns:
        ``(tolerance, tie_break)``: half of one row's share for an accuracy, else a relative
        float tolerance; the tie is broken by the validation loss unless the objective is it.
    """
    name = objective.rsplit("/", 1)[-1]
    tie_break = None if name == "loss" else f"{objective.rsplit('/', 1)[0]}/loss"
    if name == "acc" and n_val > 0:
        return 0.5 / n_val, tie_break
    return 0.0, tie_break


def better(
    value: float,
    key: float | None,
    best: tuple[float, float | None] | None,
    maximize: bool,
    tie: float,
    min_delta: float = 0.0,
) -> bool:
    """Whether ``(value, key)`` beats ``best``: a value better by more than ``tie`` (and than
    ``min_delta``, early stopping's least improvement), or a tie on the value (within ``tie``)
    with a lower tie-break ``key`` (None: no tie-break, the incumbent stays)."""
    if best is None:
        return True
    best_value, best_key = best
    gain = value - best_value if maximize else best_value - value
    eps = 1e-12 * max(abs(value), abs(best_value))  # float noise is a tie too
    if gain > max(tie, min_delta) + eps:
        return True
    if abs(gain) > tie + eps:
        return False
    return key is not None and best_key is not None and key < best_key


def diverged(history: Sequence[Mapping[str, Any]], chance: float | None = None) -> bool:
    """Whether a run's training diverged: its last training loss is non-finite, or above
    ``DIVERGED_FACTOR`` times its reference (the first epoch's training loss, or the chance
    loss when that is lower).

    Args:
        history: The run's epochs, each with ``train/loss``.
        chance: The loss of a model that predicts the prior (``ln C`` for C classes, ``ln 2``
            for binary, 1 for a standardised regression target with MSE); None: unknown.

    Returns:
        True when the run diverged.
    """
    raw = [m.get("train/loss") for m in history]
    losses = [float(v) for v in raw if isinstance(v, int | float)]
    if not losses:
        return False
    last = losses[-1]
    if not math.isfinite(last):
        return True
    reference = losses[0] if math.isfinite(losses[0]) else math.inf
    if chance is not None and chance > 0:
        reference = min(reference, chance)
    return math.isfinite(reference) and last > DIVERGED_FACTOR * reference


def standard_error(result: Mapping[str, Any]) -> float | None:
    """The standard error of a run's objective, from its ``result.json``.

    Across folds or repeats: the members' sample std over the square root of their count.
    A holdout accuracy: the binomial ``sqrt(p (1 - p) / n)`` on its validation rows.
    None where neither is known (a holdout loss), or where the record is damaged.
    """
    for key in ("cv", "repeats"):
        block = result.get(key)
        raw = block.get("values") if isinstance(block, Mapping) else None
        if isinstance(raw, list):
            values = [float(v) for v in raw if isinstance(v, int | float)]
            if len(values) >= 2:
                mean = sum(values) / len(values)
                var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
                return math.sqrt(var / len(values))
    objective, rows = result.get("objective"), result.get("rows")
    if not isinstance(objective, Mapping) or not isinstance(rows, Mapping):
        return None
    value, name, n_val = objective.get("value"), str(objective.get("name") or ""), rows.get("val")
    if not (name.endswith("/acc") and isinstance(value, int | float) and isinstance(n_val, int)):
        return None
    if n_val <= 0 or not 0 <= value <= 1:
        return None
    # at 0 or 1 the binomial error is 0; one row either way is the least it can be
    return math.sqrt(max(value * (1 - value), 1.0 / n_val) / n_val)


def within_noise(best: float, baseline: float, se: float | None, maximize: bool) -> bool:
    """Whether the best value is within one standard error of the baseline's (or no better)."""
    gain = best - baseline if maximize else baseline - best
    if gain <= 0:
        return True
    return se is not None and gain <= se
