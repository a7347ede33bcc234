"""The baseline trial and constraints: a sweep starts from what a plain run would train, and
never reports a best that broke the user's bounds.

The baseline is the base config's value of every searched setting (what ``hpt train`` with
the same fixed overrides runs; for a user app, its config, when ``baseline: true`` opts in),
queued as a trial once per study after any ``enqueue`` entries, so a sweep never ends below
its starting point. A base value outside its search range is moved to the nearest value
inside it, said in one line; a base choice that is not among the options, a searched key the
config does not have (``+key``) or whose value is ``???``, leaves the sweep without a
baseline, also said.
"""

from __future__ import annotations

import math
from typing import Any

from omegaconf import DictConfig, OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hpt.errors import UserError
from hpt.sweep.planning.space import SearchSpace, has_key

_ABSENT = object()


def base_params(space: SearchSpace, config: DictConfig) -> tuple[dict[str, Any] | None, list[str]]:
    """The baseline trial's params: the base config's value of each searched param.

    Args:
        space: The search space.
        config: The run's composed config.

    Returns:
        The params (None when the base config is not a point of the space) and notes: why
        there is no baseline, or which values were moved inside their range.
    """
    choices = config.hydra.runtime.choices
    params: dict[str, Any] = {}
    notes: list[str] = []
    for dim in space.dims:
        if dim.when is not None and params.get(dim.when[0]) != dim.when[1]:
            continue  # a conditional setting of a choice the base config does not make
        if dim.name.startswith("+"):
            return None, [f"no baseline trial: {dim.name} is not in the base config"]
        value = (
            choices[dim.name]
            if dim.name in choices
            else OmegaConf.select(config, dim.name, default=_ABSENT)
        )
        if value is _ABSENT and has_key(config, dim.name):  # x: ??? - the sweep supplies it
            return None, [f"no baseline trial: {dim.name} is ??? (no value) in the base config"]
        if value is _ABSENT or OmegaConf.is_config(value):
            return None, [f"no baseline trial: {dim.name} has no plain value in the base config"]
        inside = _inside(dim.dist, value)
        if inside is None:
            return None, [f"no baseline trial: {dim.name}={value!r} is not one of {dim.expr}"]
        if inside != value:
            notes.append(f"baseline trial: {dim.name}={inside!r} ({value!r} is outside {dim.expr})")
        params[dim.name] = inside
    return params, notes


def _inside(dist: Any, value: Any) -> Any:
    """``value`` if the distribution contains it, else its nearest value inside (numbers)."""
    if isinstance(dist, CategoricalDistribution):
        for choice in dist.choices:
            if choice == value or str(choice) == str(value):
                return choice
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    low, high = dist.low, dist.high
    v = min(max(float(value), low), high)
    step = getattr(dist, "step", None)
    if step:
        v = low + round((v - low) / step) * step
        v = min(v, high)
    if isinstance(dist, IntDistribution):
        return round(v)
    if isinstance(dist, FloatDistribution):
        return float(round(v, 12)) if step else float(v)
    return None


def parse_constraints(constraints: Any) -> dict[str, tuple[str, float]]:
    """``{"model/n_params": "<=1e5"}`` -> ``{"model/n_params": ("<=", 100000.0)}``.

    Args:
        constraints: ``hydra.sweeper.constraints``: metric -> ``<=VALUE`` or ``>=VALUE``.

    Returns:
        Metric -> (operator, bound).

    Raises:
        UserError: A bound is not written as ``<=VALUE`` or ``>=VALUE``.
    """
    parsed = {}
    for metric, bound in (constraints or {}).items():
        text = str(bound).replace(" ", "")
        op = text[:2]
        try:
            value = float(text[2:])
        except ValueError:
            value = math.nan
        if op not in ("<=", ">=") or not math.isfinite(value):
            raise UserError(
                f"hydra.sweeper.constraints.{metric}={bound!r}: write a bound as <=VALUE or >=VALUE"
            )
        parsed[str(metric)] = (op, value)
    return parsed


def metric_value(result: dict[str, Any], name: str) -> float | None:
    """A recorded metric of a finished run.

    Args:
        result: The run's result.json.
        name: The metric: one of ``best``'s epoch metrics, a ``test`` metric, or
            ``section/key`` of a record section such as ``model/n_params``.

    Returns:
        Its value, or None when the run did not record it.
    """
    for section in ("best", "test"):
        values = result.get(section)
        if isinstance(values, dict) and isinstance(values.get(name), int | float):
            return float(values[name])
    group, _, key = name.partition("/")
    node = result.get(group)
    if isinstance(node, dict) and isinstance(node.get(key), int | float):
        return float(node[key])
    return None


def constraint_values(
    result: dict[str, Any], constraints: dict[str, tuple[str, float]]
) -> dict[str, float]:
    """The constraints' values in Optuna's convention: feasible when every value is <= 0.

    Args:
        result: The run's result.json.
        constraints: Metric -> (operator, bound), as ``parse_constraints`` returns them.

    Returns:
        Metric -> how far past its bound the run is (a missing metric is infeasible).
    """
    out = {}
    for name, (op, bound) in constraints.items():
        value = metric_value(result, name)
        if value is None:
            out[name] = 1e300  # JSON-safe "infinitely infeasible" in every storage
        else:
            out[name] = value - bound if op == "<=" else bound - value
    return out
