"""Staged search: start a sweep from the best trial of an earlier one.

The guides' advice is to tune the most important parameters first, then narrow down.
``hpt sweep search=NEW +from_sweep=PATH`` takes the earlier sweep's best params: those the
new space still searches are enqueued as its first trial; the others are fixed, so every
new trial starts from the earlier best configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpt.errors import UserError
from hpt.rundir import SWEEP, read_json
from hpt.sweep.planning.overrides import to_overrides
from hpt.sweep.planning.space import SearchSpace


def earlier_best(path: str) -> dict[str, Any]:
    """The best params of an earlier sweep.

    Args:
        path: The earlier sweep's folder.

    Returns:
        Its best trial's params.

    Raises:
        UserError: There is no readable sweep.json there, or no completed best trial yet.
    """
    info = read_json(Path(path).expanduser() / SWEEP)
    if info is None:
        raise UserError(
            f"from_sweep={path}: no readable {SWEEP} there (give the earlier sweep's directory)"
        )
    best = info.get("best") or []
    if not best or not isinstance(best[0], dict) or not isinstance(best[0].get("params"), dict):
        raise UserError(f"from_sweep={path}: the earlier sweep has no completed best trial yet")
    return dict(best[0]["params"])


def apply(space: SearchSpace, path: str) -> dict[str, Any]:
    """Fix the earlier best's params the new space does not search.

    Args:
        space: The new search space (its fixed overrides are extended in place).
        path: The earlier sweep's folder.

    Returns:
        The earlier best's params the new space searches: the point to enqueue first.
    """
    best = earlier_best(path)
    searched = {d.name for d in space.dims}
    fixed_keys = {f.split("=", 1)[0].lstrip("+~") for f in space.fixed}
    carried = {k: v for k, v in best.items() if k not in searched and k not in fixed_keys}
    space.fixed.extend(to_overrides(carried))
    return {k: v for k, v in best.items() if k in searched}
