"""Search spaces written in Hydra's override grammar, turned into Optuna distributions.

``interval(a, b)`` is a float in [a, b]; ``tag(log, ...)`` samples on a log scale;
``int(interval(a, b))`` (hydra-optuna-sweeper's form) or ``tag(int, interval(a, b))`` is an
integer. ``range(a, b[, step])`` includes *both* ends for every sampler, the grid too
(Optuna's convention; Hydra's basic sweeper and hydra-optuna-sweeper's grid exclude the
end); a range with any float bound or step gives floats, on the step's decimals.
``shuffle(range(a, b))`` is the categorical of Hydra's own expansion of the range (its end
excluded, as Hydra and the old plugin expand it). ``choice(x, y)`` and
``shuffle(...)`` are categorical and may pick config-group options
(``optimizer: choice(sgd, adamw)``). ``+key=EXPR`` searches a key the config does not have:
the parameter keeps the ``+`` in its name and reaches the trial as ``+key=value``.
Parameters that only apply to one choice go under ``conditional``
(``optimizer=sgd: {optimizer.momentum: interval(0.5, 0.99)}``) and are suggested only when
that choice is drawn (Optuna's define-by-run).
"""

from __future__ import annotations

import decimal
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from hpt.errors import UserError
from hpt.masking import mask_url

__all__ = ["Dim", "SearchSpace", "grid_values", "parse", "to_distribution"]


@dataclass
class Dim:
    """One searched param: its name, distribution and expression, and its condition."""

    name: str
    dist: BaseDistribution
    expr: str  # the override text, for display and fingerprints
    when: tuple[str, Any] | None = None  # (param, value) this dimension depends on


@dataclass
class SearchSpace:
    """The searched params and the fixed overrides every trial gets."""

    dims: list[Dim] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)  # plain overrides applied to every trial

    def active(self, chosen: Mapping[str, Any]) -> list[Dim]:
        """The dimensions a trial with these choices searches.

        Args:
            chosen: The params chosen so far.

        Returns:
            The unconditional dimensions, and the conditional ones whose condition holds.
        """
        return [d for d in self.dims if d.when is None or chosen.get(d.when[0]) == d.when[1]]

    def fingerprint(self) -> str:
        """Changes whenever a dimension or a fixed override changes (resume check), not with
        a URL's password (masked: a hash of it would be a way to guess it).

        Returns:
            16 hex digits.
        """
        doc = {
            "dims": [[d.name, d.expr, list(d.when) if d.when else None] for d in self.dims],
            "fixed": sorted(mask_url(f) for f in self.fixed),  # a password is no part of it
        }
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode())
        return digest.hexdigest()[:16]

    def describe(self) -> dict[str, str]:
        """The space as the dry run and ``sweep.json`` show it.

        Returns:
            Name (with its condition, if any) -> expression.
        """
        return {
            (f"{d.name} (if {d.when[0]}={d.when[1]})" if d.when else d.name): d.expr
            for d in self.dims
        }

    def grid(self) -> dict[str, list[Any]]:
        """Grid points of every dimension; intervals cannot be gridded.

        Returns:
            Name -> its grid values.

        Raises:
            UserError: A dimension is conditional, or an interval.
        """
        points: dict[str, list[Any]] = {}
        for d in self.dims:
            if d.when is not None:
                raise UserError(
                    f"the grid sampler cannot use conditional parameters ({d.name}); "
                    "use choice() combinations instead"
                )
            points[d.name] = grid_values(d)
        return points


def grid_values(d: Dim) -> list[Any]:
    """A dimension's grid points.

    Args:
        d: The dimension.

    Returns:
        Its choices, or the values of its range.

    Raises:
        UserError: The dimension is an interval (or a float range without a step).
    """
    dist = d.dist
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, IntDistribution):
        return list(range(dist.low, dist.high + 1, dist.step))
    if isinstance(dist, FloatDistribution) and dist.step is not None:
        n = round((dist.high - dist.low) / dist.step)
        return [on_step(dist, dist.low + i * dist.step) for i in range(n + 1)]
    raise UserError(f"the grid sampler needs choice() or range() for {d.name}, not {d.expr}")


def on_step(dist: BaseDistribution, value: Any) -> Any:
    """A stepped float as the range writes it: ``0 + 23 * 0.1`` is ``2.3``, not Optuna's
    ``2.3000000000000003``, rounded to the decimals of the range's start and step.

    Args:
        dist: The dimension's distribution.
        value: A value Optuna drew from it.

    Returns:
        The value, rounded when the distribution is a stepped float range.
    """
    if not isinstance(dist, FloatDistribution) or dist.step is None:
        return value
    places = max(_decimals(dist.low), _decimals(dist.step))
    return float(round(float(value), places))


