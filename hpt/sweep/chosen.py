"""Which trial a sweep hands over, and whether it is distinguishable from the baseline.

Single objective: the best value among COMPLETE, feasible trials whose training did not
diverge; a tie on the value (the same accuracy on the same validation rows) goes to the lower
validation loss, then to the earlier trial (``hpt.selection``). The baseline trial (the base
config, queued once per study) is what the user had before the sweep: the last line says
when the chosen trial does not beat it by more than one standard error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from hpt.selection import better, within_noise
from hpt.sweep.running.accounting import A_ONCE


def chosen(complete: list[FrozenTrial], maximize: bool) -> FrozenTrial:
    """The best of single-objective trials (ties: lower validation loss, then earlier).

    Args:
        complete: The candidates, each COMPLETE with one value.
        maximize: The study's direction.

    Returns:
        The chosen trial.
    """
    best: FrozenTrial | None = None
    for t in sorted(complete, key=lambda t: t.number):
        if best is None or better(
            t.values[0], _tie_key(t), (best.values[0], _tie_key(best)), maximize, 0.0
        ):
            best = t
    assert best is not None
    return best


def _tie_key(t: FrozenTrial) -> float | None:
    """What breaks a tie between trials: the best epoch's validation loss, when recorded."""
    value = t.user_attrs.get("best/val/loss")
    return float(value) if isinstance(value, int | float) else None


def baseline_trial(
    trials: list[FrozenTrial], record: Callable[[FrozenTrial], dict[str, Any]]
) -> dict[str, Any] | None:
    """The COMPLETE baseline trial of the study, as ``record`` lists it; None without one."""
    for t in trials:
        if t.system_attrs.get(A_ONCE) == "baseline" and t.state == TrialState.COMPLETE:
            return record(t)
    return None


def noise_line(snap: dict[str, Any], names: list[str], directions: list[str]) -> str | None:
    """The sweep's last word on its choice against the baseline (single objective only).

    Args:
        snap: The monitor's snapshot (``best`` and ``baseline``).
        names: The objectives' names.
        directions: Their directions.

    Returns:
        One line, or None when there is nothing to compare.
    """
    best, base = (snap.get("best") or [None])[0], snap.get("baseline")
    if len(names) != 1 or best is None or base is None or not best.get("values"):
        return None
    value, base_value = float(best["values"][0]), float(base["values"][0])
    se = best.get("se")
    pm = f" ± {se:.2g}" if isinstance(se, int | float) and math.isfinite(se) else ""
    head = f"best {names[0]}={value:.4g}{pm} (trial #{best['number']}), baseline {base_value:.4g}"
    if best["number"] == base["number"]:
        return f"{head}: the baseline itself is the best trial"
    maximize = directions[0] == "maximize"
    if not pm:
        return f"{head}: no standard error known (a holdout {names[0]}) to judge the gain by"
    if within_noise(value, base_value, se, maximize):
        return f"{head}: not distinguishable from the baseline (within one standard error)"
    return f"{head}: better than the baseline by more than one standard error"


def handed_over(snap: dict[str, Any], select: str, maximize: bool) -> dict[str, Any] | None:
    """The trial the sweep hands over (its refit): the best, or with ``select=1se`` the
    baseline when the best does not beat it by more than one standard error.

    Args:
        snap: The monitor's snapshot (``best``, ``baseline``).
        select: ``best`` or ``1se``.
        maximize: The objective's direction.

    Returns:
        The trial as ``sweep.json`` lists it; None before any trial completed.
    """
    best, base = (snap.get("best") or [None])[0], snap.get("baseline")
    if best is None or select != "1se" or base is None or not best.get("values"):
        return best
    se = best.get("se")
    noisy = isinstance(se, int | float) and within_noise(
        float(best["values"][0]), float(base["values"][0]), float(se), maximize
    )
    return base if noisy else best
