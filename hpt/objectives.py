"""What a run is judged by: ``objective.metric`` and ``objective.direction``, resolved.

Shared by supervised and generative runs and by the sweeper (which needs the directions
before any trial runs), so it imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hpt.errors import UserError

# Metrics where more is better; every other metric (losses, errors, sizes, times) is minimised.
HIGHER_IS_BETTER = ("acc", "/r2", "/score", "/confidence", "/diversity")


@dataclass
class Objective:
    name: str
    direction: str  # "maximize" | "minimize"


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, list | tuple):
        return list(value)
    # A ListConfig without importing omegaconf here: it is a Sequence, but not a str.
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return None


def resolve(metric: Any, direction: Any, default: str) -> list[Objective]:
    """One ``Objective`` per metric; ``auto`` is ``default``, direction ``auto`` follows the name.

    ``metric`` and ``direction`` are a value or a list of them (a multi-objective run); a single
    direction applies to every metric.
    """
    metrics = _as_list(metric) or [metric]
    directions = _as_list(direction) or [direction] * len(metrics)
    if len(directions) != len(metrics):
        raise UserError(
            f"objective.direction has {len(directions)} entries but objective.metric has "
            f"{len(metrics)}"
        )
    out = []
    for m, d in zip(metrics, directions):
        name = default if m == "auto" else str(m)
        if d == "auto":
            d = "maximize" if name.endswith(HIGHER_IS_BETTER) else "minimize"
        if d not in ("maximize", "minimize"):
            raise UserError(f"objective.direction must be maximize or minimize, got {d!r}")
        out.append(Objective(name, str(d)))
    return out