def _decimals(x: float) -> int:
    exponent = decimal.Decimal(repr(float(x))).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 12


def has_key(config: Any, key: str) -> bool:
    """Whether the config has ``key``, ``???`` (MISSING) values included: ``x: ???`` is
    Hydra's way to say "the sweep supplies this", so it is a key to search like any other.

    Args:
        config: The run's composed config.
        key: A dotted key.

    Returns:
        True when the key exists, whatever its value.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import MissingMandatoryValue

    absent = object()
    try:
        return OmegaConf.select(config, key, default=absent, throw_on_missing=True) is not absent
    except MissingMandatoryValue:
        return True


def _number(x: Any) -> float | int:
    return float(x) if isinstance(x, decimal.Decimal) else x


def to_distribution(name: str, value: Any, expr: str) -> BaseDistribution:
    """A search expression, parsed by Hydra, as Optuna's distribution.

    Args:
        name: The param's name (for messages).
        value: Hydra's parsed sweep (``ChoiceSweep``, ``RangeSweep`` or ``IntervalSweep``).
        expr: The expression's text (for messages).

    Returns:
        A categorical, int or float distribution.

    Raises:
        UserError: The expression is not one hpt can search (an unknown tag, a log scale of
            a choice or of a non-positive range, ...).
    """
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    tags = set(getattr(value, "tags", set()) or set())
    unknown = tags - {"log", "int"}
    if unknown:
        raise UserError(f"{name}: unknown tag(s) {sorted(unknown)} in {expr!r} (use log, int)")
    if "log" in tags and not isinstance(value, IntervalSweep | RangeSweep):
        raise UserError(
            f"{name}: tag(log, ...) applies to a positive interval or range, got {expr!r}"
        )
    if isinstance(value, IntervalSweep):
        return _interval(name, value, expr, tags)
    if isinstance(value, RangeSweep) and value.shuffle:
        return _categorical(name, _range_values(name, value, expr), expr)
    if isinstance(value, RangeSweep):
        return _range(name, value, expr, tags)
    if isinstance(value, ChoiceSweep):  # shuffle(choice(...)) too: the order does not matter
        return _categorical(name, [_plain(c) for c in value.list], expr)
    raise UserError(
        f"{name}: {expr!r} is not a search expression (use interval, range, choice, tag)"
    )


def _interval(name: str, value: Any, expr: str, tags: set[str]) -> BaseDistribution:
    """``interval(a, b)``: a float (or, tagged ``int``, an integer) distribution."""
    # int(interval(a, b)) casts both bounds to int: an integer parameter, as in
    # hydra-optuna-sweeper (Hydra's parser gives floats otherwise).
    if isinstance(value.start, int) and isinstance(value.end, int):
        tags.add("int")
    lo, hi = float(value.start), float(value.end)  # type: ignore[arg-type]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise UserError(f"{name}: interval bounds must be finite numbers, got {expr!r}")
    if not lo < hi:
        raise UserError(f"{name}: interval needs low < high, got {expr!r}")
    if "log" in tags and lo <= 0:
        raise UserError(f"{name}: a log-scaled interval needs low > 0, got {expr!r}")
    if "int" in tags:
        if lo != math.ceil(lo) or hi != math.floor(hi):
            raise UserError(f"{name}: an integer interval needs integer bounds, got {expr!r}")
        return IntDistribution(int(lo), int(hi), log="log" in tags)
    return FloatDistribution(lo, hi, log="log" in tags)


def _range(name: str, value: Any, expr: str, tags: set[str]) -> BaseDistribution:
    """``range(a, b[, step])``, both ends included: integers, or floats on the step's grid."""
    start, stop, step = _number(value.start), _number(value.stop), _number(value.step)
    if not all(math.isfinite(float(v)) for v in (start, stop, step)):
        raise UserError(f"{name}: range bounds must be finite numbers, got {expr!r}")
    if step <= 0 or stop < start:
        raise UserError(f"{name}: range needs start <= stop and step > 0, got {expr!r}")
    if "log" in tags:
        if start <= 0 or step != 1 or not all(isinstance(v, int) for v in (start, stop)):
            raise UserError(
                f"{name}: tag(log, range(...)) needs integer bounds > 0 and step 1, got {expr!r}"
            )
        return IntDistribution(int(start), int(stop), log=True)
    if all(isinstance(v, int) for v in (start, stop, step)):
        # Both ends inclusive; a stop off the step grid is pulled down onto it.
        return IntDistribution(
            int(start), int(start + (stop - start) // step * step), step=int(step)
        )
    n = math.floor((float(stop) - float(start)) / float(step) + 1e-9)
    high = round(float(start) + n * float(step), 12)  # 0.1 + 2 * 0.1 is 0.30000000000000004
    return FloatDistribution(float(start), high, step=float(step))


def _categorical(name: str, options: list[Any], expr: str) -> CategoricalDistribution:
    if not options:
        raise UserError(f"{name}: choice() needs at least one option")
    seen: list[Any] = []
    for option in options:
        if any(option == o and type(option) is type(o) for o in seen):
            raise UserError(f"{name}: {option!r} appears twice in {expr!r}")
        seen.append(option)
    return CategoricalDistribution(options)


def _range_values(name: str, value: Any, expr: str) -> list[Any]:
    """The points of ``shuffle(range(...))``: Hydra's own expansion of the range (its end
    excluded, as Python's ``range``), floats on the decimals of its start and step."""
    import dataclasses

    from hydra.errors import HydraException

    try:
        points = list(dataclasses.replace(value, shuffle=False).range())
    except HydraException as exc:
        raise UserError(f"{name}: {exc} in {expr!r}") from None
    if all(isinstance(p, int) for p in points):
        return points
    places = max(_decimals(_number(value.start)), _decimals(_number(value.step)))
    return [float(round(float(p), places)) for p in points]


def _plain(v: Any) -> Any:
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    raise UserError(f"choice() options must be plain values, got {v!r}")


def parse(
    params: Mapping[str, Any] | None,
    conditional: Mapping[str, Any] | None,
    arguments: Sequence[str],
) -> SearchSpace:
    """Parse ``params`` (YAML), ``conditional`` and command-line ``arguments`` with Hydra's parser.

    Args:
        params: ``hydra.sweeper.params``: key -> search expression (or a fixed value).
        conditional: ``hydra.sweeper.conditional``: ``param=value`` -> params searched only
            when the choice ``param`` is ``value``.
        arguments: The command line's ``key=EXPR`` overrides (they replace the YAML's).

    Returns:
        The searched dimensions and the fixed overrides.

    Raises:
        UserError: An expression does not parse, a key is searched twice, or a conditional
            entry names no choice of ``params``.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    space = SearchSpace()
    # A command-line expression replaces the YAML one for the same key (as in Hydra's sweepers).
    merged = {str(k): f"{k}={v}" for k, v in (params or {}).items()}
    for arg in arguments:
        merged[arg.split("=", 1)[0].lstrip("+~")] = arg
    for text in merged.values():
        _add(parser, space, text, None)
    for cond, sub in (conditional or {}).items():
        parent, value = _condition(space, cond)
        for key, expr in (sub or {}).items():
            _add(parser, space, f"{key}={expr}", (parent, value))
    return space


def _add(parser: Any, space: SearchSpace, text: str, when: tuple[str, Any] | None) -> None:
    """One ``key=EXPR``: a searched dimension (conditional on ``when``), or a fixed override."""
    try:
        override = parser.parse_overrides([text])[0]
    except Exception as exc:  # antlr errors escape the parser unwrapped
        raise UserError(
            f"cannot parse search expression {text!r}: {str(exc).splitlines()[0]}"
        ) from None
    key = override.get_key_element()
    if override.is_sweep_override():
        if key.startswith("~"):
            raise UserError(f"{text!r}: a deleted key (~) cannot be searched")
        name = key  # "+extra" keeps its "+": the trial gets "+extra=value" (as the old plugin)
        dim = Dim(
            name,
            to_distribution(name, override.value(), text.split("=", 1)[1]),
            text.split("=", 1)[1],
            when,
        )
        if (name, when) in {(d.name, d.when) for d in space.dims}:
            raise UserError(f"{name} is searched twice")
        space.dims.append(dim)
    elif when is None:
        space.fixed.append(text)
    else:
        raise UserError(f"conditional entry {text!r} must be a search expression")


def _condition(space: SearchSpace, cond: Any) -> tuple[str, Any]:
    """A conditional's key (``param=value``): the choice dimension's name and its value."""
    if "=" not in str(cond):
        raise UserError(f"conditional key {cond!r} must look like param=value (e.g. optimizer=sgd)")
    parent, choice = str(cond).split("=", 1)
    parent_dim = next((d for d in space.dims if d.name == parent), None)
    if parent_dim is None or not isinstance(parent_dim.dist, CategoricalDistribution):
        raise UserError(f"conditional {cond!r}: {parent} must be a choice() in params")
    value = next((c for c in parent_dim.dist.choices if str(c) == choice), None)
    if value is None:
        raise UserError(
            f"conditional {cond!r}: {choice!r} is not one of {list(parent_dim.dist.choices)}"
        )
    return parent, value
